"""compute(): all backends agree bit for bit; shapes and labels round-trip; bad input fails."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from perfkit.errors import UsageError
from perfkit.indicators import compute
from perfkit.indicators.parallel import batches, choose_backend

SPEC = "sma:10,ema:8,rsi:14,macd:12,26,9,bbands:20,2,atr:14,obv,stoch:5,3,3,min:7,roc:3"


@pytest.fixture(scope="module")
def panel() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(11)
    close = 100 * np.exp(np.cumsum(rng.normal(0, 0.01, (300, 37)), axis=0))
    close[:25, 3] = np.nan
    close[150:152, 7] = np.nan
    return {
        "close": close,
        "high": close * 1.01,
        "low": close * 0.99,
        "volume": rng.integers(1, 100, close.shape).astype(float),
    }


@pytest.mark.xdist_group("numba_backend")  # see tests/conftest.py
@pytest.mark.parametrize("backend", ["threads", "numba", "loky"])
@pytest.mark.parametrize("nan", ["propagate", "restart"])
def test_backends_are_identical_to_serial(panel: dict, backend: str, nan: str) -> None:
    serial = compute(panel, SPEC, backend="serial", nan=nan)
    other, info = compute(
        panel, SPEC, backend=backend, n_jobs=2, batch_size=5, nan=nan, return_info=True
    )
    assert set(other) == set(serial)
    for name in serial:
        np.testing.assert_array_equal(other[name], serial[name], err_msg=f"{backend} {name}")
    assert info.n_instruments == 37 and info.n_bars == 300


def test_auto_reports_its_choice(panel: dict) -> None:
    _, info = compute(panel, "sma:5", return_info=True)
    assert info.backend == "serial" and "small panel" in info.reason
    assert choose_backend(5000, 2000, 3, 1)[0] == "serial"
    assert choose_backend(5000, 1, 3, 2)[0] == "serial"
    assert choose_backend(10, 10, 1, 2, scheduler="tcp://x:1")[0] == "dask"


def test_batches_cover_every_instrument_once() -> None:
    for n, jobs, size in [(37, 2, None), (2000, 2, None), (5, 8, None), (10, 2, 3)]:
        got = batches(n, jobs, size)
        assert got[0][0] == 0 and got[-1][1] == n
        assert all(a1 == b0 for (_, a1), (b0, _) in zip(got, got[1:], strict=False))


def test_wide_frames_round_trip_labels(panel: dict) -> None:
    idx = pd.date_range("2024-01-01", periods=300, freq="min")
    cols = [f"I{j}" for j in range(37)]
    frames = {k: pd.DataFrame(v, index=idx, columns=cols) for k, v in panel.items()}
    out = compute(frames, "sma:10,atr:14", backend="serial")
    assert out["sma_10"].index.equals(idx) and list(out["atr_14"].columns) == cols
    arrays = compute(panel, "sma:10,atr:14", backend="serial")
    np.testing.assert_array_equal(out["atr_14"].to_numpy(), arrays["atr_14"])
    single = compute(frames["close"], "sma:10", backend="serial")  # one frame = close
    np.testing.assert_array_equal(single["sma_10"].to_numpy(), arrays["sma_10"])


def test_long_frame_unsorted_rows_are_sorted_per_instrument(panel: dict) -> None:
    n_bars, n_inst = panel["close"].shape
    times = pd.date_range("2024-01-01", periods=n_bars, freq="D")
    long = pd.DataFrame(
        {
            "instrument": np.repeat([f"I{j}" for j in range(n_inst)], n_bars),
            "time": np.tile(times, n_inst),
            "close": panel["close"].T.ravel(),
            "volume": panel["volume"].T.ravel().astype(np.int64),  # ints are converted
        }
    )
    shuffled = long.sample(frac=1.0, random_state=0)
    out = compute(shuffled, "sma:10,obv", backend="serial")
    assert list(out.index) == list(shuffled.index)  # input rows, input order
    wide = compute(panel, "sma:10,obv", backend="serial")
    back = out.pivot(index="time", columns="instrument", values="sma_10")[
        [f"I{j}" for j in range(n_inst)]
    ]
    np.testing.assert_array_equal(back.to_numpy(), wide["sma_10"])


def test_one_dimensional_input_returns_one_dimensional() -> None:
    out = compute({"close": np.arange(1.0, 40.0)}, "sma:3")
    assert out["sma_3"].shape == (39,) and out["sma_3"][2] == 2.0


@pytest.mark.parametrize(
    ("panel_", "needle"),
    [
        ({}, "empty"),
        ({"close": np.empty((0, 3))}, "empty"),
        ({"close": np.ones((5, 2)), "high": np.ones((5, 3))}, "mismatched shapes"),
        ({"close": np.array([["a", "b"]], dtype=object)}, "non-numeric"),
        ({"close": np.array([1.0, np.inf, 2.0])}, "infinite"),
        ({"close": np.ones(5, dtype=bool)}, "boolean"),
        ({"close": np.ones((2, 2, 2))}, "dimensions"),
        ({"high": np.ones(5)}, "no 'close'"),
        ("prices", "dict of arrays"),
    ],
)
def test_bad_panels_raise_clear_errors(panel_: object, needle: str) -> None:
    with pytest.raises(UsageError, match=needle):
        compute(panel_, "sma:3")


def test_missing_field_for_an_indicator() -> None:
    with pytest.raises(UsageError, match="atr:14 needs high, low, close; the panel lacks high"):
        compute({"close": np.ones(30)}, "atr:14")


def test_bad_options(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(UsageError, match="unknown backend"):
        compute({"close": np.ones(30)}, "sma:3", backend="gpu")
    with pytest.raises(UsageError, match="nan mode"):
        compute({"close": np.ones(30)}, "sma:3", nan="skip")
    with pytest.raises(UsageError, match="batch_size"):
        compute({"close": np.ones(30)}, "sma:3", batch_size=0)
    with pytest.raises(UsageError, match="n_jobs"):
        compute({"close": np.ones(30)}, "sma:3", n_jobs=0)
    distributed = pytest.importorskip("distributed")

    def no_client(*a, **k):
        raise ValueError("No global client found")

    # Another test in the same process may have left a default client: pretend there is none.
    monkeypatch.setattr(distributed, "get_client", no_client)
    with pytest.raises(UsageError, match="no dask Client"):
        compute({"close": np.ones(30)}, "sma:3", backend="dask")


def test_long_frame_errors() -> None:
    dup = pd.DataFrame({"instrument": ["A", "A"], "time": [1, 1], "close": [1.0, 2.0]})
    with pytest.raises(UsageError, match="duplicated \\(instrument, time\\) row: \\(A, 1\\)"):
        compute(dup, "sma:2")
    idx = pd.Index([2, 1])
    with pytest.raises(UsageError, match="unsorted timestamps"):
        compute({"close": pd.DataFrame({"A": [1.0, 2.0]}, index=idx)}, "sma:2")
    text = pd.DataFrame({"instrument": ["A"], "time": [1], "close": ["x"]})
    with pytest.raises(UsageError, match="non-numeric"):
        compute(text, "sma:2")


def test_auto_follows_calibration_then_measured_times(monkeypatch: pytest.MonkeyPatch) -> None:
    from perfkit.indicators import parallel

    tuner = parallel.AutoTuner()
    monkeypatch.setattr(parallel, "AUTO", tuner)
    big = {"close": np.ones((2000, 1100))}
    # an idle 2-core machine: the calibration measured threads 1.8x serial
    tuner.calibration[2] = 1.8
    _, first = compute(big, "sma:3", n_jobs=2, return_info=True)
    assert first.backend == "threads" and "calibration: threads 1.80x" in first.reason
    _, second = compute(big, "sma:3", n_jobs=2, return_info=True)
    assert second.backend == "serial" and "timing serial once" in second.reason
    # a busy machine: threads measured slower than serial on this shape -> serial from now on
    key = next(iter(tuner.times))
    tuner.times[key] = {"threads": 0.030, "serial": 0.020}
    _, busy = compute(big, "sma:3", n_jobs=2, return_info=True)
    assert busy.backend == "serial" and "measured on this shape" in busy.reason
    tuner.times[key] = {"threads": 0.010, "serial": 0.020}
    _, idle = compute(big, "sma:3", n_jobs=2, return_info=True)
    assert idle.backend == "threads" and idle.n_jobs == 2
    # the calibration itself is a measurement, and a busy machine reads as "no gain"
    tuner.calibration.clear()
    monkeypatch.setattr(tuner, "CALIBRATION_SHAPE", (200, 64))
    assert tuner.calibrate(2) > 0 and 2 in tuner.calibration
    tuner.calibration[2] = 0.8
    assert tuner.choose(("new", 1), 2) == (
        "serial",
        "calibration: threads only 0.80x serial on 2 cores",
    )


def test_auto_reprobes_the_slower_backend() -> None:
    from perfkit.indicators.parallel import AutoTuner

    tuner = AutoTuner()
    key = ("k",)
    tuner.calls[key] = 0
    tuner.times[key] = {"threads": 0.01, "serial": 0.02}
    picks = [tuner.choose(key, 2)[0] for _ in range(tuner.REPROBE_EVERY)]
    assert picks.count("serial") == 1 and picks[-1] == "serial"


# ---- out= (issue 13): results written in place, identical, no new output allocation ---------
@pytest.mark.xdist_group("numba_backend")
def test_out_arrays_get_identical_results_in_place(panel: dict) -> None:
    want = compute(panel, SPEC, backend="serial")
    for backend in ("serial", "threads", "numba"):
        out = {name: np.full(panel["close"].shape, 7.0) for name in want}
        got = compute(panel, SPEC, backend=backend, n_jobs=2, out=out)
        for name, arr in want.items():
            assert got[name] is out[name], f"{backend} {name}: not the caller's array"
            np.testing.assert_array_equal(out[name], arr, err_msg=f"{backend} {name}")


_NO_ALLOCATION = """
import tracemalloc
import numpy as np
from perfkit.indicators import compute

