"""Benchmark cases of the indicators: each a baseline and a candidate with a check of the values.

* ``indicators_loop_vs_numba``: the pure-Python loop vs the numba kernel, per indicator;
* ``indicators_pandas_vs_numba``: pandas rolling/ewm on wide frames vs the numba kernels;
* ``indicators_serial_vs_parallel``: serial numba vs each parallel backend (2 000 x 5 000);
* ``indicators_dask_cluster``: serial vs a 2-worker dask LocalCluster on 127.0.0.1;
* ``indicators_torch_panel``: numba on the CPU vs batched torch ops (CPU or CUDA).

Every check compares values with the reference: NaN positions equal, max abs/rel error.
"""

from __future__ import annotations

import atexit
from typing import Any

import numpy as np

from perfkit.bench.case import Verdict, case
from perfkit.indicators import compute, parse_spec
from perfkit.indicators.reference import LOOPS, pandas_compute

#: indicator key (case parameter) -> spec
SPECS = {
    "sma": "sma:20",
    "ema": "ema:20",
    "rsi": "rsi:14",
    "max": "max:20",
    "bbands": "bbands:20,2",
    "macd": "macd:12,26,9",
    "atr": "atr:14",
    "stoch": "stoch:14,3,3",
}


def random_walk_panel(n_bars: int, n_instruments: int, seed: int = 0) -> dict[str, np.ndarray]:
    """A positive random-walk OHLCV panel, ``(n_bars, n_instruments)`` time-major."""
    rng = np.random.default_rng(seed)
    close = 100 * np.exp(np.cumsum(rng.normal(0, 0.01, (n_bars, n_instruments)), axis=0))
    spread = np.abs(rng.normal(0, 0.005, close.shape))
    return {
        "close": close,
        "high": close * (1 + spread),
        "low": close * (1 - spread),
        "volume": rng.integers(1, 1000, close.shape).astype(float),
    }


def compare(
    base: dict[str, Any], cand: dict[str, Any], rtol: float = 1e-9, what: str = ""
) -> Verdict:
    """NaN positions equal and values within ``rtol`` for every output.

    The error is relative to ``max(|x|, 1e-3 · max|output|)``: indicators such as MACD cross zero,
    where a plain relative error of two equally good results is ill-conditioned (a 1e-13 absolute
    difference on a value of 1e-6 is not a disagreement).
    """
    worst_abs = worst_rel = 0.0
    nan_mismatch = 0
    values = 0
    for name, b in base.items():
        b = np.asarray(b, dtype=float)
        c = np.asarray(cand[name], dtype=float).reshape(b.shape)
        bn, cn = np.isnan(b), np.isnan(c)
        nan_mismatch += int((bn != cn).sum())
        ok = ~bn & ~cn
        values += int(ok.sum())
        if ok.any():
            err = np.abs(b[ok] - c[ok])
            mag = np.abs(b[ok])
            floor = max(1e-9, 1e-3 * float(mag.max()))
            worst_abs = max(worst_abs, float(err.max()))
            worst_rel = max(worst_rel, float((err / np.maximum(mag, floor)).max()))
    good = nan_mismatch == 0 and worst_rel <= rtol and values > 0
    return Verdict(
        ok=good,
        detail=(
            f"{what}{len(base)} outputs, {values:,} values: max rel error {worst_rel:.2e} "
            f"(limit {rtol:.0e}), NaN positions differing: {nan_mismatch}"
        ),
        max_abs_error=worst_abs,
        max_rel_error=worst_rel,
        agreement=1.0 - nan_mismatch / max(1, values + nan_mismatch),
        figures={"nan_mismatch_count": float(nan_mismatch), "values_compared": float(values)},
    )


@case(
    "indicators_loop_vs_numba",
    "indicators",
    params={"indicator": ["sma", "ema", "rsi", "max", "bbands"], "n_bars": [200_000]},
    quick_params={"indicator": ["sma", "ema", "rsi", "max", "bbands"], "n_bars": [2_000]},
    baseline_label="pure-Python loop",
    candidate_label="numba kernel",
)
class LoopVsNumba:
    """A pure-Python loop over one series vs the numba kernel (per indicator)."""

    def make_inputs(self, p: dict) -> tuple[str, np.ndarray, list[float]]:
        x = random_walk_panel(p["n_bars"], 1)["close"][:, 0]
        return SPECS[p["indicator"]], x, x.tolist()

    def baseline(self, inputs: tuple) -> dict[str, Any]:
        spec, _, xs = inputs
        out = LOOPS[spec](xs)
        out = out if isinstance(out, tuple) else (out,)
        return dict(zip(parse_spec(spec).outputs, out, strict=True))

    def candidate(self, inputs: tuple) -> dict[str, Any]:
        spec, x, _ = inputs
        return compute({"close": x}, spec, backend="serial")

    def check(self, base: dict, cand: dict) -> Verdict:
        return compare(base, cand)


