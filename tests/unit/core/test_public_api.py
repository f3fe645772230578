from __future__ import annotations

import subprocess
import sys

import pytest

import perfkit


def test_import_perfkit_is_light() -> None:
    code = (
        "import sys, perfkit; "
        "print(','.join(m for m in ('numpy','numba','torch','pandas') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


@pytest.mark.parametrize("name", sorted(perfkit._LAZY))
def test_every_public_name_resolves(name: str) -> None:
    assert getattr(perfkit, name) is not None
    assert name in dir(perfkit)


def test_unknown_name_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        perfkit.nope  # noqa: B018
