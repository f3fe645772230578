"""torch front end of :func:`perfkit.memory.downcast`.

CPU tensors go through the NumPy path on a zero-copy view. CUDA tensors are measured on the
device with torch ops, chunk by chunk (bounded scratch memory), with the same decision rules;
torch's own casts are correctly rounded, so the measured errors are those of the result.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import numpy as np

from perfkit.memory._planning import (
    _keep,
    _Options,
    _Plan,
    _plan_float_array,
    _plan_int_array,
)

#: Integer dtypes torch supports fully (no uint16/32/64 arithmetic on every device).
_TORCH_INTS = tuple(np.dtype(t) for t in ("int8", "uint8", "int16", "int32", "int64"))
_CHUNK = 1 << 24


def _torch_dtype(dt: np.dtype) -> Any:
    import torch

    return getattr(torch, dt.name)


def run_torch(
    t: Any,
    opt: _Options,
    convert: bool,
    run_numpy: Callable[..., Any],
    finish: Callable[..., Any],
) -> tuple[Any, Any]:
    """Plan (and convert) one tensor as one column."""
    import torch

    opt = replace(opt, int_ladder=_TORCH_INTS)
    x = t.detach()
    if x.device.type == "cpu":
        try:
            view = x.numpy()
        except (TypeError, RuntimeError):
            plan = _keep("tensor", x.dtype, x.numel() * x.element_size(), _unsupported(x))
            return (t if convert else None), finish([plan], opt, convert)
        small, report = run_numpy(view, opt, None, convert)
        if not convert:
            return None, report
        if small is view:
            return t, report
        return torch.from_numpy(np.ascontiguousarray(small)), report
    plan = _plan_cuda(x, opt)
    report = finish([plan], opt, convert)
    if not convert:
        return None, report
    if plan.kind == "cast":
        return x.to(_torch_dtype(np.dtype(plan.target))), report
    return t, report


def _unsupported(x: Any) -> str:
    return f"kept: {x.dtype} is not downcast"


def _plan_cuda(x: Any, opt: _Options) -> _Plan:
    import torch

    nbytes = x.numel() * x.element_size()
    if x.numel() == 0:
        return _keep("tensor", x.dtype, nbytes, "kept: empty, nothing to downcast")
    flat = x.reshape(-1)
    host_dtype = {torch.float64: np.float64, torch.float32: np.float32}.get(x.dtype)
    if x.dtype in (torch.int8, torch.uint8, torch.int16, torch.int32, torch.int64):
        lo, hi = int(flat.min()), int(flat.max())
        like = np.empty(0, dtype=np.dtype(str(x.dtype).replace("torch.", "")))
        return _plan_int_array("tensor", _Meta(like, nbytes, x.numel()), lo, hi, opt)
    if host_dtype is None:
        return _keep("tensor", x.dtype, nbytes, _unsupported(x))
    st: dict[str, Any] = {
        "n_nan": 0,
        "n_inf": 0,
        "min": math.inf,
        "max": -math.inf,
        "int_ok": opt.ints,
        "int_first": -1,
        "done": True,
    }
    for key in ("f32", "f16"):
        st.update({f"{key}_ok": True, f"{key}_abs": 0.0, f"{key}_rel": 0.0})
        st.update({f"{key}_bad": 0, f"{key}_first": -1})
    st["f32_ok"] = x.dtype == torch.float64
    for start in range(0, flat.numel(), _CHUNK):
        v = flat[start : start + _CHUNK].to(torch.float64)
        nan = torch.isnan(v)
        finite = torch.isfinite(v)
        st["n_nan"] += int(nan.sum())
        st["n_inf"] += int((~finite & ~nan).sum())
        if bool(finite.any()):
            st["min"] = min(st["min"], float(v[finite].min()))
            st["max"] = max(st["max"], float(v[finite].max()))
        if st["int_ok"]:
            negzero = (v == 0) & torch.signbit(v)
            bad = finite & ((v != torch.round(v)) | negzero)
            if bool(bad.any()):
                st["int_ok"] = False
                st["int_first"] = start + int(torch.nonzero(bad)[0, 0])
        tol = opt.atol + opt.rtol * v.abs()
        for key, dt in (("f32", torch.float32), ("f16", torch.float16)):
            if not st[f"{key}_ok"]:
                continue
            err = (v.to(dt).to(torch.float64) - v).abs()
            err = torch.where(finite, err, torch.zeros_like(err))
            rel = torch.where(v != 0, err / v.abs(), torch.zeros_like(err))
            bad = err > tol
            st[f"{key}_abs"] = max(st[f"{key}_abs"], float(err.max()))
            st[f"{key}_rel"] = max(st[f"{key}_rel"], float(torch.nan_to_num(rel).max()))
            if bool(bad.any()):
                st[f"{key}_ok"] = False
                st[f"{key}_bad"] += int(bad.sum())
                st[f"{key}_first"] = start + int(torch.nonzero(bad)[0, 0])
    host = _Meta(np.empty(0, dtype=host_dtype), nbytes, x.numel(), flat)
    return _plan_float_array("tensor", host, st, opt, False, "torch has no nullable integers")


class _Meta:
    """Stand-in for a NumPy column: dtype, size, nbytes, and element access for the reasons."""

    def __init__(
        self, like: np.ndarray, nbytes: int, size: int | None = None, data: Any = None
    ) -> None:
        self.dtype = like.dtype
        self.size = like.size if size is None else size
        self.nbytes = nbytes
        self._data = data

    def __getitem__(self, i: int) -> float:
        return float(self._data[i])
