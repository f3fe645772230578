"""Small formatting helpers shared by the profile renderers."""

from __future__ import annotations

import os


def seconds(s: float | None) -> str:
    """A duration in the unit that reads best (s, ms, µs)."""
    if s is None:
        return "—"
    if s >= 1:
        return f"{s:.2f} s"
    if s >= 1e-3:
        return f"{s * 1e3:.1f} ms"
    if s > 0:
        return f"{s * 1e6:.0f} µs"
    return "0 s"


def size(n: float | None) -> str:
    """A byte count in B, KiB, MiB or GiB."""
    if n is None:
        return "—"
    sign = "-" if n < 0 else ""
    n = abs(n)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{sign}{n:.0f} {unit}" if unit == "B" else f"{sign}{n:.1f} {unit}"
        n /= 1024
    return f"{sign}{n:.1f} GiB"


def pct(part: float, whole: float) -> str:
    """``part`` as a percentage of ``whole``."""
    return f"{100.0 * part / whole:.1f}%" if whole > 0 else "—"


def where(file: str, line: int, cwd: str = "") -> str:
    """``file:line`` with the file shortened relative to ``cwd`` (or to its base name)."""
    if not file:
        return ""
    if file.startswith("<"):
        return f"{file}:{line}"
    short = file
    if cwd:
        try:
            rel = os.path.relpath(file, cwd)
            short = rel if not rel.startswith("..") else file
        except ValueError:
            short = file
    if "site-packages" in short:
        short = short.split("site-packages" + os.sep, 1)[1]
    elif short.startswith(os.sep) and short.count(os.sep) > 3:
        short = os.path.join("…", *short.split(os.sep)[-2:])
    return f"{short}:{line}" if line else short


def ended(profile_ended_by: str, exit_status: int, exception: str | None) -> str:
    """How the program ended, in words."""
    if profile_ended_by == "exception":
        return f"exception: {exception}"
    if profile_ended_by == "interrupt":
        return "interrupted (Ctrl-C): partial profile"
    return f"exit status {exit_status}"
