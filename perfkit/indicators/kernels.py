# ruff: noqa: E741  (kernels name their inputs c, h, l, v: close, high, low, volume)
"""One-pass numba kernels for technical indicators over a whole panel of instruments.

Layout
------
Every kernel works on **time-major** panels: C-contiguous float64 arrays of shape
``(n_bars, n_instruments)``, so one row holds one bar of every instrument. This is the layout
that serves speed for this workload:

* the recurrences (EMA, RSI, ATR, MACD) are latency-bound per series — one fused multiply-add
  per bar that must wait for the previous bar. With instruments side by side in memory the
  inner loop runs *across instruments*, each lane an independent chain, so LLVM vectorizes it
  (4 lanes per AVX2 register) and the core overlaps many chains: throughput-bound instead of
  latency-bound. TA-Lib's one-series-per-call design cannot do this.
* every pass streams each input row once and writes each output row once, so a kernel moves
  the minimum number of bytes; the rows a sliding window looks back at are still in L1/L2.
* a batch of instruments is a column range, so threads write disjoint parts of one output
  array without copies, and a wide pandas frame (time index, instrument columns) is the same
  shape.

A single series is a panel of one instrument; the kernels keep the state of a one-lane panel
in registers so a long series also runs at full speed.

Conventions (TA-Lib's, by default)
-----------------------------------
Results equal TA-Lib's to about 1e-12 relative with identical NaN positions: lookbacks
(SMA/EMA/WMA/BBANDS/STDDEV ``n-1``, RSI/ATR/ROC ``n``, MACD ``slow+signal-2``), EMA seeded with
the SMA of the first window, Wilder smoothing for RSI/ATR, MACD's fast EMA seeded late (on
the window ending where the slow EMA starts, so MACD != EMA(fast) - EMA(slow)), population
std, leading NaNs skipped per instrument, and a NaN inside a series propagating as TA-Lib
propagates it (running sums and recurrences stay NaN from the gap on; RSI reads 0.0 from then
on, as TA-Lib's ``gain + loss > 0`` guard does; ROC only around the gap).
Rounding differs from TA-Lib by a few ulps because the recurrences are written with the
divide taken off the loop-carried chain (``s = s*a + b*x``) and the running sums add
``x[t] - x[t-n]`` (one add on the chain instead of two): that is what makes them faster than
TA-Lib. Results are bit-identical whatever the batching or backend (no fastmath).

``nan="restart"`` (argument ``restart=True`` here) is the documented alternative: each run of
valid bars is treated as a fresh series, so after a gap the window restarts and outputs
resume after a new lookback, instead of NaN/0 forever.

Rolling min/max (and so the stochastic) are O(n) (van Herk / Gil-Werman blocks; see there
why not a monotonic deque). Inside a gap they output NaN while the window holds a NaN (pandas'
rule); TA-Lib's rescan algorithm instead ignores a NaN unless a rescan starts on it, which
depends on the data — the one documented difference.

Every kernel has the same signature so that one dispatcher, one restart driver and one
``prange`` driver serve them all (one compile, cached on disk with ``cache=True``)::

    kernel(c, h, l, v, o1, o2, o3, p1, p2, p3, j0, j1, t0, t1)

``c, h, l, v`` are close, high, low, volume (unused ones may be any array of the same type),
``o1..o3`` outputs, ``p1..p3`` float parameters, ``[j0, j1)`` the instrument range and
``[t0, t1)`` the bar range (the series is taken to begin at ``t0``).

Every kernel returns a float **state checksum**, which lets compute() skip its scan for
infinite prices: the close-only kernels whose running state never restarts (SMA, EMA, RSI,
MACD, BBANDS/STDDEV/z-score's running mean) return the sum of their lanes' final states. Each
of them reads every close from a lane's first valid bar on, and an inf (or a NaN) poisons such a
state for good (``inf - inf`` is NaN, ``NaN + x`` is NaN), so a *finite* checksum proves that
no close in ``[j0, j1)`` is infinite. NaN means "not proven" (a gap, a lane too short for its
window, or a kernel that cannot tell: WMA and STDDEV's re-summed sums, ROC, min/max, the
multi-input kernels); compute() then scans the prices. A finite checksum costs nothing; a
wrong "proof" is impossible because only a finite value is trusted.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange, types, uintp
from numba.extending import intrinsic

NAN = np.nan
# No fastmath at all: not nnan/ninf (NaN semantics must survive), and not even FMA
# contraction, because LLVM may fuse a different multiply in the vectorized loop than in the
# one-lane loop, and then results would depend on how instruments were batched. Without it
# every backend and batch size gives bit-identical results.
_JIT = dict(cache=True, nogil=True)
_JIT_EXACT = _JIT
# Divisions guarded by a select (ROC's ``old != 0``): numpy's error model lets x/0 give inf
# (then discarded) instead of a branch that raises, so the loop stays branch-free.
_JIT_DIV = dict(_JIT, error_model="numpy")

# _NO_LITERALS: a constant passed to a jitted function (``f(0, ...)``, or a variable that
# started as ``start = -1``) is typed ``Literal[int](0)``, and numba compiles the callee (and
# every function it calls with that argument) once per literal value: the prange drivers'
# ``t0 = 0``, ``start = -1``, the ring positions of STOCH and the bool of min/max made 106
# compiled variants of the kernels. Those are passed as ``np.int64`` (or a float) instead,
# so each helper compiles once per array layout. The ``mode`` of the mean/var and lag
# families stays a literal on purpose: it pays (one series through the mean/var loop
# measured 4-5x slower with a runtime mode, its branches left in the inner loop).


# --------------------------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------------------------
@intrinsic
def _fma(typingctx, a, b, c):
    """``a*b + c`` with one rounding (llvm.fma): explicit, so every code path fuses the same."""
    sig = types.float64(types.float64, types.float64, types.float64)

    def codegen(context, builder, signature, args):
        return builder.fma(*args)

    return sig, codegen


@njit(**_JIT_EXACT)
def _first_valid(x, j, t0, t1):
    for t in range(t0, t1):
        if x[t, j] == x[t, j]:
            return t
    return t1


@njit(**_JIT_EXACT)
def _first_valid2(a, b, j, t0, t1):
    for t in range(t0, t1):
        if a[t, j] == a[t, j] and b[t, j] == b[t, j]:
            return t
    return t1


@njit(**_JIT_EXACT)
def _first_valid3(a, b, c, j, t0, t1):
    for t in range(t0, t1):
        if a[t, j] == a[t, j] and b[t, j] == b[t, j] and c[t, j] == c[t, j]:
            return t
    return t1


@njit(cache=True, nogil=True, fastmath={"reassoc"})
def _nonfinite_probe(flat, a, b):
    """NaN when ``flat[a:b]`` holds a NaN or +-inf, else 0.0: ``x * 0.0`` is 0 only for a
    finite x, and ``reassoc`` (no nnan/ninf, so NaN survives) lets the sum vectorize."""
    acc = 0.0
    for i in range(a, b):
        acc += flat[i] * 0.0
    return acc


@njit(**_JIT_EXACT)
def first_inf(x):
    """Flat index of the first +-inf in a C-contiguous array, or -1.

    One vectorized pass (:func:`_nonfinite_probe`) over blocks of 16 384 values at memory
    speed; only a block holding a NaN or an inf is searched value by value.
    """
    flat = x.reshape(x.size)
    n = flat.size
    for a in range(0, n, 16384):
        b = min(a + 16384, n)
        if _nonfinite_probe(flat, a, b) == 0.0:
            continue
        for i in range(a, b):
            if abs(flat[i]) == np.inf:
                return i
    return -1


@njit(**_JIT_EXACT)
def _inf_in(x, a, b):
    """True when the 1-D ``x[a:b]`` holds a +-inf (prologue rows the main loops do not flag)."""
    for i in range(a, b):
        if abs(x[i]) == np.inf:
            return True
    return False


@njit(**_JIT_EXACT)
def _fill_nan(o, j, ta, tb):
    for t in range(ta, tb):
        o[t, j] = NAN


@njit(**_JIT_EXACT)
def _copy_lane(x, o, j0, j1, t0, t1):
    for t in range(t0, t1):
        for j in range(j0, j1):
            o[t, j] = x[t, j]


# --------------------------------------------------------------------------------------------
# SMA: running sum updated with x[t] - x[t-n] (one add on the loop-carried chain)
# --------------------------------------------------------------------------------------------
@njit(**_JIT)
def _sma_lane(x, o, j, n, inv, s, ta, tb):
    for t in range(ta, tb):
        s += x[t, j] - x[t - n, j]
        o[t, j] = s * inv
    return s


@njit(**_JIT)
def _sma_1d(x, o, n, inv, s, ta, tb):
    # one contiguous series: 1-D indexing lets LLVM drop the per-access stride multiply, and
    # slices indexed from 0 drop numba's negative-index wrap check on ``x[t - n]``
    xs, xo, os = x[ta:tb], x[ta - n : tb - n], o[ta:tb]
    for i in range(tb - ta):
        s += xs[i] - xo[i]
        os[i] = s * inv
    return s


@njit(**_JIT)
def k_sma(c, h, l, v, o1, o2, o3, p1, p2, p3, j0, j1, t0, t1):
    n = int(p1)
    inv = 1.0 / n
    w = j1 - j0
    s = np.empty(w)
    first = np.empty(w, np.int64)
    start = np.int64(-1)  # not Literal[int](-1): see _NO_LITERALS
    for jj in range(w):
        j = j0 + jj
        b = _first_valid(c, j, t0, t1)
        f = b + n - 1
        _fill_nan(o1, j, t0, min(f, t1))
        first[jj] = f
        if f >= t1:
            s[jj] = NAN
            continue
        acc = 0.0
        for t in range(b, f + 1):
            acc += c[t, j]
        s[jj] = acc
        o1[f, j] = acc * inv
        start = max(start, f + 1)
    if start < 0:
        return NAN
    for jj in range(w):
        if first[jj] < t1:
            s[jj] = _sma_lane(c, o1, j0 + jj, n, inv, s[jj], first[jj] + 1, start)
    if c.shape[1] == 1:
        return _sma_1d(c.reshape(c.shape[0]), o1.reshape(o1.shape[0]), n, inv, s[0], start, t1)
    if w == 1:
        return _sma_lane(c, o1, j0, n, inv, s[0], start, t1)
    for t in range(start, t1):
        # row slices indexed from 0: numba checks every index for a negative wrap, and on
        # ``c[t - n, j0 + jj]`` that check kept LLVM from vectorizing (2x slower than a copy)
        xr, xo, orow = c[t, j0:j1], c[t - n, j0:j1], o1[t, j0:j1]
        for jj in range(w):
            acc = s[jj] + (xr[jj] - xo[jj])
            s[jj] = acc
            orow[jj] = acc * inv
    return s.sum()


# --------------------------------------------------------------------------------------------
# EMA: seeded by the SMA of the first window, then s = s*(1-k) + k*x (one FMA on the chain)
# --------------------------------------------------------------------------------------------
@njit(**_JIT)
def _ema_lane(x, o, j, a, k, s, ta, tb):
    for t in range(ta, tb):
        s = _fma(s, a, k * x[t, j])
        o[t, j] = s
    return s


@njit(**_JIT)
def k_ema(c, h, l, v, o1, o2, o3, p1, p2, p3, j0, j1, t0, t1):
    n = int(p1)
    if n == 1:
        _copy_lane(c, o1, j0, j1, t0, t1)
        return NAN
    k = 2.0 / (n + 1)
    a = 1.0 - k
    w = j1 - j0
    s = np.empty(w)
    first = np.empty(w, np.int64)
    start = np.int64(-1)  # not Literal[int](-1): see _NO_LITERALS
    for jj in range(w):
        j = j0 + jj
        b = _first_valid(c, j, t0, t1)
        f = b + n - 1
        _fill_nan(o1, j, t0, min(f, t1))
        first[jj] = f
        if f >= t1:
            s[jj] = NAN
            continue
        acc = 0.0
        for t in range(b, f + 1):
            acc += c[t, j]
        acc = acc / n
        s[jj] = acc
        o1[f, j] = acc
        start = max(start, f + 1)
    if start < 0:
        return NAN
    for jj in range(w):
        if first[jj] < t1:
            s[jj] = _ema_lane(c, o1, j0 + jj, a, k, s[jj], first[jj] + 1, start)
    if w == 1:
        return _ema_lane(c, o1, j0, a, k, s[0], start, t1)
    for t in range(start, t1):
        xr, orow = c[t, j0:j1], o1[t, j0:j1]  # row slices: see k_sma
        for jj in range(w):
            acc = _fma(s[jj], a, k * xr[jj])
            s[jj] = acc
            orow[jj] = acc
    return s.sum()


# --------------------------------------------------------------------------------------------
# Periodic re-sum. TA-Lib 0.8 recomputes the running sums of WMA every 8*n outputs and of
# VAR/STDDEV every 32*n outputs (bounding drift; a NaN that left the window stops
# propagating there). Output k (0 = first output) is re-summed when (k + 1) % R == 0.
# --------------------------------------------------------------------------------------------
@njit(**_JIT_EXACT)
def _next_resync(t, f, period):
    """The first row >= t whose output is computed from a fresh sum (``f`` = first output)."""
    return f - 1 + ((t - f + period) // period) * period


# --------------------------------------------------------------------------------------------
# WMA: plain and weighted running sums; W_t = W_{t-1} - S_{t-1} + n*x_t
# --------------------------------------------------------------------------------------------
@njit(**_JIT)
def _wma_lane(x, o, j, n, inv, s, ws, ta, tb):
    for t in range(ta, tb):
        xt = x[t, j]
        ws = ws + (n * xt - s)
        s = s + (xt - x[t - n, j])
        o[t, j] = ws * inv
    return s, ws


@njit(**_JIT)
def _wma_window(x, j, n, t):
    acc = 0.0
    wacc = 0.0
    for i in range(n):
        xv = x[t - n + 1 + i, j]
        acc += xv
        wacc += xv * (i + 1)
    return acc, wacc


@njit(**_JIT)
def _wma_run(x, o, j, n, inv, s, ws, ta, tb, f, period):
    t = ta
    while t < tb:
        r = _next_resync(t, f, period)
        e = min(r, tb)
        s, ws = _wma_lane(x, o, j, n, inv, s, ws, t, e)
        if e < tb:
            s, ws = _wma_window(x, j, n, e)
            o[e, j] = ws * inv
            e += 1
        t = e
    return s, ws


@njit(**_JIT)
def _wma_1d(x, o, n, inv, s, ws, ta, tb, f, period):
    """:func:`_wma_run` on one contiguous series (1-D indexing: no stride multiply).

    Returns a checksum: NaN once a sum went non-finite, checked before each re-sum (which
    starts from a fresh window and so would forget an inf that already left it)."""
    chk = 0.0
    t = ta
    while t < tb:
        e = min(_next_resync(t, f, period), tb)
        un = uintp(n)  # unsigned indices: no negative-index wrap (ta >= n: tt - n >= 0)
        for tt in range(uintp(t), uintp(e)):
            xt = x[tt]
            ws = ws + (n * xt - s)
            s = s + (xt - x[tt - un])
            o[tt] = ws * inv
        if e < tb:
            chk += (s + ws) * 0.0
            acc = 0.0
            wacc = 0.0
            for i in range(n):
                xv = x[e - n + 1 + i]
                acc += xv
                wacc += xv * (i + 1)
            s = acc
            ws = wacc
            o[e] = ws * inv
            e += 1
        t = e
    return chk + (s + ws) * 0.0


@njit(**_JIT)
def k_wma(c, h, l, v, o1, o2, o3, p1, p2, p3, j0, j1, t0, t1):
    n = int(p1)
    if n == 1:
        _copy_lane(c, o1, j0, j1, t0, t1)
        return NAN
    inv = 1.0 / (n * (n + 1) // 2)
    period = 8 * n
    w = j1 - j0
    s = np.empty(w)
    ws = np.empty(w)
    first = np.empty(w, np.int64)
    start = np.int64(-1)  # not Literal[int](-1): see _NO_LITERALS
    for jj in range(w):
        j = j0 + jj
        b = _first_valid(c, j, t0, t1)
        f = b + n - 1
        _fill_nan(o1, j, t0, min(f, t1))
        first[jj] = f
        if f >= t1:
            s[jj] = NAN
            ws[jj] = NAN
            continue
        s[jj], ws[jj] = _wma_window(c, j, n, f)
        o1[f, j] = ws[jj] * inv
        start = max(start, f + 1)
    if start < 0:
        return NAN
    for jj in range(w):
        if first[jj] < t1:
            s[jj], ws[jj] = _wma_run(
                c, o1, j0 + jj, n, inv, s[jj], ws[jj], first[jj] + 1, start, first[jj], period
            )
    if c.shape[1] == 1:
        # the sums read every close from the first valid bar on (the rows before it are NaN)
        t_ = c.shape[0]
        x1, y1 = c.reshape(t_), o1.reshape(t_)
        chk = _wma_1d(x1, y1, n, inv, s[0], ws[0], start, t1, first[0], period)
        return chk + (s[0] + ws[0]) * 0.0
    if w == 1:
        _wma_run(c, o1, j0, n, inv, s[0], ws[0], start, t1, first[0], period)
        return NAN
    t = start
    while t < t1:
        e = t1
        for jj in range(w):
            if first[jj] < t1:
                e = min(e, _next_resync(t, first[jj], period))
        for tt in range(t, e):
            for jj in range(w):
                j = j0 + jj
                xt = c[tt, j]
                wacc = ws[jj] + (n * xt - s[jj])
                ws[jj] = wacc
                s[jj] = s[jj] + (xt - c[tt - n, j])
                o1[tt, j] = wacc * inv
        if e < t1:  # the row where some lanes re-sum; the others step as usual
            for jj in range(w):
                j = j0 + jj
                if first[jj] < t1 and _next_resync(e, first[jj], period) == e:
                    s[jj], ws[jj] = _wma_window(c, j, n, e)
                    o1[e, j] = ws[jj] * inv
                else:
                    s[jj], ws[jj] = _wma_lane(c, o1, j, n, inv, s[jj], ws[jj], e, e + 1)
            e += 1
        t = e
    return NAN


# --------------------------------------------------------------------------------------------
# RSI (Wilder): g = g*(n-1)/n + gain/n; out = 100*g/(g+l) when g+l > 0 else 0 (TA-Lib's guard)
# --------------------------------------------------------------------------------------------
@njit(**_JIT)
def _rsi_lane(x, o, j, a, inv, g, ls, ta, tb):
    for t in range(ta, tb):
        d = x[t, j] - x[t - 1, j]
        up = 0.0 if d < 0.0 else d
        dn = -d if d < 0.0 else 0.0
        g = _fma(g, a, up * inv)
        ls = _fma(ls, a, dn * inv)
        tot = g + ls
        o[t, j] = 100.0 * (g / tot) if tot > 0.0 else 0.0
    return g, ls


@njit(**_JIT)
def _rsi_1d(x, o, a, inv, g, ls, ta_, tb_):
    """:func:`_rsi_lane` over a 1-D series: the same arithmetic, so the same bits.

    The previous close stays in a register instead of being loaded again: when the input and
    the output sit at the same offset within a page (two fresh ``mmap``-ed arrays do), the
    load of ``x[t]`` right after the store to ``o[t]`` is a 4K-alias the core must wait out,
    and each bar's chain then runs through the division and the store. Unsigned indices keep
    numba's negative-index wrap out of the loop."""
    ta = uintp(ta_)
    tb = uintp(tb_)
    prev = x[ta - uintp(1)]
    for t in range(ta, tb):
        xt = x[t]
        d = xt - prev
        prev = xt
        up = 0.0 if d < 0.0 else d
        dn = -d if d < 0.0 else 0.0
        g = _fma(g, a, up * inv)
        ls = _fma(ls, a, dn * inv)
        tot = g + ls
        o[t] = 100.0 * (g / tot) if tot > 0.0 else 0.0
    return g + ls


