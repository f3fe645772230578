"""Regression: ``perfkit bench -k small_sequence`` took 13.7 s, 12.8 of them in torch.

Two causes: the compression case modules imported torch and transformers when the registry
loaded them (~3 s for every run, whatever ``-k`` chose), and the torch CPU peak-memory reader
started ``torch.profiler.profile``, whose start runs ``hasattr(torch, "_inductor")`` and so
imports inductor and dynamo (~11 s). Now the case modules check that the packages exist without
importing them, and the peak reader uses the autograd profiler, which reads the same events.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

from perfkit.errors import MissingDependencyError


def _python(code: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=240, check=False
    )


def test_loading_every_case_imports_neither_torch_nor_transformers() -> None:
    proc = _python(
        "import sys\n"
        "from perfkit.bench import registry\n"
        "registry.load_all()\n"
        "assert not registry.unavailable(), registry.unavailable()\n"
        "assert any(c.name.startswith('compress_') for c in registry.all_cases())\n"
        "print(sorted(m for m in ('torch', 'transformers', 'onnxruntime') if m in sys.modules))\n"
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "[]"


def test_torch_peak_memory_does_not_import_inductor() -> None:
    pytest.importorskip("torch")
    proc = _python(
        "import sys, torch\n"
        "from perfkit.bench.timer import measure_peak\n"
        "peak = measure_peak(lambda _: torch.ones(1_000_000), None)\n"
        "print(peak.by_allocator['torch_cpu'], 'torch._inductor' in sys.modules)\n"
    )
    assert proc.returncode == 0, proc.stderr
    nbytes, inductor = proc.stdout.split()
    assert int(nbytes) == 4_000_000 and inductor == "False"


def test_a_missing_package_is_named_with_its_extra() -> None:
    with pytest.raises(MissingDependencyError, match="no_such_pkg_xyz is not installed") as info:
        MissingDependencyError.check(("json", "no_such_pkg_xyz"), "ml", "compression cases")
    assert info.value.extra == "ml"
    MissingDependencyError.check(("json",), "ml")  # present: no error


def test_compression_cases_are_unavailable_not_broken_without_torch() -> None:
    proc = _python(
        "import sys\n"
        "sys.modules['torch'] = None\n"
        "from perfkit.bench import registry\n"
        "registry.load_all()\n"
        "print(registry.unavailable().get('perfkit.compress.cases'))\n"
    )
    assert proc.returncode == 0, proc.stderr
    assert "torch is not installed" in proc.stdout and "perfkit[ml]" in proc.stdout
