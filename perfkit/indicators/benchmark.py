"""The indicator targets, measured honestly: ``python -m perfkit.indicators.benchmark``.

One run prints (and writes to ``reports/indicators.md``) the machine (CPU model, cores, load
average before, during and after, copy bandwidth) and, for every figure, the baseline and the
candidate measured side by side in the same process:

* panel 2 000 x 5 000, SMA/EMA/RSI through ``compute()`` end to end, against the bandwidth bound
  (16 bytes per cell / copy bandwidth), the plain per-row numba kernel written below (1 and 2
  threads) and the pandas baseline; 1 -> 2 core scaling;
* where the time of ``compute()`` goes (validation, output pages, seeding, main loop);
* one 1 000 000-bar series, every indicator of the table through ``compute()`` against TA-Lib
  (rows say "TA-Lib not installed" when it is not);
* what ``backend="auto"`` picks, against serial and threads.

A target is marked met only if its threshold (the issue's number) holds **and** the 1-minute
load average stayed at or below 0.5 for the whole run; otherwise it reads "not judged". Needs
numpy, numba and pandas only (TA-Lib optional). The full run takes about 2-3 minutes on the
2-core machine once the kernels are compiled; ``--quick`` halves the repeats and ``--small``
(smaller sizes, never judged) checks that it works.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

import numba
import numpy as np
from numba import njit, prange

from perfkit.indicators import compute, parse_spec
from perfkit.indicators.cases import random_walk_panel
from perfkit.indicators.definitions import INDICATORS

#: Above this 1-minute load average no target is called met.
MAX_LOAD = 0.5


# ------------------------------------------------------------------------------------------
# the plain per-row numba kernels a user would write: instrument-major, prange over rows
# ------------------------------------------------------------------------------------------
@njit(parallel=True, cache=True)
def plain_sma(x: np.ndarray, n: int) -> np.ndarray:
    """SMA of each row of an instrument-major ``(n_instruments, n_bars)`` array."""
    out = np.empty_like(x)
    for i in prange(x.shape[0]):
        row = x[i]
        o = out[i]
        s = 0.0
        for t in range(n - 1):
            s += row[t]
            o[t] = np.nan
        s += row[n - 1]
        o[n - 1] = s / n
        for t in range(n, row.shape[0]):
            s += row[t] - row[t - n]
            o[t] = s / n
    return out


@njit(parallel=True, cache=True)
def plain_ema(x: np.ndarray, n: int) -> np.ndarray:
    """EMA (SMA-seeded) of each row."""
    out = np.empty_like(x)
    k = 2.0 / (n + 1)
    for i in prange(x.shape[0]):
        row = x[i]
        o = out[i]
        s = 0.0
        for t in range(n - 1):
            s += row[t]
            o[t] = np.nan
        s = (s + row[n - 1]) / n
        o[n - 1] = s
        for t in range(n, row.shape[0]):
            s = s + k * (row[t] - s)
            o[t] = s
    return out


@njit(parallel=True, cache=True)
def plain_rsi(x: np.ndarray, n: int) -> np.ndarray:
    """Wilder's RSI of each row."""
    out = np.empty_like(x)
    for i in prange(x.shape[0]):
        row = x[i]
        o = out[i]
        g = 0.0
        lo = 0.0
        o[0] = np.nan
        for t in range(1, n + 1):
            d = row[t] - row[t - 1]
            if d > 0:
                g += d
            else:
                lo -= d
            o[t] = np.nan
        g /= n
        lo /= n
        o[n] = 100.0 * g / (g + lo) if g + lo > 0 else 0.0
        for t in range(n + 1, row.shape[0]):
            d = row[t] - row[t - 1]
            g = (g * (n - 1) + (d if d > 0 else 0.0)) / n
            lo = (lo * (n - 1) + (-d if d < 0 else 0.0)) / n
            o[t] = 100.0 * g / (g + lo) if g + lo > 0 else 0.0
    return out


PLAIN = {"sma:20": (plain_sma, 20), "ema:20": (plain_ema, 20), "rsi:14": (plain_rsi, 14)}