@njit(**_JIT)
def k_rsi(c, h, l, v, o1, o2, o3, p1, p2, p3, j0, j1, t0, t1):
    n = int(p1)
    inv = 1.0 / n
    a = (n - 1) * inv
    w = j1 - j0
    g = np.empty(w)
    ls = np.empty(w)
    first = np.empty(w, np.int64)
    start = np.int64(-1)  # not Literal[int](-1): see _NO_LITERALS
    for jj in range(w):
        j = j0 + jj
        b = _first_valid(c, j, t0, t1)
        f = b + n
        _fill_nan(o1, j, t0, min(f, t1))
        first[jj] = f
        if f >= t1:
            g[jj] = NAN
            ls[jj] = NAN
            continue
        up = 0.0
        dn = 0.0
        for t in range(b + 1, f + 1):
            d = c[t, j] - c[t - 1, j]
            if d < 0.0:
                dn -= d
            else:
                up += d
        up = up / n
        dn = dn / n
        g[jj] = up
        ls[jj] = dn
        tot = up + dn
        o1[f, j] = 100.0 * (up / tot) if tot > 0.0 else 0.0
        start = max(start, f + 1)
    if start < 0:
        return NAN
    for jj in range(w):
        if first[jj] < t1:
            g[jj], ls[jj] = _rsi_lane(c, o1, j0 + jj, a, inv, g[jj], ls[jj], first[jj] + 1, start)
    if c.shape[1] == 1:
        t_ = c.shape[0]
        return _rsi_1d(c.reshape(t_), o1.reshape(t_), a, inv, g[0], ls[0], start, t1)
    if w == 1:
        gg, ll = _rsi_lane(c, o1, j0, a, inv, g[0], ls[0], start, t1)
        return gg + ll
    for t in range(start, t1):
        xr, xp, orow = c[t, j0:j1], c[t - 1, j0:j1], o1[t, j0:j1]  # row slices: see k_sma
        for jj in range(w):
            d = xr[jj] - xp[jj]
            up = 0.0 if d < 0.0 else d
            dn = -d if d < 0.0 else 0.0
            gg = _fma(g[jj], a, up * inv)
            ll = _fma(ls[jj], a, dn * inv)
            g[jj] = gg
            ls[jj] = ll
            tot = gg + ll
            orow[jj] = 100.0 * (gg / tot) if tot > 0.0 else 0.0
    return g.sum() + ls.sum()


