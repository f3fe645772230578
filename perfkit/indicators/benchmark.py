"""Measure the indicator targets side by side: ``python -m perfkit.indicators.benchmark``.

Prints a markdown report (and writes it with ``--out``): copy bandwidth, each kernel vs TA-Lib
on a 1 000 000-bar series, the 2 000 x 5 000 panel vs the memory-bandwidth bound and vs
pandas, 1 -> 2 core scaling, the backend table (and what ``auto`` picks), and whether a
second process compiles anything (numba's on-disk cache).
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from perfkit.indicators import compute, kernels, parallel, parse_spec
from perfkit.indicators.cases import random_walk_panel


def median_s(fn: Callable[[], Any], repeat: int = 7, warmup: int = 1) -> float:
    """Median wall time of ``fn`` over ``repeat`` calls after ``warmup`` calls."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def copy_bandwidth(nbytes: int = 80_000_000) -> float:
    """Bytes read + written per second by ``np.copyto`` between two preallocated arrays."""
    src = np.random.default_rng(0).random(nbytes // 8)
    dst = np.empty_like(src)
    t = median_s(lambda: np.copyto(dst, src), repeat=11)
    return 2 * nbytes / t


def _kernel_call(spec: str, fields: dict[str, np.ndarray]) -> Callable[[], Any]:
    """One kernel over a one-instrument panel, allocating its outputs like TA-Lib's wrapper."""
    sp = parse_spec(spec)
    kern = kernels.KERNELS[sp.kernel_id]
    c, h, lo, v = parallel._arrays_for(sp, fields)
    p1, p2, p3 = sp.kernel_params()
    n_out = len(sp.outputs)

    def run() -> None:
        outs = [np.empty(c.shape) for _ in range(n_out)]
        o1, o2, o3 = (outs + [outs[0], outs[0]])[:3]
        kern(c, h, lo, v, o1, o2, o3, p1, p2, p3, 0, c.shape[1], 0, c.shape[0])

    return run


TALIB_SPECS = {
    "SMA(20)": ("sma:20", lambda t, d: t.SMA(d["close"], 20)),
    "EMA(20)": ("ema:20", lambda t, d: t.EMA(d["close"], 20)),
    "WMA(20)": ("wma:20", lambda t, d: t.WMA(d["close"], 20)),
    "RSI(14)": ("rsi:14", lambda t, d: t.RSI(d["close"], 14)),
    "MACD(12,26,9)": ("macd:12,26,9", lambda t, d: t.MACD(d["close"], 12, 26, 9)),
    "BBANDS(20,2)": ("bbands:20,2", lambda t, d: t.BBANDS(d["close"], 20, 2, 2, 0)),
    "ATR(14)": ("atr:14", lambda t, d: t.ATR(d["high"], d["low"], d["close"], 14)),
    "STOCH(14,3,3)": (
        "stoch:14,3,3",
        lambda t, d: t.STOCH(d["high"], d["low"], d["close"], 14, 3, 0, 3, 0),
    ),
    "OBV": ("obv", lambda t, d: t.OBV(d["close"], d["volume"])),
    "STDDEV(20)": ("std:20", lambda t, d: t.STDDEV(d["close"], 20, 1)),
    "ROC(10)": ("roc:10", lambda t, d: t.ROC(d["close"], 10)),
    "MIN(20)": ("min:20", lambda t, d: t.MIN(d["close"], 20)),
    "MAX(20)": ("max:20", lambda t, d: t.MAX(d["close"], 20)),
}


def single_series(n_bars: int) -> list[dict[str, Any]]:
    import talib

    series = {k: v[:, 0].copy() for k, v in random_walk_panel(n_bars, 1, seed=1).items()}
    as_panel = {k: v.reshape(-1, 1) for k, v in series.items()}
    rows = []
    for label, (spec, fn) in TALIB_SPECS.items():
        t_talib = median_s(lambda fn=fn: fn(talib, series), repeat=9)
        t_ours = median_s(_kernel_call(spec, as_panel), repeat=9)
        rows.append({"kernel": label, "talib_ms": t_talib * 1e3, "numba_ms": t_ours * 1e3})
    return rows


def panel_vs_bound(panel: dict[str, np.ndarray], bw: float) -> list[dict[str, Any]]:
    """SMA/EMA/RSI over the whole panel into preallocated outputs, 1 and 2 threads."""
    import numba

    c = panel["close"]
    rows = []
    for spec in ("sma:20", "ema:20", "rsi:14"):
        sp = parse_spec(spec)
        out = np.empty_like(c)
        out.fill(0.0)  # fault the pages in once, as the copy benchmark's destination is
        p1, p2, p3 = sp.kernel_params()
        par = kernels.PARALLEL[sp.kernel_id]
        kern = kernels.KERNELS[sp.kernel_id]

        def serial(kern=kern, out=out, p1=p1, p2=p2, p3=p3) -> None:
            for a in range(0, c.shape[1], parallel.TILE):
                b = min(a + parallel.TILE, c.shape[1])
                kern(c, c, c, c, out, out, out, p1, p2, p3, a, b, 0, c.shape[0])

        def run_par_tile(par=par, out=out, p1=p1, p2=p2, p3=p3, tile=1) -> None:
            par(c, c, c, c, out, out, out, p1, p2, p3, tile)

        times = {"serial_ms": median_s(serial) * 1e3}
        for threads in (1, 2):
            numba.set_num_threads(threads)

            tile = -(-c.shape[1] // threads)
            times[f"prange{threads}_ms"] = (
                median_s(lambda run=run_par_tile, tile=tile: run(tile=tile)) * 1e3
            )
        numba.set_num_threads(numba.config.NUMBA_NUM_THREADS)
        bound_ms = 2 * c.nbytes / bw * 1e3
        rows.append({"indicator": spec, "bound_ms": bound_ms, **times})
    return rows


def panel_vs_pandas_and_talib(panel: dict[str, np.ndarray]) -> list[dict[str, Any]]:
    import pandas as pd
    import talib
    from joblib import Parallel, delayed

    from perfkit.indicators.reference import pandas_indicator

    c = panel["close"]
    frames = {"close": pd.DataFrame(c)}
    cols = [np.ascontiguousarray(c[:, j]) for j in range(c.shape[1])]
    talib_fn = {"sma:20": lambda x: talib.SMA(x, 20), "ema:20": lambda x: talib.EMA(x, 20),
                "rsi:14": lambda x: talib.RSI(x, 14)}  # fmt: skip
    rows = []
    for spec in ("sma:20", "ema:20", "rsi:14"):
        t_pd = median_s(lambda spec=spec: pandas_indicator(spec, frames), repeat=3)
        fn = talib_fn[spec]
        t_ta = median_s(
            lambda fn=fn: Parallel(n_jobs=2, backend="threading")(delayed(fn)(x) for x in cols),
            repeat=3,
        )
        t_best = median_s(lambda spec=spec: compute({"close": c}, spec, backend="numba", n_jobs=2))
        rows.append(
            {
                "indicator": spec,
                "pandas_ms": t_pd * 1e3,
                "talib_threads_ms": t_ta * 1e3,
                "compute_numba2_ms": t_best * 1e3,
            }  # fmt: skip
        )
    return rows


def backend_table(panel: dict[str, np.ndarray], specs: str, dask_client: Any) -> list[dict]:
    c = {"close": panel["close"]}
    rows = []
    for backend in ("serial", "threads", "numba", "loky", "dask", "auto"):
        if backend == "dask" and dask_client is None:
            continue
        kw: dict[str, Any] = {"scheduler": dask_client} if backend == "dask" else {}
        # auto picks its own worker count (the idle cores); the others are given n_jobs=2
        kw["n_jobs"] = None if backend == "auto" else 2
        _, info = compute(c, specs, backend=backend, return_info=True, **kw)
        t = median_s(lambda b=backend, kw=kw: compute(c, specs, backend=b, **kw), repeat=3)
        rows.append(
            {"backend": backend, "ms": t * 1e3, "chosen": f"{info.backend} x{info.n_jobs}",
             "reason": info.reason}
        )  # fmt: skip
    return rows


CACHE_PROBE = """
import time, json
t0 = time.perf_counter()
import numpy as np
from perfkit.indicators import compute, kernels
t1 = time.perf_counter()
x = 100 + np.cumsum(np.random.default_rng(0).normal(size=(300, 4)), axis=0)
d = {"close": x, "high": x + 1, "low": x - 1, "volume": np.ones_like(x)}
spec = ("sma:20,ema:20,wma:10,rsi:14,macd:12,26,9,bbands:20,2,atr:14,stoch:14,3,3,obv,std:20,"
        "zscore:20,roc:10,logret,min:20,max:20")
compute(d, spec, backend="serial")
compute(d, "sma:20,ema:20,rsi:14", backend="numba", n_jobs=2)
t2 = time.perf_counter()
hits = misses = 0
for disp in list(kernels.KERNELS.values()) + list(kernels.PARALLEL.values()):
    hits += sum(disp.stats.cache_hits.values())
    misses += sum(disp.stats.cache_misses.values())
print(json.dumps({"import_s": t1 - t0, "first_calls_s": t2 - t1, "hits": hits, "misses": misses}))
"""


def cache_probe() -> dict[str, Any]:
    """Two fresh processes on an empty cache folder: the first compiles, the second must not."""
    import os
    import tempfile

    runs = []
    with tempfile.TemporaryDirectory(prefix="perfkit-numba-cache-") as cache_dir:
        env = {**os.environ, "NUMBA_CACHE_DIR": cache_dir}
        for _ in range(2):
            res = subprocess.run(
                [sys.executable, "-c", CACHE_PROBE],
                capture_output=True,
                text=True,
                timeout=1800,
                env=env,
            )
            if res.returncode != 0:
                raise RuntimeError(f"cache probe failed: {res.stderr[-2000:]}")
            runs.append(json.loads(res.stdout.strip().splitlines()[-1]))
    return {"first": runs[0], "second": runs[1]}


def _table(rows: list[dict], cols: list[tuple[str, str]]) -> str:
    head = "| " + " | ".join(h for h, _ in cols) + " |"
    sep = "|" + "|".join("---" for _ in cols) + "|"
    body = []
    for r in rows:
        cells = []
        for _, key in cols:
            v = r[key] if not callable(key) else key(r)
            cells.append(f"{v:.2f}" if isinstance(v, float) else str(v))
        body.append("| " + " | ".join(cells) + " |")
    return "\n".join([head, sep, *body])


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--bars", type=int, default=1_000_000, help="bars of the single series")
    ap.add_argument("--instruments", type=int, default=2000)
    ap.add_argument("--panel-bars", type=int, default=5000)
    ap.add_argument("--no-dask", action="store_true", help="skip the LocalCluster row")
    ap.add_argument("--out", default=None, help="also write the markdown report here")
    args = ap.parse_args(argv)

    from perfkit._env import utc_now_iso

    where = platform.processor() or platform.machine()
    lines = [
        f"Measured {utc_now_iso()} on {where}, {parallel.cpu_count()} cores "
        "(shared with other jobs: figures are noisy)."
    ]
    cache = cache_probe()
    bw = copy_bandwidth()
    lines.append(
        f"\nCopy bandwidth (np.copyto, 80 MB, read + write bytes): **{bw / 1e9:.1f} GB/s**"
    )

    single = single_series(args.bars)
    for r in single:
        r["ratio"] = r["talib_ms"] / r["numba_ms"]
        r["met"] = "yes" if r["ratio"] >= 1.0 else "no"
    lines.append(f"\n### One series of {args.bars:,} bars, one core: numba kernel vs TA-Lib\n")
    lines.append(_table(single, [("kernel", "kernel"), ("TA-Lib ms", "talib_ms"),
                                 ("numba ms", "numba_ms"), ("TA-Lib / numba", "ratio"),
                                 ("≥ 1.0", "met")]))  # fmt: skip

    panel = random_walk_panel(args.panel_bars, args.instruments)
    bound = panel_vs_bound(panel, bw)
    for r in bound:
        best = min(r["prange2_ms"], r["serial_ms"])
        r["best_over_bound"] = best / r["bound_ms"]
        r["met"] = "yes" if r["best_over_bound"] <= 2.0 else "no"
        r["scaling"] = r["prange1_ms"] / r["prange2_ms"]
    shape = f"{args.instruments:,} instruments x {args.panel_bars:,} bars"
    lines.append(f"\n### Panel {shape}: kernels into preallocated outputs vs the bandwidth bound\n")
    lines.append("bound = (bytes read + bytes written) / copy bandwidth.\n")
    lines.append(_table(bound, [("indicator", "indicator"), ("bound ms", "bound_ms"),
                                ("serial ms", "serial_ms"), ("prange 1 thread ms", "prange1_ms"),
                                ("prange 2 threads ms", "prange2_ms"),
                                ("best / bound", "best_over_bound"), ("≤ 2x", "met"),
                                ("1→2 cores", "scaling")]))  # fmt: skip

    comp = panel_vs_pandas_and_talib(panel)
    for r in comp:
        r["vs_pandas"] = r["pandas_ms"] / r["compute_numba2_ms"]
        r["vs_talib"] = r["talib_threads_ms"] / r["compute_numba2_ms"]
    lines.append(f"\n### Panel {shape}: compute() end to end vs pandas and TA-Lib\n")
    lines.append("compute() includes input validation and allocating the outputs.\n")
    lines.append(_table(comp, [("indicator", "indicator"), ("pandas ms", "pandas_ms"),
                               ("TA-Lib, joblib threads ms", "talib_threads_ms"),
                               ("compute numba 2 threads ms", "compute_numba2_ms"),
                               ("× vs pandas", "vs_pandas"),
                               ("× vs TA-Lib", "vs_talib")]))  # fmt: skip

    client = None
    if not args.no_dask:
        from distributed import Client, LocalCluster

        cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                               host="127.0.0.1", dashboard_address=None)  # fmt: skip
        client = Client(cluster)
    try:
        specs = "sma:20,ema:20,rsi:14"
        big = backend_table(panel, specs, client)
        small_panel = random_walk_panel(500, 20)
        small = backend_table(small_panel, specs, client)
    finally:
        if client is not None:
            client.close()
            cluster.close()
    for table, label in ((big, shape), (small, "20 instruments x 500 bars")):
        serial = next(r["ms"] for r in table if r["backend"] == "serial")
        for r in table:
            r["vs_serial"] = serial / r["ms"]
        lines.append(f"\n### Backends, compute('{specs}'), n_jobs=2 (auto: idle cores), {label}\n")
        lines.append(_table(table, [("backend", "backend"), ("ms", "ms"),
                                    ("speed vs serial", "vs_serial"), ("ran as", "chosen"),
                                    ("why", "reason")]))  # fmt: skip

    s1, s2 = cache["first"], cache["second"]
    lines.append("\n### numba cache: the same kernels in two fresh processes, empty cache folder\n")
    lines.append(_table(
        [{"run": "first process", **s1}, {"run": "second process", **s2}],
        [("run", "run"), ("import s", "import_s"), ("first calls s", "first_calls_s"),
         ("loaded from cache", "hits"), ("compiled", "misses")],
    ))  # fmt: skip
    text = "\n".join(lines) + "\n"
    print(text)
    if args.out:
        from perfkit._atomic import atomic_write_text

        atomic_write_text(args.out, text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
