"""Numba kernels: one read pass per column that finds everything a downcast decision needs.

The scan splits every column into chunks and runs the chunks of all columns in one ``prange``,
so the work is parallel over columns (and within a long column). Per chunk it measures, in one
pass over memory (each sub-block of :data:`BLOCK` values stays in L1 while every still-open
question is asked of it):

- NaN, +inf, -inf and -0.0 counts, and the min and max;
- whether every finite value is integral (the integer candidate);
- for float32 and float16: the largest absolute and relative rounding error and how many values
  fall outside ``atol + rtol * |x|`` (the float candidates).

A candidate that has failed anywhere is dropped for the rest of the column (a shared flag), and a
column with no candidate left stops early: a column of prices that already failed float32 costs
one sub-block, not a full pass. A candidate that survives was therefore measured on every value,
so the errors reported for the dtype chosen are the true maxima.

Float16 rounding is computed in float64 arithmetic (numba has no float16 on the CPU): normal
values are rounded to 11 significant bits with Veltkamp's split (exact round-to-nearest, no
fast-math, so no contraction or reassociation), values below 2**-14 to a multiple of 2**-24
(float16's subnormal spacing), and ``|x| >= 65520`` overflows to inf as NumPy's cast does. Ties
may round either way in the split; that never changes the error measured, which is the same half
unit in the last place either way.
"""

from __future__ import annotations

import numba as nb
import numpy as np
from numba import prange
from numba.core import types
from numba.extending import intrinsic

#: Values per sub-block: all open checks read the same 8-16 KiB while it is in L1.
BLOCK = 2048

# Columns of the per-chunk stats array written by scan_float.
F_NAN, F_INF, F_MIN, F_MAX = 0, 1, 2, 3
F_INT_BAD, F_INT_FIRST = 4, 5
F_32_BAD, F_32_ABS, F_32_REL, F_32_FIRST = 6, 7, 8, 9
F_16_BAD, F_16_ABS, F_16_REL, F_16_FIRST = 10, 11, 12, 13
F_DONE = 14
F_32_UPTO = 15  # float32 was measured on [start, F_32_UPTO) of the chunk
N_FLOAT_STATS = 16

# Candidate slots of the shared ``alive`` flags (one row per column).
C_INT, C_F32, C_F16 = 0, 1, 2

_TWO_M14 = 6.103515625e-05  # 2**-14, float16's smallest normal
_TWO_P24 = 16777216.0  # 2**24
_TWO_M24 = 5.960464477539063e-08  # 2**-24, float16's subnormal spacing
_SPLIT16 = 4398046511105.0  # 2**42 + 1: Veltkamp split keeping 53 - 42 = 11 bits
_F16_OVERFLOW = 65520.0  # the first value NumPy rounds to inf (halfway above 65504)


@nb.njit(cache=True, nogil=True, error_model="numpy", inline="always")
def round_f16(v: float) -> float:
    """``float(np.float16(v))`` computed in float64 (inf on overflow, NaN stays NaN)."""
    a = abs(v)
    if a == np.inf:
        return v
    if a < _TWO_M14:
        return np.rint(v * _TWO_P24) * _TWO_M24
    if a >= _F16_OVERFLOW:
        return np.inf if v > 0 else -np.inf
    c = v * _SPLIT16
    return c - (c - v)


@nb.njit(cache=True, nogil=True, error_model="numpy")
def round_f16_array(x: np.ndarray) -> np.ndarray:
    """Vector form of :func:`round_f16` (used by the tests to check it against NumPy)."""
    out = np.empty(x.shape[0], dtype=np.float64)
    for i in range(x.shape[0]):
        out[i] = round_f16(np.float64(x[i]))
    return out


@intrinsic
def _bits(typingctx, x):
    """Reinterpret a float64 as int64: for x >= 0 the order of the bits is the order of x.

    Max-reductions over int64 vectorize where float max-reductions (NaN semantics, no fast-math)
    do not, which makes the error maxima nearly free.
    """
    sig = types.int64(types.float64)

    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], context.get_value_type(types.int64))

    return sig, codegen