# --------------------------------------------------------------------------------------------
# MACD: three fused EMA chains; fast EMA seeded on the window ending at slow-1 (TA-Lib's)
# --------------------------------------------------------------------------------------------
@njit(**_JIT)
def _macd_lane(x, om, osg, oh, j, kf, af, ks, as_, kg, ag, fe, se, sg, ta, tb):
    for t in range(ta, tb):
        xt = x[t, j]
        fe = _fma(fe, af, kf * xt)
        se = _fma(se, as_, ks * xt)
        m = fe - se
        sg = _fma(sg, ag, kg * m)
        om[t, j] = m
        osg[t, j] = sg
        oh[t, j] = m - sg
    return fe, se, sg


@njit(**_JIT)
def _macd_1d(x, om, osg, oh, kf, af, ks, as_, kg, ag, fe, se, sg, ta_, tb_):
    # unsigned indices: numba wraps a negative signed index at every access (2.7 -> 1.9 ms)
    ta = uintp(ta_)
    tb = uintp(tb_)
    for t in range(ta, tb):
        xt = x[t]
        fe = _fma(fe, af, kf * xt)
        se = _fma(se, as_, ks * xt)
        m = fe - se
        sg = _fma(sg, ag, kg * m)
        om[t] = m
        osg[t] = sg
        oh[t] = m - sg
    return fe + se + sg


@njit(**_JIT)
def k_macd(c, h, l, v, o1, o2, o3, p1, p2, p3, j0, j1, t0, t1):
    nf = int(p1)
    ns = int(p2)
    ng = int(p3)
    kf = 2.0 / (nf + 1)
    ks = 2.0 / (ns + 1)
    kg = 2.0 / (ng + 1)
    af = 1.0 - kf
    as_ = 1.0 - ks
    ag = 1.0 - kg
    w = j1 - j0
    fe = np.empty(w)
    se = np.empty(w)
    sg = np.empty(w)
    first = np.empty(w, np.int64)
    start = np.int64(-1)  # not Literal[int](-1): see _NO_LITERALS
    for jj in range(w):
        j = j0 + jj
        b = _first_valid(c, j, t0, t1)
        m0 = b + ns - 1  # both EMAs start here
        f = m0 + ng - 1  # first output (lookback ns + ng - 2)
        e = min(f, t1)
        _fill_nan(o1, j, t0, e)
        _fill_nan(o2, j, t0, e)
        _fill_nan(o3, j, t0, e)
        first[jj] = f
        if f >= t1:
            fe[jj] = NAN
            se[jj] = NAN
            sg[jj] = NAN
            continue
        sf = 0.0
        for t in range(m0 - nf + 1, m0 + 1):
            sf += c[t, j]
        ss = 0.0
        for t in range(b, m0 + 1):
            ss += c[t, j]
        fv = sf / nf
        sv = ss / ns
        msum = fv - sv
        for t in range(m0 + 1, f + 1):
            xt = c[t, j]
            fv = _fma(fv, af, kf * xt)
            sv = _fma(sv, as_, ks * xt)
            msum += fv - sv
        gv = msum / ng
        m = fv - sv
        o1[f, j] = m
        o2[f, j] = gv
        o3[f, j] = m - gv
        fe[jj] = fv
        se[jj] = sv
        sg[jj] = gv
        start = max(start, f + 1)
    if start < 0:
        return NAN
    for jj in range(w):
        if first[jj] < t1:
            fe[jj], se[jj], sg[jj] = _macd_lane(
                c, o1, o2, o3, j0 + jj, kf, af, ks, as_, kg, ag,
                fe[jj], se[jj], sg[jj], first[jj] + 1, start,
            )  # fmt: skip
    if c.shape[1] == 1:
        t_ = c.shape[0]
        return _macd_1d(
            c.reshape(t_), o1.reshape(t_), o2.reshape(t_), o3.reshape(t_),
            kf, af, ks, as_, kg, ag, fe[0], se[0], sg[0], start, t1,
        )  # fmt: skip
    if w == 1:
        a1, a2, a3 = _macd_lane(
            c, o1, o2, o3, j0, kf, af, ks, as_, kg, ag, fe[0], se[0], sg[0], start, t1
        )
        return a1 + a2 + a3
    for t in range(start, t1):
        for jj in range(w):
            j = j0 + jj
            xt = c[t, j]
            fv = _fma(fe[jj], af, kf * xt)
            sv = _fma(se[jj], as_, ks * xt)
            m = fv - sv
            gv = _fma(sg[jj], ag, kg * m)
            fe[jj] = fv
            se[jj] = sv
            sg[jj] = gv
            o1[t, j] = m
            o2[t, j] = gv
            o3[t, j] = m - gv
    return fe.sum() + se.sum() + sg.sum()


