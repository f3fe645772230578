"""speedscope's file format (https://www.speedscope.app/file-format-schema.json).

One ``sampled`` profile per thread: each call-tree node with self time becomes one stack
(root to leaf frame indices) weighted by that self time in seconds.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any, ClassVar

if TYPE_CHECKING:
    from perfkit.profiling.model import FrameNode, Profile

SCHEMA_URL = "https://www.speedscope.app/file-format-schema.json"


class SpeedscopeRenderer:
    """Call trees as speedscope sampled profiles (open the file at speedscope.app)."""

    name: ClassVar[str] = "speedscope"
    file_name: ClassVar[str] = "speedscope.json"

    def render(self, profile: Profile) -> str:
        """The speedscope JSON text."""
        return json.dumps(to_speedscope(profile), allow_nan=False)


def to_speedscope(profile: Profile) -> dict[str, Any]:
    """The speedscope document as a dict."""
    from perfkit import __version__

    frames: list[dict[str, Any]] = []
    index: dict[tuple[str, str, int], int] = {}

    def frame_id(node: FrameNode) -> int:
        key = (node.function, node.file, node.line)
        i = index.get(key)
        if i is None:
            i = index[key] = len(frames)
            entry: dict[str, Any] = {"name": node.function or "?"}
            if node.file:
                entry["file"] = node.file
            if node.line:
                entry["line"] = node.line
            frames.append(entry)
        return i

    profiles = []
    for thread in profile.threads:
        samples: list[list[int]] = []
        weights: list[float] = []
        stack: list[tuple[FrameNode, list[int]]] = [(child, []) for child in thread.root.children]
        while stack:
            node, path = stack.pop()
            here = [*path, frame_id(node)]
            if node.self_wall_s > 0:
                samples.append(here)
                weights.append(round(node.self_wall_s, 9))
            stack.extend((c, here) for c in node.children)
        profiles.append(
            {
                "type": "sampled",
                "name": f"{profile.program} — {thread.name}",
                "unit": "seconds",
                "startValue": 0,
                "endValue": round(sum(weights), 9),
                "samples": samples,
                "weights": weights,
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
