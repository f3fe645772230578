"""The one formatting module of every renderer: durations, byte counts, ratios, percentages.

Two duration styles on purpose: :func:`seconds` keeps a fixed number of decimals so profile
columns line up; :func:`duration` keeps three significant figures down to nanoseconds, for
benchmark medians that span nine decades. Every function takes ``None`` (and, where numbers come
from files, NaN or infinity) and answers ``"—"`` instead of raising.
"""

from __future__ import annotations

import math
import os

#: Shown for a missing or non-finite figure.
MISSING = "—"


def _finite(x: float | None) -> bool:
    return x is not None and isinstance(x, (int, float)) and math.isfinite(x)


def seconds(s: float | None) -> str:
    """A duration in the unit that reads best (s, ms, µs)."""
    if not _finite(s):
        return MISSING
    assert s is not None
    if s >= 1:
        return f"{s:.2f} s"
    if s >= 1e-3:
        return f"{s * 1e3:.1f} ms"
    if s > 0:
        return f"{s * 1e6:.0f} µs"
    return "0 s"


def size(n: float | None) -> str:
    """A byte count in B, KiB, MiB or GiB."""
    if not _finite(n):
        return MISSING
    assert n is not None
    sign = "-" if n < 0 else ""
    n = abs(n)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{sign}{n:.0f} {unit}" if unit == "B" else f"{sign}{n:.1f} {unit}"
        n /= 1024
    return f"{sign}{n:.1f} GiB"


def pct(part: float, whole: float) -> str:
    """``part`` as a percentage of ``whole``."""
    return f"{100.0 * part / whole:.1f}%" if _finite(whole) and whole > 0 else MISSING


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


def duration(s: float | None) -> str:
    """A duration with three significant figures in s, ms, µs or ns.

    Parameters
    ----------
    s
        Seconds; ``None``, NaN and infinities give ``"—"``.

    Examples
    --------
    >>> duration(0.0123), duration(8.5e-8)
    ('12.3 ms', '85 ns')
    """
    if not _finite(s):
        return MISSING
    assert s is not None
    sign, s = ("-", -s) if s < 0 else ("", s)
    if s == 0:
        return "0 s"
    for unit, scale in (("s", 1.0), ("ms", 1e-3), ("µs", 1e-6)):
        if s >= scale:
            return f"{sign}{s / scale:.3g} {unit}"
    return f"{sign}{s / 1e-9:.3g} ns"


def ratio(r: float | None) -> str:
    """A ratio such as a speed-up, readable at any size: ``0.0012×``, ``0.15×``, ``16,301×``.

    Two decimals between 0.1 and 100, two significant figures below (so a slowdown never reads
    ``0.00×``), whole numbers with thousands separators above.
    """
    if not _finite(r):
        return MISSING
    assert r is not None
    if r == 0:
        return "0×"
    if abs(r) >= 100:
        return f"{r:,.0f}×"
    if abs(r) >= 0.1:
        return f"{r:.2f}×"
    return f"{float(f'{r:.2g}'):g}×" if abs(r) >= 1e-4 else f"{r:.1e}×"


def ratio_words(r: float | None, more: str = "faster", less: str = "slower") -> str:
    """What a ratio means in words: ``2.5× faster``, ``6.7× slower``, ``no change``.

    A ratio below 1 is inverted (0.15 → "6.7× slower"), so a slowdown is never read as a gain.
    Within ±1 % of 1 it is ``no change``.
    """
    if not _finite(r) or r is None or r <= 0:
        return MISSING
    if abs(r - 1.0) < 0.01:
        return "no change"
    return f"{ratio(r)} {more}" if r > 1 else f"{ratio(1.0 / r)} {less}"


def number(x: float | None) -> str:
    """A figure with four significant figures, thousands separators for whole numbers."""
    if not _finite(x):
        return MISSING
    assert x is not None
    if float(x).is_integer() and abs(x) < 1e15:
        return f"{int(x):,}"
    return f"{x:.4g}"