# --------------------------------------------------------------------------------------------
# Rolling mean/variance family: BBANDS (mid/upper/lower), STDDEV, z-score.
# The mean is TA-Lib's running-sum SMA (it never re-sums, so a gap propagates as in TA-Lib).
# The variance uses running sums of x - K, shifted by a value K from the window, which avoids
# the cancellation of E[x^2] - mean^2 at large price levels; the shifted sums are re-summed
# (with a fresh K) every 32*n outputs, as TA-Lib 0.8 re-sums VAR/STDDEV. A flat or
# cancelling window gives std 0 (TA-Lib's rule); a NaN gives NaN.
# --------------------------------------------------------------------------------------------
@njit(**_JIT_EXACT)
def _mv_out(mode, o1, o2, o3, t, j, xt, s, ds, dq, inv, kdev):
    mean = s * inv
    dm = ds * inv
    var = dq * inv - dm * dm
    sd = 0.0 if var <= 0.0 else math.sqrt(var)
    if mode == 0:
        o1[t, j] = mean
        o2[t, j] = mean + kdev * sd
        o3[t, j] = mean - kdev * sd
    elif mode == 1:
        o1[t, j] = sd
    elif sd > 0.0:
        o1[t, j] = (xt - mean) / sd
    else:  # a flat window has no z-score; NaN stays NaN
        o1[t, j] = NAN


@njit(**_JIT_EXACT)
def _mv_window(x, j, n, t, k):
    """Exact shifted sums of the window ending at row t: (sum(x-k), sum((x-k)^2))."""
    acc = 0.0
    acc2 = 0.0
    for i in range(t - n + 1, t + 1):
        d = x[i, j] - k
        acc += d
        acc2 += d * d
    return acc, acc2


@njit(**_JIT_EXACT)
def _mv_lane(mode, x, o1, o2, o3, j, n, inv, kdev, s, ds, dq, k, ta, tb):
    for t in range(ta, tb):
        xt = x[t, j]
        xo = x[t - n, j]
        s += xt - xo
        dn = xt - k
        do = xo - k
        ds += dn - do
        dq += dn * dn - do * do
        _mv_out(mode, o1, o2, o3, t, j, xt, s, ds, dq, inv, kdev)
    return s, ds, dq


@njit(**_JIT_EXACT)
def _mv_run(mode, x, o1, o2, o3, j, n, inv, kdev, s, ds, dq, k, ta, tb, f, period):
    t = ta
    while t < tb:
        e = min(_next_resync(t, f, period), tb)
        s, ds, dq = _mv_lane(mode, x, o1, o2, o3, j, n, inv, kdev, s, ds, dq, k, t, e)
        if e < tb:
            s, ds, dq, k = _mv_resync(x, j, n, e, s)
            _mv_out(mode, o1, o2, o3, e, j, x[e, j], s, ds, dq, inv, kdev)
            e += 1
        t = e
    return s, ds, dq, k


@njit(**_JIT_EXACT)
def _mv_resync(x, j, n, t, s):
    """Step the mean's running sum to row t and re-sum the variance with a fresh shift."""
    s += x[t, j] - x[t - n, j]
    k = x[t, j]
    ds, dq = _mv_window(x, j, n, t, k)
    return s, ds, dq, k


@njit(inline="always", **_JIT_EXACT)
def _mv_put1(mode, o1, o2, o3, t, xt, s, ds, dq, inv, kdev):
    """:func:`_mv_out` for one contiguous series (1-D indexing; inlined into the loop)."""
    mean = s * inv
    dm = ds * inv
    var = dq * inv - dm * dm
    sd = 0.0 if var <= 0.0 else math.sqrt(var)
    if mode == 0:
        o1[t] = mean
        o2[t] = mean + kdev * sd
        o3[t] = mean - kdev * sd
    elif mode == 1:
        o1[t] = sd
    else:
        o1[t] = (xt - mean) / sd if sd > 0.0 else NAN


@njit(**_JIT_EXACT)
def _mv_1d(mode, x, o1, o2, o3, n, inv, kdev, s, ds, dq, k, ta, tb, f, period):
    """:func:`_mv_run` on one contiguous series (1-D indexing, one mode per loop): the same
    sums in the same order, so the same bits."""
    t = ta
    while t < tb:
        e = min(_next_resync(t, f, period), tb)
        for tt in range(t, e):  # the mode test is loop-invariant: LLVM unswitches it
            xt = x[tt]
            xo = x[tt - n]
            s += xt - xo
            dn = xt - k
            do = xo - k
            ds += dn - do
            dq += dn * dn - do * do
            _mv_put1(mode, o1, o2, o3, tt, xt, s, ds, dq, inv, kdev)
        if e < tb:
            s += x[e] - x[e - n]
            k = x[e]
            ds = 0.0
            dq = 0.0
            for i in range(e - n + 1, e + 1):
                d = x[i] - k
                ds += d
                dq += d * d
            _mv_put1(mode, o1, o2, o3, e, x[e], s, ds, dq, inv, kdev)
            e += 1
        t = e
    return s


@njit(**_JIT_EXACT)
def _meanvar_block(mode, c, o1, o2, o3, n, kdev, j0, j1, t0, t1):
    inv = 1.0 / n
    period = 32 * n
    w = j1 - j0
    s = np.empty(w)
    ds = np.empty(w)
    dq = np.empty(w)
    ks = np.empty(w)
    first = np.empty(w, np.int64)
    start = np.int64(-1)  # not Literal[int](-1): see _NO_LITERALS
    for jj in range(w):
        j = j0 + jj
        b = _first_valid(c, j, t0, t1)
        f = b + n - 1
        e = min(f, t1)
        _fill_nan(o1, j, t0, e)
        if mode == 0:
            _fill_nan(o2, j, t0, e)
            _fill_nan(o3, j, t0, e)
        first[jj] = f
        if f >= t1:
            s[jj] = NAN
            ds[jj] = NAN
            dq[jj] = NAN
            ks[jj] = 0.0
            continue
        acc = 0.0
        for t in range(b, f + 1):
            acc += c[t, j]
        s[jj] = acc
        ks[jj] = c[f, j]
        ds[jj], dq[jj] = _mv_window(c, j, n, f, ks[jj])
        _mv_out(mode, o1, o2, o3, f, j, c[f, j], s[jj], ds[jj], dq[jj], inv, kdev)
        start = max(start, f + 1)
    if start < 0:
        return NAN
    for jj in range(w):
        if first[jj] < t1:
            s[jj], ds[jj], dq[jj], ks[jj] = _mv_run(
                mode, c, o1, o2, o3, j0 + jj, n, inv, kdev, s[jj], ds[jj], dq[jj], ks[jj],
                first[jj] + 1, start, first[jj], period,
            )  # fmt: skip
    if c.shape[1] == 1:
        t_ = c.shape[0]
        return _mv_1d(
            mode, c.reshape(t_), o1.reshape(t_), o2.reshape(t_), o3.reshape(t_), n, inv, kdev,
            s[0], ds[0], dq[0], ks[0], start, t1, first[0], period,
        )  # fmt: skip
    if w == 1:
        s0, _, _, _ = _mv_run(
            mode, c, o1, o2, o3, j0, n, inv, kdev, s[0], ds[0], dq[0], ks[0],
            start, t1, first[0], period,
        )  # fmt: skip
        return s0
    t = start
    while t < t1:
        e = t1
        for jj in range(w):
            if first[jj] < t1:
                e = min(e, _next_resync(t, first[jj], period))
        for tt in range(t, e):
            for jj in range(w):
                j = j0 + jj
                xt = c[tt, j]
                xo = c[tt - n, j]
                k = ks[jj]
                dn = xt - k
                do = xo - k
                ss = s[jj] + (xt - xo)
                d1 = ds[jj] + (dn - do)
                d2 = dq[jj] + (dn * dn - do * do)
                s[jj] = ss
                ds[jj] = d1
                dq[jj] = d2
                mean = ss * inv
                dm = d1 * inv
                var = d2 * inv - dm * dm
                sd = 0.0 if var <= 0.0 else math.sqrt(var)
                if mode == 0:
                    o1[tt, j] = mean
                    o2[tt, j] = mean + kdev * sd
                    o3[tt, j] = mean - kdev * sd
                elif mode == 1:
                    o1[tt, j] = sd
                else:
                    o1[tt, j] = (xt - mean) / sd if sd > 0.0 else NAN
        if e < t1:
            for jj in range(w):
                j = j0 + jj
                if first[jj] < t1 and _next_resync(e, first[jj], period) == e:
                    s[jj], ds[jj], dq[jj], ks[jj] = _mv_resync(c, j, n, e, s[jj])
                    _mv_out(mode, o1, o2, o3, e, j, c[e, j], s[jj], ds[jj], dq[jj], inv, kdev)
                else:
                    s[jj], ds[jj], dq[jj] = _mv_lane(
                        mode, c, o1, o2, o3, j, n, inv, kdev, s[jj], ds[jj], dq[jj], ks[jj],
                        e, e + 1,
                    )  # fmt: skip
            e += 1
        t = e
    return s.sum()


