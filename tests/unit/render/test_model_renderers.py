"""Every result model renders through render/ behind one interface, on real objects."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from perfkit.bench.results import BenchRun
from perfkit.errors import UsageError
from perfkit.render import base
from perfkit.render.base import MODEL_RENDERERS, ModelRenderer, get_renderer, model_kind, render

GOLDEN = Path(__file__).resolve().parents[1] / "bench" / "golden" / "bench_v1.json"
HOSTILE = "<script>alert('x')</script>"
FORMATS = ("terminal", "markdown", "json", "html")


@pytest.fixture
def bench_run() -> BenchRun:
    return BenchRun.load(GOLDEN)


@pytest.fixture
def downcast_report():
    np = pytest.importorskip("numpy")
    pytest.importorskip("numba")
    from perfkit.memory import downcast

    data = np.column_stack([np.arange(1000, dtype=np.float64), np.linspace(0, 1, 1000)])
    _, report = downcast(data, rtol=1e-3, axis=0)
    return report


@pytest.fixture
def comparison_report():
    from perfkit.compress.compare import ComparisonReport, ModelReport

    def model(name: str, size: int, median: float, cosine: float) -> ModelReport:
        return ModelReport(
            name=name,
            engine="onnxruntime" if name != "fp32" else "torch",
            method=name,
            size_bytes=size,
            num_parameters=1000,
            latency_ms={1: {"median": median, "p90": median * 1.2}},
            peak_memory_bytes=size * 2,
            fidelity={"cosine": cosine, "agreement": 1.0, "accuracy": None, "max_abs_error": 0.01},
            float_layers=("head",) if name != "fp32" else (),
        )

    return ComparisonReport(
        reference="fp32",
        models=(model("fp32", 4_000_000, 2.0, 1.0), model(HOSTILE, 1_000_000, 0.5, 0.999)),
        task="embedding",
        batch_sizes=(1,),
        threads=2,
        started_at="2026-01-01T00:00:00Z",
    )


@pytest.fixture
def profile_diff(profile):  # noqa: ANN001 - the shared synthetic Profile (tests/unit/conftest.py)
    from perfkit.profiling.diff import diff_profiles

    after = dataclasses.replace(profile, wall_s=profile.wall_s * 2, program="after.py")
    return diff_profiles(profile, after)


MODELS = ("bench_run", "downcast_report", "comparison_report", "profile_diff")


@pytest.mark.parametrize("fixture", MODELS)
@pytest.mark.parametrize("fmt", FORMATS)
def test_every_model_renders_in_every_format(request, fixture: str, fmt: str) -> None:
    model = request.getfixturevalue(fixture)
    kind = model_kind(model)
    renderer = get_renderer(fmt, kind)
    assert isinstance(renderer, ModelRenderer) and renderer.name == fmt
    out = render(model, fmt)
    assert isinstance(out, str) and out.strip()
    if fmt == "json":
        json.loads(out, parse_constant=lambda c: pytest.fail(f"bare {c} in JSON"))
    if fmt == "html":
        assert "<script" not in out and "https://" not in out and out.startswith("<!DOCTYPE html>")


def test_every_kind_offers_the_four_formats() -> None:
    for kind, table in MODEL_RENDERERS.items():
        if kind != "profile":
            assert set(FORMATS) <= set(table), kind


def test_downcast_table_reads_the_report(downcast_report) -> None:  # noqa: ANN001
    text = render(downcast_report, "terminal")
    md = render(downcast_report, "markdown")
    assert "downcast: 15.6 KiB →" in text and "float64" in text
    assert md.count("\n| ") == 1 + len(downcast_report.columns)  # header + one row per column
    doc = json.loads(render(downcast_report, "json"))
    assert doc["bytes_saved"] == downcast_report.bytes_saved
    assert doc["kind"] == "perfkit.memory.downcast"


def test_comparison_table_has_speed_up_size_ratio_and_escapes(comparison_report) -> None:  # noqa: ANN001
    text = render(comparison_report, "terminal")
    assert "4.00×" in text  # both the size ratio and the batch-1 speed-up (2 ms / 0.5 ms)
    assert "3.8 MiB" in text and "500 µs (600 µs)" in text
    assert "layers kept in float: head" in text
    page = render(comparison_report, "html")
    assert HOSTILE not in page and "&lt;script&gt;" in page
    md = render(comparison_report, "markdown")
    assert "---:" in md


def test_diff_table_says_slower_and_keeps_every_function_in_json(profile_diff) -> None:  # noqa: ANN001
    text = render(profile_diff, "terminal")
    assert "slower (+100.0%)" in text and "speed-up 0.50×" in text
    doc = json.loads(render(profile_diff, "json"))
    assert len(doc["functions"]) == len(profile_diff.functions)
    assert doc["before"]["program"] == profile_diff.before.program


def test_json_renderers_write_null_for_nan(comparison_report) -> None:  # noqa: ANN001
    fp32, other = comparison_report.models
    odd = dataclasses.replace(other, fidelity={**other.fidelity, "cosine": float("nan")})
    report = dataclasses.replace(comparison_report, models=(fp32, odd))
    doc = json.loads(render(report, "json"))
    assert doc["results"][1]["fidelity"]["cosine"] is None


def test_unknown_model_or_format_is_a_usage_error(bench_run) -> None:  # noqa: ANN001
    with pytest.raises(UsageError, match="no renderer for a dict"):
        render({}, "terminal")
    with pytest.raises(UsageError, match="did you mean markdown"):
        render(bench_run, "markdwn")


def test_profile_renderers_are_the_same_registry(profile) -> None:  # noqa: ANN001
    assert MODEL_RENDERERS["profile"] is base.RENDERERS
    assert render(profile, "json") == get_renderer("json").render(profile)


def test_diff_table_keeps_the_top_functions(profile_diff) -> None:  # noqa: ANN001
    from perfkit.render._table import to_text
    from perfkit.render.reports import diff_table

    table = diff_table(profile_diff, top=1)
    assert len(table.rows) == 1 and table.rows[0][0] == profile_diff.functions[0].function
    assert f"{len(profile_diff.functions) - 1} more functions" in to_text(table)
