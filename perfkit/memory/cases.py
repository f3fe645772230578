"""Registry cases for the memory helpers (group ``memory``).

- ``downcast_vs_reduce_mem_usage``: the Kaggle ``reduce_mem_usage`` snippet vs perfkit.downcast
  on a realistic mixed frame; figures: bytes after, values lost by each (perfkit must lose 0).
- ``downcast_vs_to_numeric``: the same frame through pandas ``to_numeric(downcast=...)``.
- ``downcast_feature_matrix``: a float64 feature matrix stored as float32/float16; figures:
  memory and the downstream error of a matrix product.
- ``no_copy_fancy_index_vs_view``: a fancy-index copy vs a slice view, checked with no_copy.
- ``downcast_torch_tensor``: naive ``tensor.half()`` vs perfkit.downcast on CPU and CUDA.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from perfkit.bench.case import Verdict, case
from perfkit.memory.downcast import downcast
from perfkit.memory.views import is_view, no_copy

#: Tolerance of "values lost": a value is lost if it moved by more than this, changed NaN-ness
#: or lost the sign of a zero.
LOSS_RTOL = 1e-6


def make_mixed_frame(rows: int, seed: int = 0) -> Any:
    """A realistic trades frame of 10 columns: prices, volumes, ids, flags, a column with NaN,
    a column with values > 65504, integral floats, int8 endpoints and -0.0."""
    import pandas as pd

    rng = np.random.default_rng(seed)
    qty = np.round(rng.uniform(0, 5000, rows))
    qty[rng.random(rows) < 0.02] = np.nan
    sector = rng.integers(-128, 128, rows)
    sector[:2] = (-128, 127)
    delta = np.round(rng.normal(0, 0.4, rows))  # rounding small negatives gives -0.0
    return pd.DataFrame(
        {
            "price": np.round(rng.uniform(1, 500, rows), 2),
            "volume": rng.integers(0, 1_000_000, rows),
            "trade_id": np.arange(rows, dtype=np.int64) + 1_000_000,
            "is_buy": rng.integers(0, 2, rows),
            "qty": qty,
            "notional": np.round(rng.uniform(0, 2e6, rows), 2),
            "level": np.round(rng.uniform(-100, 100, rows)),
            "ret": np.round(rng.normal(0, 0.01, rows), 6),
            "sector": sector,
            "delta": delta,
        }
    )


def reduce_mem_usage(df: Any, verbose: bool = True) -> Any:
    """The widely copied Kaggle snippet, verbatim in logic: range checks only, strict ``<``/``>``.

    Kept faithful on purpose (it is the baseline): it modifies ``df`` in place and returns it.
    """
    numerics = ["int16", "int32", "int64", "float16", "float32", "float64"]
    start_mem = df.memory_usage().sum() / 1024**2
    for col in df.columns:
        col_type = df[col].dtypes
        if col_type in numerics:
            c_min = df[col].min()
            c_max = df[col].max()
            if str(col_type)[:3] == "int":
                if c_min > np.iinfo(np.int8).min and c_max < np.iinfo(np.int8).max:
                    df[col] = df[col].astype(np.int8)
                elif c_min > np.iinfo(np.int16).min and c_max < np.iinfo(np.int16).max:
                    df[col] = df[col].astype(np.int16)
                elif c_min > np.iinfo(np.int32).min and c_max < np.iinfo(np.int32).max:
                    df[col] = df[col].astype(np.int32)
                elif c_min > np.iinfo(np.int64).min and c_max < np.iinfo(np.int64).max:
                    df[col] = df[col].astype(np.int64)
            else:
                if c_min > np.finfo(np.float16).min and c_max < np.finfo(np.float16).max:
                    df[col] = df[col].astype(np.float16)
                elif c_min > np.finfo(np.float32).min and c_max < np.finfo(np.float32).max:
                    df[col] = df[col].astype(np.float32)
                else:
                    df[col] = df[col].astype(np.float64)
    end_mem = df.memory_usage().sum() / 1024**2
    if verbose:
        print(  # noqa: T201 - the snippet's own output, off in the cases
            f"Mem. usage decreased to {end_mem:5.2f} Mb "
            f"({100 * (start_mem - end_mem) / start_mem:.1f}% reduction)"
        )
    return df


def to_numeric_downcast(df: Any) -> Any:
    """The pandas way: ``to_numeric(downcast="integer")``, then ``"float"`` if still float."""
    import pandas as pd

    out = {}
    for col in df.columns:
        s = df[col]
        if pd.api.types.is_numeric_dtype(s.dtype):
            s = pd.to_numeric(s, downcast="integer")
            if pd.api.types.is_float_dtype(s.dtype):
                s = pd.to_numeric(s, downcast="float")
        out[col] = s
    return pd.DataFrame(out, index=df.index)


def values_lost(original: Any, converted: Any, rtol: float = LOSS_RTOL) -> dict[str, int]:
    """Per column: values that moved beyond ``rtol``, changed NaN-ness or lost a zero's sign."""
    lost = {}
    for col in original.columns:
        a = original[col].to_numpy(dtype=np.float64, na_value=np.nan)
        b = converted[col].to_numpy(dtype=np.float64, na_value=np.nan)
        with np.errstate(invalid="ignore"):
            same = (np.abs(b - a) <= rtol * np.abs(a)) | (np.isnan(a) & np.isnan(b)) | (a == b)
        sign = (a == 0) & (np.signbit(a) != np.signbit(b))
        lost[col] = int(np.count_nonzero(~same | sign))
    return lost