# ------------------------------------------------------------------------------------------
# measuring
# ------------------------------------------------------------------------------------------
def median_s(fn: Callable[[], Any], repeat: int = 5, warmup: int = 1) -> float:
    """Median wall time of ``fn`` over ``repeat`` calls after ``warmup`` calls."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def interleaved_medians_s(
    fns: list[Callable[[], Any]], repeat: int = 5, warmup: int = 1
) -> list[float]:
    """Median wall time of each of ``fns``, called in turn ``repeat`` times after ``warmup``
    rounds: compared calls see the same moments of the machine and the same allocator state
    (a fresh output may or may not reuse pages, and its page offset decides 4K aliasing)."""
    for _ in range(warmup):
        for fn in fns:
            fn()
    times: list[list[float]] = [[] for _ in fns]
    for _ in range(repeat):
        for fn, acc in zip(fns, times, strict=True):
            t = time.perf_counter()
            fn()
            acc.append(time.perf_counter() - t)
    return [statistics.median(acc) for acc in times]


def copy_bandwidth(nbytes: int = 80_000_000) -> float:
    """Bytes read + written per second by ``np.copyto`` between two faulted-in arrays."""
    src = np.random.default_rng(0).random(nbytes // 8)
    dst = np.empty_like(src)
    dst.fill(0.0)
    return 2 * nbytes / median_s(lambda: np.copyto(dst, src), repeat=11)


class LoadWatch:
    """Samples the 1-minute load average every second while the benchmark runs."""

    def __init__(self) -> None:
        self.samples: list[float] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    @staticmethod
    def now() -> float:
        try:
            return os.getloadavg()[0]
        except (AttributeError, OSError):  # pragma: no cover - not Unix
            return float("nan")

    def _run(self) -> None:
        while not self._stop.wait(1.0):
            self.samples.append(self.now())

    @staticmethod
    def settled() -> float:
        """The load once idle (before a run) or once our own load decayed (after it)."""
        from perfkit._env import wait_for_idle

        load = wait_for_idle()
        return float("nan") if load is None else load

    def __enter__(self) -> LoadWatch:
        self.samples.append(self.settled())  # before: wait for an idle machine
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.samples.append(self.settled())  # after: once our own load has decayed

    @property
    def peak(self) -> float:
        return max(self.samples)


def _threads(n: int) -> None:
    numba.set_num_threads(max(1, min(n, numba.config.NUMBA_NUM_THREADS)))


def panel_rows(panel: dict[str, np.ndarray], bw: float, repeat: int) -> list[dict[str, Any]]:
    """SMA/EMA/RSI on the panel: compute() vs the bound, the plain kernel and pandas."""
    close = panel["close"]
    inst_major = np.ascontiguousarray(close.T)  # the plain kernel's own layout, made once
    frames = {"close": _frame(close)}
    bound = 16 * close.size / bw
    cores = min(2, os.cpu_count() or 1)
    return [
        _panel_row(spec, close, inst_major, frames, bound, cores, repeat)
        for spec in ("sma:20", "ema:20", "rsi:14")
    ]


def _panel_row(
    spec: str,
    close: np.ndarray,
    inst_major: np.ndarray,
    frames: dict[str, Any],
    bound: float,
    cores: int,
    repeat: int,
) -> dict[str, Any]:
    from perfkit.indicators.reference import pandas_indicator

    fn, n = PLAIN[spec]
    row: dict[str, Any] = {"indicator": spec, "bound_ms": bound * 1e3, "cores": cores}
    for threads in (1, cores):
        _threads(threads)
        row[f"plain{threads}_ms"] = median_s(lambda: fn(inst_major, n), repeat) * 1e3
    _threads(numba.config.NUMBA_NUM_THREADS)
    d = {"close": close}
    row["compute1_ms"] = median_s(lambda: compute(d, spec, backend="serial"), repeat) * 1e3
    row[f"compute{cores}_ms"] = (
        median_s(lambda: compute(d, spec, backend="threads", n_jobs=cores), repeat) * 1e3
    )
    out = {parse_spec(spec).outputs[0]: np.zeros_like(close)}
    row["compute_out1_ms"] = (
        median_s(lambda: compute(d, spec, backend="serial", out=out), repeat) * 1e3
    )
    row["compute_out_ms"] = (
        median_s(lambda: compute(d, spec, backend="threads", n_jobs=cores, out=out), repeat) * 1e3
    )
    row["pandas_ms"] = median_s(lambda: pandas_indicator(spec, frames), 1) * 1e3
    return row


def _frame(arr: np.ndarray) -> Any:
    import pandas as pd

    return pd.DataFrame(arr)


def phase_rows(panel: dict[str, np.ndarray], repeat: int) -> list[dict[str, Any]]:
    """Where one serial SMA call on the panel spends its time."""
    from perfkit.indicators import kernels

    close = panel["close"]
    n_bars, n_inst = close.shape
    o = np.zeros_like(close)
    k = kernels.k_sma

    def seed() -> None:
        k(close, close, close, close, o, o, o, 20.0, 0.0, 0.0, 0, n_inst, 0, 21)

    def full() -> None:
        k(close, close, close, close, o, o, o, 20.0, 0.0, 0.0, 0, n_inst, 0, n_bars)

    t_seed = median_s(seed, repeat)
    t_full = median_s(full, repeat)
    t_scan = median_s(lambda: kernels.first_inf(close), repeat)
    t_isinf = median_s(lambda: np.isinf(close).any(), repeat)
    t_alloc = median_s(lambda: np.empty_like(close).fill(0.0), repeat)
    t_touch = median_s(lambda: o.fill(0.0), repeat)
    inst = np.ascontiguousarray(close.T)
    _threads(1)
    t_plain = median_s(lambda: plain_sma(inst, 20), repeat)
    _threads(numba.config.NUMBA_NUM_THREADS)
    t_compute = median_s(lambda: compute({"close": close}, "sma:20", backend="serial"), repeat)
    return [
        {"phase": "compute() end to end, serial", "ms": t_compute * 1e3,
         "note": "what the user calls"},
        {"phase": "kernel, time-major, into faulted-in outputs", "ms": t_full * 1e3,
         "note": "the main loop streams rows across instruments"},
        {"phase": "  of which per-lane seeding (first 21 rows)", "ms": t_seed * 1e3,
         "note": "walks each lane's first window down a column"},
        {"phase": "new output: np.empty + first touch", "ms": t_alloc * 1e3,
         "note": f"vs {t_touch * 1e3:.2f} ms to rewrite faulted-in pages"},
        {"phase": "inf scan if not proven (first_inf)", "ms": t_scan * 1e3,
         "note": f"np.isinf(x).any(): {t_isinf * 1e3:.2f} ms; skipped when SMA proves it"},
        {"phase": "plain per-row kernel, instrument-major, 1 thread", "ms": t_plain * 1e3,
         "note": "allocates its output (the layout compared)"},
    ]  # fmt: skip


def series_rows(n_bars: int, repeat: int) -> list[dict[str, Any]]:
    """Every indicator of the table on one series: compute() end to end vs TA-Lib."""
    try:
        import talib
    except ImportError:
        talib = None
    series = {k: v[:, 0].copy() for k, v in random_walk_panel(n_bars, 1, seed=1).items()}
    rows = []
    for ind in INDICATORS.values():
        spec = parse_spec(ind.example)
        p = [int(x) if float(x).is_integer() else float(x) for x in spec.params]
        ours = lambda spec=spec: compute(series, spec, backend="serial")  # noqa: E731
        if talib is None:
            t_ours = median_s(ours, repeat)
            t_ta = None
        else:
            theirs = lambda ind=ind, p=p: ind.talib_call(talib, series, p)  # noqa: E731
            t_ours, t_ta = interleaved_medians_s([ours, theirs], repeat)
        row: dict[str, Any] = {"indicator": str(spec), "talib": ind.talib, "ours_ms": t_ours * 1e3}
        row["talib_ms"] = "TA-Lib not installed" if t_ta is None else t_ta * 1e3
        rows.append(row)
    return rows


def auto_rows(panel: dict[str, np.ndarray], repeat: int) -> list[dict[str, Any]]:
    """What auto picks on the panel (after its calibration), against serial and threads."""
    d = {"close": panel["close"]}
    spec = "sma:20,ema:20,rsi:14"
    rows = []
    for backend in ("serial", "threads", "auto"):
        t = median_s(lambda b=backend: compute(d, spec, backend=b), repeat)
        _, info = compute(d, spec, backend=backend, return_info=True)
        rows.append({"backend": backend, "ms": t * 1e3, "ran": f"{info.backend} x{info.n_jobs}",
                     "why": info.reason})  # fmt: skip
    return rows


# ------------------------------------------------------------------------------------------
# the report
# ------------------------------------------------------------------------------------------
DESIGN_NOTES = """## Design notes (what the figures rest on)

