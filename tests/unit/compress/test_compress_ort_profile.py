"""op_time_shares: ONNX Runtime kernel time split by op type (where int8's time goes)."""

from __future__ import annotations

import math

import pytest

from perfkit.compress import export_onnx, quantize_dynamic
from perfkit.compress._ort import op_time_shares
from perfkit.errors import UsageError


def _check_shares(shares: dict[str, float]) -> None:
    assert shares, "the profiler recorded no kernel"
    assert math.isclose(sum(shares.values()), 1.0, rel_tol=1e-9)
    values = list(shares.values())
    assert all(v >= 0 for v in values)
    assert values == sorted(values, reverse=True)


def test_fp32_and_int8_profiles_name_their_own_kernels(bert, tokens):
    fp32 = export_onnx(bert, tokens)
    int8 = quantize_dynamic(fp32, tokens)
    f, q = op_time_shares(fp32, tokens, runs=1), op_time_shares(int8, tokens, runs=2)
    _check_shares(f)
    _check_shares(q)
    assert not any(op.startswith(("DynamicQuantize", "Q", "MatMulInteger")) for op in f)
    # Every weight GEMM of the int8 model runs as an integer kernel: no float MatMul is left.
    assert any(op in q for op in ("DynamicQuantizeMatMul", "MatMulInteger", "QAttention"))
    assert "MatMul" not in q


def test_runs_below_one_is_a_usage_error(bert, tokens):
    with pytest.raises(UsageError, match="runs must be at least 1"):
        op_time_shares(export_onnx(bert, tokens), tokens, runs=0)
