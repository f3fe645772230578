"""compare_models: consistent figures, a table and JSON."""

from __future__ import annotations

import json

import numpy as np
import pytest

from perfkit.compress import compare_models, quantize_dynamic
from perfkit.errors import UsageError


def test_model_against_itself_is_perfect(digits_model, digits_data):
    x = {"x": digits_data.test.x[:64]}
    rep = compare_models(
        digits_model, {"same": digits_model}, x, labels=digits_data.test.y[:64], repeat=2
    )
    same = rep["same"]
    assert same.fidelity["cosine"] == pytest.approx(1.0)
    assert same.fidelity["agreement"] == 1.0 and same.fidelity["max_abs_error"] == 0.0
    assert same.fidelity["accuracy"] == rep["fp32"].fidelity["accuracy"]
    assert rep.size_ratio("same") == 1.0
    assert same.num_parameters == rep["fp32"].num_parameters


def test_report_has_every_figure_and_renders(digits_model, digits_data):
    x = {"x": digits_data.test.x[:40]}
    q = quantize_dynamic(digits_model, engine="torch")
    rep = compare_models(digits_model, {"int8": q}, x, batch_sizes=(1, 8), repeat=3)
    for m in rep.models:
        assert set(m.latency_ms) == {1, 8}
        for lat in m.latency_ms.values():
            assert 0 < lat["min"] <= lat["median"] <= lat["p90"]
            assert lat["repeat"] == 3
        assert m.size_bytes > 0 and m.peak_memory_bytes >= 0
    assert rep.size_ratio("int8") > 2.5
    assert rep.speedup("int8", 8) > 0
    text = rep.render()
    assert "int8" in text and "dynamic-int8" in text and "x smaller" in text
    data = json.loads(rep.to_json())
    assert data["schema_version"] == 1 and data["reference"] == "fp32"
    assert [r["name"] for r in data["results"]] == ["fp32", "int8"]
    assert data["results"][1]["latency_ms"]["8"]["median"] > 0
    assert "machine_info" in data and data["threads"] >= 1


def test_save_writes_json_atomically(digits_model, digits_data, tmp_path):
    rep = compare_models(digits_model, {}, {"x": digits_data.test.x[:8]}, repeat=1)
    path = rep.save(tmp_path / "r" / "report.json")
    assert json.loads(path.read_text())["results"][0]["name"] == "fp32"
    assert [p.name for p in path.parent.iterdir()] == ["report.json"]


def test_embedding_task_comes_from_the_reference(bert, tokens):
    rep = compare_models(bert, {"also": bert}, tokens, batch_sizes=(4,), repeat=1)
    assert rep.task == "embedding" and rep["also"].fidelity["agreement"] == 1.0


def test_bad_arguments(digits_model, digits_data):
    x = {"x": digits_data.test.x[:8]}
    with pytest.raises(UsageError, match="taken by the reference"):
        compare_models(digits_model, {"fp32": digits_model}, x)
    with pytest.raises(UsageError, match="positive"):
        compare_models(digits_model, {}, x, batch_sizes=(0,))
    with pytest.raises(UsageError, match="non-empty"):
        compare_models(digits_model, {}, {"x": np.zeros((0, 64), np.float32)})
    with pytest.raises(UsageError, match="cannot compare a str"):
        compare_models(digits_model, {"bad": "model.onnx"}, x)