@intrinsic
def _unbits(typingctx, x):
    """Inverse of :func:`_bits`."""
    sig = types.float64(types.int64)

    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], context.get_value_type(types.float64))

    return sig, codegen


_I64_MIN = np.iinfo(np.int64).min
_I64_MAX = np.iinfo(np.int64).max
_TWO_P63 = 9.223372036854775808e18


@nb.njit(cache=True, nogil=True, error_model="numpy", inline="always")
def _f32_range(x, lo, hi, rtol, atol):
    """Float32 check of ``x[lo:hi]``: (n bad, max abs bits, max rel bits, first bad index)."""
    bad = 0
    a32 = 0
    r32 = 0
    for i in range(lo, hi):
        v = np.float64(x[i])
        e = abs(np.float64(np.float32(v)) - v)
        bad += e > atol + rtol * abs(v)
        e = e if e == e else 0.0
        r = e / abs(v)
        r = r if r == r else 0.0
        a32 = max(a32, _bits(e))
        r32 = max(r32, _bits(r))
    first = -1
    if bad:
        for i in range(lo, hi):
            v = np.float64(x[i])
            if abs(np.float64(np.float32(v)) - v) > atol + rtol * abs(v):
                first = i
                break
    return bad, a32, r32, first


@nb.njit(cache=True, nogil=True, error_model="numpy")
def _float_chunk(x, lo, hi, rtol, atol, alive_row, st):
    n_nan = 0
    n_inf = 0
    kmin = _I64_MAX
    kmax = _I64_MIN
    int_bad = 0
    int_first = -1
    b32 = 0
    a32 = 0
    r32 = 0
    f32 = -1
    f32_upto = lo  # float32 was measured on [lo, f32_upto) of this chunk
    b16 = 0
    a16 = 0
    r16 = 0
    f16 = -1
    done = 1
    start = lo
    while start < hi:
        stop = min(start + BLOCK, hi)
        chk_int = alive_row[C_INT] != 0
        chk32 = alive_row[C_F32] != 0
        chk16 = alive_row[C_F16] != 0
        if not (chk_int or chk32 or chk16):
            done = 0
            break
        if chk_int:
            # Integral, finite, in int64 range and not -0.0 (an int cannot keep its sign);
            # NaN is allowed here (it becomes a nullable int's missing value).
            bad = 0
            for i in range(start, stop):
                v = np.float64(x[i])
                isnan = v != v
                n_nan += isnan
                n_inf += abs(v) == np.inf
                ok = (v >= -_TWO_P63) & (v < _TWO_P63)
                bad += (not isnan) & ((not ok) | (v != np.rint(v)) | ((v == 0.0) & np.signbit(v)))
                k = np.int64(v) if ok else 0
                kmin = min(kmin, k if ok else _I64_MAX)
                kmax = max(kmax, k if ok else _I64_MIN)
            if bad:
                int_bad += bad
                for i in range(start, stop):
                    v = np.float64(x[i])
                    if v == v and (
                        not (-_TWO_P63 <= v < _TWO_P63)
                        or v != np.rint(v)
                        or (v == 0.0 and np.signbit(v))
                    ):
                        int_first = i
                        break
                alive_row[C_INT] = 0
        if chk16:
            bad = 0
            for i in range(start, stop):
                v = np.float64(x[i])
                e = abs(round_f16(v) - v)
                bad += e > atol + rtol * abs(v)
                e = e if e == e else 0.0
                r = e / abs(v)
                r = r if r == r else 0.0
                a16 = max(a16, _bits(e))
                r16 = max(r16, _bits(r))
            if bad:
                b16 += bad
                for i in range(start, stop):
                    v = np.float64(x[i])
                    if abs(round_f16(v) - v) > atol + rtol * abs(v):
                        f16 = i
                        break
                alive_row[C_F16] = 0
                chk16 = False
        if chk32 and not chk16:
            # float16 (checked first) already failed here: float32 is open. Catch up on the
            # blocks of this chunk that skipped float32 while float16 was still open.
            b, ea, er, fi = _f32_range(x, f32_upto, stop, rtol, atol)
            f32_upto = stop
            a32 = max(a32, ea)
            r32 = max(r32, er)
            if b:
                b32 += b
                if f32 < 0:
                    f32 = fi
                alive_row[C_F32] = 0
        start = stop
    st[F_NAN] = n_nan
    st[F_INF] = n_inf
    st[F_MIN] = np.float64(kmin)
    st[F_MAX] = np.float64(kmax)
    st[F_INT_BAD] = int_bad
    st[F_INT_FIRST] = int_first
    st[F_32_BAD] = b32
    st[F_32_ABS] = _unbits(a32)
    st[F_32_REL] = _unbits(r32)
    st[F_32_FIRST] = f32
    st[F_16_BAD] = b16
    st[F_16_ABS] = _unbits(a16)
    st[F_16_REL] = _unbits(r16)
    st[F_16_FIRST] = f16
    st[F_DONE] = done
    st[F_32_UPTO] = f32_upto


