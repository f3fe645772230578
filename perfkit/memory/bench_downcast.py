"""Side-by-side benchmark of the downcast speed and memory targets.

``python -m perfkit.memory.bench_downcast [--rows N] [--repeat R] [--json FILE]``

On the mixed 10-column frame of :func:`perfkit.memory.cases.make_mixed_frame` it times, with
interleaved repeats and medians: a NumPy min/max scan of every column (the floor of any analysis
pass), polars ``Series.shrink_dtype`` per column, pandas ``to_numeric(downcast=)``, the Kaggle
``reduce_mem_usage`` snippet, ``perfkit.plan_downcast`` and ``perfkit.downcast`` (plan +
conversion). It also measures perfkit's peak extra memory (tracemalloc, NumPy's buffers included)
against the output size, and the values each approach loses.
"""

from __future__ import annotations

import argparse
import gc
import json
import statistics
import time
import tracemalloc
from collections.abc import Callable
from typing import Any

import numpy as np


def _minmax_scan(arrays: list[np.ndarray]) -> None:
    for a in arrays:
        a.min()
        a.max()


def measure(rows: int = 10_000_000, repeat: int = 5) -> dict[str, Any]:
    """Run every contender ``repeat`` times, interleaved; return medians and figures."""
    from perfkit.memory.cases import (
        make_mixed_frame,
        reduce_mem_usage,
        to_numeric_downcast,
        values_lost,
    )
    from perfkit.memory.downcast import downcast, plan_downcast

    df = make_mixed_frame(rows)
    arrays = [df[c].to_numpy() for c in df.columns]
    contenders: dict[str, Callable[[], Any]] = {
        "numpy_minmax_scan": lambda: _minmax_scan(arrays),
        "perfkit_plan_downcast": lambda: plan_downcast(df),
        "perfkit_downcast": lambda: downcast(df),
        "kaggle_reduce_mem_usage": lambda: reduce_mem_usage(df.copy(deep=False), verbose=False),
        "pandas_to_numeric": lambda: to_numeric_downcast(df),
    }
    try:
        import polars as pl

        pdf = pl.from_pandas(df)
        contenders["polars_shrink_dtype"] = lambda: pl.DataFrame(
            [s.shrink_dtype() for s in pdf.get_columns()]
        )
    except ImportError:
        pdf = None
    downcast(df.head(1000))  # compile / load the numba cache before timing
    times: dict[str, list[float]] = {k: [] for k in contenders}
    for _ in range(repeat):
        for name, fn in contenders.items():
            gc.collect()
            t0 = time.perf_counter()
            out = fn()
            times[name].append(time.perf_counter() - t0)
            del out
    med = {k: statistics.median(v) for k, v in times.items()}

    gc.collect()
    tracemalloc.start()
    base = tracemalloc.get_traced_memory()[0]
    small, report = downcast(df)
    peak_extra = tracemalloc.get_traced_memory()[1] - base
    tracemalloc.stop()
    out_bytes = int(small.memory_usage(index=False).sum())
    in_bytes = int(df.memory_usage(index=False).sum())

    kaggle = reduce_mem_usage(df.copy(deep=False), verbose=False)
    tonum = to_numeric_downcast(df)
    results = {
        "rows": rows,
        "columns": df.shape[1],
        "repeat": repeat,
        "median_s": med,
        "min_s": {k: min(v) for k, v in times.items()},
        "input_bytes": in_bytes,
        "perfkit_output_bytes": out_bytes,
        "perfkit_peak_extra_bytes": int(peak_extra),
        "kaggle_output_bytes": int(kaggle.memory_usage(index=False).sum()),
        "to_numeric_output_bytes": int(tonum.memory_usage(index=False).sum()),
        "values_lost": {
            "perfkit": sum(values_lost(df, small).values()),
            "kaggle_reduce_mem_usage": sum(values_lost(df, kaggle).values()),
            "pandas_to_numeric": sum(values_lost(df, tonum).values()),
        },
        "report": report.to_dict(),
    }
    if pdf is not None:
        shrunk = pl.DataFrame([s.shrink_dtype() for s in pdf.get_columns()])
        results["polars_output_bytes"] = int(shrunk.estimated_size())
        results["values_lost"]["polars_shrink_dtype"] = sum(
            values_lost(df, shrunk.to_pandas()).values()
        )
    return results


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--rows", type=int, default=10_000_000)
    p.add_argument("--repeat", type=int, default=5)
    p.add_argument("--json", metavar="FILE", help="also write the figures as JSON")
    args = p.parse_args(argv)
    res = measure(args.rows, args.repeat)
    med = res["median_s"]
    floor = med["numpy_minmax_scan"]
    print(f"{res['rows']:,} rows x {res['columns']} columns, median of {res['repeat']}")
    for name, t in sorted(med.items(), key=lambda kv: kv[1]):
        print(f"  {name:26s} {t * 1e3:9.1f} ms  ({t / floor:5.2f}x the min/max scan)")
    print(
        f"  memory: input {res['input_bytes']:,} B, perfkit output {res['perfkit_output_bytes']:,}"
        f" B, perfkit peak extra {res['perfkit_peak_extra_bytes']:,} B"
    )
    print(f"  values lost: {res['values_lost']}")
    if args.json:
        from perfkit._atomic import atomic_write_text

        atomic_write_text(args.json, json.dumps(res, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
