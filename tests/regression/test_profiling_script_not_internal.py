"""Bug: the script that imports perfkit (``python my_script.py`` using the API) was taken for
perfkit's launcher, so every frame of it was cut and the profile came out empty."""

from __future__ import annotations

import os

import perfkit
from perfkit.profiling import _source


def test_only_perfkits_own_launchers_are_internal(tmp_path):
    assert not _source.is_internal(str(tmp_path / "my_script.py"))
    assert _source.is_internal(os.path.join(os.path.dirname(perfkit.__file__), "__main__.py"))
    assert _source.is_internal("<frozen runpy>")
    package = os.path.dirname(perfkit.__file__)
    for p in _source._LAUNCHERS:  # the console script, or perfkit's own entry modules
        assert os.path.basename(p) in ("perfkit", "perfkit.exe") or (
            os.path.dirname(p) == package
            and os.path.basename(p) in ("__main__.py", "magics.py", "pytest_plugin.py")
        ), p
