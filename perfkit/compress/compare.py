"""``compare_models``: size, parameters, latency, peak memory and fidelity of models side by side.

A compressed model is only worth handing back with what it gained and what it cost, measured on
the same inputs, with the same threads, warmed up. One :class:`ComparisonReport` holds it all and
renders as a rich table or JSON.
"""

from __future__ import annotations

import io
import os
import statistics
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from perfkit._atomic import atomic_write_text, dumps_strict
from perfkit._env import machine_info, utc_now_iso
from perfkit.compress.fidelity import fidelity_figures
from perfkit.errors import UsageError

SCHEMA_VERSION = 1


@dataclass(frozen=True)
class ModelReport:
    """Measured figures of one model (units in the key names)."""

    name: str
    engine: str
    method: str
    size_bytes: int
    num_parameters: int
    latency_ms: dict[int, dict[str, float]]
    peak_memory_bytes: int
    fidelity: dict[str, Any]
    float_layers: tuple[str, ...] = ()
    fallback: dict[str, Any] | None = None
    behaviour: dict[str, dict[str, Any]] = field(default_factory=dict)

    def fired(self) -> list[str]:
        """Names of the behavioural checks this model fails."""
        return [name for name, res in self.behaviour.items() if not res.get("ok", True)]

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "engine": self.engine,
            "method": self.method,
            "size_bytes": self.size_bytes,
            "num_parameters": self.num_parameters,
            "latency_ms": {str(b): v for b, v in self.latency_ms.items()},
            "peak_memory_bytes": self.peak_memory_bytes,
            "fidelity": self.fidelity,
            "float_layers": list(self.float_layers),
            "fallback": self.fallback,
            "behaviour": self.behaviour,
        }


