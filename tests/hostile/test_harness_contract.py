"""The harness itself: its mutations are hostile and its contract catches each broken promise."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from _harness import (
    HOSTILE_SETTINGS,
    Result,
    assert_contract,
    is_strict_json,
    json_mutations,
    run_main,
    snapshot,
)
from hypothesis import given

VALID = {"version": 1, "wall_s": 1.5, "items": [{"name": "f", "n": 3}]}


@HOSTILE_SETTINGS
@given(json_mutations(VALID))
def test_mutations_differ_from_the_valid_document(data: bytes) -> None:
    assert data != json.dumps(VALID).encode()


def test_contract_catches_a_changed_input(tmp_path: Path) -> None:
    src = tmp_path / "in.json"
    src.write_text("{}")
    before = snapshot([src])
    src.write_text("{ }")
    with pytest.raises(AssertionError, match="was changed"):
        assert_contract(Result(2, "", "perfkit: error: bad"), before)


def test_contract_catches_a_traceback_and_a_partial_output(tmp_path: Path) -> None:
    out = tmp_path / "out.json"
    with pytest.raises(AssertionError, match="Traceback"):
        assert_contract(Result(2, "", "Traceback (most recent call last):\n  x"), {})
    out.write_text("half")
    with pytest.raises(AssertionError, match="partial output"):
        assert_contract(Result(2, "", "perfkit: error: x"), {}, [out])
    with pytest.raises(AssertionError, match="exit 1"):
        assert_contract(Result(1, "", "perfkit: error: x"), {})


def test_contract_catches_leftover_temp_files(tmp_path: Path) -> None:
    (tmp_path / ".perfkit-tmp-out.json.abc").write_text("x")
    with pytest.raises(AssertionError, match="temp files"):
        assert_contract(Result(0, "", ""), {}, [tmp_path / "out.json"])


def test_strict_json_check() -> None:
    assert is_strict_json(b'{"a": null}')
    assert not is_strict_json(b'{"a": NaN}')
    assert not is_strict_json(b"{")


def test_run_main_usage_error_is_exit_2(tmp_path: Path) -> None:
    result = run_main(["diff", "missing-a.json", "missing-b.json"], cwd=tmp_path)
    assert_contract(result, {})
    assert result.rc == 2
    assert "missing-a.json" in result.err
