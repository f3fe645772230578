"""Run metadata shared by every result model: machine, versions, git commit, time."""

from __future__ import annotations

import datetime as _dt
import os
import platform
import subprocess
import sys
from functools import lru_cache
from importlib import metadata
from typing import Any

#: Packages whose versions change results; read from metadata, so nothing heavy is imported.
TRACKED_PACKAGES = (
    "perfkit",
    "numpy",
    "numba",
    "pandas",
    "joblib",
    "torch",
    "onnxruntime",
    "transformers",
    "pyinstrument",
    "line_profiler",
    "dask",
    "distributed",
    "ta-lib",
)


def utc_now_iso() -> str:
    """The current UTC time as ISO 8601 with a Z suffix, second resolution."""
    return _dt.datetime.now(_dt.UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            for line in fh:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


@lru_cache(maxsize=1)
def machine_info() -> dict[str, Any]:
    """Host, OS, CPU model and count, Python, and installed versions of the tracked packages."""
    versions: dict[str, str] = {}
    for pkg in TRACKED_PACKAGES:
        try:
            versions[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            continue
    return {
        "node": platform.node(),
        "system": platform.system(),
        "release": platform.release(),
        "machine": platform.machine(),
        "cpu_model": _cpu_model(),
        "cpu_count": os.cpu_count(),
        "python_version": platform.python_version(),
        "python_implementation": platform.python_implementation(),
        "python_executable": sys.executable,
        "versions": versions,
    }


def gpu_info() -> dict[str, Any] | None:
    """Name, memory and CUDA version of GPU 0 when torch sees one; imports torch only if loaded."""
    torch = sys.modules.get("torch")
    if torch is None or not torch.cuda.is_available():
        return None
    props = torch.cuda.get_device_properties(0)
    return {
        "name": props.name,
        "total_memory_bytes": int(props.total_memory),
        "multiprocessors": int(props.multi_processor_count),
        "cuda_version": torch.version.cuda,
        "torch_version": torch.__version__,
    }


@lru_cache(maxsize=4)
def commit_info(cwd: str | None = None) -> dict[str, Any]:
    """The git commit, branch and dirty flag of ``cwd`` (empty values outside a repository)."""

    def git(*args: str) -> str:
        try:
            out = subprocess.run(
                ["git", *args], cwd=cwd, capture_output=True, text=True, timeout=5, check=True
            )
        except (OSError, subprocess.SubprocessError):
            return ""
        return out.stdout.strip()

    commit = git("rev-parse", "HEAD")
    if not commit and os.environ.get("PERFKIT_COMMIT"):
        # A copy of the tree without .git (a remote GPU machine): the caller says which commit.
        return {"id": os.environ["PERFKIT_COMMIT"], "branch": "", "dirty": False, "time": ""}
    return {
        "id": commit,
        "branch": git("rev-parse", "--abbrev-ref", "HEAD") if commit else "",
        "dirty": bool(git("status", "--porcelain", "--untracked-files=no")) if commit else False,
        "time": git("show", "-s", "--format=%cI", "HEAD") if commit else "",
    }
