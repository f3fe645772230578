"""Source lines and "is this the user's own code?" for files seen while profiling."""

from __future__ import annotations

import linecache
import os
import sys
from functools import lru_cache

#: Sources of code that has no file (``-c`` code); kept apart from linecache so that
#: tracebacks look exactly as under plain python.
_EXTRA_SOURCES: dict[str, list[str]] = {}

_PERFKIT_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
#: Frames from these folders are perfkit's own machinery and are cut from stacks and tracebacks.
INTERNAL_DIRS = (
    os.path.join(_PERFKIT_DIR, "profiling") + os.sep,
    os.path.join(_PERFKIT_DIR, "cli") + os.sep,
)


def register_source(filename: str, text: str) -> None:
    """Remember the source of code compiled from a string (``-c``) under ``filename``."""
    _EXTRA_SOURCES[filename] = text.splitlines()


def source_line(filename: str, lineno: int) -> str:
    """The stripped source of ``filename:lineno``, or ``""`` when it cannot be read."""
    extra = _EXTRA_SOURCES.get(filename)
    if extra is not None:
        return extra[lineno - 1].strip() if 0 < lineno <= len(extra) else ""
    return linecache.getline(filename, lineno).strip()


def source_lines(filename: str) -> list[str]:
    """All source lines of ``filename`` (without line ends); empty when unreadable."""
    extra = _EXTRA_SOURCES.get(filename)
    if extra is not None:
        return list(extra)
    return [ln.rstrip("\n") for ln in linecache.getlines(filename)]


#: The launcher that started this process (``python -m perfkit``'s __main__ or the console
#: script), captured before the profiled program replaces ``sys.argv``.
_LAUNCHERS = {
    os.path.join(_PERFKIT_DIR, "__main__.py"),
    os.path.join(_PERFKIT_DIR, "magics.py"),
    os.path.join(_PERFKIT_DIR, "pytest_plugin.py"),
    os.path.abspath(sys.argv[0])
    if sys.argv and os.path.basename(sys.argv[0]) in ("perfkit", "perfkit.exe")
    else "",
} - {""}


def is_internal(filename: str) -> bool:
    """True for perfkit's runner/engine frames, its launcher and runpy: no report shows them."""
    return (
        filename.startswith(INTERNAL_DIRS)
        or filename in _LAUNCHERS
        or filename == "<frozen runpy>"
        or filename.endswith(os.sep + "runpy.py")
    )


@lru_cache(maxsize=1)
def _library_prefixes() -> tuple[str, ...]:
    import sysconfig

    paths = sysconfig.get_paths()
    prefixes = {paths.get(k, "") for k in ("stdlib", "platstdlib", "purelib", "platlib")}
    prefixes.update(p for p in sys.path if "site-packages" in p or "dist-packages" in p)
    prefixes.add(_PERFKIT_DIR)
    return tuple(os.path.join(os.path.realpath(p), "") for p in prefixes if p)


@lru_cache(maxsize=4096)
def is_user_code(filename: str) -> bool:
    """True for the profiled program's own code: not stdlib, site-packages, builtins or perfkit."""
    if filename == "<string>" or filename in _EXTRA_SOURCES:
        return True
    if not filename or filename.startswith("<"):
        return False
    real = os.path.realpath(filename)
    return not real.startswith(_library_prefixes())
