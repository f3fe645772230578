"""The definition table and the backend protocol (issue 13, item 3).

Every indicator of the table has a kernel (block and prange), a NumPy/pandas reference, a
TA-Lib comparison and a CLI name; every backend of the registry passes one conformance test.
"""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from perfkit.errors import UsageError
from perfkit.indicators import compute, definitions, kernels, parallel
from perfkit.indicators.definitions import INDICATORS
from perfkit.indicators.specs import parse_spec

NAMES = sorted(INDICATORS)


def _data(n: int = 260, seed: int = 4) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    c = 100 * np.exp(np.cumsum(rng.normal(0, 0.01, n)))
    s = np.abs(rng.normal(0, 0.005, n))
    return {"close": c, "high": c * (1 + s), "low": c * (1 - s), "volume": rng.integers(1, 99, n)}


@pytest.mark.parametrize("name", NAMES)
def test_entry_has_kernels_reference_and_valid_example(name: str) -> None:
    ind = INDICATORS[name]
    assert callable(ind.block_kernel) and callable(ind.prange_kernel)
    assert ind.block_kernel is getattr(kernels, f"k_{ind.kernel}")
    spec = parse_spec(ind.example)  # the example a message shows is itself valid
    assert spec.name == name and len(spec.outputs) == len(ind.outputs)
    assert set(ind.inputs) <= {"close", "high", "low", "volume"} and ind.summary
    d = {k: v.astype(float) for k, v in _data().items()}
    got = compute(d, spec, backend="serial")
    ref = ind.reference({k: pd.DataFrame(v) for k, v in d.items()}, *spec.params)
    assert len(ref) == len(ind.outputs)
    for out_name, r in zip(spec.outputs, ref, strict=True):
        want = r.to_numpy()[:, 0]
        assert np.array_equal(np.isnan(got[out_name]), np.isnan(want)), out_name
        np.testing.assert_allclose(got[out_name], want, rtol=1e-8, atol=1e-8, err_msg=out_name)
    assert np.isnan(got[spec.outputs[0]][: spec.lookback]).all()
    assert not np.isnan(got[spec.outputs[0]][spec.lookback])


@pytest.mark.parametrize("name", NAMES)
def test_entry_matches_talib(name: str) -> None:
    talib = pytest.importorskip("talib")
    ind = INDICATORS[name]
    spec = parse_spec(ind.example)
    d = {k: v.astype(float) for k, v in _data().items()}
    p = [int(x) if float(x).is_integer() else float(x) for x in spec.params]
    want = ind.talib_call(talib, d, p)
    got = compute(d, spec, backend="serial")
    assert len(want) == len(spec.outputs)
    for out_name, w in zip(spec.outputs, want, strict=True):
        assert np.array_equal(np.isnan(got[out_name]), np.isnan(w)), out_name
        np.testing.assert_allclose(got[out_name], w, rtol=1e-9, atol=1e-9, err_msg=out_name)


def test_every_indicator_has_a_cli_name() -> None:
    res = subprocess.run(
        [sys.executable, "-m", "perfkit", "indicators", "--help"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert res.returncode == 0, res.stderr
    listed = " ".join(res.stdout.split())
    for name in NAMES:
        assert f" {name}" in listed, f"{name} missing from perfkit indicators --help"
    choices = "{" + ",".join(["auto", *parallel.BACKENDS]) + "}"
    assert choices in listed, "--backend choices differ from parallel.BACKENDS"


def test_no_integer_ids_and_one_source_of_names() -> None:
    assert not any(k.startswith("K_") for k in vars(kernels))  # no kernel ids to copy around
    assert definitions.known_indicators() == NAMES
    for name in NAMES:
        for extra in ("", ":x"):
            if extra:
                with pytest.raises(UsageError):
                    parse_spec(name + extra)


# ---- backend protocol: every registered backend passes the same conformance test ----------
@pytest.fixture(scope="module")
def panel() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(8)
    c = 100 * np.exp(np.cumsum(rng.normal(0, 0.01, (240, 19)), axis=0))
    c[:30, 2] = np.nan
    c[100:103, 5] = np.nan
    return {"close": c, "high": c * 1.01, "low": c * 0.99, "volume": rng.random(c.shape) * 9}


ALL = ",".join(INDICATORS[n].example for n in NAMES)


@pytest.fixture(scope="module")
def client():
    distributed = pytest.importorskip("distributed")
    with (
        distributed.LocalCluster(
            n_workers=1, threads_per_worker=2, processes=False, dashboard_address=None
        ) as cl,
        distributed.Client(cl) as c,
    ):
        yield c


@pytest.mark.xdist_group("numba_backend")  # see tests/conftest.py
@pytest.mark.parametrize("name", sorted(parallel.BACKENDS))
def test_backend_conformance(name: str, panel: dict, request: pytest.FixtureRequest) -> None:
    cls = parallel.BACKENDS[name]
    assert cls.name == name and issubclass(cls, parallel.Backend)
    for flag in ("parallel", "in_place", "supports_restart", "needs_cluster", "fixed_batches"):
        assert isinstance(getattr(cls, flag), bool)
    scheduler = request.getfixturevalue("client") if cls.needs_cluster else None
    serial = compute(panel, ALL, backend="serial")
    got, info = compute(
        panel, ALL, backend=name, n_jobs=2, batch_size=4, scheduler=scheduler, return_info=True
    )
    assert info.backend == name
    for out_name, want in serial.items():
        np.testing.assert_array_equal(got[out_name], want, err_msg=f"{name} {out_name}")
    bad = panel["close"].copy()
    bad[7, 11] = np.inf
    with pytest.raises(UsageError, match="infinite value at bar 7, instrument 11"):
        compute({**panel, "close": bad}, ALL, backend=name, n_jobs=2, scheduler=scheduler)


def test_unknown_backend_lists_the_registry() -> None:
    with pytest.raises(UsageError, match="use one of: auto, serial, threads"):
        parallel.get_backend("gpu")
