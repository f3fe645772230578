"""The Case: a baseline and a candidate run on the same inputs, with a check that they agree.

Every optimization perfkit offers is one Case. ``perfkit bench``, the asv suite and the
pytest-benchmark suite are all generated from the registry of Cases, so there is one copy of each.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

DEVICES = ("cpu", "cuda")


class SkipCase(Exception):  # noqa: N818 - named like pytest's skip: it is not an error
    """Raised by a case's ``make_inputs`` when this machine cannot run it (a missing optional
    wheel such as ``onnxruntime-gpu``, a missing device): the point is reported as skipped
    with the reason, never as an error or a failed check."""


@dataclass(frozen=True)
class Verdict:
    """What a case's ``check`` measured: did the candidate keep the baseline's answer?

    Parameters
    ----------
    ok
        True when the candidate's output is within the case's tolerance of the baseline's.
    detail
        One line saying what was compared and what was found.
    max_abs_error, max_rel_error, agreement
        The figures the check measured (``None`` when not applicable).
    figures
        Extra named figures worth keeping (``size_bytes``, ``cosine``, ``values_lost``...);
        units live in the key names.
    """

    ok: bool
    detail: str = ""
    max_abs_error: float | None = None
    max_rel_error: float | None = None
    agreement: float | None = None
    figures: Mapping[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": bool(self.ok),
            "detail": self.detail,
            "max_abs_error": _num(self.max_abs_error),
            "max_rel_error": _num(self.max_rel_error),
            "agreement": _num(self.agreement),
            "figures": {str(k): _num(v) for k, v in self.figures.items()},
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Verdict:
        return cls(
            ok=bool(data.get("ok", False)),
            detail=str(data.get("detail", "")),
            max_abs_error=data.get("max_abs_error"),
            max_rel_error=data.get("max_rel_error"),
            agreement=data.get("agreement"),
            figures=dict(data.get("figures") or {}),
        )


def _num(value: Any) -> float | None:
    """A JSON-safe float: None stays None, NaN/inf become None (JSON has neither)."""
    if value is None:
        return None
    out = float(value)
    if out != out or out in (float("inf"), float("-inf")):
        return None
    return out


@dataclass(frozen=True)
class Case:
    """One measured, verified pair: ``baseline`` and ``candidate`` on ``make_inputs(params)``.

    ``params`` is a grid (name -> list of values); every combination is one benchmark.
    ``make_inputs`` receives the combination as a dict plus a ``"device"`` key.
    ``check(baseline_out, candidate_out)`` returns a :class:`Verdict`; a case whose check fails
    is a failed case, whatever its speed.
    """

    name: str
    group: str
    make_inputs: Callable[[dict[str, Any]], Any]
    baseline: Callable[[Any], Any]
    candidate: Callable[[Any], Any]
    check: Callable[[Any, Any], Verdict]
    params: Mapping[str, Sequence[Any]] = field(default_factory=dict)
    quick_params: Mapping[str, Sequence[Any]] | None = None
    devices: tuple[str, ...] = ("cpu",)
    description: str = ""
    baseline_label: str = "baseline"
    candidate_label: str = "candidate"
    repeat: int | None = None
    module: str = ""

    def __post_init__(self) -> None:
        if not self.name or any(c in self.name for c in "[]= ,"):
            raise ValueError(f"case name {self.name!r} must be non-empty without '[]=, '")
        unknown = set(self.devices) - set(DEVICES)
        if unknown:
            raise ValueError(f"case {self.name}: unknown devices {sorted(unknown)}; use {DEVICES}")

    def grid(self, quick: bool = False) -> Iterator[dict[str, Any]]:
        """Every combination of the params grid, in declaration order.

        ``quick=True`` walks ``quick_params`` instead (small sizes for smoke tests and CI) when
        the case defines it.
        """
        grid = self.quick_params if quick and self.quick_params is not None else self.params
        keys = list(grid)
        for values in itertools.product(*(grid[k] for k in keys)):
            yield dict(zip(keys, values, strict=True))

    def ids(self, quick: bool = False) -> list[str]:
        """Stable ids ``name[k=v,...]`` of every grid point: asv/pytest names."""
        return [case_id(self.name, p) for p in self.grid(quick)]


def case_id(name: str, params: Mapping[str, Any]) -> str:
    """The stable id of one grid point: ``name`` or ``name[k=v,k2=v2]``."""
    if not params:
        return name
    return f"{name}[{','.join(f'{k}={v}' for k, v in params.items())}]"


def case(
    name: str,
    group: str,
    *,
    params: Mapping[str, Sequence[Any]] | None = None,
    quick_params: Mapping[str, Sequence[Any]] | None = None,
    devices: Sequence[str] = ("cpu",),
    baseline_label: str = "baseline",
    candidate_label: str = "candidate",
    repeat: int | None = None,
) -> Callable[[type], type]:
    """Class decorator that registers a Case next to the code it exercises.

    The class provides ``make_inputs(self, params)``, ``baseline(self, inputs)``,
    ``candidate(self, inputs)`` and ``check(self, base_out, cand_out) -> Verdict``; one instance
    is made, so a case may keep expensive state (a trained model) on ``self``.

    Examples
    --------
    >>> @case("sum_loop_vs_builtin", "playbook", params={"n": [1000]})
    ... class SumCase:
    ...     def make_inputs(self, p): return list(range(p["n"]))
    ...     def baseline(self, xs):
    ...         total = 0
    ...         for x in xs: total += x
    ...         return total
    ...     def candidate(self, xs): return sum(xs)
    ...     def check(self, b, c): return Verdict(b == c, f"{b} == {c}")
    """
    from perfkit.bench.registry import register

    def decorate(cls: type) -> type:
        obj = cls()
        register(
            Case(
                name=name,
                group=group,
                make_inputs=obj.make_inputs,
                baseline=obj.baseline,
                candidate=obj.candidate,
                check=obj.check,
                params=dict(params or {}),
                quick_params=dict(quick_params) if quick_params is not None else None,
                devices=tuple(devices),
                description=(cls.__doc__ or "").strip().split("\n")[0],
                baseline_label=baseline_label,
                candidate_label=candidate_label,
                repeat=repeat,
                module=cls.__module__,
            )
        )
        return cls

    return decorate