@njit(**_JIT_EXACT)
def k_bbands(c, h, l, v, o1, o2, o3, p1, p2, p3, j0, j1, t0, t1):
    return _meanvar_block(0, c, o1, o2, o3, int(p1), p2, j0, j1, t0, t1)


@njit(**_JIT_EXACT)
def k_std(c, h, l, v, o1, o2, o3, p1, p2, p3, j0, j1, t0, t1):
    return _meanvar_block(1, c, o1, o2, o3, int(p1), 1.0, j0, j1, t0, t1)


@njit(**_JIT_EXACT)
def k_zscore(c, h, l, v, o1, o2, o3, p1, p2, p3, j0, j1, t0, t1):
    return _meanvar_block(2, c, o1, o2, o3, int(p1), 1.0, j0, j1, t0, t1)


# --------------------------------------------------------------------------------------------
# ATR (Wilder) over TA-Lib's true range (a NaN previous close is ignored, as TA-Lib's compares do)
# --------------------------------------------------------------------------------------------
@njit(**_JIT)
def _trange(h, l, c, t, j):
    hi = h[t, j]
    lo = l[t, j]
    cy = c[t - 1, j]
    g = hi - lo
    v2 = abs(cy - hi)
    if v2 > g:
        g = v2
    v3 = abs(cy - lo)
    if v3 > g:
        g = v3
    return g


@njit(**_JIT)
def _atr_lane(h, l, c, o, j, a, inv, s, ta, tb):
    for t in range(ta, tb):
        s = _fma(s, a, _trange(h, l, c, t, j) * inv)
        o[t, j] = s
    return s


@njit(**_JIT)
def _atr_1d(h, l, c, o, a, inv, s, ta_, tb_):
    """:func:`_atr_lane` over one series (same arithmetic, same bits). Unsigned indices (no
    negative-index wrap), and the previous close stays in a register: loading ``c[t]`` after
    the store to ``o[t]`` would be a 4K alias when both arrays share their page offset (see
    :func:`_rsi_1d`)."""
    ta = uintp(ta_)
    tb = uintp(tb_)
    cy = c[ta - uintp(1)]
    for t in range(ta, tb):
        ht = h[t]
        lt = l[t]
        g = ht - lt
        v2 = abs(cy - ht)
        g = v2 if v2 > g else g
        v3 = abs(cy - lt)
        g = v3 if v3 > g else g
        s = _fma(s, a, g * inv)
        cy = c[t]
        o[t] = s
    return s


@njit(**_JIT)
def k_atr(c, h, l, v, o1, o2, o3, p1, p2, p3, j0, j1, t0, t1):
    n = int(p1)
    inv = 1.0 / n
    a = (n - 1) * inv
    w = j1 - j0
    s = np.empty(w)
    first = np.empty(w, np.int64)
    start = np.int64(-1)  # not Literal[int](-1): see _NO_LITERALS
    for jj in range(w):
        j = j0 + jj
        b = _first_valid3(h, l, c, j, t0, t1)
        f = b + n
        _fill_nan(o1, j, t0, min(f, t1))
        first[jj] = f
        if f >= t1:
            s[jj] = NAN
            continue
        acc = 0.0
        for t in range(b + 1, f + 1):
            acc += _trange(h, l, c, t, j)
        s[jj] = acc / n
        o1[f, j] = s[jj]
        start = max(start, f + 1)
    if start < 0:
        return NAN
    for jj in range(w):
        if first[jj] < t1:
            s[jj] = _atr_lane(h, l, c, o1, j0 + jj, a, inv, s[jj], first[jj] + 1, start)
    if c.shape[1] == 1:
        t_ = c.shape[0]
        h1, l1, c1 = h.reshape(t_), l.reshape(t_), c.reshape(t_)
        # The state proves h, l from `start` and c up to t1 - 2 finite: a +-inf in any of them
        # makes the true range +inf (or NaN), and the smoothed state then never turns finite
        # again (inf * a + x is inf or NaN). The other rows are scanned here.
        st = _atr_1d(h1, l1, c1, o1.reshape(t_), a, inv, s[0], start, t1)
        bad = _inf_in(h1, t0, start) or _inf_in(l1, t0, start)
        bad = bad or _inf_in(c1, t0, start) or _inf_in(c1, t1 - 1, t1)
        return NAN if bad else st
    if w == 1:
        _atr_lane(h, l, c, o1, j0, a, inv, s[0], start, t1)
        return NAN
    for t in range(start, t1):
        for jj in range(w):
            j = j0 + jj
            acc = _fma(s[jj], a, _trange(h, l, c, t, j) * inv)
            s[jj] = acc
            o1[t, j] = acc
    return NAN


# --------------------------------------------------------------------------------------------
# OBV: cumulative signed volume from the first valid bar (its volume is the start value)
# --------------------------------------------------------------------------------------------
@njit(**_JIT)
def _obv_1d(c, v, o, acc, ta, tb):
    # branch-free: two selects instead of data-dependent branches (a random walk's up/down
    # moves mispredict half the time); also flags a +-inf in c or v (the inf proof)
    bad = False
    for t in range(ta, tb):
        ct = c[t]
        cy = c[t - 1]
        vt = v[t]
        bad |= (abs(ct) == np.inf) | (abs(vt) == np.inf)
        d = vt if ct > cy else 0.0
        d = -vt if ct < cy else d
        acc += d
        o[t] = acc
    return bad


@njit(**_JIT)
def k_obv(c, h, l, v, o1, o2, o3, p1, p2, p3, j0, j1, t0, t1):
    w = j1 - j0
    s = np.empty(w)
    start = np.int64(-1)  # not Literal[int](-1): see _NO_LITERALS
    first = np.empty(w, np.int64)
    for jj in range(w):
        j = j0 + jj
        b = _first_valid2(c, v, j, t0, t1)
        _fill_nan(o1, j, t0, b)
        first[jj] = b
        if b >= t1:
            s[jj] = NAN
            continue
        s[jj] = v[b, j]
        o1[b, j] = v[b, j]
        start = max(start, b + 1)
    if start < 0:
        return NAN
    for jj in range(w):
        j = j0 + jj
        if first[jj] < t1:
            acc = s[jj]
            for t in range(first[jj] + 1, start):
                d = c[t, j] - c[t - 1, j]
                acc += v[t, j] if d > 0.0 else (-v[t, j] if d < 0.0 else 0.0)
                o1[t, j] = acc
            s[jj] = acc
    if c.shape[1] == 1:
        t_ = c.shape[0]
        c1, v1 = c.reshape(t_), v.reshape(t_)
        bad = _obv_1d(c1, v1, o1.reshape(t_), s[0], start, t1)
        bad = bad or _inf_in(c1, t0, start) or _inf_in(v1, t0, start)
        return NAN if bad else 0.0
    for t in range(start, t1):
        for jj in range(w):
            j = j0 + jj
            ct = c[t, j]
            cy = c[t - 1, j]
            vt = v[t, j]
            acc = s[jj] + (vt if ct > cy else (-vt if ct < cy else 0.0))
            s[jj] = acc
            o1[t, j] = acc
    return NAN


# --------------------------------------------------------------------------------------------
# Stateless lag kernels: ROC (TA-Lib: 0 when the old price is 0) and log returns
# --------------------------------------------------------------------------------------------
@njit(**_JIT_DIV)
def _lag_1d(mode, x, o, n, ta, tb):
    # Slices, indexed from 0: numba wraps a negative index (``x[t - n]`` might be one as far
    # as it knows), and that check kept LLVM from vectorizing the loop (2-3x slower).
    bad = False
    xs, xo, os = x[ta:tb], x[ta - n : tb - n], o[ta:tb]
    if mode == 0:
        for i in range(tb - ta):
            xt = xs[i]
            old = xo[i]
            bad |= abs(xt) == np.inf
            r = ((xt / old) - 1.0) * 100.0
            os[i] = r if old != 0.0 else 0.0
    else:
        for i in range(tb - ta):
            xt = xs[i]
            bad |= abs(xt) == np.inf
            os[i] = math.log(xt / xo[i])
    return bad


