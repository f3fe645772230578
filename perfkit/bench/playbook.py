"""The playbook's Python-level cases: generators, tuples, views, in-place ops, dtypes, ``del``.

Each is the smallest honest demonstration of one habit from the playbook, with a check that the
faster or leaner form still computes the same answer.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np

from perfkit.bench.case import Verdict, case

# --- generators vs lists -------------------------------------------------------------------------


def fib_list(n: int) -> list[int]:
    """The first ``n`` Fibonacci numbers, all held in a list at once."""
    out = []
    a, b = 0, 1
    for _ in range(n):
        out.append(a)
        a, b = b, a + b
    return out


def fib_gen(n: int) -> Iterator[int]:
    """The first ``n`` Fibonacci numbers, one at a time."""
    a, b = 0, 1
    for _ in range(n):
        yield a
        a, b = b, a + b


@case(
    "fib_divisible_by_3",
    "playbook",
    params={"n": [100, 100_000]},
    quick_params={"n": [100, 2_000]},
    baseline_label="list",
    candidate_label="generator",
)
class FibDivisibleBy3:
    """How many of the first N Fibonacci numbers are divisible by 3: list vs generator."""

    def make_inputs(self, p: dict[str, Any]) -> int:
        return int(p["n"])

    def baseline(self, n: int) -> int:
        return sum(1 for x in fib_list(n) if x % 3 == 0)

    def candidate(self, n: int) -> int:
        return sum(1 for x in fib_gen(n) if x % 3 == 0)

    def check(self, b: int, c: int) -> Verdict:
        return Verdict(b == c, f"count {c} (list) vs {b} (generator)", agreement=float(b == c))


# --- tuple vs list literal -----------------------------------------------------------------------


def _small_list(_: Any) -> list[int]:
    return [2, 3, 5, 7, 11, 13, 17, 19, 23, 29]


def _small_tuple(_: Any) -> tuple[int, ...]:
    return (2, 3, 5, 7, 11, 13, 17, 19, 23, 29)


@case("small_sequence_literal", "playbook", baseline_label="list", candidate_label="tuple")
class SmallSequenceLiteral:
    """A small static sequence: a list literal is built on every call, a tuple is a constant."""

    def make_inputs(self, p: dict[str, Any]) -> None:
        return None

    baseline = staticmethod(_small_list)
    candidate = staticmethod(_small_tuple)

    def check(self, b: list[int], c: tuple[int, ...]) -> Verdict:
        same = list(b) == list(c)
        return Verdict(same, "same elements in the same order", agreement=float(same))


# --- fancy-index copy vs slice view --------------------------------------------------------------


@case(
    "select_rows_view",
    "playbook",
    params={"n": [1_000_000, 10_000_000]},
    quick_params={"n": [100_000]},
    baseline_label="fancy index (copy)",
    candidate_label="slice (view)",
)
class SelectRowsView:
    """Selecting a contiguous block: fancy indexing copies it, a slice is a view costing nothing."""

    def make_inputs(self, p: dict[str, Any]) -> dict[str, Any]:
        n = int(p["n"])
        a = np.random.default_rng(0).standard_normal(n)
        start, stop = n // 4, 3 * n // 4
        return {"a": a, "start": start, "stop": stop, "idx": np.arange(start, stop)}

    def baseline(self, x: dict[str, Any]) -> np.ndarray:
        return x["a"][x["idx"]]

    def candidate(self, x: dict[str, Any]) -> np.ndarray:
        return x["a"][x["start"] : x["stop"]]

    def check(self, b: np.ndarray, c: np.ndarray) -> Verdict:
        same = bool(np.array_equal(b, c))
        is_view = c.base is not None
        return Verdict(
            same and is_view,
            f"equal={same}, candidate is a view={is_view}",
            max_abs_error=float(np.max(np.abs(b - c))) if b.size else 0.0,
            figures={"candidate_is_view": float(is_view), "copied_bytes": float(b.nbytes)},
        )


# --- astype copies vs out= / in-place ------------------------------------------------------------


@case(
    "scale_in_place",
    "playbook",
    params={"n": [10_000_000]},
    quick_params={"n": [100_000]},
    baseline_label="astype + temporaries",
    candidate_label="out= / in-place",
)
class ScaleInPlace:
    """Rescaling int16 readings to float32: astype and arithmetic copies vs ufuncs writing out=."""

    def make_inputs(self, p: dict[str, Any]) -> dict[str, Any]:
        n = int(p["n"])
        raw = np.random.default_rng(1).integers(-2000, 2000, size=n, dtype=np.int16)
        return {
            "raw": raw,
            "scale": np.float32(0.01),
            "offset": np.float32(3.5),
            "buf": np.empty(n, dtype=np.float32),
        }

    def baseline(self, x: dict[str, Any]) -> np.ndarray:
        y = x["raw"].astype(np.float32)
        y = y * x["scale"]
        return y + x["offset"]

    def candidate(self, x: dict[str, Any]) -> np.ndarray:
        buf = x["buf"]
        np.multiply(x["raw"], x["scale"], out=buf, dtype=np.float32)
        buf += x["offset"]
        return buf

    def check(self, b: np.ndarray, c: np.ndarray) -> Verdict:
        err = float(np.max(np.abs(b - c))) if b.size else 0.0
        return Verdict(
            b.dtype == c.dtype and err == 0.0,
            f"bit-identical float32 results (max abs err {err})",
            max_abs_error=err,
        )


# --- float64 vs float32 / float16 features -------------------------------------------------------


def _to_numpy(a: Any) -> np.ndarray:
    """A NumPy array of ``a`` (a torch tensor on any device, or already an array)."""
    if isinstance(a, np.ndarray):
        return a
    return a.detach().to("cpu").numpy()


@case(
    "feature_matrix_dtype",
    "playbook",
    params={"dtype": ["float32", "float16"], "rows": [1_000_000], "cols": [16]},
    quick_params={"dtype": ["float32", "float16"], "rows": [20_000], "cols": [8]},
    devices=("cpu", "cuda"),
    baseline_label="float64",
    candidate_label="smaller float",
)
class FeatureMatrixDtype:
    """Standardizing a large feature matrix in float64 vs float32/float16: memory and the error.

    On CUDA the same code runs on torch tensors (``torch.sub``/``torch.div`` with ``out=``).
    """

    def make_inputs(self, p: dict[str, Any]) -> dict[str, Any]:
        rng = np.random.default_rng(2)
        rows, cols = int(p["rows"]), int(p["cols"])
        raw = rng.normal(loc=50.0, scale=12.0, size=(rows, cols))
        x = {"raw": raw, "mu": raw.mean(axis=0), "sigma": raw.std(axis=0)}
        if p.get("device", "cpu") == "cuda":
            import torch

            x = {k: torch.from_numpy(v).to("cuda") for k, v in x.items()}
            x["dtype"] = getattr(torch, p["dtype"])
            x["lib"] = torch
        else:
            x["dtype"] = np.dtype(p["dtype"])
            x["lib"] = np
        return x

    def baseline(self, x: dict[str, Any]) -> Any:
        out = x["raw"] - x["mu"]
        out /= x["sigma"]
        return out

    def candidate(self, x: dict[str, Any]) -> Any:
        # Compute in float64 (the loop follows the inputs) and round once into the smaller
        # output buffer: casting the inputs first would add a second, larger rounding error.
        lib = x["lib"]
        if lib is np:
            out = np.empty(x["raw"].shape, dtype=x["dtype"])
            np.subtract(x["raw"], x["mu"], out=out, casting="same_kind")
            np.divide(out, x["sigma"], out=out, casting="same_kind")
        else:
            out = lib.empty(x["raw"].shape, dtype=x["dtype"], device=x["raw"].device)
            lib.sub(x["raw"], x["mu"], out=out)
            lib.div(out, x["sigma"], out=out)
        return out

    def check(self, b: Any, c: Any) -> Verdict:
        b, c = _to_numpy(b), _to_numpy(c)
        # Two roundings (after the subtraction and after the division) of at most eps/2 each.
        rtol = float(2 * np.finfo(c.dtype).eps)
        diff = np.abs(b - c.astype(np.float64))
        max_abs = float(diff.max())
        # Standardized features are O(1), so error relative to max(|x|, 1) is the meaningful one.
        max_rel = float((diff / np.maximum(np.abs(b), 1.0)).max())
        w = np.random.default_rng(3).standard_normal(b.shape[1])
        yb = b @ w
        yc = c.astype(np.float64) @ w
        downstream = float(np.max(np.abs(yb - yc)) / max(float(np.max(np.abs(yb))), 1e-300))
        ok = max_rel <= rtol and downstream <= 10 * rtol
        return Verdict(
            ok,
            f"{c.dtype.name}: max rel err {max_rel:.3g} (limit {rtol:g}), "
            f"matrix-product rel err {downstream:.3g}",
            max_abs_error=max_abs,
            max_rel_error=max_rel,
            figures={
                "storage_ratio": b.nbytes / c.nbytes,
                "bytes_saved": float(b.nbytes - c.nbytes),
                "downstream_rel_error": downstream,
            },
        )


# --- del a large temporary vs keeping it ---------------------------------------------------------


@case(
    "release_temporaries",
    "playbook",
    params={"n": [5_000_000]},
    quick_params={"n": [100_000]},
    baseline_label="keep temporaries",
    candidate_label="del temporaries",
)
class ReleaseTemporaries:
    """A four-step array pipeline: keeping every intermediate alive vs ``del`` once it is used."""

    def make_inputs(self, p: dict[str, Any]) -> int:
        return int(p["n"])

    def baseline(self, n: int) -> float:
        prices = np.linspace(100.0, 200.0, n)
        returns = np.diff(prices) / prices[:-1]
        scaled = returns * 252.0
        squared = scaled * scaled
        return float(squared.sum())

    def candidate(self, n: int) -> float:
        prices = np.linspace(100.0, 200.0, n)
        returns = np.diff(prices)
        returns /= prices[:-1]
        del prices
        scaled = returns * 252.0
        del returns
        squared = scaled * scaled
        del scaled
        return float(squared.sum())

    def check(self, b: float, c: float) -> Verdict:
        rel = abs(b - c) / max(abs(b), 1e-300)
        return Verdict(rel <= 1e-12, f"sum {c!r} vs {b!r}", max_rel_error=rel)