@dataclass(frozen=True)
class ComparisonReport:
    """Every model's :class:`ModelReport`, the reference first, with run metadata."""

    reference: str
    models: tuple[ModelReport, ...]
    task: str
    batch_sizes: tuple[int, ...]
    threads: int
    started_at: str
    machine: dict[str, Any] = field(default_factory=dict)

    def _repr_html_(self) -> str:
        """The notebook view: the report as HTML (see :mod:`perfkit.display`)."""
        from perfkit.display import repr_html

        return repr_html(self)

    def __repr__(self) -> str:
        from perfkit.display import short_repr

        return short_repr(self)

    def __getitem__(self, name: str) -> ModelReport:
        for m in self.models:
            if m.name == name:
                return m
        raise KeyError(name)

    def speedup(self, name: str, batch_size: int) -> float:
        """Reference median latency / ``name``'s at ``batch_size`` (> 1 means faster)."""
        ref = self[self.reference].latency_ms[batch_size]["median"]
        return ref / self[name].latency_ms[batch_size]["median"]

    def size_ratio(self, name: str) -> float:
        """Reference size / ``name``'s size on disk (> 1 means smaller)."""
        return self[self.reference].size_bytes / self[name].size_bytes

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema_version": SCHEMA_VERSION,
            "kind": "perfkit.compress.comparison",
            "datetime": self.started_at,
            "machine_info": self.machine,
            "reference": self.reference,
            "task": self.task,
            "batch_sizes": list(self.batch_sizes),
            "threads": self.threads,
            "results": [m.to_dict() for m in self.models],
        }

    def to_json(self) -> str:
        """Strict JSON: a non-finite figure is written as ``null``, never as a bare ``NaN``."""
        return dumps_strict(self.to_dict(), indent=2)

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write the JSON report atomically."""
        return atomic_write_text(path, self.to_json())

    def table(self) -> Any:
        """The comparison as a ``rich.table.Table``."""
        from rich.table import Table

        t = Table(title=f"compression vs {self.reference} ({self.threads} threads)")
        for col in ("model", "method", "size MB", "x smaller"):
            t.add_column(col, justify="left" if col in ("model", "method") else "right")
        for b in self.batch_sizes:
            t.add_column(f"b{b} ms (p90)", justify="right")
            t.add_column(f"b{b} x", justify="right")
        for col in ("peak MB", "cosine", "top-1 agr", "accuracy", "max |err|"):
            t.add_column(col, justify="right")
        t.add_column("behaviour", justify="left")
        for m in self.models:
            f = m.fidelity
            row = [
                m.name,
                m.method,
                f"{m.size_bytes / 1e6:.2f}",
                f"{self.size_ratio(m.name):.2f}",
            ]
            for b in self.batch_sizes:
                lat = m.latency_ms[b]
                row += [f"{lat['median']:.2f} ({lat['p90']:.2f})", f"{self.speedup(m.name, b):.2f}"]
            row += [
                f"{m.peak_memory_bytes / 1e6:.1f}",
                f"{f['cosine']:.4f}",
                f"{f['agreement']:.3f}",
                "-" if f.get("accuracy") is None else f"{f['accuracy']:.4f}",
                f"{f['max_abs_error']:.3g}",
            ]
            fired = m.fired()
            row.append(
                "-" if not m.behaviour else ("ok" if not fired else "FAILS " + ", ".join(fired))
            )
            t.add_row(*row)
        return t

    def render(self, width: int = 160) -> str:
        """The table as plain text (what the CLI prints)."""
        from rich.console import Console

        buf = io.StringIO()
        Console(file=buf, width=width, force_terminal=False, color_system=None).print(self.table())
        return buf.getvalue()


class _TorchRunner:
    """Adapter giving a torch module the compressed-model interface."""

    engine = "torch"
    method = "fp32"
    float_layers: tuple[str, ...] = ()
    fallback = None

    def __init__(self, module: Any) -> None:
        self.module = module.eval()
        self.task = getattr(module, "task", "embedding")

    def __call__(self, inputs: Mapping[str, np.ndarray]) -> np.ndarray:
        from perfkit.compress.models import predict

        return predict(self.module, inputs, batch_size=1 << 30)

    def size_bytes(self) -> int:
        import torch

        buf = io.BytesIO()
        torch.save(self.module.state_dict(), buf)
        return buf.tell()

    def num_parameters(self) -> int:
        return int(sum(t.numel() for t in self.module.state_dict().values()))


def as_runner(model: Any) -> Any:
    """A torch module wrapped to the compressed-model interface; compressed models as is."""
    import torch

    if isinstance(model, torch.nn.Module):
        return _TorchRunner(model)
    for attr in ("__call__", "size_bytes", "num_parameters"):
        if not hasattr(model, attr):
            raise UsageError(
                f"cannot compare a {type(model).__name__}: it has no {attr}",
                "pass torch modules or models returned by perfkit.compress",
            )
    return model


def _take(inputs: Mapping[str, np.ndarray], n: int) -> dict[str, np.ndarray]:
    """The first ``n`` samples, repeating the inputs when there are fewer."""
    out = {}
    for k, v in inputs.items():
        v = np.asarray(v)
        reps = -(-n // len(v))
        out[k] = np.concatenate([v] * reps)[:n] if reps > 1 else v[:n]
    return out


def _peak_rss_during(fn: Any) -> int:
    """Peak resident memory above the starting level while ``fn`` runs (sampled every 1 ms)."""
    import psutil

    proc = psutil.Process()
    start = proc.memory_info().rss
    peak = start
    done = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not done.is_set():
            peak = max(peak, proc.memory_info().rss)
            time.sleep(0.001)

    th = threading.Thread(target=sample, daemon=True)
    th.start()
    try:
        fn()
    finally:
        done.set()
        th.join()
    peak = max(peak, proc.memory_info().rss)
    return int(max(0, peak - start))


def _latency(fn: Any, repeat: int, warmup: int) -> dict[str, float]:
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1e3)
    times.sort()
    p90 = times[min(len(times) - 1, int(np.ceil(0.9 * len(times))) - 1)]
    return {"median": statistics.median(times), "p90": p90, "min": times[0], "repeat": repeat}


def compare_models(
    reference: Any,
    candidates: Mapping[str, Any],
    inputs: Mapping[str, np.ndarray],
    *,
    labels: np.ndarray | None = None,
    batch_sizes: Sequence[int] = (1, 32),
    repeat: int = 10,
    warmup: int = 2,
    threads: int | None = None,
    task: str | None = None,
    reference_name: str = "fp32",
    behaviour: bool = True,
    texts: Sequence[str] | None = None,
    tokenize: Any = None,
) -> ComparisonReport:
    """Measure ``reference`` and every candidate side by side on the same inputs.

    Parameters
    ----------
    reference
        The model the others are judged against (a torch module or a compressed model).
    candidates
        Name -> model.
    inputs
        Named arrays; fidelity is measured on all of them, latency on the first ``b`` rows
        for each batch size ``b`` (repeated when fewer).
    labels
        True labels: adds task accuracy (classifiers).
    batch_sizes, repeat, warmup
        Latency grid; each point reports median and p90 over ``repeat`` warmed-up calls.
    threads
        Intra-op threads for every model (torch and ONNX Runtime alike); default: torch's.
    task
        ``"classification"`` or ``"embedding"``; default: the reference's ``task`` attribute.
    behaviour
        Run the behavioural checks of :mod:`perfkit.compress.behaviour` and report them beside
        cosine and agreement: noise invariance (float inputs), synonym invariance (``texts``
        and ``tokenize`` given), directional expectations (``labels`` given), and for torch
        candidates (students) the training sanity checks against the torch reference.
    texts, tokenize
        Sentences and the function that turns them into model inputs, for synonym invariance.

    Returns
    -------
    ComparisonReport
        ``render()`` for a table, ``to_json()``/``save()`` for JSON, ``speedup``/``size_ratio``.

    Examples
    --------
    >>> rep = compare_models(model, {"int8": quantize_dynamic(model, x)}, x)  # doctest: +SKIP
    >>> print(rep.render())                                                # doctest: +SKIP
    """
    import torch

    if not candidates and reference is None:
        raise UsageError("nothing to compare", "pass a reference and candidates")
    if reference_name in candidates:
        raise UsageError(
            f"candidate name {reference_name!r} is taken by the reference", "rename the candidate"
        )
    if any(b <= 0 for b in batch_sizes) or repeat <= 0:
        raise UsageError("batch sizes and repeat must be positive", "e.g. batch_sizes=(1, 32)")
    n = {len(np.asarray(v)) for v in inputs.values()}
    if len(n) != 1 or 0 in n:
        raise UsageError("inputs must be non-empty arrays of one length", "check the input arrays")
    threads = threads or torch.get_num_threads()
    previous_threads = torch.get_num_threads()
    torch.set_num_threads(threads)
    models = {reference_name: as_runner(reference)}
    models.update({k: as_runner(v) for k, v in candidates.items()})
    task = task or getattr(models[reference_name], "task", "embedding")
    started = utc_now_iso()
    reports = []
    try:
        for runner in models.values():
            if getattr(runner, "threads", threads) not in (None, threads):
                runner.threads = threads
                runner._session = None
        ref_out = models[reference_name](inputs)
        checks: dict[str, dict[str, Any]] = {}
        bad = int(np.size(ref_out) - np.count_nonzero(np.isfinite(ref_out)))
        if bad:
            raise UsageError(
                f"the reference model's outputs hold {bad} NaN/inf values on these inputs: "
                "no fidelity figure would mean anything",
                "check the inputs' scale and the reference model's weights",
            )
        if behaviour:
            from perfkit.compress.behaviour import behaviour_checks

            modules = {n: r.module for n, r in models.items() if isinstance(r, _TorchRunner)}
            checks = behaviour_checks(
                models, inputs, reference_name, task, labels=labels, texts=texts,
                tokenize=tokenize, modules=modules,
            )  # fmt: skip
        for name, runner in models.items():
            out = ref_out if name == reference_name else runner(inputs)
            fid = fidelity_figures(ref_out, out, task=task, labels=labels)
            latency = {}
            for b in batch_sizes:
                batch = _take(inputs, b)
                latency[b] = _latency(lambda r=runner, x=batch: r(x), repeat, warmup)
            big = _take(inputs, max(batch_sizes))
            peak = _peak_rss_during(lambda r=runner, x=big: r(x))
            fb = getattr(runner, "fallback", None)
            reports.append(
                ModelReport(
                    name=name,
                    engine=getattr(runner, "engine", "torch"),
                    method=getattr(runner, "method", "fp32"),
                    size_bytes=int(runner.size_bytes()),
                    num_parameters=int(runner.num_parameters()),
                    latency_ms=latency,
                    peak_memory_bytes=peak,
                    fidelity=fid,
                    float_layers=tuple(getattr(runner, "float_layers", ())),
                    fallback=fb.to_dict() if fb is not None else None,
                    behaviour=checks.get(name, {}),
                )
            )
    finally:
        torch.set_num_threads(previous_threads)
    return ComparisonReport(
        reference=reference_name,
        models=tuple(reports),
        task=task,
        batch_sizes=tuple(batch_sizes),
        threads=threads,
        started_at=started,
        machine=machine_info(),
    )
