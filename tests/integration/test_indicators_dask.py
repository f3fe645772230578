"""The dask backend on a real LocalCluster: same results as serial; a dying worker is an error."""

from __future__ import annotations

import functools
import os
import sys
from pathlib import Path

import numpy as np
import pytest

distributed = pytest.importorskip("distributed")
import dask  # noqa: E402

from perfkit.errors import PerfkitError  # noqa: E402
from perfkit.indicators import compute, parallel  # noqa: E402

SPEC = "sma:10,ema:8,rsi:14,macd:12,26,9,atr:14,obv,stoch:5,3,3"
pytestmark = pytest.mark.slow


def _panel() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(21)
    close = 100 * np.exp(np.cumsum(rng.normal(0, 0.01, (200, 23)), axis=0))
    close[:9, 4] = np.nan
    return {
        "close": close,
        "high": close * 1.01,
        "low": close * 0.99,
        "volume": rng.integers(1, 100, close.shape).astype(float),
    }


@pytest.fixture(scope="module")
def cluster():
    # the serial run first, so the workers load the kernels from numba's cache
    compute(_panel(), SPEC, backend="serial")
    with dask.config.set({"distributed.scheduler.allowed-failures": 1}):
        cl = distributed.LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=True,
            host="127.0.0.1",
            dashboard_address=None,
        )
        try:
            yield cl
        finally:
            cl.close()


def test_dask_results_equal_serial(cluster) -> None:
    panel = _panel()
    serial = compute(panel, SPEC, backend="serial")
    with distributed.Client(cluster) as client:
        out, info = compute(
            panel, SPEC, backend="dask", scheduler=client, batch_size=5, return_info=True
        )
    assert info.backend == "dask" and info.n_batches == 5
    for name in serial:
        np.testing.assert_array_equal(out[name], serial[name], err_msg=name)
    # an address string works too, and auto picks dask when a scheduler is given
    out2, info2 = compute(panel, "sma:10", scheduler=cluster.scheduler_address, return_info=True)
    assert info2.backend == "dask"
    np.testing.assert_array_equal(out2["sma_10"], serial["sma_10"])


def _die_always(*args, **kwargs):
    os._exit(17)


def _die_once(marker_path, fields, specs, restart, tile):
    marker = Path(marker_path)
    if not marker.exists():
        marker.write_text("died once")
        os._exit(17)
    return parallel._batch_task(fields, specs, restart, tile)


@pytest.fixture
def by_value():
    import cloudpickle

    mod = sys.modules[__name__]
    cloudpickle.register_pickle_by_value(mod)
    yield
    cloudpickle.unregister_pickle_by_value(mod)


def test_worker_death_is_retried_then_reported(cluster, by_value, monkeypatch, tmp_path) -> None:
    panel = _panel()
    serial = compute(panel, "sma:10", backend="serial")
    marker = tmp_path / "died"
    with distributed.Client(cluster) as client:
        # a worker dies once: dask re-runs the task elsewhere and the result is complete
        monkeypatch.setattr(parallel, "_batch_task", functools.partial(_die_once, str(marker)))
        out = compute(panel, "sma:10", backend="dask", scheduler=client, batch_size=23)
        assert marker.exists()
        np.testing.assert_array_equal(out["sma_10"], serial["sma_10"])
        client.wait_for_workers(2, timeout=180)
        # workers keep dying: a clear error, never a partial result
        monkeypatch.setattr(parallel, "_batch_task", _die_always)
        with pytest.raises(PerfkitError, match="dask cluster failed .* nothing was returned"):
            compute(panel, "sma:10", backend="dask", scheduler=client, batch_size=23)
