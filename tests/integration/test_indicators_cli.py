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
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=240)
    assert res.stdout.strip() == "[]", res.stdout + res.stderr


# ---- times and files (issue 13, item 4): in-process, one subprocess run at the end --------
def _main(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    from perfkit.cli.__main__ import main

    rc = main(["indicators", *args])
    return rc, capsys.readouterr().err


def _series_csv(path: Path, times: list[str] | None, n: int = 120, seed: int = 0) -> np.ndarray:
    c = 100 * np.exp(np.cumsum(np.random.default_rng(seed).normal(0, 0.01, n)))
    cols: dict[str, object] = {"close": c, "high": c * 1.01, "low": c * 0.99}
    if times is not None:
        cols = {"time": times, **cols}
    pd.DataFrame(cols).to_csv(path, index=False)
    return c


def test_us_text_dates_across_a_year_end_equal_iso_dates(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    days = pd.date_range("2023-11-15", periods=120, freq="D")
    order = np.random.default_rng(1).permutation(120)  # rows not in time order
    us, iso = tmp_path / "us.csv", tmp_path / "iso.csv"
    _series_csv(us, list(days.strftime("%m/%d/%Y")[order]))
    _series_csv(iso, list(days.strftime("%Y-%m-%d")[order]))
    for src in (us, iso):
        rc, err = _main(capsys, str(src), "--spec", "sma:20", "--out", str(src.with_suffix(".pq")))
        assert rc == 0, err
    a = pd.read_parquet(us.with_suffix(".pq"))["sma_20"].to_numpy()
    b = pd.read_parquet(iso.with_suffix(".pq"))["sma_20"].to_numpy()
    np.testing.assert_array_equal(a, b)


def test_unorderable_time_labels_exit_2_naming_the_column(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    src = tmp_path / "labels.csv"
    _series_csv(src, [f"t{i}" for i in range(120)])
    out = tmp_path / "o.parquet"
    rc, err = _main(capsys, str(src), "--spec", "sma:20", "--out", str(out))
    assert rc == 2 and "time column 'time' cannot be read as dates or numbers" in err
    assert str(src) in err and "Traceback" not in err and not out.exists()


@pytest.mark.parametrize("spec", ["sma:20", "atr:14"])
def test_csv_without_instrument_and_time_is_one_series_in_file_order(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], spec: str
) -> None:
    src = tmp_path / "plain.csv"
    c = _series_csv(src, None)
    out = tmp_path / "o.csv"
    rc, err = _main(capsys, str(src), "--spec", spec, "--out", str(out))
    assert rc == 0, err
    assert "1 instruments" in err and "file order (no 'time' column)" in err
    from perfkit.indicators import compute

    want = compute({"close": c, "high": c * 1.01, "low": c * 0.99}, spec, backend="serial")
    name = next(iter(want))
    np.testing.assert_allclose(pd.read_csv(out)[name].to_numpy(), want[name], rtol=1e-15)


def test_header_only_csv_says_so(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src = tmp_path / "empty.csv"
    src.write_text("instrument,time,close\n")
    rc, err = _main(capsys, str(src), "--spec", "sma:3", "--out", str(tmp_path / "o.parquet"))
    assert rc == 2 and "has a header but no rows" in err and str(src) in err


def test_out_equal_to_an_input_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    src = tmp_path / "p.csv"
    _series_csv(src, None)
    before = src.read_bytes()
    rc, err = _main(capsys, str(src), "--spec", "sma:3", "--out", str(src))
    assert rc == 2 and "would destroy the input" in err and src.read_bytes() == before
    rc, err = _main(capsys, str(tmp_path), "--spec", "sma:3", "--out", str(tmp_path / "f"))
    assert rc == 2 and "inside the input folder" in err


def test_a_bad_second_file_is_named_and_nothing_is_written(tmp_path: Path) -> None:
    inputs = tmp_path / "in"
    inputs.mkdir()
    _prices(inputs / "a.csv", seed=1)
    (inputs / "b.csv").write_text("instrument,time,close\nA,1,1.0\nA,2,inf\n")
    _prices(inputs / "c.csv", seed=3)
    outdir = tmp_path / "out"
    outdir.mkdir()
    old = outdir / "a.features.parquet"
    old.write_bytes(b"from an earlier run")
    res = perfkit(str(inputs), "--spec", "sma:3", "--out", str(outdir))
    assert res.returncode == 2 and "Traceback" not in res.stderr
    assert str(inputs / "b.csv") in res.stderr and "infinite value" in res.stderr
    assert "no output was written" in res.stderr
    assert sorted(p.name for p in outdir.iterdir()) == ["a.features.parquet"]
    assert old.read_bytes() == b"from an earlier run"  # untouched, no half-done set


def test_two_inputs_with_one_output_name_are_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    inputs = tmp_path / "in"
    inputs.mkdir()
    _prices(inputs / "a.csv", seed=1)
    _prices(inputs / "a.parquet", seed=2)
    rc, err = _main(capsys, str(inputs), "--spec", "sma:3", "--out", str(tmp_path / "out"))
    assert rc == 2 and "would both write" in err
