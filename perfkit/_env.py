"""Run metadata shared by every result model: machine, versions, git commit, time, conditions.

One module for every result (profiles, bench runs, compression reports, benchmarks' markdown).
It is imported at profile start-up, so it imports only light standard-library modules at the top;
``importlib.metadata`` (about 80 ms) is loaded only when package versions are read from it, and
``platform`` / ``subprocess`` only when a function needs them (a profile's commit is read from
the ``.git`` folder's files when it can be).
"""

from __future__ import annotations

import os
import sys
import time
from functools import lru_cache
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
#: Packages whose versions a profile records when the program loaded them (no metadata reads).
VERSIONED_MODULES = (
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
    import platform

    return platform.processor() or platform.machine()


_cpu_model = cpu_model  # older name, kept for callers


def _installed_versions() -> dict[str, str]:
    from importlib import metadata

    versions: dict[str, str] = {}
    for pkg in TRACKED_PACKAGES:
        try:
            versions[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            continue
    return versions


def _loaded_versions() -> dict[str, str]:
    from perfkit import __version__

    versions = {"perfkit": __version__}
    for name in VERSIONED_MODULES:
        v = getattr(sys.modules.get(name), "__version__", None)
        if isinstance(v, str):
            versions[name] = v
    return versions


#: ``sys.implementation.name`` -> what ``platform.python_implementation()`` says.
_IMPLEMENTATIONS = {"cpython": "CPython", "pypy": "PyPy", "ironpython": "IronPython"}


@lru_cache(maxsize=2)
def machine_info(light: bool = False) -> dict[str, Any]:
    """Host, OS, CPU model and count, Python, and versions of the tracked packages.

    ``light=True`` (profile start-up) takes versions from the modules already loaded instead of
    reading package metadata; the keys are the same.
    """
    if hasattr(os, "uname"):  # what platform.uname() reads there, without importing platform
        u = os.uname()
        node, system, release, machine = u.nodename, u.sysname, u.release, u.machine
        version = sys.version.split()[0]  # "3.11.7", "3.13.0rc1": platform's parse
        impl = _IMPLEMENTATIONS.get(sys.implementation.name, sys.implementation.name)
    else:
        import platform

        uname = platform.uname()
        node, system, release, machine = uname.node, uname.system, uname.release, uname.machine
        version, impl = platform.python_version(), platform.python_implementation()
    return {
        "node": node,
        "system": system,
        "release": release,
        "machine": machine,
        "cpu_model": cpu_model(),
        "cpu_count": os.cpu_count(),
        "python_version": version,
        "python_implementation": impl,
        "python_executable": sys.executable,
        "versions": _loaded_versions() if light else _installed_versions(),
    }


def load_average() -> float | None:
    """The 1-minute load average (``None`` where the platform has none)."""
    try:
        return float(os.getloadavg()[0])
    except (OSError, AttributeError):
        return None


def copy_bandwidth_gbs(size_bytes: int = 256 << 20, repeat: int = 5) -> float:
    """Memory copy bandwidth in GB/s (best of ``repeat`` copies of a ``size_bytes`` buffer).

    Counted as bytes read plus bytes written, as STREAM's copy does, so a bandwidth-bound kernel
    that reads ``r`` and writes ``w`` bytes per element needs at least ``(r + w) / bandwidth``.
    """
    src = bytearray(size_bytes)
    dst = bytearray(size_bytes)
    view_src, view_dst = memoryview(src), memoryview(dst)
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        view_dst[:] = view_src  # one memmove
        best = min(best, time.perf_counter() - t0)
    return 2 * size_bytes / best / 1e9


#: A benchmark's targets are judged only when the 1-minute load average is at most this.
IDLE_LOAD = 0.5


def wait_for_idle(threshold: float = IDLE_LOAD, max_wait_s: float | None = None) -> float | None:
    """The 1-minute load average once it is at most ``threshold`` (or after ``max_wait_s``).

    The load average counts the benchmark's own processes too: read right after a run it says
    how busy the benchmark kept the machine, not whether anything else ran. So "before" waits for
    an idle machine, and "after" is read once the run's own processes have ended and the average
    has settled; a machine that someone else keeps busy never settles, and is reported as loaded.
    """
    if max_wait_s is None:  # PERFKIT_SETTLE_S=0 (the test suite) reads the load at once
        max_wait_s = float(os.environ.get("PERFKIT_SETTLE_S", "180"))
    deadline = time.monotonic() + max_wait_s
    load = load_average()
    while load is not None and load > threshold and time.monotonic() < deadline:
        time.sleep(5.0)
        load = load_average()
    return load


def bench_conditions(measure_bandwidth: bool = True, settle: bool = True) -> dict[str, Any]:
    """What a benchmark must record beside its figures: CPU, cores, load, copy bandwidth.

    With ``settle`` the load is read by :func:`wait_for_idle` (before a run: wait for an idle
    machine; after it: let the run's own load decay), at most 3 minutes.
    """
    load = wait_for_idle() if settle else load_average()
    return {
        "cpu_model": cpu_model(),
        "cpu_count": os.cpu_count(),
        "load_average_1m": load,
        "copy_bandwidth_gbs": copy_bandwidth_gbs() if measure_bandwidth else None,
        "time": utc_now_iso(),
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
    import subprocess

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


class CommitLookup:
    """The git commit and branch of ``cwd``, read at once from the ``.git`` folder's files.

    A plain repository whose HEAD commit is a loose object (every commit until ``git gc`` packs
    it) is read in well under a millisecond, with no process started. Anything else (a packed
    commit, ``GIT_*`` variables in the environment, an unreadable file) starts one ``git``
    process at once, which runs while perfkit imports and the program runs; :meth:`result`
    collects it. Keys match :func:`perfkit._env.commit_info`; empty values outside a repository.
    The dirty flag would need ``git status``, a tree walk that costs more than the rest of
    start-up, so it is left unknown (None).
    """

    def __init__(self, cwd: str) -> None:
        self._proc: Any = None
        self._found: dict[str, Any] | None = None
        try:
            self._found = read_git_head(cwd)
        except (OSError, ValueError, UnicodeDecodeError):
            self._found = None
        if self._found is not None:
            return
        import subprocess

        try:
            # One git call: commit, commit time and ref names ("HEAD -> main, origin/main").
            self._proc = subprocess.Popen(
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
        """The commit info (waits for git, at most 5 s, when it had to be started)."""
        empty = {"id": "", "branch": "", "dirty": None, "time": ""}
        if self._found is not None:
            return {**empty, **self._found}
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


#: Variables that change where git looks for the repository or its objects.
_GIT_LOCATION_VARS = (
    "GIT_DIR",
    "GIT_WORK_TREE",
    "GIT_COMMON_DIR",
    "GIT_CEILING_DIRECTORIES",
    "GIT_DISCOVERY_ACROSS_FILESYSTEM",
    "GIT_OBJECT_DIRECTORY",
    "GIT_ALTERNATE_OBJECT_DIRECTORIES",
)


def read_git_head(cwd: str) -> dict[str, str] | None:
    """Commit id, branch and commit time (``git log --format=%cI``) of ``cwd``'s repository,
    read from the ``.git`` files without running git.

    Returns ``{}`` outside a repository or on an unborn branch (what ``git log`` gives: nothing),
    and ``None`` when only git itself can tell (``GIT_DIR`` and the like set, a packed commit).

    Examples
    --------
    >>> read_git_head("/")  # doctest: +SKIP
    {}
    """
    if any(k in os.environ for k in _GIT_LOCATION_VARS):
        return None  # git's own discovery rules apply
    gitdir = _find_git_dir(os.path.abspath(cwd))
    if gitdir is None:
        return {}
    common = gitdir
    if os.path.isfile(os.path.join(gitdir, "commondir")):  # a linked worktree
        with open(os.path.join(gitdir, "commondir"), encoding="utf-8") as fh:
            common = os.path.normpath(os.path.join(gitdir, fh.read().strip()))
    with open(os.path.join(gitdir, "HEAD"), encoding="utf-8") as fh:
        head = fh.read().strip()
    branch = ""
    if head.startswith("ref:"):
        ref = head[4:].strip()
        branch = ref.removeprefix("refs/heads/") if ref.startswith("refs/heads/") else ""
        sha = _resolve_ref(gitdir, common, ref)
        if sha is None:
            return {}  # an unborn branch: no commit yet
    else:
        sha = head
    if len(sha) != 40 or any(c not in "0123456789abcdef" for c in sha):
        return None
    when = _loose_commit_time(common, sha)
    if when is None:
        return None
    return {"id": sha, "branch": branch, "time": when}


def _find_git_dir(path: str) -> str | None:
    while True:
        dot = os.path.join(path, ".git")
        if os.path.isdir(dot):
            return dot
        if os.path.isfile(dot):  # a worktree or submodule: "gitdir: <path>"
            with open(dot, encoding="utf-8") as fh:
                text = fh.read().strip()
            if not text.startswith("gitdir:"):
                raise ValueError(f"unreadable {dot}")
            return os.path.normpath(os.path.join(path, text[7:].strip()))
        parent = os.path.dirname(path)
        if parent == path:
            return None
        path = parent


def _resolve_ref(gitdir: str, common: str, ref: str) -> str | None:
    for folder in dict.fromkeys((gitdir, common)):
        try:
            with open(os.path.join(folder, ref), encoding="utf-8") as fh:
                return fh.read().strip()
        except FileNotFoundError:
            continue
    try:
        with open(os.path.join(common, "packed-refs"), encoding="utf-8") as fh:
            for line in fh:
                parts = line.split()
                if len(parts) == 2 and parts[1] == ref:
                    return parts[0]
    except FileNotFoundError:
        pass
    return None


def _loose_commit_time(common: str, sha: str) -> str | None:
    """The committer time of a loose commit object as strict ISO 8601, or None (packed)."""
    import zlib

    try:
        with open(os.path.join(common, "objects", sha[:2], sha[2:]), "rb") as fh:
            raw = zlib.decompress(fh.read())
    except FileNotFoundError:
        return None
    header, _, body = raw.partition(b"\0")
    if not header.startswith(b"commit "):
        return None
    for line in body.split(b"\n"):
        if not line:
            break  # the headers end at the first empty line (the message follows)
        if line.startswith(b"committer "):
            stamp, tz = line.rsplit(b" ", 2)[-2:]
            sign = -1 if tz.startswith(b"-") else 1
            hours, minutes = int(tz[1:3]), int(tz[3:5])
            local = int(stamp) + sign * (hours * 3600 + minutes * 60)
            text = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(local))
            return f"{text}{'-' if sign < 0 else '+'}{hours:02d}:{minutes:02d}"
    return None
