"""The report of :func:`perfkit.downcast` / :func:`perfkit.plan_downcast`: one row per column.

:class:`ColumnReport` says what happened to one column and why; :class:`DowncastReport` holds
them with the totals, renders the table the CLI prints and round-trips through JSON. This module
imports nothing else of :mod:`perfkit.memory` (the planning and conversion modules import it).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from perfkit.errors import CheckFailedError

__all__ = ["ColumnReport", "DowncastReport", "LossyDowncastError"]


class LossyDowncastError(CheckFailedError, ValueError):
    """``strict=True`` and a column cannot be shrunk without losing a value (exit 1)."""


@dataclass(frozen=True)
class ColumnReport:
    """What ``downcast`` did to one column, and why.

    Attributes
    ----------
    name
        Column name (``"array"`` for a whole array, ``"[:, j]"`` per column with ``axis=0``).
    old_dtype, new_dtype
        Dtype names before and after (equal when the column was left alone).
    bytes_before, bytes_after
        Memory of the column's values (pandas nullable ints count their mask).
    max_abs_error, max_rel_error
        The largest ``|new - old|`` and ``|new - old| / |old|`` over every finite value,
        measured on all values (0.0 when nothing changed or the cast is exact).
    reason
        Why this dtype: the check that passed, or why the column was left alone.
    """

    name: str
    old_dtype: str
    new_dtype: str
    bytes_before: int
    bytes_after: int
    max_abs_error: float = 0.0
    max_rel_error: float = 0.0
    reason: str = ""

    @property
    def changed(self) -> bool:
        return self.old_dtype != self.new_dtype

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "old_dtype": self.old_dtype,
            "new_dtype": self.new_dtype,
            "bytes_before": self.bytes_before,
            "bytes_after": self.bytes_after,
            "max_abs_error": self.max_abs_error,
            "max_rel_error": self.max_rel_error,
            "changed": self.changed,
            "reason": self.reason,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ColumnReport:
        """Inverse of :meth:`to_dict` (``changed`` is derived, so it is ignored)."""
        return cls(
            name=str(data["name"]),
            old_dtype=str(data["old_dtype"]),
            new_dtype=str(data["new_dtype"]),
            bytes_before=int(data["bytes_before"]),
            bytes_after=int(data["bytes_after"]),
            max_abs_error=float(data.get("max_abs_error", 0.0)),
            max_rel_error=float(data.get("max_rel_error", 0.0)),
            reason=str(data.get("reason", "")),
        )


@dataclass(frozen=True)
class DowncastReport:
    """Per-column outcome of :func:`downcast` / :func:`plan_downcast` with totals.

    ``converted`` is False for a plan (nothing was converted yet).
    """

    columns: tuple[ColumnReport, ...]
    rtol: float
    atol: float
    converted: bool = True
    notes: tuple[str, ...] = field(default_factory=tuple)

    def _repr_html_(self) -> str:
        """The notebook view: the report as HTML (see :mod:`perfkit.display`)."""
        from perfkit.display import repr_html

        return repr_html(self)

    def __repr__(self) -> str:
        from perfkit.display import short_repr

        return short_repr(self)

    @property
    def bytes_before(self) -> int:
        return sum(c.bytes_before for c in self.columns)

    @property
    def bytes_after(self) -> int:
        return sum(c.bytes_after for c in self.columns)

    @property
    def bytes_saved(self) -> int:
        return self.bytes_before - self.bytes_after

    @property
    def max_abs_error(self) -> float:
        return max((c.max_abs_error for c in self.columns), default=0.0)

    @property
    def max_rel_error(self) -> float:
        return max((c.max_rel_error for c in self.columns), default=0.0)

    @property
    def changed(self) -> tuple[ColumnReport, ...]:
        return tuple(c for c in self.columns if c.changed)

    @property
    def kept(self) -> tuple[ColumnReport, ...]:
        return tuple(c for c in self.columns if not c.changed)

    def __getitem__(self, name: str) -> ColumnReport:
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(name)

    def __len__(self) -> int:
        return len(self.columns)

    def to_dict(self) -> dict[str, Any]:
        return {
            "rtol": self.rtol,
            "atol": self.atol,
            "converted": self.converted,
            "bytes_before": self.bytes_before,
            "bytes_after": self.bytes_after,
            "bytes_saved": self.bytes_saved,
            "max_abs_error": self.max_abs_error,
            "max_rel_error": self.max_rel_error,
            "notes": list(self.notes),
            "columns": [c.to_dict() for c in self.columns],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> DowncastReport:
        """Inverse of :meth:`to_dict` (totals are derived from the columns)."""
        return cls(
            columns=tuple(ColumnReport.from_dict(c) for c in data.get("columns", [])),
            rtol=float(data["rtol"]),
            atol=float(data["atol"]),
            converted=bool(data.get("converted", True)),
            notes=tuple(data.get("notes", ())),
        )

    def render(self) -> str:
        """A plain-text table, one row per column, and a total line (``render/reports.py``)."""
        from perfkit.render.base import render

        text = render(self, "terminal")
        return text if isinstance(text, str) else text.decode("utf-8")

    def __str__(self) -> str:
        return self.render()