@intrinsic
def _as_pointer(typingctx, addr, like):
    """An int64 address as a typed pointer to ``like``'s dtype (for ``numba.carray``)."""
    sig = types.CPointer(like.dtype)(types.int64, like)

    def codegen(context, builder, signature, args):
        return builder.inttoptr(args[0], context.get_value_type(signature.return_type))

    return sig, codegen


@nb.njit(cache=True, parallel=True, error_model="numpy")
def scan_float(addrs, lengths, like, tasks, rtol, atol, alive, stats):
    """Scan float columns chunk by chunk, all chunks of all columns in one ``prange``.

    Columns are passed as the addresses and lengths of C-contiguous buffers of ``like``'s
    dtype (the caller keeps them alive), so the kernel compiles once per dtype whatever the
    number of columns and their flags; a numba typed List would cost a compile per process.

    Parameters
    ----------
    addrs, lengths
        int64 arrays: data address and length of each column.
    like
        An empty array of the columns' dtype (float32 or float64).
    tasks
        int64 array (n_tasks, 3): column index, start row, stop row.
    rtol, atol
        The tolerance every candidate dtype must keep: ``|y - x| <= atol + rtol * |x|``.
    alive
        int8 array (n_columns, 3) of open candidates (integer, float32, float16); cleared in
        place as candidates fail.
    stats
        float64 array (n_tasks, N_FLOAT_STATS), filled per task.
    """
    for t in prange(tasks.shape[0]):
        c = tasks[t, 0]
        x = nb.carray(_as_pointer(addrs[c], like), lengths[c])
        _float_chunk(x, tasks[t, 1], tasks[t, 2], rtol, atol, alive[c], stats[t])


@nb.njit(cache=True, nogil=True, error_model="numpy", inline="always")
def _half_bits(v: float) -> int:
    """IEEE binary16 bits of ``v``, rounded to nearest even exactly as NumPy's cast does."""
    bits = _bits(v)
    sign = (bits >> 48) & 0x8000
    a = abs(v)
    if a != a:
        mant = bits & 0xFFFFFFFFFFFFF
        payload = mant >> 42
        return sign | 0x7C00 | (payload if payload != 0 else 1)
    if a >= _F16_OVERFLOW:
        return sign | 0x7C00
    if a < _TWO_M14:
        return sign | np.int64(np.rint(a * _TWO_P24))  # subnormal (1024 rounds up to 2**-14)
    e = ((bits >> 52) & 0x7FF) - 1023
    mant = bits & 0xFFFFFFFFFFFFF
    m10 = mant >> 42
    rest = mant & 0x3FFFFFFFFFF
    half = np.int64(1) << 41
    up = 1 if (rest > half or (rest == half and (m10 & 1) == 1)) else 0
    return sign | (((e + 15) << 10) + m10 + up)


@nb.njit(cache=True, parallel=True, error_model="numpy")
def to_float16_bits(addr, n, like, out):
    """Write the float16 bit patterns of a float32/float64 buffer into ``out`` (uint16).

    NumPy's float64 -> float16 cast is a scalar loop; this one runs on every core and gives the
    same bits (round to nearest even, subnormals, inf, NaN with its sign).
    """
    x = nb.carray(_as_pointer(addr, like), n)
    for i in prange(n):
        out[i] = _half_bits(np.float64(x[i]))
