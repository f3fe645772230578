"""``perfkit indicators`` under hostile input: mutated price tables, specs, options and outputs.

Every case must end in exit 0 or 2 with no traceback, the inputs' bytes unchanged and no
partial output or temp file left (``assert_contract``).
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from _harness import HOSTILE_SETTINGS, HOSTILE_STRINGS, assert_contract, run_main, snapshot
from hypothesis import given
from hypothesis import strategies as st

SPEC = "sma:5,ema:3,rsi:4,atr:3,obv,stoch:3,2,2,min:3"


def _valid_csv() -> str:
    rng = np.random.default_rng(0)
    frames = []
    for name in ("A", "B"):
        c = 100 * np.exp(np.cumsum(rng.normal(0, 0.01, 30)))
        frames.append(
            pd.DataFrame(
                {
                    "instrument": name,
                    "time": pd.date_range("2024-01-01", periods=30, freq="D").strftime("%Y-%m-%d"),
                    "close": c.round(4),
                    "high": (c * 1.01).round(4),
                    "low": (c * 0.99).round(4),
                    "volume": rng.integers(1, 100, 30),
                }
            )
        )
    return pd.concat(frames).to_csv(index=False)


VALID = _valid_csv()
CELLS = (
    *HOSTILE_STRINGS,
    "nan",
    "inf",
    "-inf",
    "1e309",
    "-1e308",
    "0",
    "9" * 400,
    "01/15/2024",
    "t7",
    "True",
)


@st.composite
def csv_mutations(draw: st.DrawFn) -> bytes:
    """The valid table with one hostile change (a cell, a column, the text, the rows)."""
    lines = VALID.strip().split("\n")
    rows = [ln.split(",") for ln in lines]
    kind = draw(
        st.sampled_from(
            ["cell", "cell", "cell", "column", "truncate", "garbage", "header", "dup", "labels"]
        )
    )
    if kind == "cell":
        i = draw(st.integers(0, len(rows) - 1))
        j = draw(st.integers(0, len(rows[0]) - 1))
        rows[i][j] = draw(st.sampled_from(CELLS)).replace(",", ";").replace("\n", " ")
    elif kind == "column":
        j = draw(st.integers(0, len(rows[0]) - 1))
        rows = [r[:j] + r[j + 1 :] for r in rows]
    elif kind == "truncate":
        return VALID.encode()[: draw(st.integers(0, len(VALID) - 1))]
    elif kind == "garbage":
        return draw(st.binary(max_size=80))
    elif kind == "header":
        rows = rows[:1]
    elif kind == "dup":
        rows.append(rows[draw(st.integers(1, len(rows) - 1))])
    else:
        for i, r in enumerate(rows[1:]):
            r[1] = f"t{i}"
    return ("\n".join(",".join(r) for r in rows) + "\n").encode("utf-8", "surrogatepass")


def _run(tmp: Path, argv: list[str], inputs: list[Path], outputs: list[Path]) -> None:
    before = snapshot(inputs)
    result = run_main(["indicators", *argv], cwd=tmp)
    assert_contract(result, before, outputs)


@HOSTILE_SETTINGS
@given(data=csv_mutations())
def test_mutated_price_tables(data: bytes) -> None:
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        src = tmp / "prices.csv"
        src.write_bytes(data)
        out = tmp / "features.parquet"
        _run(tmp, [str(src), "--spec", SPEC, "--out", str(out), "--n-jobs", "1"], [src], [out])


@HOSTILE_SETTINGS
@given(data=csv_mutations())
def test_a_mutated_file_among_good_ones_writes_nothing(data: bytes) -> None:
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        folder = tmp / "in"
        folder.mkdir()
        (folder / "a.csv").write_text(VALID)
        (folder / "b.csv").write_bytes(data)
        outdir = tmp / "out"
        outs = [outdir / "a.features.parquet", outdir / "b.features.parquet"]
        before = snapshot([folder])
        result = run_main(["indicators", str(folder), "--spec", SPEC, "--out", str(outdir)], tmp)
        assert_contract(result, before, outs)
        if result.rc == 2:
            assert not outdir.exists() or not list(outdir.iterdir())
            assert "b.csv" in result.err or "a.csv" in result.err


@HOSTILE_SETTINGS
@given(
    spec=st.sampled_from(HOSTILE_STRINGS) | st.text(max_size=30),
    col=st.sampled_from(HOSTILE_STRINGS),
)
def test_hostile_specs_and_column_names(spec: str, col: str) -> None:
    if "\x00" in spec or "\x00" in col:
        return  # argv cannot carry NUL bytes
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        src = tmp / "prices.csv"
        src.write_text(VALID)
        out = tmp / "f.csv"
        _run(tmp, [str(src), "--spec", spec, "--out", str(out)], [src], [out])
        _run(tmp, [str(src), "--spec", "sma:3", "--time-col", col, "--out", str(out)], [src], [out])


@pytest.mark.parametrize(
    "case", ["out_is_input", "out_in_input_dir", "out_is_dir", "read_only", "bad_suffix", "jobs"]
)
def test_hostile_outputs_and_options(tmp_path: Path, case: str) -> None:
    src = tmp_path / "prices.csv"
    src.write_text(VALID)
    out = tmp_path / "f.parquet"
    argv = [str(src), "--spec", "sma:3", "--out", str(out)]
    inputs, outputs = [src], [out]
    if case == "out_is_input":
        argv[-1] = str(src)
        outputs = []
    elif case == "out_in_input_dir":
        argv = [str(tmp_path), "--spec", "sma:3", "--out", str(tmp_path / "sub")]
        outputs = [tmp_path / "sub"]
    elif case == "out_is_dir":
        out.mkdir()
        outputs = [out / "prices.features.parquet"]
    elif case == "read_only":
        if os.geteuid() == 0:
            pytest.skip("root writes into read-only folders")
        ro = tmp_path / "ro"
        ro.mkdir()
        ro.chmod(0o500)
        argv[-1] = str(ro / "f.parquet")
        outputs = [ro / "f.parquet"]
    elif case == "bad_suffix":
        argv[-1] = str(tmp_path / "f.txt")
        outputs = [tmp_path / "f.txt"]
    else:
        argv += ["--n-jobs", "-99"]
    before = snapshot(inputs)
    result = run_main(["indicators", *argv], cwd=tmp_path)
    assert_contract(result, before, outputs)
    if case in ("out_is_input", "out_in_input_dir", "read_only", "bad_suffix"):
        assert result.rc == 2