* **Layout: time-major panels** `(n_bars, n_instruments)`, C-contiguous. The recurrences (EMA,
  RSI, ATR, MACD) run their inner loop across instruments: each lane is an independent chain
  that LLVM vectorizes, so the panel is throughput-bound where the plain per-row kernel waits on
  one chain per row. The per-lane seeding (first window, leading NaNs) walks a column, but it
  touches only a window's rows: the phase table above measures it.
* **Validation costs nothing when it can**: SMA, EMA, RSI, MACD and the running-mean kernels
  return a checksum of their final states; an inf poisons such a state for good, so a finite
  checksum proves the close finite without reading it again. Otherwise one vectorized pass
  (`first_inf`) scans the fields the indicators read, and only those.
* **Outputs**: a new output's pages are faulted in by the kernel's first write (the phase
  table's "np.empty + first touch"); `out=` reuses the caller's arrays.
* **TA-Lib-exact, bit-identical on every backend**: no fastmath in the kernels; FMA is an
  explicit `llvm.fma`, so vectorized and one-lane loops round identically.
* **auto** is measured: a one-off calibration (serial vs threads on this machine), then the
  times of earlier calls of the same shape, re-timing the slower backend every 16 calls.
* **One series** has no lanes to vectorize across, so its loops are separate 1-D code with
  unsigned indices (numba wraps a negative signed index at every access: that alone cost
  MACD ~40% and min/max half their time). Min/max run four van Herk blocks in lockstep,
  probing each ~4 096-bar chunk for NaN/inf just before it is processed; STOCH runs in
  8 192-bar chunks whose highest high and lowest low stay in cache.
* **Page offsets**: RSI and ATR keep the previous close in a register. Reloading `x[t]`
  right after storing `o[t]` is a 4K alias whenever input and output share their offset
  within a page (two fresh `mmap`-ed arrays do), and the loop then waits on every store:
  that made RSI bimodal per process (~2.8 or ~5 ms, by where the allocator put the arrays).
  TA-Lib's and compute()'s calls alternate in the one-series table, so both see the same
  allocator state and machine moment.
"""


def _fmt(v: Any) -> str:
    return f"{v:.2f}" if isinstance(v, float) else str(v)


def _table(rows: list[dict[str, Any]], cols: list[tuple[str, str]]) -> str:
    head = "| " + " | ".join(h for h, _ in cols) + " |"
    sep = "|" + "|".join("---" for _ in cols) + "|"
    body = ["| " + " | ".join(_fmt(r.get(k, "")) for _, k in cols) + " |" for r in rows]
    return "\n".join([head, sep, *body])


class Verdicts:
    """Each target: the figure, the threshold, and met / NOT met / not judged."""

    def __init__(self, judged: bool, why_not: str) -> None:
        self.rows: list[dict[str, Any]] = []
        self.judged, self.why_not = judged, why_not

    def add(self, target: str, value: float | None, ok: bool | None, shown: str) -> None:
        if ok is None:
            verdict = "not measured"
        elif not ok:
            verdict = "**NOT met**"
        elif not self.judged:
            verdict = f"not judged ({self.why_not})"
        else:
            verdict = "met"
        self.rows.append({"target": target, "measured": shown, "verdict": verdict,
                          "value": value, "threshold_ok": ok})  # fmt: skip

    def as_json(self) -> list[dict[str, Any]]:
        """The rows for the JSON report: ``met`` is true / false / null (not judged)."""
        out = []
        for r in self.rows:
            ok = r["threshold_ok"]
            met = None if ok is None or (ok and not self.judged) else bool(ok)
            out.append({"target": r["target"], "measured": r["measured"], "value": r["value"],
                        "met": met, "verdict": r["verdict"].strip("*")})  # fmt: skip
        return out


_COLD_CALL = """
import sys, time
from perfkit.indicators import compute
from perfkit.indicators.cases import random_walk_panel
from perfkit.indicators.definitions import INDICATORS
spec = ",".join(ind.example for ind in INDICATORS.values())
panel = random_walk_panel(300, 6)
t = time.perf_counter()
compute(panel, spec, backend=sys.argv[1])
print(time.perf_counter() - t)
"""


def cold_rows() -> list[dict[str, Any]]:
    """First call of compute() with every indicator, in a fresh process with an empty numba
    cache (what a new user and every fresh test process pay), serial and backend='numba'.

    Each backend runs in its own empty cache, so the numba row includes the serial kernels
    its prange drivers call. ``compiled`` counts the compiled variants numba saved."""
    import subprocess
    import tempfile

    rows = []
    for backend in ("serial", "numba"):
        with tempfile.TemporaryDirectory(prefix="perfkit-cold-") as cache:
            env = dict(os.environ, NUMBA_CACHE_DIR=cache)
            run = subprocess.run(
                [sys.executable, "-c", _COLD_CALL, backend],
                env=env, capture_output=True, text=True, timeout=1800, check=False,
            )  # fmt: skip
            if run.returncode != 0:
                tail = (run.stderr.strip().splitlines() or ["no output"])[-1]
                rows.append({"backend": backend, "first_call_s": f"failed: {tail}"})
                continue
            compiled = sum(
                name.endswith(".nbc") for _, _, files in os.walk(cache) for name in files
            )
            rows.append({"backend": backend, "first_call_s": float(run.stdout.split()[-1]),
                         "compiled": compiled})  # fmt: skip
    return rows


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark, print the report and write it (``--out``, default reports/)."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default="reports/indicators.md", help="markdown report to write")
    ap.add_argument("--quick", action="store_true", help="fewer repeats (about half the time)")
    ap.add_argument(
        "--small", action="store_true", help="small sizes to check the benchmark (never judged)"
    )
    ap.add_argument(
        "--cold", action="store_true",
        help="also time the first call of every indicator with an empty numba cache (~2-3 min)",
    )  # fmt: skip
    args = ap.parse_args(argv)
    from perfkit._env import cpu_model, utc_now_iso

    repeat = 3 if args.quick else 5
    n_bars, n_inst, series = (5000, 2000, 1_000_000)
    if args.small:
        n_bars, n_inst, series, repeat = (500, 200, 50_000, 2)
    started = time.perf_counter()
    with LoadWatch() as load:
        load_before = load.samples[0]
        panel = random_walk_panel(n_bars, n_inst)
        # compile (or load from numba's cache) before anything is timed
        compute({k: v[:50, :4] for k, v in panel.items()}, "sma:20,ema:20,rsi:14")
        bw = copy_bandwidth()
        prows = panel_rows(panel, bw, repeat)
        phases = phase_rows(panel, repeat)
        srows = series_rows(series, repeat + 2)
        arows = auto_rows(panel, repeat)
        crows = cold_rows() if args.cold else []
    took = time.perf_counter() - started
    peak = load.peak
    # Judged on the settled readings before and after: the peak during the run is this
    # benchmark's own load (two busy threads read as ~2), not evidence of anyone else.
    settled = max(load.samples[0], load.samples[-1])
    judged = settled <= MAX_LOAD and not args.small
    why = "--small sizes" if args.small else f"load average {settled:.2f} > {MAX_LOAD}"
    v = Verdicts(judged, why)
    cores = prows[0]["cores"]
    for r in prows:
        c2 = r[f"compute{cores}_ms"]
        r["x_bound"] = c2 / r["bound_ms"]
        r["x_plain1"] = r["compute1_ms"] / r["plain1_ms"]
        r[f"x_plain{cores}"] = c2 / r[f"plain{cores}_ms"]
        r["scaling"] = r["compute1_ms"] / c2
        r["x_pandas"] = r["pandas_ms"] / c2
        ind = r["indicator"]
        v.add(
            f"{ind} panel, {cores} cores: ≤ 2× bandwidth bound",
            r["x_bound"],
            r["x_bound"] <= 2.0,
            f"{c2:.1f} ms = {r['x_bound']:.2f}× bound",
        )
        v.add(
            f"{ind} panel, 1 thread: ≤ 1.0× plain per-row numba",
            r["x_plain1"],
            r["x_plain1"] <= 1.0,
            f"{r['compute1_ms']:.1f} vs {r['plain1_ms']:.1f} ms",
        )
        v.add(
            f"{ind} panel, {cores} threads: ≤ 1.0× plain per-row numba",
            r[f"x_plain{cores}"],
            r[f"x_plain{cores}"] <= 1.0,
            f"{c2:.1f} vs {r[f'plain{cores}_ms']:.1f} ms",
        )
        v.add(
            f"{ind} panel: 1 → {cores} cores ≥ 1.7×",
            r["scaling"],
            r["scaling"] >= 1.7 if cores >= 2 else None,
            f"{r['scaling']:.2f}×",
        )
        v.add(f"{ind} panel: ≥ 20× pandas", r["x_pandas"], r["x_pandas"] >= 20.0,
              f"{r['x_pandas']:.1f}×")  # fmt: skip
        # The same two targets when the caller reuses its output arrays (``out=``): a new
        # output's page faults are serial in the kernel, so they cap the fresh-output figures.
        r["x_bound_out"] = r["compute_out_ms"] / r["bound_ms"]
        r["scaling_out"] = r["compute_out1_ms"] / r["compute_out_ms"]
        v.add(
            f"{ind} panel, {cores} cores, out= (outputs reused): ≤ 2× bandwidth bound",
            r["x_bound_out"],
            r["x_bound_out"] <= 2.0,
            f"{r['compute_out_ms']:.1f} ms = {r['x_bound_out']:.2f}× bound",
        )
        v.add(
            f"{ind} panel, out= (outputs reused): 1 → {cores} cores ≥ 1.7×",
            r["scaling_out"],
            r["scaling_out"] >= 1.7 if cores >= 2 else None,
            f"{r['scaling_out']:.2f}× ({r['compute_out1_ms']:.1f} → {r['compute_out_ms']:.1f} ms)",
        )
    for r in srows:
        if isinstance(r["talib_ms"], float):
            r["ratio"] = r["talib_ms"] / r["ours_ms"]
            v.add(f"{r['indicator']} one series: ≥ 1.0× TA-Lib", r["ratio"], r["ratio"] >= 1.0,
                  f"{r['ratio']:.2f}× ({r['ours_ms']:.2f} vs {r['talib_ms']:.2f} ms)")  # fmt: skip
        else:
            r["ratio"] = "TA-Lib not installed"
            v.add(f"{r['indicator']} one series: ≥ 1.0× TA-Lib", None, None, r["ratio"])

    shape = f"{n_inst:,} instruments × {n_bars:,} bars"
    met = sum(r["verdict"] == "met" for r in v.rows)
    lines = [
        "# perfkit.indicators — benchmark report",
        "",
        "Written by `python -m perfkit.indicators.benchmark"
        + (" --quick" if args.quick else "") + (" --small" if args.small else "")
        + f"` at {utc_now_iso()} ({took:.0f} s). Every figure's baseline and candidate were "
        "measured in this one run (median of "
        f"{repeat} calls after a warm-up).",
        "",
        f"* CPU: **{cpu_model()}**, {os.cpu_count()} cores (this process may use {cores})",
        f"* load average (1 min): before {load_before:.2f} (settled), peak during {peak:.2f} "
        f"(this benchmark's own threads), after {load.samples[-1]:.2f} (settled once the run "
        "ended) — "
        + ("idle enough to judge the targets" if judged else f"**targets not judged: {why}**"),
        f"* copy bandwidth (np.copyto, 80 MB, read + written bytes): **{bw / 1e9:.1f} GB/s**; "
        f"bandwidth bound of one panel indicator = 16 bytes × cells / bandwidth = "
        f"{prows[0]['bound_ms']:.2f} ms",
        "",
        f"## Targets ({met} of {len(v.rows)} met)",
        "",
        _table(v.rows, [("target", "target"), ("measured", "measured"), ("verdict", "verdict")]),
        "",
        f"## Panel {shape}: compute() end to end",
        "",
        "compute() includes spec parsing, validation (a finite state checksum from the kernel "
        "proves the close free of inf; otherwise one vectorized scan) and allocating the "
        "outputs; `out=` writes into preallocated arrays. The plain kernel is the per-row "
        "`@njit` loop a user would write (instrument-major copy of the same prices, `prange` "
        "over rows, allocating its output), defined in this module.",
        "",
        _table(prows, [("indicator", "indicator"), ("bound ms", "bound_ms"),
                       ("plain 1 thr ms", "plain1_ms"),
                       (f"plain {cores} thr ms", f"plain{cores}_ms"),
                       ("compute serial ms", "compute1_ms"),
                       (f"compute threads×{cores} ms", f"compute{cores}_ms"),
                       ("compute out= serial ms", "compute_out1_ms"),
                       (f"compute out= threads×{cores} ms", "compute_out_ms"),
                       ("pandas ms", "pandas_ms"),
                       ("× bound", "x_bound"), ("÷ plain 1", "x_plain1"),
                       (f"÷ plain {cores}", f"x_plain{cores}"), ("1→2 cores", "scaling"),
                       ("out= × bound", "x_bound_out"), ("out= 1→2 cores", "scaling_out"),
                       ("× faster than pandas", "x_pandas")]),
        "",
        "## Where a serial SMA call on the panel spends its time",
        "",
        _table(phases, [("phase", "phase"), ("ms", "ms"), ("note", "note")]),
        "",
        f"## One series of {series:,} bars: compute() end to end vs TA-Lib (one core)",
        "",
        "compute() is given close, high, low and volume and asked for one indicator, as a user "
        "would; TA-Lib is called on the same arrays.",
        "",
        _table(srows, [("indicator", "indicator"), ("TA-Lib", "talib"),
                       ("TA-Lib ms", "talib_ms"), ("compute ms", "ours_ms"),
                       ("TA-Lib ÷ compute", "ratio")]),
        "",
        f"## backend='auto' on the panel ({shape}, sma:20,ema:20,rsi:14)",
        "",
        _table(arows, [("backend", "backend"), ("ms", "ms"), ("ran as", "ran"), ("why", "why")]),
        "",
    ]  # fmt: skip
    if crows:
        lines += [
            "## Cold start: the first call with an empty numba cache (every indicator)",
            "",
            "`compute(panel, <every indicator's example>, backend=...)` in a fresh process with "
            "`NUMBA_CACHE_DIR` empty: what a new user's first call and every fresh test process "
            "pay. Not a target of the issue, and no baseline in this run; why there are no more "
            "compiled variants than array layouts: the note `_NO_LITERALS` in `kernels.py`.",
            "",
            _table(crows, [("backend", "backend"), ("first call s", "first_call_s"),
                           ("compiled variants", "compiled")]),
            "",
        ]  # fmt: skip
    lines.append(DESIGN_NOTES)
    text = "\n".join(lines)
    print(text)
    if args.out:
        from perfkit._atomic import atomic_write_text, dumps_strict

        # the same figures, machine-readable, beside the markdown (reports/indicators.json)
        json_path = os.path.splitext(args.out)[0] + ".json"
        facts = {
            "command": lines[2].split("`")[1],
            "written": utc_now_iso(),
            "seconds": took,
            "cpu": cpu_model(),
            "cores": os.cpu_count(),
            "usable_cores": cores,
            "load_average": {"before": load_before, "peak": peak, "after": load.samples[-1]},
            "judged": judged,
            "not_judged_because": None if judged else why,
            "copy_bandwidth_bytes_per_s": bw,
            "targets_met": met,
            "targets": v.as_json(),
            "panel": prows,
            "phases": phases,
            "one_series": srows,
            "auto": arows,
            "cold": crows,
        }
        atomic_write_text(json_path, dumps_strict(facts, indent=1))
        atomic_write_text(args.out, text)
        print(f"wrote {args.out} and {json_path}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
