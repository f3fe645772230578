"""Regression (issue 11, finding 3): downcast writing integers beyond int64 or a ``map<>`` column
to parquet printed its report, then died in a pyarrow traceback. Now: exit 2 naming the column,
before the report is printed, nothing written."""

from __future__ import annotations

from pathlib import Path

import pytest

from perfkit.cli.__main__ import main

pa = pytest.importorskip("pyarrow")
pq = pytest.importorskip("pyarrow.parquet")


def _run(src: Path, out: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    rc = main(["downcast", str(src), "--out", str(out)])
    cap = capsys.readouterr()
    return rc, cap.out, cap.err


def test_integers_beyond_int64_to_parquet(tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    src = tmp_path / "big.csv"
    src.write_text(f"a,b\n1,{2**64 + 5}\n2,3\n")
    out = tmp_path / "big.parquet"
    rc, stdout, err = _run(src, out, capsys)
    assert rc == 2
    assert "column 'b'" in err and "int64" in err and "Traceback" not in err
    assert stdout == ""  # refused before the report
    assert not out.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["big.csv"]
    # the same table as CSV keeps its values
    rc, _, _ = _run(src, tmp_path / "big.out.csv", capsys)
    assert rc == 0
    assert str(2**64 + 5) in (tmp_path / "big.out.csv").read_text()


def test_map_column_to_parquet(tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    src = tmp_path / "m.parquet"
    table = pa.table(
        {
            "m": pa.array([[("k", 1)], [("j", 2)]], type=pa.map_(pa.string(), pa.int64())),
            "v": [1.5, 2.5],
        }
    )
    pq.write_table(table, src)
    before = src.read_bytes()
    out = tmp_path / "m.small.parquet"
    rc, stdout, err = _run(src, out, capsys)
    assert rc == 2
    assert "column 'm'" in err and "parquet" in err and "Traceback" not in err
    assert stdout == ""
    assert not out.exists() and src.read_bytes() == before
