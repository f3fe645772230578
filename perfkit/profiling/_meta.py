"""Run metadata for profiles, cheap enough for start-up: time, CPU model, git commit.

``perfkit._env`` imports ``importlib.metadata`` (about 80 ms); a profile of a short script must
not pay that, so these helpers use only the standard library's light modules.
"""

from __future__ import annotations

import os
import platform
import sys
import threading
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
        pass
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
    """The git commit, branch and dirty flag of ``cwd``, looked up in a background thread.

    The git calls take tens of milliseconds; they overlap with the profiled program.
    Keys match :func:`perfkit._env.commit_info`; empty values outside a repository.
    """

    def __init__(self, cwd: str) -> None:
        self._value: dict[str, Any] = {}
        self._thread = threading.Thread(
            target=self._run, args=(cwd,), daemon=True, name="perfkit-commit-info"
        )
        self._thread.start()

    def _run(self, cwd: str) -> None:
        import subprocess

        def git(*args: str) -> str:
            try:
                out = subprocess.run(
                    ["git", *args], cwd=cwd, capture_output=True, text=True, timeout=5, check=True
                )
            except (OSError, subprocess.SubprocessError):
                return ""
            return out.stdout.strip()

        # One git call: commit, time and ref names (``HEAD -> main, origin/main``). The dirty
        # flag would need `git status`, a tree walk that costs more than the rest of start-up,
        # so it is left unknown (None).
        head = git("log", "-1", "--format=%H%n%cI%n%D").splitlines()
        if len(head) < 2:
            self._value = {"id": "", "branch": "", "dirty": None, "time": ""}
            return
        refs = head[2] if len(head) > 2 else ""
        branch = refs.split("HEAD -> ", 1)[1].split(",")[0].strip() if "HEAD -> " in refs else ""
        self._value = {"id": head[0], "branch": branch, "dirty": None, "time": head[1]}

    def result(self) -> dict[str, Any]:
        """The commit info (waits for the lookup to finish, at most 10 s)."""
        self._thread.join(timeout=10)
        return dict(self._value)
