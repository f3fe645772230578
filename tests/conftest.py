"""Shared fixtures: run the perfkit CLI in a subprocess as a user would."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

REPO = Path(__file__).resolve().parents[1]
# Benchmarks wait up to 3 minutes for the load average to settle; the suite's smoke runs of
# them (and their subprocesses, which inherit this) must not wait.
os.environ.setdefault("PERFKIT_SETTLE_S", "0")
# tests/data holds other projects' files (a sample suite for the pytest plugin), not our tests.
collect_ignore = ["data"]


# The suite is deterministic: hypothesis draws the same examples on every run (a failure it finds
# is added as an @example). HYPOTHESIS_PROFILE=explore searches randomly, for finding new ones.
settings.register_profile(
    "deterministic",
    derandomize=True,
    database=None,
    deadline=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile("explore", deadline=None, max_examples=500)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "deterministic"))


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: pytest.Config) -> None:
    """Benchmarks are smoke-run (once, untimed) unless asked for with ``--benchmark-enable``.

    Done here rather than in ``addopts`` so that a plain ``pytest`` works without the bench extra.
    """
    opts = config.option
    if hasattr(opts, "benchmark_disable") and not (
        getattr(opts, "benchmark_enable", False) or getattr(opts, "benchmark_only", False)
    ):
        opts.benchmark_disable = True


def _has_cuda() -> bool:
    if sys.platform.startswith("linux") and not os.path.exists("/dev/nvidiactl"):
        return False  # no NVIDIA driver: skip importing torch (~3 s in every xdist worker)
    try:
        import torch
    except ImportError:
        return False
    return bool(torch.cuda.is_available())


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    # Tests that run the numba backend share one xdist worker (``--dist loadgroup``, Makefile):
    # its prange kernels take ~1 min to compile on a cold cache, so two workers compiling them
    # at the same time doubled that on CI's 2 cores. The case points join the marked tests.
    # They go first: xdist hands out work in collection order, and the group last left one
    # worker compiling for minutes after the other had finished.
    group = pytest.mark.xdist_group("numba_backend")
    for item in items:
        if "backend=numba" in item.nodeid:
            item.add_marker(group)
    items.sort(key=lambda item: item.get_closest_marker("xdist_group") is None)
    if _has_cuda():
        return
    skip = pytest.mark.skip(reason="needs CUDA, which this machine lacks")
    for item in items:
        if "gpu" in item.keywords:
            item.add_marker(skip)


@pytest.fixture
def run_perfkit(tmp_path: Path) -> Callable[..., subprocess.CompletedProcess[str]]:
    """Run ``python -m perfkit ARGS`` in ``cwd`` (default: a temp dir) and capture its output."""

    def run(
        *args: str, cwd: Path | None = None, env: dict[str, str] | None = None, timeout: float = 300
    ) -> subprocess.CompletedProcess[str]:
        full_env = {**os.environ, "PYTHONPATH": str(REPO), **(env or {})}
        return subprocess.run(
            [sys.executable, "-m", "perfkit", *args],
            cwd=cwd or tmp_path,
            env=full_env,
            capture_output=True,
            text=True,
            timeout=timeout,
        )

    return run