def _frame_bytes(df: Any) -> int:
    return int(df.memory_usage(index=False, deep=False).sum())


class _FrameCase:
    def make_inputs(self, params: dict[str, Any]) -> Any:
        return make_mixed_frame(int(params["rows"]))

    def candidate(self, df: Any) -> Any:
        return df, downcast(df)[0]

    def check(self, base_out: Any, cand_out: Any) -> Verdict:
        original, base = base_out
        _, cand = cand_out
        lost_b = values_lost(original, base)
        lost_c = values_lost(original, cand)
        before = _frame_bytes(original)
        after_b = _frame_bytes(base)
        after_c = _frame_bytes(cand)
        total_b = sum(lost_b.values())
        total_c = sum(lost_c.values())
        ok = total_c == 0 and after_c < before
        worst = max(lost_b, key=lost_b.get) if total_b else "-"
        detail = (
            f"values lost: baseline {total_b:,} (most in {worst}), perfkit {total_c:,}; "
            f"bytes {before:,} -> baseline {after_b:,}, perfkit {after_c:,}"
        )
        return Verdict(
            ok=ok,
            detail=detail if ok else "FAILED: perfkit lost values or saved nothing; " + detail,
            figures={
                "bytes_before": before,
                "baseline_bytes_after": after_b,
                "candidate_bytes_after": after_c,
                "candidate_memory_ratio": after_c / before,
                "baseline_values_lost": total_b,
                "candidate_values_lost": total_c,
            },
        )


@case(
    "downcast_vs_reduce_mem_usage",
    "memory",
    params={"rows": [10_000_000]},
    quick_params={"rows": [20_000]},
    baseline_label="kaggle reduce_mem_usage",
    candidate_label="perfkit.downcast",
)
class DowncastVsReduceMemUsage(_FrameCase):
    """Kaggle reduce_mem_usage (range checks only) vs perfkit.downcast on a 10-column frame."""

    def baseline(self, df: Any) -> Any:
        return df, reduce_mem_usage(df.copy(deep=False), verbose=False)


@case(
    "downcast_vs_to_numeric",
    "memory",
    params={"rows": [10_000_000]},
    quick_params={"rows": [20_000]},
    baseline_label="pandas to_numeric(downcast=)",
    candidate_label="perfkit.downcast",
)
class DowncastVsToNumeric(_FrameCase):
    """pandas to_numeric(downcast="integer"/"float") per column vs perfkit.downcast."""

    def baseline(self, df: Any) -> Any:
        return df, to_numeric_downcast(df)


#: Tolerances of the feature-matrix case per storage dtype, and the downstream error allowed
#: (max |X_small @ w - X @ w| relative to max |X @ w|).
_MATRIX_TOL = {"float32": (1e-6, 0.0, 1e-5), "float16": (1e-3, 1e-4, 5e-3)}


@case(
    "downcast_feature_matrix",
    "memory",
    params={"rows": [1_000_000], "features": [64], "target": ["float32", "float16"]},
    quick_params={"rows": [2_000], "features": [16], "target": ["float32", "float16"]},
    baseline_label="float64 X @ w",
    candidate_label="downcast X @ w",
)
class DowncastFeatureMatrix:
    """A float64 feature matrix stored as float32/float16: memory vs matrix-product error."""

    def make_inputs(self, params: dict[str, Any]) -> Any:
        rng = np.random.default_rng(1)
        x = rng.normal(size=(int(params["rows"]), int(params["features"])))
        w = rng.normal(size=int(params["features"]))
        rtol, atol, _ = _MATRIX_TOL[params["target"]]
        small, report = downcast(x, rtol=rtol, atol=atol, floats=(params["target"],), ints=False)
        return {"x": x, "w": w, "small": small, "report": report, "target": params["target"]}

    def baseline(self, inp: dict[str, Any]) -> Any:
        return inp["x"] @ inp["w"]

    def candidate(self, inp: dict[str, Any]) -> Any:
        small = inp["small"]
        w32 = inp["w"].astype(np.float32)
        if small.dtype == np.float16:  # no float16 BLAS: upcast block by block, no full copy
            out = np.empty(small.shape[0], dtype=np.float32)
            for i in range(0, small.shape[0], 65536):
                out[i : i + 65536] = small[i : i + 65536].astype(np.float32) @ w32
            pred = out
        else:
            pred = small.astype(np.float32, copy=False) @ w32
        return pred, inp

    def check(self, base_out: Any, cand_out: Any) -> Verdict:
        pred, inp = cand_out
        target = inp["target"]
        err = np.abs(pred.astype(np.float64) - base_out)
        scale = float(np.max(np.abs(base_out))) or 1.0
        rel = float(err.max()) / scale
        bound = _MATRIX_TOL[target][2]
        stored = inp["small"].dtype.name
        ok = stored == target and rel <= bound
        return Verdict(
            ok=ok,
            detail=(
                f"stored as {stored} (asked {target}); X @ w max error {rel:.2e} of max |X @ w| "
                f"(bound {bound:g}); {inp['x'].nbytes:,} -> {inp['small'].nbytes:,} bytes"
            ),
            max_abs_error=float(err.max()),
            max_rel_error=rel,
            figures={
                "size_bytes_before": inp["x"].nbytes,
                "size_bytes_after": inp["small"].nbytes,
                "memory_ratio": inp["small"].nbytes / inp["x"].nbytes,
                "storage_max_rel_error": inp["report"].max_rel_error,
                "product_max_rel_error": rel,
            },
        )


