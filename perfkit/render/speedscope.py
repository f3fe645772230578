"""speedscope's file format (https://www.speedscope.app/file-format-schema.json).

One ``evented`` profile per thread: each call-tree node opens, its children follow one after
the other in the order they were first seen (so speedscope's time-order view shows siblings in
time order), then the node's own time, then it closes. The file is O(nodes) whatever the depth
(a sampled profile would repeat the whole root-to-leaf path per node: quadratic for a
10 000-frame recursion), and it is built with an explicit stack. A program that ended before the
first sample still gets one profile (speedscope hangs on ``profiles: []``): a single
``(no samples)`` frame spanning the run.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

if TYPE_CHECKING:
    from perfkit.profiling.model import FrameNode, Profile

SCHEMA_URL = "https://www.speedscope.app/file-format-schema.json"
#: The frame that stands for a run too short to sample.
NO_SAMPLES = "(no samples)"


class SpeedscopeRenderer:
    """Call trees as speedscope evented profiles (open the file at speedscope.app)."""

    name: ClassVar[str] = "speedscope"
    file_name: ClassVar[str] = "speedscope.json"

    def render(self, profile: Profile) -> str:
        """The speedscope JSON text (strict: never a bare NaN)."""
        from perfkit._atomic import dumps_strict

        return dumps_strict(to_speedscope(profile))


def to_speedscope(profile: Profile) -> dict[str, Any]:
    """The speedscope document as a dict."""
    from perfkit import __version__

    frames: list[dict[str, Any]] = []
    index: dict[tuple[str, str, int], int] = {}

    def frame_id(function: str, file: str, line: int) -> int:
        key = (function, file, line)
        i = index.get(key)
        if i is None:
            i = index[key] = len(frames)
            entry: dict[str, Any] = {"name": function or "?"}
            if file:
                entry["file"] = file
            if line:
                entry["line"] = line
            frames.append(entry)
        return i

    profiles = []
    # the main process's threads, then those of the child processes it started (if followed)
    threads = [(thread.name, thread) for thread in profile.threads] + [
        (f"{p.role} {p.pid} — {t.name}", t) for p in profile.processes for t in p.threads
    ]
    for label, thread in threads:
        events = _events(thread.root.children, frame_id)
        if not events:
            continue
        profiles.append(
            {
                "type": "evented",
                "name": f"{profile.program} — {label}",
                "unit": "seconds",
                "startValue": 0,
                "endValue": events[-1]["at"],
                "events": events,
            }
        )
    if not profiles:
        span = _finite(profile.wall_s) or 1e-9
        fid = frame_id(NO_SAMPLES, "", 0)
        profiles.append(
            {
                "type": "evented",
                "name": f"{profile.program} — ended before the first sample",
                "unit": "seconds",
                "startValue": 0,
                "endValue": span,
                "events": [
                    {"type": "O", "at": 0, "frame": fid},
                    {"type": "C", "at": span, "frame": fid},
                ],
            }
        )
    return {
        "$schema": SCHEMA_URL,
        "shared": {"frames": frames},
        "profiles": profiles,
        "name": f"perfkit profile {profile.program}",
        "activeProfileIndex": 0,
        "exporter": f"perfkit {__version__}",
    }


def _finite(x: float | None) -> float:
    return x if isinstance(x, float | int) and x == x and 0 < x < float("inf") else 0.0


def _events(tops: tuple[FrameNode, ...], frame_id: Any) -> list[dict[str, Any]]:
    """Open/close events of the trees under ``tops``, laid end to end from time 0."""
    events: list[dict[str, Any]] = []
    cursor = 0.0
    # ("open", node) or ("close", node): a node's children run between its open and close
    stack: list[tuple[bool, FrameNode]] = [(True, n) for n in reversed(tops)]
    while stack:
        opening, node = stack.pop()
        fid = frame_id(node.function, node.file, node.line)
        if opening:
            if node.wall_s <= 0:
                continue
            events.append({"type": "O", "at": round(cursor, 9), "frame": fid})
            stack.append((False, node))
            stack.extend((True, c) for c in reversed(node.children))
        else:
            cursor += max(_finite(node.self_wall_s), 0.0)
            # a node whose children and own time add up to nothing still needs a width
            at = round(cursor, 9)
            if at <= events[-1]["at"] and events[-1]["type"] == "O":
                cursor += 1e-9
                at = round(cursor, 9)
            events.append({"type": "C", "at": at, "frame": fid})
    return events
