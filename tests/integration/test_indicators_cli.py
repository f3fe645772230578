"""``perfkit indicators`` end to end in a subprocess: outputs, summary, exit codes, atomicity."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest


def _prices(path: Path, n_inst: int = 3, n_bars: int = 120, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    frames = []
    for j in range(n_inst):
        c = 100 * np.exp(np.cumsum(rng.normal(0, 0.01, n_bars)))
        frames.append(
            pd.DataFrame(
                {
                    "instrument": f"S{seed}_{j}",
                    "time": pd.date_range("2024-01-01", periods=n_bars, freq="D"),
                    "close": c,
                    "high": c * 1.01,
                    "low": c * 0.99,
                    "volume": rng.integers(1, 100, n_bars),
                }
            )
        )
    df = pd.concat(frames).sample(frac=1.0, random_state=seed)  # unsorted on purpose
    if path.suffix == ".csv":
        df.to_csv(path, index=False)
    else:
        df.to_parquet(path, index=False)
    return df


def perfkit(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "perfkit", "indicators", *args],
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_csv_to_parquet_with_summary(tmp_path: Path) -> None:
    src = tmp_path / "prices.csv"
    df = _prices(src)
    out = tmp_path / "features.parquet"
    res = perfkit(str(src), "--spec", "sma:20,rsi:14,macd:12,26,9", "--out", str(out))
    assert res.returncode == 0, res.stderr
    assert "360 rows, 3 instruments, 5 features" in res.stderr and "backend serial" in res.stderr
    got = pd.read_parquet(out)
    assert len(got) == len(df) and {"sma_20", "rsi_14", "macd_hist_12_26_9"} <= set(got.columns)
    from perfkit.indicators import compute

    want = compute(df, "sma:20,rsi:14,macd:12,26,9", backend="serial")
    np.testing.assert_array_equal(got["rsi_14"].to_numpy(), want["rsi_14"].to_numpy())


def test_directory_gives_one_output_per_input(tmp_path: Path) -> None:
    inputs = tmp_path / "in"
    inputs.mkdir()
    _prices(inputs / "a.parquet", seed=1)
    _prices(inputs / "b.csv", seed=2)
    outdir = tmp_path / "out"
    res = perfkit(
        str(inputs), "--spec", "ema:10,atr:14", "--backend", "threads", "--out", str(outdir)
    )
    assert res.returncode == 0, res.stderr
    assert sorted(p.name for p in outdir.iterdir()) == ["a.features.parquet", "b.features.parquet"]
    assert res.stderr.count("wrote ") == 2 and "backend threads" in res.stderr
    glob_res = perfkit(str(inputs / "*.csv"), "--spec", "obv", "--out", str(tmp_path / "g"))
    assert glob_res.returncode == 0, glob_res.stderr
    assert (tmp_path / "g" / "b.features.parquet").exists()


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--spec", "sma:0"], "window must be between 1 and 100000"),
        (["--spec", "bogus:3"], "unknown indicator 'bogus'"),
        (["--spec", "sma:x"], "is not a number"),
        (["--spec", "atr:14"], "lacks high, low"),
    ],
)
def test_bad_specs_exit_2(tmp_path: Path, args: list[str], needle: str) -> None:
    src = tmp_path / "p.csv"
    pd.DataFrame({"instrument": ["A"] * 5, "time": range(5), "close": range(5)}).to_csv(
        src, index=False
    )
    out = tmp_path / "o.parquet"
    res = perfkit(str(src), *args, "--out", str(out))
    assert res.returncode == 2 and needle in res.stderr and "Traceback" not in res.stderr
    assert not out.exists()


def test_bad_inputs_exit_2_without_output(tmp_path: Path) -> None:
    out = tmp_path / "o.parquet"
    missing = perfkit(str(tmp_path / "nope.csv"), "--spec", "sma:3", "--out", str(out))
    assert missing.returncode == 2 and "input file not found" in missing.stderr
    (tmp_path / "bad.txt").write_text("x")
    kind = perfkit(str(tmp_path / "bad.txt"), "--spec", "sma:3", "--out", str(out))
    assert kind.returncode == 2 and "unsupported input type" in kind.stderr
    dup = tmp_path / "dup.csv"
    pd.DataFrame({"instrument": ["A", "A"], "time": [1, 1], "close": [1.0, 2.0]}).to_csv(
        dup, index=False
    )
    res = perfkit(str(dup), "--spec", "sma:2", "--out", str(out))
    assert res.returncode == 2 and "duplicated (instrument, time) row" in res.stderr
    text = tmp_path / "text.csv"
    text.write_text("instrument,time,close\nA,1,abc\nA,2,def\n")
    res = perfkit(str(text), "--spec", "sma:2", "--out", str(out))
    assert res.returncode == 2 and "non-numeric" in res.stderr
    inf = tmp_path / "inf.csv"
    inf.write_text("instrument,time,close\nA,1,1.0\nA,2,inf\n")
    res = perfkit(str(inf), "--spec", "sma:2", "--out", str(out))
    assert res.returncode == 2 and "infinite value" in res.stderr
    assert not out.exists() and not list(tmp_path.glob(".o.parquet*"))  # nothing half-written
    bad_out = perfkit(str(dup), "--spec", "sma:2", "--out", str(tmp_path / "o.txt"))
    assert bad_out.returncode == 2 and "must end in .parquet or .csv" in bad_out.stderr


def test_help_does_not_import_heavy_modules() -> None:
    code = (
        "import sys; from perfkit.cli.__main__ import build_parser; build_parser(); "
        "print(sorted(m for m in ('numpy','numba','pandas','torch') if m in sys.modules))"
    )
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert res.stdout.strip() == "[]", res.stdout + res.stderr
