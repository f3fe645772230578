"""examples/compress_minilm_benchmark.py: the agreement/speed-up frontier and target marks."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[3] / "examples" / "compress_minilm_benchmark.py"


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("compress_minilm_benchmark", BENCH)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_frontier_keeps_only_undominated_int8_forms_fastest_first(bench):
    forms = {
        "ort_dynamic_int8": {"speedup": 2.8, "agreement": 0.89},
        "ort_dynamic_uint8": {"speedup": 2.8, "agreement": 0.91},  # dominates the int8 one
        "ort_ffn_uint8": {"speedup": 2.1, "agreement": 0.95},
        "ort_retrieval_int8": {"speedup": 1.7, "agreement": 0.98},
        "ort_fp32_attention_uint8": {"speedup": 1.6, "agreement": 0.97},  # dominated
        "torch_dynamic_int8": {"speedup": 2.0, "agreement": float("nan")},  # no figure: left out
        "student": {"speedup": 9.0, "agreement": 0.5},  # not an int8 form of the teacher
    }
    assert bench.frontier(forms) == ["ort_dynamic_uint8", "ort_ffn_uint8", "ort_retrieval_int8"]
    assert bench.frontier({}) == []


def test_a_target_is_never_met_on_a_loaded_machine(bench):
    assert bench.verdict(True, loaded=True) == "not judged (load > 0.5)"
    assert bench.verdict(True, loaded=False) == "met"
    assert bench.verdict(False, loaded=False) == "**NOT met**"
    assert bench.verdict(None, loaded=False) == "n/a"


def test_skipped_forms_are_marked_not_measured_never_met(bench):
    res = {
        "model": "minilm",
        "distill_s": None,
        "forms": {"ort_dynamic_int8": {"label": "int8", "speedup": 2.5, "cosine": 0.993,
                                       "agreement": 0.9}},
    }  # fmt: skip
    rows = bench.targets(res)
    skipped = [r for r in rows if r["figure"].startswith("not measured")]
    assert {r["target"] for r in skipped} == {
        "targets of ort_retrieval_int8",
        "targets of ort_static_int8",
        "targets of student_int8",
        "targets of student_pruned_int8",
    }
    assert all(r["met"] is None for r in skipped)
    assert any(r["met"] is False and "0.99" in r["target"] for r in rows)  # agreement 0.9


def test_unknown_skip_is_a_usage_error_before_any_work(bench, capsys, tmp_path):
    out = tmp_path / "r.md"
    assert bench.main(["--skip", "ort_dynamic_int8,bogus", "--out", str(out)]) == 2
    assert "bogus" in capsys.readouterr().err and not out.exists()


def test_trim_to_longest_keeps_every_real_token_and_drops_only_padding(bench):
    import numpy as np

    mask = np.array([[1, 1, 1, 0, 0, 0], [1, 1, 0, 0, 0, 0]])
    ids = np.array([[5, 6, 7, 0, 0, 0], [8, 9, 0, 0, 0, 0]])
    other = np.array([1, 2])  # not shaped like the mask: left alone
    out = bench.trim_to_longest({"input_ids": ids, "attention_mask": mask, "other": other})
    assert out["input_ids"].tolist() == [[5, 6, 7], [8, 9, 0]]
    assert out["attention_mask"].tolist() == [[1, 1, 1], [1, 1, 0]]
    assert out["other"] is other
    empty = bench.trim_to_longest({"input_ids": ids, "attention_mask": np.zeros_like(mask)})
    assert empty["input_ids"].shape == (2, 1)  # never a zero-length batch


def test_op_share_table_rows_and_other_bucket(bench):
    res = {
        "tokens": {"padded": 128},
        "forms": {"a": {"label": "A"}, "b": {"label": "B"}},
        "op_shares": {
            "a": {"MatMul": 0.6, "Attention": 0.395, "Tiny": 0.005},
            "b": {"DynamicQuantizeMatMul": 0.5, "QAttention": 0.492, "Tiny": 0.008},
            "c": {},  # a form without a profile is left out
        },
    }
    lines = bench.op_share_lines(res)
    table = [ln for ln in lines if ln.startswith("| ")]
    assert table[0] == "| op type | A | B |"
    rows = {ln.split(" | ")[0][2:]: ln for ln in table[1:]}
    assert set(rows) == {"MatMul", "Attention", "DynamicQuantizeMatMul", "QAttention", "other"}
    assert rows["MatMul"] == "| MatMul | 60.0% | 0.0% |"
    assert rows["other"] == "| other | 0.5% | 0.8% |"
    assert bench.op_share_lines({"forms": {}}) == []


def test_each_student_recipe_is_judged_on_all_four_targets(bench):
    res = {
        "model": "minilm",
        "distill_s": {"student": 529.0, "student_pruned": 640.0},
        "forms": {
            "student_int8": {"label": "s", "speedup": 3.1, "cosine": 0.905, "recall_ratio": 1.02},
            "student_pruned_int8": {
                "label": "p", "speedup": 4.4, "cosine": 0.89, "recall_ratio": 0.969,
            },
        },
    }  # fmt: skip
    rows = {r["target"]: r["met"] for r in bench.targets(res)}
    assert rows["student + int8: >= 4x torch fp32 (b32)"] is False
    assert rows["student + int8: cosine >= 0.90 on unlike held-out text"] is True
    assert rows["student + int8: distilled in <= 10 min"] is True
    assert rows["pruned student + int8: >= 4x torch fp32 (b32)"] is True
    assert rows["pruned student + int8: cosine >= 0.90 on unlike held-out text"] is False
    assert rows["pruned student + int8: recall@1 >= 97% of the teacher's"] is False
    assert rows["pruned student + int8: distilled in <= 10 min"] is False
    assert rows["a student worth shipping: all four student targets met by one recipe"] is False
    res["forms"]["student_pruned_int8"].update(cosine=0.91, recall_ratio=0.98)
    res["distill_s"]["student_pruned"] = 560.0
    rows = {r["target"]: (r["figure"], r["met"]) for r in bench.targets(res)}
    assert rows["a student worth shipping: all four student targets met by one recipe"] == (
        "student_pruned_int8",
        True,
    )
