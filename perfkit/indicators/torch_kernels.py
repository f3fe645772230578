"""Batched torch forms of the panel indicators, for a GPU (or torch on CPU).

The panel is a ``(n_bars, n_instruments)`` float64 tensor without NaNs; every op runs on all
instruments at once. Windows use cumulative sums; the recurrences (EMA, Wilder smoothing) are a
linear scan ``y[t] = a*y[t-1] + u[t]`` computed blockwise: inside a block of ``B`` bars one
batched matrix product with the ``B x B`` matrix of powers of ``a`` gives every bar's
in-block part, and a short sequential pass over block ends carries the state. That needs
``n_bars / B`` small steps instead of ``n_bars`` kernel launches.

Conventions match :mod:`perfkit.indicators.kernels` (TA-Lib's seeds and lookbacks) on NaN-free
panels. torch is imported here only; this module is loaded lazily by the CUDA case.
"""

from __future__ import annotations

from typing import Any

from perfkit.errors import MissingDependencyError, UsageError

try:
    import torch
except ImportError as exc:  # pragma: no cover - depends on the install
    raise MissingDependencyError("torch", "ml", "the torch/CUDA indicator kernels") from exc

BLOCK = 64


def _check(x: Any) -> Any:
    if x.dim() != 2 or x.dtype != torch.float64:
        raise UsageError("torch kernels take a 2-D float64 tensor (n_bars, n_instruments)")
    if torch.isnan(x).any():
        raise UsageError(
            "torch kernels need a NaN-free panel", "use perfkit.indicators.compute for gaps"
        )
    return x


def linear_scan(u: Any, a: float, block: int = BLOCK) -> Any:
    """``y[t] = a*y[t-1] + u[t]`` along dim 0 with ``y[-1] = 0``, blockwise (see module doc)."""
    n_bars, n_inst = u.shape
    pad = (-n_bars) % block
    if pad:
        u = torch.cat([u, u.new_zeros(pad, n_inst)])
    nb = u.shape[0] // block
    idx = torch.arange(block, device=u.device)
    expo = (idx[:, None] - idx[None, :]).to(u.dtype)
    powers = torch.where(
        expo >= 0, torch.tensor(a, dtype=u.dtype, device=u.device) ** expo.clamp(min=0), 0.0
    )
    ub = u.reshape(nb, block, n_inst)
    inner = torch.matmul(powers, ub)  # (nb, block, n_inst): the in-block part of y
    carry_w = torch.tensor(a, dtype=u.dtype, device=u.device) ** (idx + 1).to(u.dtype)
    out = torch.empty_like(inner)
    state = u.new_zeros(n_inst)
    a_block = a**block
    for b in range(nb):  # nb = n_bars / block short steps carry the state across blocks
        out[b] = inner[b] + carry_w[:, None] * state[None, :]
        state = inner[b, -1] + a_block * state
    return out.reshape(-1, n_inst)[:n_bars]


def sma(x: Any, n: int) -> Any:
    """Simple moving average, NaN for the first ``n - 1`` bars."""
    x = _check(x)
    c = torch.cumsum(x, 0)
    out = torch.full_like(x, float("nan"))
    if x.shape[0] >= n:
        out[n - 1] = c[n - 1] / n
        out[n:] = (c[n:] - c[:-n]) / n
    return out


def ema(x: Any, n: int) -> Any:
    """EMA seeded with the SMA of the first window (TA-Lib)."""
    x = _check(x)
    k = 2.0 / (n + 1)
    out = torch.full_like(x, float("nan"))
    if x.shape[0] < n:
        return out
    u = k * x[n - 1 :].clone()
    u[0] = x[:n].mean(0)
    out[n - 1 :] = linear_scan(u, 1.0 - k)
    return out


def rsi(x: Any, n: int) -> Any:
    """Wilder's RSI; 0 where gain + loss is 0 (TA-Lib)."""
    x = _check(x)
    out = torch.full_like(x, float("nan"))
    if x.shape[0] <= n:
        return out
    d = x[1:] - x[:-1]
    up, dn = d.clamp(min=0), (-d).clamp(min=0)
    a = (n - 1) / n

    def wilder(v: Any) -> Any:
        u = v[n - 1 :] / n
        u[0] = v[:n].mean(0)
        return linear_scan(u, a)

    g, lo = wilder(up), wilder(dn)
    tot = g + lo
    out[n:] = torch.where(tot > 0, 100.0 * g / torch.where(tot > 0, tot, 1.0), 0.0)
    return out


def bbands(x: Any, n: int, k: float = 2.0) -> tuple[Any, Any, Any]:
    """Bollinger bands (mid, upper, lower), population std over shifted sums."""
    x = _check(x)
    mid = sma(x, n)
    shift = x[:1]
    d = x - shift
    c1, c2 = torch.cumsum(d, 0), torch.cumsum(d * d, 0)
    s1 = torch.full_like(x, float("nan"))
    s2 = torch.full_like(x, float("nan"))
    if x.shape[0] >= n:
        s1[n - 1], s2[n - 1] = c1[n - 1], c2[n - 1]
        s1[n:], s2[n:] = c1[n:] - c1[:-n], c2[n:] - c2[:-n]
    var = s2 / n - (s1 / n) ** 2
    sd = torch.sqrt(var.clamp(min=0.0))
    return mid, mid + k * sd, mid - k * sd


#: spec -> function over a (n_bars, n_instruments) tensor returning a tuple of outputs
TORCH_SPECS = {
    "sma:20": lambda x: (sma(x, 20),),
    "ema:20": lambda x: (ema(x, 20),),
    "rsi:14": lambda x: (rsi(x, 14),),
    "bbands:20,2": lambda x: bbands(x, 20, 2.0),
}
