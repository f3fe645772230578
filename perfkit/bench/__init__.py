"""Benchmark spine: the Case registry, the fair timer, results files, and running cases."""

from __future__ import annotations

from perfkit.bench.case import Case, SkipCase, Verdict, case, case_id
from perfkit.bench.registry import all_cases, get, register, select

__all__ = [
    "Case",
    "SkipCase",
    "Verdict",
    "case",
    "case_id",
    "register",
    "all_cases",
    "get",
    "select",
]
