"""The one registry of Cases, filled by importing the modules that define them.

Case modules are named here as strings and imported on first use, so ``import perfkit`` and
``perfkit --help`` stay light. A module whose optional dependency is missing is recorded as
unavailable with the reason, and its cases are simply absent from the run.
"""

from __future__ import annotations

import fnmatch
import importlib
import os
import re
from collections.abc import Iterable

from perfkit.bench.case import Case
from perfkit.errors import MissingDependencyError, UsageError

#: Modules that define cases, next to the code they exercise, with the groups their cases use:
#: ``--group memory`` imports only the modules declaring it (the compression modules pull in
#: torch and transformers, seconds of start-up). A test checks each module's cases against it.
CASE_GROUPS: dict[str, tuple[str, ...]] = {
    "perfkit.bench.playbook": ("playbook",),
    "perfkit.memory.cases": ("memory",),
    "perfkit.indicators.cases": ("indicators",),
    "perfkit.compress.cases": ("compression",),
    "perfkit.compress.qat_cases": ("compression",),
    "perfkit.profiling.cases": ("profiling",),
}
CASE_MODULES: tuple[str, ...] = tuple(CASE_GROUPS)

_CASES: dict[str, Case] = {}
_UNAVAILABLE: dict[str, str] = {}
_loaded = False
_IMPORTED: set[str] = set()


def register(case: Case) -> Case:
    """Add ``case`` to the registry; a second case with the same name is an error."""
    existing = _CASES.get(case.name)
    if existing is not None and existing.module != case.module:
        raise ValueError(
            f"case {case.name!r} is registered twice ({existing.module} and {case.module})"
        )
    _CASES[case.name] = case
    return case


def builtin_case_modules() -> list[str]:
    """perfkit's own case modules: all of ``CASE_MODULES``, or only those named in
    ``PERFKIT_CASE_MODULES=mod,...`` (a quicker start when only some cases are wanted, e.g. the
    regression gate's workers: importing every module pulls in torch and transformers)."""
    only = [m.strip() for m in os.environ.get("PERFKIT_CASE_MODULES", "").split(",") if m.strip()]
    return [m for m in CASE_MODULES if m in only] if only else list(CASE_MODULES)


def extra_case_modules() -> list[str]:
    """Modules with the user's own cases: ``PERFKIT_CASES=pkg.mod,...`` and the entry-point group
    ``perfkit.cases`` (a package declares ``[project.entry-points."perfkit.cases"]``)."""
    mods = [m.strip() for m in os.environ.get("PERFKIT_CASES", "").split(",") if m.strip()]
    from importlib.metadata import entry_points

    mods.extend(ep.value.split(":")[0] for ep in entry_points(group="perfkit.cases"))
    return mods


def load_all(modules: Iterable[str] | None = None) -> None:
    """Import every case module (or only ``modules``) once; remember which could not load and
    why. Only a call without ``modules`` marks the registry complete."""
    global _loaded
    if _loaded:
        return
    complete = modules is None
    if modules is None:
        modules = [*builtin_case_modules(), *extra_case_modules()]
    for mod in modules:
        if mod in _IMPORTED:
            continue
        _IMPORTED.add(mod)
        try:
            importlib.import_module(mod)
        except MissingDependencyError as exc:
            _UNAVAILABLE[mod] = str(exc)
        except ModuleNotFoundError as exc:
            # The case module itself not existing yet is fine; a missing third-party import is
            # reported the same way as a missing optional dependency.
            if exc.name == mod and mod in CASE_MODULES:
                continue
            _UNAVAILABLE[mod] = (
                f"case module {mod} not found"
                if exc.name == mod
                else f"{exc.name} is not installed"
            )
        except Exception as exc:  # a broken case module must not take the other cases down
            _UNAVAILABLE[mod] = f"failed to import: {type(exc).__name__}: {exc}"
    _loaded = complete


def load_group(group: str) -> None:
    """Import only the case modules that can hold ``group``: perfkit's own modules declaring it
    in :data:`CASE_GROUPS`, and every user case module (their groups are not declared)."""
    mods = [m for m in builtin_case_modules() if group in CASE_GROUPS.get(m, ())]
    load_all([*mods, *extra_case_modules()])


def all_cases() -> list[Case]:
    """Every registered case, sorted by group then name."""
    load_all()
    return sorted(_CASES.values(), key=lambda c: (c.group, c.name))


def registered() -> list[Case]:
    """The cases registered so far (no module is imported), sorted by group then name."""
    return sorted(_CASES.values(), key=lambda c: (c.group, c.name))


def unavailable() -> dict[str, str]:
    """Case modules that could not be loaded so far, with the reason (a missing optional
    dependency); it imports nothing, so ask after :func:`select` or :func:`load_all`."""
    return dict(_UNAVAILABLE)


def get(name: str) -> Case:
    """The case called ``name``; unknown names raise a UsageError listing close matches."""
    if name in _CASES:
        return _CASES[name]
    load_all()
    try:
        return _CASES[name]
    except KeyError:
        import difflib

        close = difflib.get_close_matches(name, list(_CASES), n=3)
        hint = f"did you mean {', '.join(close)}?" if close else "run 'perfkit bench --list'"
        raise UsageError(f"no case named {name!r}", hint) from None


def select(pattern: str | None = None, group: str | None = None) -> list[Case]:
    """Cases whose name or group matches ``pattern``.

    ``pattern`` is a glob (``fib*``) or, failing that, a case-insensitive substring or regex,
    like pytest's ``-k`` on names. ``None`` selects all.
    """
    if group is not None and not pattern:
        load_group(group)
        cases = registered()
    else:
        cases = all_cases()
    if group is not None:
        cases = [c for c in cases if c.group == group]
    if not pattern:
        return cases
    try:
        rx = re.compile(pattern, re.IGNORECASE)
    except re.error:
        rx = re.compile(re.escape(pattern), re.IGNORECASE)
    return [
        c
        for c in cases
        if fnmatch.fnmatch(c.name, pattern) or rx.search(c.name) or rx.search(c.group)
    ]