@njit(**_JIT_DIV)
def _lag_block(mode, c, o1, n, j0, j1, t0, t1):
    w = j1 - j0
    start = np.int64(-1)  # not Literal[int](-1): see _NO_LITERALS
    first = np.empty(w, np.int64)
    for jj in range(w):
        j = j0 + jj
        f = _first_valid(c, j, t0, t1) + n
        _fill_nan(o1, j, t0, min(f, t1))
        first[jj] = f
        if f < t1:
            start = max(start, f)
    if start < 0:
        return NAN
    for jj in range(w):
        j = j0 + jj
        for t in range(first[jj], start):
            old = c[t - n, j]
            if mode == 0:
                o1[t, j] = ((c[t, j] / old) - 1.0) * 100.0 if old != 0.0 else 0.0
            else:
                o1[t, j] = math.log(c[t, j] / old)
    if c.shape[1] == 1:
        c1 = c.reshape(c.shape[0])
        bad = _lag_1d(mode, c1, o1.reshape(o1.shape[0]), n, start, t1) or _inf_in(c1, t0, start)
        return NAN if bad else 0.0
    if mode == 0:
        for t in range(start, t1):
            for jj in range(w):
                j = j0 + jj
                old = c[t - n, j]
                o1[t, j] = ((c[t, j] / old) - 1.0) * 100.0 if old != 0.0 else 0.0
    else:
        for t in range(start, t1):
            for jj in range(w):
                j = j0 + jj
                o1[t, j] = math.log(c[t, j] / c[t - n, j])
    return NAN


@njit(**_JIT)
def k_roc(c, h, l, v, o1, o2, o3, p1, p2, p3, j0, j1, t0, t1):
    return _lag_block(0, c, o1, int(p1), j0, j1, t0, t1)


@njit(**_JIT)
def k_logret(c, h, l, v, o1, o2, o3, p1, p2, p3, j0, j1, t0, t1):
    return _lag_block(1, c, o1, int(p1), j0, j1, t0, t1)