close = 100 + np.cumsum(np.random.default_rng(0).normal(size=(2000, 300)), axis=0)
out = {"sma_20": np.empty_like(close), "rsi_14": np.empty_like(close)}
compute({"close": close}, "sma:20,rsi:14", backend="serial", out=out)  # warm (compiled)
peaks = []
for kwargs in ({"out": out}, {}):
    tracemalloc.start()
    compute({"close": close}, "sma:20,rsi:14", backend="serial", **kwargs)
    peaks.append(tracemalloc.get_traced_memory()[1])
    tracemalloc.stop()
print(close.nbytes, *peaks)
"""


def test_out_allocates_no_output_memory() -> None:
    # In a fresh interpreter: tracemalloc counts every thread's allocations, and earlier tests
    # leave threads alive in a pytest worker (dask's offload thread, loky's manager and queue
    # feeder, the threads backend's pool); a fresh-clone run once saw 273 KB in the window.
    import subprocess
    import sys

    proc = subprocess.run(
        [sys.executable, "-c", _NO_ALLOCATION], capture_output=True, text=True, timeout=240
    )
    assert proc.returncode == 0, proc.stderr
    nbytes, peak, peak_new = map(int, proc.stdout.split())
    assert peak < nbytes / 20, f"{peak} bytes allocated for a {nbytes}-byte output"
    assert peak_new >= 2 * nbytes  # the check above can see an output allocation


def test_out_one_dimensional_and_bad_out_arrays() -> None:
    x = np.arange(1.0, 40.0)
    buf = np.empty(39)
    assert compute({"close": x}, "sma:3", out={"sma_3": buf})["sma_3"] is buf
    assert buf[2] == 2.0
    bad = [
        ({"sma_3": np.empty(39, dtype=np.float32)}, "float64 array of shape"),
        ({"sma_3": np.empty(40)}, "shape"),
        ({"sma_3": np.empty((39, 2))[:, 0]}, "C-contiguous"),
        ({"ema_3": np.empty(39)}, "do not make"),
        ({"sma_3": x}, "overlaps an input"),
        ([np.empty(39)], "dict of arrays"),
    ]
    for out, needle in bad:
        with pytest.raises(UsageError, match=needle):
            compute({"close": x}, "sma:3", out=out)


def test_unused_fields_are_neither_converted_nor_checked() -> None:
    x = np.arange(1.0, 40.0)
    volume = np.full(39, np.inf)  # an unused field with an inf: not read, not refused
    out = compute({"close": x, "volume": volume, "open": np.arange(39)}, "sma:3")
    assert out["sma_3"][2] == 2.0
    with pytest.raises(UsageError, match="field 'volume' holds an infinite value at bar 0"):
        compute({"close": x, "volume": volume}, "obv")
    frames = {"close": pd.DataFrame({"A": x}), "volume": pd.DataFrame({"A": volume})}
    assert compute(frames, "sma:3")["sma_3"]["A"].iloc[2] == 2.0  # wide frames: the same rule
    with pytest.raises(UsageError, match="field 'volume' holds an infinite value"):
        compute(frames, "obv")


@pytest.mark.parametrize("spec", ["sma:5", "ema:5", "rsi:5", "macd:3,5,2", "bbands:5", "wma:3"])
@pytest.mark.parametrize("where", [0, 4, 17, 39])
def test_inf_anywhere_is_refused_whatever_the_kernel(spec: str, where: int) -> None:
    x = 100 + np.cumsum(np.random.default_rng(1).normal(size=(40, 3)), axis=0)
    x[where, 1] = -np.inf
    with pytest.raises(UsageError, match=f"infinite value at bar {where}, instrument 1"):
        compute({"close": x}, spec, backend="serial")
    x[:, 1] = np.nan  # an all-NaN lane is "not proven": the scan still runs and passes
    compute({"close": x}, spec, backend="serial")
