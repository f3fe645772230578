"""Resolve ``module:function`` names to code objects or functions, before the program runs.

Functions of the profiled program itself (``__main__``, the script's stem, or the ``-m`` module)
do not exist before it runs, so they are found as code objects inside its compiled module code;
functions of other modules are looked up after importing the module (with the program's
``sys.path[0]`` in place).
"""

from __future__ import annotations

import difflib
import importlib
import inspect
import sys
import types
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from perfkit.errors import UsageError


@dataclass(frozen=True)
class Target:
    """One function to instrument: in the main code (``code``) or an imported ``func``."""

    spec: str
    module: str
    qualname: str
    code: types.CodeType | None = None
    func: Callable[..., Any] | None = None


def iter_codes(code: types.CodeType) -> Iterator[types.CodeType]:
    """``code`` and every code object nested in it (functions, methods, class bodies)."""
    yield code
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            yield from iter_codes(const)


def main_aliases(program: Any) -> set[str]:
    """The names a user may use for the program's own module in ``module:func``."""
    names = {"__main__", ""}
    if program is not None:
        names.add(program.stem)
        if program.kind == "module":
            names.add(program.target)
    return names


def _function_names(code: types.CodeType) -> list[str]:
    return sorted(
        {
            c.co_qualname
            for c in iter_codes(code)
            if c is not code and not c.co_qualname.endswith(("<lambda>", "<genexpr>", "<listcomp>"))
        }
    )


def resolve(specs: list[str], program: Any, what: str) -> list[Target]:
    """Resolve ``module:qualname`` specs; unknown names raise UsageError with close matches."""
    targets = []
    aliases = main_aliases(program)
    for spec in specs:
        spec = spec.strip()
        if not spec:
            continue
        module, sep, qual = spec.rpartition(":")
        if not sep:
            module, qual = "__main__", spec
        if module in aliases and program is not None:
            found = [c for c in iter_codes(program.code) if c.co_qualname == qual]
            if not found:
                names = _function_names(program.code)
                _unknown(spec, qual, names, what, f"{program.display_name}")
            targets.append(Target(spec, "__main__", qual, code=found[0]))
            continue
        if module in aliases:
            raise UsageError(f"{what} {spec!r}: name the module as module:function", "")
        targets.append(_resolve_import(spec, module, qual, program, what))
    return targets


def _resolve_import(spec: str, module: str, qual: str, program: Any, what: str) -> Target:
    saved = sys.path[0] if sys.path else None
    if program is not None and sys.path:
        sys.path[0] = program.path0
    try:
        mod = importlib.import_module(module)
    except ImportError as exc:
        raise UsageError(
            f"{what} {spec!r}: cannot import module {module!r} ({exc})",
            "name a module the program imports, or use __main__:function for the script",
        ) from None
    finally:
        if saved is not None and sys.path:
            sys.path[0] = saved
    obj: Any = mod
    for part in qual.split("."):
        obj = getattr(obj, part, None)
        if obj is None:
            break
    func = inspect.unwrap(obj) if callable(obj) else None
    func = getattr(func, "__func__", func)
    if func is None or not hasattr(func, "__code__"):
        names = sorted(
            n for n, v in vars(mod).items() if inspect.isfunction(v) or inspect.isclass(v)
        )
        for n, v in vars(mod).items():
            if inspect.isclass(v) and getattr(v, "__module__", "") == mod.__name__:
                names += [f"{n}.{m}" for m, f in vars(v).items() if inspect.isfunction(f)]
        _unknown(spec, qual, names, what, module)
    return Target(spec, module, qual, func=func)


def _unknown(spec: str, qual: str, names: list[str], what: str, where: str) -> None:
    close = difflib.get_close_matches(qual, names, n=5, cutoff=0.5)
    if close:
        hint = "did you mean: " + ", ".join(close)
    elif names:
        hint = "functions there: " + ", ".join(names[:10])
    else:
        hint = "that module defines no functions"
    raise UsageError(f"{what}: no function {qual!r} in {where} (from {spec!r})", hint)


def rebuild(
    code: types.CodeType, transform: Callable[[types.CodeType], types.CodeType | None]
) -> types.CodeType:
    """Copy ``code`` with every nested code object passed through ``transform`` (post-order).

    ``transform`` returns a replacement or ``None`` to keep the (rebuilt) code object.
    """
    consts = tuple(
        rebuild(c, transform) if isinstance(c, types.CodeType) else c for c in code.co_consts
    )
    if any(a is not b for a, b in zip(consts, code.co_consts, strict=True)):
        code = code.replace(co_consts=consts)
    new = transform(code)
    return code if new is None else new
