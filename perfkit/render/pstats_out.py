"""``profile.pstats``: the function table in :mod:`pstats`' marshal format (opens in snakeviz).

Exact under ``--cpu tracing`` (cProfile's counts and caller edges); for sampling engines the
table is the sampled one, with each function's sample count standing in for its call count.
"""

from __future__ import annotations

import marshal
from typing import TYPE_CHECKING, ClassVar

if TYPE_CHECKING:
    from perfkit.profiling.model import Profile


class PstatsRenderer:
    """The marshalled stats dict that ``pstats.Stats(path)`` loads."""

    name: ClassVar[str] = "pstats"
    file_name: ClassVar[str] = "profile.pstats"

    def render(self, profile: Profile) -> bytes:
        """The pstats bytes."""
        return marshal.dumps(to_stats(profile))


def to_stats(profile: Profile) -> dict:
    """``{(file, line, name): (cc, nc, tt, ct, {caller: (cc, nc, tt, ct)})}``."""
    stats: dict = {}
    for f in profile.functions:
        calls = f.calls if f.calls is not None else max(f.samples, 1)
        prim = f.primitive_calls if f.primitive_calls is not None else calls
        callers = {
            (c.file, c.line, c.function): (c.primitive_calls, c.calls, c.self_s, c.total_s)
            for c in f.callers
        }
        stats[(f.file, f.line, f.function)] = (prim, calls, f.self_s, f.total_s, callers)
    return stats