@case(
    "no_copy_fancy_index_vs_view",
    "memory",
    params={"rows": [10_000_000]},
    quick_params={"rows": [100_000]},
    baseline_label="x[np.arange(lo, hi)]",
    candidate_label="x[lo:hi]",
)
class FancyIndexVsView:
    """A fancy-index copy vs the equivalent slice view, both checked under no_copy."""

    def make_inputs(self, params: dict[str, Any]) -> Any:
        n = int(params["rows"])
        x = np.arange(n, dtype=np.float64)
        return {"x": x, "lo": n // 4, "hi": 3 * n // 4, "idx": np.arange(n // 4, 3 * n // 4)}

    def baseline(self, inp: dict[str, Any]) -> Any:
        return inp, inp["x"][inp["idx"]]

    def candidate(self, inp: dict[str, Any]) -> Any:
        return inp, inp["x"][inp["lo"] : inp["hi"]]

    def check(self, base_out: Any, cand_out: Any) -> Verdict:
        inp, b = base_out
        _, c = cand_out
        x = inp["x"]
        with no_copy(min_bytes=1 << 12, action="record", temporaries=False) as g_base:
            kept_b = x[inp["idx"]]
        with no_copy(min_bytes=1 << 12, action="record", temporaries=False) as g_cand:
            kept_c = x[inp["lo"] : inp["hi"]]
        copied_b = sum(r.size_bytes for r in g_base.copies)
        copied_c = sum(r.size_bytes for r in g_cand.copies)
        same = np.array_equal(b, c) and np.array_equal(kept_b, kept_c)
        ok = (
            same
            and copied_b >= b.nbytes
            and copied_c == 0
            and is_view(c, of=x)
            and not is_view(b, of=x)
        )
        return Verdict(
            ok=ok,
            detail=(
                f"same values: {same}; no_copy saw {copied_b:,} bytes copied by the fancy index "
                f"and {copied_c:,} by the slice"
            ),
            figures={
                "baseline_copied_bytes": copied_b,
                "candidate_copied_bytes": copied_c,
                "window_bytes": int(b.nbytes),
            },
        )


@case(
    "downcast_torch_tensor",
    "memory",
    params={"rows": [10_000_000]},
    quick_params={"rows": [10_000]},
    devices=("cpu", "cuda"),
    baseline_label="tensor.half()",
    candidate_label="perfkit.downcast",
)
class DowncastTorchTensor:
    """Naive tensor.half() vs perfkit.downcast on a float64 price tensor (CPU and CUDA)."""

    def make_inputs(self, params: dict[str, Any]) -> Any:
        import torch  # lazily: the registry must load without torch

        rng = np.random.default_rng(2)
        prices = np.round(rng.uniform(1, 500, int(params["rows"])), 2)
        return torch.from_numpy(prices).to(params["device"])

    def baseline(self, t: Any) -> Any:
        return t, t.half()

    def candidate(self, t: Any) -> Any:
        return t, downcast(t)[0]

    def check(self, base_out: Any, cand_out: Any) -> Verdict:
        import torch

        t, b = base_out
        _, c = cand_out

        def lost(y: Any) -> int:
            err = (y.to(torch.float64) - t).abs()
            return int((err > LOSS_RTOL * t.abs()).sum())

        lost_b, lost_c = lost(b), lost(c)
        before = t.numel() * t.element_size()
        after_c = c.numel() * c.element_size()
        return Verdict(
            ok=lost_c == 0 and after_c < before,
            detail=f"values lost: half() {lost_b:,}, perfkit {lost_c:,} (as {c.dtype})",
            figures={
                "bytes_before": before,
                "baseline_bytes_after": b.numel() * b.element_size(),
                "candidate_bytes_after": after_c,
                "baseline_values_lost": lost_b,
                "candidate_values_lost": lost_c,
            },
        )