# --------------------------------------------------------------------------------------------
# Rolling min/max. A panel uses van Herk / Gil-Werman, O(n) whatever the window: bars are cut
# into blocks of n; the max of a window is max(suffix max of the previous block, prefix max of
# this block): three branch-free compare-selects per bar that vectorize across instruments. (A
# monotonic deque is also O(n) but its data-dependent pops mispredict: it measured 20-40x slower
# than TA-Lib's rescan on random walks. A rescan (keep the extreme's index, rescan the window
# when it leaves) is O(n) per bar on a monotone run and, compiled to compare-select chains,
# measured 3-8x slower than van Herk here.) One series runs four blocks in lockstep.
# The max is NaN-propagating, so a window holding a NaN gives NaN and leading NaNs delay the
# first output exactly by TA-Lib's rule. Min is computed as -max(-x) (negation is exact).
# --------------------------------------------------------------------------------------------
@njit(**_JIT_EXACT)
def _extreme_clean4(x, o, suf, n_, sg, t0_, t1_):
    """The NaN-free part of :func:`_extreme_1d`: four consecutive blocks of ``n`` in lockstep
    (four independent prefix/suffix chains the core overlaps) while the bars are free of NaN
    and inf; returns the block-aligned bar where it stopped (a chunk holding a NaN or inf,
    or fewer than four blocks left). ``suf[:n]`` then holds the suffix maxima of the block
    before it (NaN before the first block).

    Indices are unsigned: numba wraps a negative signed index at every access, and those
    selects cost as much as the maxima (2.3 vs 1.0 ms per 1M bars). Each chunk of about
    4 096 bars is probed (:func:`_nonfinite_probe`) just before it is processed, so the
    probe reads from memory what the loops then read from cache, instead of one extra pass
    over the whole series."""
    n = uintp(n_)
    t1 = uintp(t1_)
    one = uintp(1)
    zero = uintp(0)
    n2 = n + n
    n3 = n2 + n
    n4 = n3 + n
    chunk = n4 * uintp(max(1, 4096 // (4 * n_)))
    a = uintp(t0_)
    probed = a
    while a + n4 <= t1:
        if a >= probed:
            probed = min(a + chunk, t1)
            if _nonfinite_probe(x, a, probed) != 0.0:
                break
        b1 = a + n
        b2 = a + n2
        b3 = a + n3
        q0, q1, q2, q3 = sg * x[b1 - one], sg * x[b2 - one], sg * x[b3 - one], sg * x[a + n4 - one]
        suf[n2 - one], suf[n3 - one], suf[n4 - one], suf[n4 + n - one] = q0, q1, q2, q3
        i = n - one
        while i > zero:
            i -= one
            y0, y1, y2, y3 = sg * x[a + i], sg * x[b1 + i], sg * x[b2 + i], sg * x[b3 + i]
            q0 = y0 if y0 > q0 else q0
            q1 = y1 if y1 > q1 else q1
            q2 = y2 if y2 > q2 else q2
            q3 = y3 if y3 > q3 else q3
            suf[n + i], suf[n2 + i], suf[n3 + i], suf[n4 + i] = q0, q1, q2, q3
        p0, p1, p2, p3 = sg * x[a], sg * x[b1], sg * x[b2], sg * x[b3]
        for i in range(n - one):
            y0, y1, y2, y3 = sg * x[a + i], sg * x[b1 + i], sg * x[b2 + i], sg * x[b3 + i]
            p0 = p0 if p0 > y0 else y0
            p1 = p1 if p1 > y1 else y1
            p2 = p2 if p2 > y2 else y2
            p3 = p3 if p3 > y3 else y3
            i1 = i + one
            q0, q1, q2, q3 = suf[i1], suf[n + i1], suf[n2 + i1], suf[n3 + i1]
            o[a + i] = sg * (q0 if q0 > p0 else p0)
            o[b1 + i] = sg * (q1 if q1 > p1 else p1)
            o[b2 + i] = sg * (q2 if q2 > p2 else p2)
            o[b3 + i] = sg * (q3 if q3 > p3 else p3)
        i = n - one
        y0, y1, y2, y3 = sg * x[a + i], sg * x[b1 + i], sg * x[b2 + i], sg * x[b3 + i]
        p0 = p0 if p0 > y0 else y0
        p1 = p1 if p1 > y1 else y1
        p2 = p2 if p2 > y2 else y2
        p3 = p3 if p3 > y3 else y3
        o[a + i], o[b1 + i], o[b2 + i], o[b3 + i] = sg * p0, sg * p1, sg * p2, sg * p3
        for i in range(n):
            suf[i] = suf[n4 + i]
        a += n4
    return np.int64(a)


@njit(**_JIT_EXACT)
def _extreme_1d(x, o, n, sg, t0, t1):
    """van Herk / Gil-Werman over one series (the max of ``sg * x``); True when it read a
    +-inf.

    One series has no instruments to vectorize across and each block's prefix and suffix
    maxima are loop-carried chains, so while the bars are free of NaN and inf (the usual
    case, probed chunk by chunk) four consecutive blocks run in lockstep
    (:func:`_extreme_clean4`). The rest (a chunk with a NaN or inf onward, and the last
    blocks) runs the panel loop's NaN-propagating selects one block at a time. Without
    NaNs both selects pick the same values (ties: the latest bar), so the bits equal the
    panel's."""
    bad = False
    suf = np.empty(5 * n)
    suf[:n] = NAN  # "the block before the first": a window reaching into it outputs NaN
    a = _extreme_clean4(x, o, suf, n, sg, t0, t1)
    last = suf[:n]  # the rest, one block at a time (the panel loop's selects)
    for b in range(a, t1, n):
        e = min(b + n, t1)
        p = sg * x[b]
        for t in range(b, e):
            y = sg * x[t]
            bad |= abs(y) == np.inf
            p = p if (p > y or p != p) else y
            if t - b == n - 1:
                o[t] = sg * p
            else:
                q = last[t - b + 1]
                o[t] = sg * (q if (q > p or q != q) else p)
        q = sg * x[e - 1]
        last[e - b - 1] = q
        for i in range(e - b - 2, -1, -1):
            y = sg * x[b + i]
            q = y if (y > q or y != y) else q
            last[i] = q
    for t in range(t0, min(t0 + n - 1, t1)):  # before the first full window
        o[t] = NAN
    return bad


@njit(**_JIT_EXACT)
def _extreme_block(c, o1, n, sg, j0, j1, t0, t1):
    # sg: 1.0 for the max, -1.0 for the min (a float, not a bool literal: one compile for both)
    if c.shape[1] == 1:
        c1 = c.reshape(c.shape[0])
        bad = _extreme_1d(c1, o1.reshape(o1.shape[0]), n, sg, t0, t1)
        return NAN if bad else 0.0
    w = j1 - j0
    suf = np.empty((n, w))
    pre = np.empty(w)
    for a in range(t0, t1, n):
        e = min(a + n, t1)
        for t in range(a, e):
            i = t - a
            if i == 0:
                for jj in range(w):
                    pre[jj] = sg * c[t, j0 + jj]
            else:
                for jj in range(w):
                    xv = sg * c[t, j0 + jj]
                    p = pre[jj]
                    pre[jj] = p if (p > xv or p != p) else xv
            if t < t0 + n - 1:
                for jj in range(w):
                    o1[t, j0 + jj] = NAN
            elif i == n - 1:
                for jj in range(w):
                    o1[t, j0 + jj] = sg * pre[jj]
            else:
                for jj in range(w):
                    q = suf[i + 1, jj]
                    p = pre[jj]
                    o1[t, j0 + jj] = sg * (q if (q > p or q != q) else p)
        last = e - a - 1
        for jj in range(w):
            suf[last, jj] = sg * c[a + last, j0 + jj]
        for i in range(last - 1, -1, -1):
            for jj in range(w):
                xv = sg * c[a + i, j0 + jj]
                q = suf[i + 1, jj]
                suf[i, jj] = xv if (xv > q or xv != xv) else q
    return NAN


@njit(**_JIT_EXACT)
def k_min(c, h, l, v, o1, o2, o3, p1, p2, p3, j0, j1, t0, t1):
    return _extreme_block(c, o1, int(p1), -1.0, j0, j1, t0, t1)


@njit(**_JIT_EXACT)
def k_max(c, h, l, v, o1, o2, o3, p1, p2, p3, j0, j1, t0, t1):
    return _extreme_block(c, o1, int(p1), 1.0, j0, j1, t0, t1)


# --------------------------------------------------------------------------------------------
# Stochastic (TA-Lib STOCH with SMA smoothing): raw %K = (c - LL) / ((HH - LL)/100), 0 on a flat
# window; %K = SMA(raw, slowk); %D = SMA(%K, slowd). Lookback fastk + slowk + slowd - 3.
# --------------------------------------------------------------------------------------------
@njit(**_JIT_EXACT)
def _sma_inplace_lane(x, o, j, n, ta, tb):
    """SMA of x[ta:tb, j] into o (o may be x): NaN before ta+n-1; TA-Lib's running sum."""
    if n == 1:
        for t in range(ta, tb):
            o[t, j] = x[t, j]
        return
    ring = np.empty(n)
    acc = 0.0
    for i in range(min(n - 1, tb - ta)):
        ring[i] = x[ta + i, j]
        acc += ring[i]
        o[ta + i, j] = NAN
    pos = n - 1  # the ring slot written next; wraps by compare, not by an integer modulo
    for t in range(ta + n - 1, tb):
        xt = x[t, j]
        ring[pos] = xt
        acc += xt
        o[t, j] = acc / n
        pos = pos + 1 if pos + 1 < n else 0
        acc -= ring[pos]


@njit(**_JIT_DIV)
def _stoch_tail(c, o1, o2, j, nsk, nsd, fk, t1):
    """Raw %K, its SMA (%K) and that SMA's SMA (%D) in one pass from row ``fk``.

    On entry o2 holds the highest high and o1 the lowest low; on exit o1 holds %K and o2 %D
    (NaN before each one's first full window). The same running sums, in the same order, as
    two :func:`_sma_inplace_lane` passes, so the same bits, without two more passes over the
    outputs. Raw %K is ``100 * (c - LL) / rng``: one division where TA-Lib takes two
    (``rng / 100``, then the quotient), a rounding away. The means keep TA-Lib's division:
    a product with ``1/n`` drifts the running sums 50x further from TA-Lib over 1M bars.
    Returns True when it read a +-inf close."""
    bad = False
    r1 = np.empty(nsk)
    r2 = np.empty(nsd)
    a1 = 0.0
    a2 = 0.0
    p1 = 0
    p2 = 0
    s1 = fk + nsk - 1  # first %K
    s2 = s1 + nsd - 1  # first %D
    for t in range(fk, t1):
        hh = o2[t, j]
        ll = o1[t, j]
        ct = c[t, j]
        bad |= abs(ct) == np.inf
        rng = hh - ll
        # TA-Lib 0.8: a range within 1e-14 of the quotes' magnitude is flat (%K = 0)
        flat = abs(rng) <= 1e-14 * (abs(hh) + abs(ll))
        raw = 0.0 if flat else (100.0 * (ct - ll)) / rng
        if nsk == 1:
            k = raw
        else:
            r1[p1] = raw
            a1 += raw
            if t < s1:
                k = NAN
                p1 += 1
            else:
                k = a1 / nsk
                p1 = p1 + 1 if p1 + 1 < nsk else 0
                a1 -= r1[p1]
        o1[t, j] = k
        if t < s1:
            o2[t, j] = NAN
        elif nsd == 1:
            o2[t, j] = k
        else:
            r2[p2] = k
            a2 += k
            if t < s2:
                o2[t, j] = NAN
                p2 += 1
            else:
                o2[t, j] = a2 / nsd
                p2 = p2 + 1 if p2 + 1 < nsd else 0
                a2 -= r2[p2]
    return bad


@njit(**_JIT_DIV)
def _stoch_tail_1d(c, hh, ll, o1, o2, nsk, nsd, s1, s2, r1, r2, a1, a2, p1, p2, ta, tb):
    """:func:`_stoch_tail` over bars ``[ta, tb)`` of one series, resumable: the highest high
    and lowest low of bar ``ta + i`` come in ``hh[i]``, ``ll[i]`` (a chunk's scratch), the
    running sums and ring positions go in and out. The same operations in the same order,
    so the same bits. Returns ``(a1, a2, p1, p2, read_inf)``."""
    bad = False
    cs, os1, os2 = c[ta:tb], o1[ta:tb], o2[ta:tb]  # slices indexed from 0: no wrap check
    for i in range(tb - ta):
        t = ta + i
        hv = hh[i]
        lv = ll[i]
        ct = cs[i]
        bad |= abs(ct) == np.inf
        rng = hv - lv
        flat = abs(rng) <= 1e-14 * (abs(hv) + abs(lv))  # TA-Lib 0.8 (see _stoch_tail)
        raw = 0.0 if flat else (100.0 * (ct - lv)) / rng
        if nsk == 1:
            k = raw
        else:
            r1[p1] = raw
            a1 += raw
            if t < s1:
                k = NAN
                p1 += 1
            else:
                k = a1 / nsk
                p1 = p1 + 1 if p1 + 1 < nsk else 0
                a1 -= r1[p1]
        os1[i] = k
        if t < s1:
            os2[i] = NAN
        elif nsd == 1:
            os2[i] = k
        else:
            r2[p2] = k
            a2 += k
            if t < s2:
                os2[i] = NAN
                p2 += 1
            else:
                os2[i] = a2 / nsd
                p2 = p2 + 1 if p2 + 1 < nsd else 0
                a2 -= r2[p2]
    return a1, a2, p1, p2, bad


@njit(**_JIT_DIV)
def _stoch_1d(h, l, c, o1, o2, nk, nsk, nsd, b, t1):
    """STOCH of one series from its first valid bar ``b``, in chunks of 8 192 bars: the
    highest high and lowest low of a chunk (:func:`_extreme_1d` over the chunk and the
    ``nk - 1`` bars before it) go to two scratch buffers that stay in cache, and the tail
    reads them from there: three passes over the series' memory (h, l, c in; %K, %D out)
    where the unfused kernel made three (HH out, LL out, then both in and out again).
    Every value is window-local, so the bits equal the unfused kernel's. True when it
    read a +-inf."""
    fk = b + nk - 1
    size = 8192
    hh = np.empty(size + nk)
    ll = np.empty(size + nk)
    r1 = np.empty(nsk)
    r2 = np.empty(nsd)
    s1 = fk + nsk - 1  # first %K
    s2 = s1 + nsd - 1  # first %D
    a1 = 0.0
    a2 = 0.0
    p1 = np.int64(0)  # not literals (a second compile of the tail)
    p2 = np.int64(0)
    bad = False
    zero = np.int64(0)  # not the literal 0 (a second compile of _extreme_1d)
    for a in range(fk, t1, size):
        e = min(a + size, t1)
        lo = a - nk + 1
        m = e - lo
        bad |= _extreme_1d(h[lo:e], hh[:m], nk, 1.0, zero, m)
        bad |= _extreme_1d(l[lo:e], ll[:m], nk, -1.0, zero, m)
        a1, a2, p1, p2, chunk_bad = _stoch_tail_1d(
            c, hh[nk - 1 : m], ll[nk - 1 : m], o1, o2, nsk, nsd, s1, s2, r1, r2,
            a1, a2, p1, p2, a, e,
        )  # fmt: skip
        bad |= chunk_bad
    return bad


@njit(**_JIT_EXACT)
def k_stoch(c, h, l, v, o1, o2, o3, p1, p2, p3, j0, j1, t0, t1):
    nk = int(p1)
    nsk = int(p2)
    nsd = int(p3)
    one = c.shape[1] == 1  # one series: the extremes flag +-inf in h and l (the inf proof)
    bad = False
    for j in range(j0, j1):
        b = _first_valid3(h, l, c, j, t0, t1)
        fk = b + nk - 1
        if fk >= t1:
            _fill_nan(o1, j, t0, t1)
            _fill_nan(o2, j, t0, t1)
            bad = True
            continue
        if one:
            n_ = c.shape[0]
            bad |= _stoch_1d(
                h.reshape(n_), l.reshape(n_), c.reshape(n_), o1.reshape(n_), o2.reshape(n_),
                nk, nsk, nsd, b, t1,
            )  # fmt: skip
        else:
            # o2 holds the highest high, o1 the lowest low, then raw %K in o1
            ch = _extreme_block(h, o2, nk, 1.0, j, j + 1, b, t1)
            cl = _extreme_block(l, o1, nk, -1.0, j, j + 1, b, t1)
            bad = bad or not (ch == 0.0 and cl == 0.0)
            bad |= _stoch_tail(c, o1, o2, j, nsk, nsd, fk, t1)
        f = fk + nsk + nsd - 2
        _fill_nan(o1, j, t0, min(f, t1))
        _fill_nan(o2, j, t0, min(f, t1))
        if one and not bad:
            n_ = c.shape[0]
            h1, l1, c1 = h.reshape(n_), l.reshape(n_), c.reshape(n_)
            bad = _inf_in(h1, t0, b) or _inf_in(l1, t0, b) or _inf_in(c1, t0, fk)
    return 0.0 if (one and not bad) else NAN


# --------------------------------------------------------------------------------------------
# prange drivers (the ``numba`` backend): one per kernel so each compiles only when used
# --------------------------------------------------------------------------------------------
@njit(cache=True, nogil=True, parallel=True)
def p_sma(c, h, l, v, o1, o2, o3, p1, p2, p3, tile):
    n = c.shape[1]
    zero = np.int64(0)  # not the literal 0: that would compile every kernel twice
    acc = 0.0
    for i in prange((n + tile - 1) // tile):
        a = i * tile
        acc += k_sma(c, h, l, v, o1, o2, o3, p1, p2, p3, a, min(a + tile, n), zero, c.shape[0])
    return acc


@njit(cache=True, nogil=True, parallel=True)
def p_ema(c, h, l, v, o1, o2, o3, p1, p2, p3, tile):
    n = c.shape[1]
    zero = np.int64(0)  # not the literal 0: that would compile every kernel twice
    acc = 0.0
    for i in prange((n + tile - 1) // tile):
        a = i * tile
        acc += k_ema(c, h, l, v, o1, o2, o3, p1, p2, p3, a, min(a + tile, n), zero, c.shape[0])
    return acc


@njit(cache=True, nogil=True, parallel=True)
def p_wma(c, h, l, v, o1, o2, o3, p1, p2, p3, tile):
    n = c.shape[1]
    zero = np.int64(0)  # not the literal 0: that would compile every kernel twice
    acc = 0.0
    for i in prange((n + tile - 1) // tile):
        a = i * tile
        acc += k_wma(c, h, l, v, o1, o2, o3, p1, p2, p3, a, min(a + tile, n), zero, c.shape[0])
    return acc


@njit(cache=True, nogil=True, parallel=True)
def p_rsi(c, h, l, v, o1, o2, o3, p1, p2, p3, tile):
    n = c.shape[1]
    zero = np.int64(0)  # not the literal 0: that would compile every kernel twice
    acc = 0.0
    for i in prange((n + tile - 1) // tile):
        a = i * tile
        acc += k_rsi(c, h, l, v, o1, o2, o3, p1, p2, p3, a, min(a + tile, n), zero, c.shape[0])
    return acc


@njit(cache=True, nogil=True, parallel=True)
def p_macd(c, h, l, v, o1, o2, o3, p1, p2, p3, tile):
    n = c.shape[1]
    zero = np.int64(0)  # not the literal 0: that would compile every kernel twice
    acc = 0.0
    for i in prange((n + tile - 1) // tile):
        a = i * tile
        acc += k_macd(c, h, l, v, o1, o2, o3, p1, p2, p3, a, min(a + tile, n), zero, c.shape[0])
    return acc


@njit(cache=True, nogil=True, parallel=True)
def p_bbands(c, h, l, v, o1, o2, o3, p1, p2, p3, tile):
    n = c.shape[1]
    zero = np.int64(0)  # not the literal 0: that would compile every kernel twice
    acc = 0.0
    for i in prange((n + tile - 1) // tile):
        a = i * tile
        acc += k_bbands(c, h, l, v, o1, o2, o3, p1, p2, p3, a, min(a + tile, n), zero, c.shape[0])
    return acc


@njit(cache=True, nogil=True, parallel=True)
def p_atr(c, h, l, v, o1, o2, o3, p1, p2, p3, tile):
    n = c.shape[1]
    zero = np.int64(0)  # not the literal 0: that would compile every kernel twice
    acc = 0.0
    for i in prange((n + tile - 1) // tile):
        a = i * tile
        acc += k_atr(c, h, l, v, o1, o2, o3, p1, p2, p3, a, min(a + tile, n), zero, c.shape[0])
    return acc


@njit(cache=True, nogil=True, parallel=True)
def p_stoch(c, h, l, v, o1, o2, o3, p1, p2, p3, tile):
    n = c.shape[1]
    zero = np.int64(0)  # not the literal 0: that would compile every kernel twice
    acc = 0.0
    for i in prange((n + tile - 1) // tile):
        a = i * tile
        acc += k_stoch(c, h, l, v, o1, o2, o3, p1, p2, p3, a, min(a + tile, n), zero, c.shape[0])
    return acc


@njit(cache=True, nogil=True, parallel=True)
def p_obv(c, h, l, v, o1, o2, o3, p1, p2, p3, tile):
    n = c.shape[1]
    zero = np.int64(0)  # not the literal 0: that would compile every kernel twice
    acc = 0.0
    for i in prange((n + tile - 1) // tile):
        a = i * tile
        acc += k_obv(c, h, l, v, o1, o2, o3, p1, p2, p3, a, min(a + tile, n), zero, c.shape[0])
    return acc


@njit(cache=True, nogil=True, parallel=True)
def p_std(c, h, l, v, o1, o2, o3, p1, p2, p3, tile):
    n = c.shape[1]
    zero = np.int64(0)  # not the literal 0: that would compile every kernel twice
    acc = 0.0
    for i in prange((n + tile - 1) // tile):
        a = i * tile
        acc += k_std(c, h, l, v, o1, o2, o3, p1, p2, p3, a, min(a + tile, n), zero, c.shape[0])
    return acc


@njit(cache=True, nogil=True, parallel=True)
def p_zscore(c, h, l, v, o1, o2, o3, p1, p2, p3, tile):
    n = c.shape[1]
    zero = np.int64(0)  # not the literal 0: that would compile every kernel twice
    acc = 0.0
    for i in prange((n + tile - 1) // tile):
        a = i * tile
        acc += k_zscore(c, h, l, v, o1, o2, o3, p1, p2, p3, a, min(a + tile, n), zero, c.shape[0])
    return acc


@njit(cache=True, nogil=True, parallel=True)
def p_roc(c, h, l, v, o1, o2, o3, p1, p2, p3, tile):
    n = c.shape[1]
    zero = np.int64(0)  # not the literal 0: that would compile every kernel twice
    acc = 0.0
    for i in prange((n + tile - 1) // tile):
        a = i * tile
        acc += k_roc(c, h, l, v, o1, o2, o3, p1, p2, p3, a, min(a + tile, n), zero, c.shape[0])
    return acc


@njit(cache=True, nogil=True, parallel=True)
def p_logret(c, h, l, v, o1, o2, o3, p1, p2, p3, tile):
    n = c.shape[1]
    zero = np.int64(0)  # not the literal 0: that would compile every kernel twice
    acc = 0.0
    for i in prange((n + tile - 1) // tile):
        a = i * tile
        acc += k_logret(c, h, l, v, o1, o2, o3, p1, p2, p3, a, min(a + tile, n), zero, c.shape[0])
    return acc


@njit(cache=True, nogil=True, parallel=True)
def p_min(c, h, l, v, o1, o2, o3, p1, p2, p3, tile):
    n = c.shape[1]
    zero = np.int64(0)  # not the literal 0: that would compile every kernel twice
    acc = 0.0
    for i in prange((n + tile - 1) // tile):
        a = i * tile
        acc += k_min(c, h, l, v, o1, o2, o3, p1, p2, p3, a, min(a + tile, n), zero, c.shape[0])
    return acc


@njit(cache=True, nogil=True, parallel=True)
def p_max(c, h, l, v, o1, o2, o3, p1, p2, p3, tile):
    n = c.shape[1]
    zero = np.int64(0)  # not the literal 0: that would compile every kernel twice
    acc = 0.0
    for i in prange((n + tile - 1) // tile):
        a = i * tile
        acc += k_max(c, h, l, v, o1, o2, o3, p1, p2, p3, a, min(a + tile, n), zero, c.shape[0])
    return acc