@case(
    "indicators_pandas_vs_numba",
    "indicators",
    params={"indicator": ["sma", "ema", "rsi", "bbands", "macd", "atr"], "n_instruments": [500]},
    quick_params={
        "indicator": ["sma", "ema", "rsi", "bbands", "macd", "atr"],
        "n_instruments": [8],
    },
    baseline_label="pandas rolling/ewm",
    candidate_label="numba panel kernel",
)
class PandasVsNumba:
    """pandas rolling/ewm on wide frames vs one numba pass over the panel."""

    def make_inputs(self, p: dict) -> tuple[str, dict, dict]:
        import pandas as pd

        n_bars = 5000 if p["n_instruments"] >= 100 else 300
        panel = random_walk_panel(n_bars, p["n_instruments"])
        frames = {k: pd.DataFrame(v) for k, v in panel.items()}
        return SPECS[p["indicator"]], panel, frames

    def baseline(self, inputs: tuple) -> dict[str, Any]:
        spec, _, frames = inputs
        return {k: v.to_numpy() for k, v in pandas_compute([spec], frames).items()}

    def candidate(self, inputs: tuple) -> dict[str, Any]:
        spec, panel, _ = inputs
        return compute(panel, spec, backend="serial")

    def check(self, base: dict, cand: dict) -> Verdict:
        return compare(base, cand)


PANEL_SPECS = "sma:20,ema:20,rsi:14"


@case(
    "indicators_serial_vs_parallel",
    "indicators",
    params={"backend": ["threads", "numba", "loky"], "n_instruments": [2000], "n_bars": [5000]},
    quick_params={"backend": ["threads", "numba", "loky"], "n_instruments": [64], "n_bars": [200]},
    baseline_label="serial numba",
    candidate_label="parallel backend (2 workers)",
)
class SerialVsParallel:
    """Serial numba vs a parallel backend on a 2 000-instrument x 5 000-bar panel."""

    def make_inputs(self, p: dict) -> tuple[dict, str]:
        panel = random_walk_panel(p["n_bars"], p["n_instruments"])
        return {"close": panel["close"]}, p["backend"]

    def baseline(self, inputs: tuple) -> dict[str, Any]:
        return compute(inputs[0], PANEL_SPECS, backend="serial")

    def candidate(self, inputs: tuple) -> dict[str, Any]:
        return compute(inputs[0], PANEL_SPECS, backend=inputs[1], n_jobs=2)

    def check(self, base: dict, cand: dict) -> Verdict:
        return compare(base, cand, rtol=0.0, what="bit-identical? ")


_CLUSTER: dict[str, Any] = {}


def _local_client() -> Any:
    if "client" not in _CLUSTER:
        from distributed import Client, LocalCluster

        cluster = LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=True,
            host="127.0.0.1",
            dashboard_address=None,
        )
        _CLUSTER["cluster"], _CLUSTER["client"] = cluster, Client(cluster)

        def close() -> None:
            _CLUSTER.pop("client").close()
            _CLUSTER.pop("cluster").close()

        atexit.register(close)
    return _CLUSTER["client"]


@case(
    "indicators_dask_cluster",
    "indicators",
    params={"n_instruments": [2000], "n_bars": [5000]},
    quick_params={"n_instruments": [16], "n_bars": [200]},
    baseline_label="serial numba",
    candidate_label="dask LocalCluster (2 workers)",
)
class DaskCluster:
    """Serial numba vs the same batches on a 2-process dask LocalCluster on 127.0.0.1."""

    def make_inputs(self, p: dict) -> tuple[dict, Any]:
        panel = random_walk_panel(p["n_bars"], p["n_instruments"])
        compute({"close": panel["close"][:50, :2]}, PANEL_SPECS)  # workers then load the cache
        return {"close": panel["close"]}, _local_client()

    def baseline(self, inputs: tuple) -> dict[str, Any]:
        return compute(inputs[0], PANEL_SPECS, backend="serial")

    def candidate(self, inputs: tuple) -> dict[str, Any]:
        return compute(inputs[0], PANEL_SPECS, backend="dask", scheduler=inputs[1])

    def check(self, base: dict, cand: dict) -> Verdict:
        return compare(base, cand, rtol=0.0, what="bit-identical? ")


@case(
    "indicators_torch_panel",
    "indicators",
    params={"indicator": ["sma", "ema", "rsi", "bbands"], "n_instruments": [2000]},
    quick_params={"indicator": ["sma", "ema", "rsi", "bbands"], "n_instruments": [16]},
    devices=("cpu", "cuda"),
    baseline_label="numba on the CPU",
    candidate_label="batched torch ops on the device",
)
class TorchPanel:
    """numba kernels on the CPU vs batched torch ops (a blockwise scan for the recurrences)."""

    def make_inputs(self, p: dict) -> tuple[str, np.ndarray, Any]:
        import torch

        from perfkit.indicators import torch_kernels  # noqa: F401  (torch present)

        n_bars = 5000 if p["n_instruments"] >= 100 else 300
        close = random_walk_panel(n_bars, p["n_instruments"])["close"]
        return SPECS[p["indicator"]], close, torch.from_numpy(close).to(p["device"])

    def baseline(self, inputs: tuple) -> dict[str, Any]:
        return compute({"close": inputs[1]}, inputs[0], backend="serial")

    def candidate(self, inputs: tuple) -> dict[str, Any]:
        from perfkit.indicators.torch_kernels import TORCH_SPECS

        spec, _, x = inputs
        outs = TORCH_SPECS[spec](x)
        if x.is_cuda:
            import torch

            torch.cuda.synchronize()
        return dict(zip(parse_spec(spec).outputs, outs, strict=True))

    def check(self, base: dict, cand: dict) -> Verdict:
        # cumulative sums lose a few digits on long panels: 1e-8 relative
        return compare(base, {k: v.cpu().numpy() for k, v in cand.items()}, rtol=1e-8)
