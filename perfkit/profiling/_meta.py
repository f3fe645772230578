"""Run metadata for profiles, cheap enough for start-up: time, CPU model, git commit.

``perfkit._env`` imports ``importlib.metadata`` (about 80 ms); a profile of a short script must
not pay that, so these helpers use only the standard library's light modules.
"""

from __future__ import annotations

import os
import platform
import sys
import time
from typing import Any

#: Packages whose versions go into a profile's machine_info, when the program loaded them.
VERSIONED = (
    "numpy",
    "numba",
    "pandas",
    "joblib",
    "torch",
    "pyinstrument",
    "line_profiler",
    "memory_profiler",
    "psutil",
    "polars",
    "pyarrow",
    "scipy",
    "sklearn",
)


def utc_now_iso() -> str:
    """The current UTC time as ISO 8601 with a Z suffix, second resolution."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def cpu_model() -> str:
    """The CPU model name from /proc/cpuinfo (or platform's guess)."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            for line in fh:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        return platform.processor() or platform.machine()
    return platform.processor() or platform.machine()


def machine_info() -> dict[str, Any]:
    """Host, OS, CPU and Python, plus versions of the tracked packages the program imported.

    The keys match :func:`perfkit._env.machine_info`; versions come from the loaded modules'
    ``__version__`` rather than from package metadata.
    """
    from perfkit import __version__

    versions = {"perfkit": __version__}
    for name in VERSIONED:
        v = getattr(sys.modules.get(name), "__version__", None)
        if isinstance(v, str):
            versions[name] = v
    uname = platform.uname()
    return {
        "node": uname.node,
        "system": uname.system,
        "release": uname.release,
        "machine": uname.machine,
        "cpu_model": cpu_model(),
        "cpu_count": os.cpu_count(),
        "python_version": platform.python_version(),
        "python_implementation": platform.python_implementation(),
        "python_executable": sys.executable,
        "versions": versions,
    }


class CommitLookup:
    """The git commit and branch of ``cwd``, looked up by a ``git`` process started at once.

    The process runs while perfkit imports and the program runs; :meth:`result` collects it.
    Keys match :func:`perfkit._env.commit_info`; empty values outside a repository. The dirty
    flag would need ``git status``, a tree walk that costs more than the rest of start-up, so it
    is left unknown (None).
    """

    def __init__(self, cwd: str) -> None:
        import subprocess

        try:
            # One git call: commit, commit time and ref names ("HEAD -> main, origin/main").
            self._proc: Any = subprocess.Popen(
                ["git", "log", "-1", "--format=%H%n%cI%n%D"],
                cwd=cwd,
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
                stdin=subprocess.DEVNULL,
                text=True,
            )
        except OSError:
            self._proc = None

    def result(self) -> dict[str, Any]:
        """The commit info (waits for git, at most 5 s)."""
        empty = {"id": "", "branch": "", "dirty": None, "time": ""}
        if self._proc is None:
            return empty
        try:
            out, _ = self._proc.communicate(timeout=5)
        except Exception:  # noqa: BLE001 - commit metadata is optional
            self._proc.kill()
            return empty
        head = out.splitlines() if self._proc.returncode == 0 else []
        if len(head) < 2:
            return empty
        refs = head[2] if len(head) > 2 else ""
        branch = refs.split("HEAD -> ", 1)[1].split(",")[0].strip() if "HEAD -> " in refs else ""
        return {"id": head[0], "branch": branch, "dirty": None, "time": head[1]}
