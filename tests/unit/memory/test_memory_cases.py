"""The memory cases' checks are real: they fail when perfkit loses a value or copies."""

from __future__ import annotations

import numpy as np
import pandas as pd

from perfkit.bench import get
from perfkit.memory.cases import (
    DowncastVsReduceMemUsage,
    FancyIndexVsView,
    make_mixed_frame,
    reduce_mem_usage,
    values_lost,
)


def test_cases_are_registered_in_the_memory_group():
    for name in (
        "downcast_vs_reduce_mem_usage",
        "downcast_vs_to_numeric",
        "downcast_feature_matrix",
        "no_copy_fancy_index_vs_view",
        "downcast_torch_tensor",
    ):
        assert get(name).group == "memory"
    assert get("downcast_torch_tensor").devices == ("cpu", "cuda")
    assert get("downcast_vs_reduce_mem_usage").params == {"rows": [10_000_000]}


def test_values_lost_counts_moves_nans_and_signs():
    a = pd.DataFrame({"x": [1.0, np.nan, -0.0, 12345.6789]})
    b = pd.DataFrame({"x": [1.0, 2.0, 0.0, 12344.0]})
    assert values_lost(a, b) == {"x": 3}
    assert values_lost(a, a) == {"x": 0}


def test_frame_check_fails_when_perfkit_loses_a_value():
    case = DowncastVsReduceMemUsage()
    df = make_mixed_frame(2_000)
    base = case.baseline(df)
    good = case.candidate(df)
    verdict = case.check(base, good)
    assert verdict.ok and verdict.figures["candidate_values_lost"] == 0
    assert verdict.figures["baseline_values_lost"] > 0
    lossy = good[1].copy()
    lossy["price"] = lossy["price"].astype(np.float16)
    bad = case.check(base, (df, lossy))
    assert not bad.ok and bad.figures["candidate_values_lost"] > 0
    assert bad.detail.startswith("FAILED")


def test_reduce_mem_usage_is_the_faithful_snippet():
    df = pd.DataFrame({"i": [-128, 127], "f": [1e-8, 12345.6789]})
    out = reduce_mem_usage(df.copy(), verbose=False)
    assert out["i"].dtype == np.int16  # misses the int8 endpoints
    assert out["f"].dtype == np.float16 and out["f"][0] == 0.0  # loses small values


def test_fancy_index_check_detects_a_copy_posing_as_a_view():
    case = FancyIndexVsView()
    inp = case.make_inputs({"rows": 10_000})
    assert case.check(case.baseline(inp), case.candidate(inp)).ok
    fake_view = (inp, inp["x"][inp["lo"] : inp["hi"]].copy())
    assert not case.check(case.baseline(inp), fake_view).ok
