from __future__ import annotations

import numpy as np
import pytest

from perfkit.bench import timer


class FakeClock:
    """A perf_counter that advances only when the timed function says so."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> FakeClock:
    c = FakeClock()
    monkeypatch.setattr(timer.time, "perf_counter", c)
    return c


def test_calibrate_batches_calls_shorter_than_the_minimum_sample(clock: FakeClock) -> None:
    def fast(_):
        clock.now += 1e-6  # 1 µs per call

    n = timer.calibrate(fast, None)
    assert n * 1e-6 >= timer.MIN_SAMPLE_S
    assert n <= 4 * timer.MIN_SAMPLE_S / 1e-6


def test_calibrate_keeps_slow_calls_single(clock: FakeClock) -> None:
    def slow(_):
        clock.now += 0.5

    assert timer.calibrate(slow, None) == 1


def test_time_pair_reports_per_call_times_and_interleaves(clock: FakeClock) -> None:
    order: list[str] = []

    def base(_):
        order.append("b")
        clock.now += 0.010

    def cand(_):
        order.append("c")
        clock.now += 0.002

    b, c = timer.time_pair(base, cand, None, repeat=5, warmup=1, memory=False)
    assert b.times_s == pytest.approx((0.010,) * 5)
    assert c.times_s == pytest.approx((0.002,) * 5)
    assert b.median_s / c.median_s == pytest.approx(5.0)
    assert b.peak_bytes is None
    # After warm-up and calibration, samples alternate b, c, b, c...
    timed = order[-10:]
    assert timed == ["b", "c"] * 5


def test_time_pair_refuses_fewer_than_five_repeats() -> None:
    with pytest.raises(ValueError, match="at least 5"):
        timer.time_pair(len, len, [], repeat=3)


def test_timing_statistics() -> None:
    t = timer.Timing((3.0, 1.0, 2.0, 5.0, 4.0))
    assert (t.min_s, t.median_s, t.max_s) == (1.0, 3.0, 5.0)
    assert timer.Timing.from_dict(t.to_dict()) == t


def test_peak_memory_sees_a_numpy_buffer() -> None:
    n_bytes = 8 * 1_000_000
    peak = timer.peak_memory(lambda _: np.ones(n_bytes // 8), None)
    assert n_bytes <= peak < n_bytes * 1.1


def test_peak_memory_of_a_view_is_small() -> None:
    a = np.ones(1_000_000)
    assert timer.peak_memory(lambda x: x[10:], a) < 10_000


def test_peak_memory_counts_freed_temporaries() -> None:
    def make_and_drop(_):
        tmp = np.ones(1_000_000)
        del tmp
        return 0

    assert timer.peak_memory(make_and_drop, None) >= 8_000_000


class FakeCuda:
    """Stands in for torch.cuda: counts synchronisations, reports a planted device peak."""

    def __init__(self) -> None:
        self.syncs = 0
        self.allocated = 1000
        self.peak = 1000

    def synchronize(self) -> None:
        self.syncs += 1

    def reset_peak_memory_stats(self) -> None:
        self.peak = self.allocated

    def memory_allocated(self) -> int:
        return self.allocated

    def max_memory_allocated(self) -> int:
        return self.peak


@pytest.fixture
def fake_torch(monkeypatch: pytest.MonkeyPatch) -> FakeCuda:
    import sys
    import types

    cuda = FakeCuda()
    monkeypatch.setitem(sys.modules, "torch", types.SimpleNamespace(cuda=cuda))
    return cuda


def test_cuda_samples_are_bracketed_by_synchronisation(fake_torch: FakeCuda, clock) -> None:
    def side(_):
        clock.now += 0.01

    before = fake_torch.syncs
    timer.time_pair(side, side, None, repeat=5, warmup=0, device="cuda", memory=False)
    # calibration (1 sample per side) + 5 samples per side, each with a sync before and after
    assert fake_torch.syncs - before >= 2 * (2 + 10)


def test_cuda_peak_is_device_peak_plus_host_peak(fake_torch: FakeCuda) -> None:
    def work(_):
        fake_torch.peak = fake_torch.allocated + 5_000_000  # 5 MB on the device
        return np.ones(1_000_000)  # 8 MB on the host

    peak = timer.peak_memory(work, None, device="cuda")
    assert 13_000_000 <= peak < 13_500_000


# --- peak memory per allocator, each with a known size (within 5%) -------------------------------


def test_numpy_peak_is_80_mb_from_tracemalloc() -> None:
    mem = timer.measure_peak(lambda _: np.ones(10_000_000), None)
    assert mem.by_allocator["tracemalloc"] == pytest.approx(80_000_000, rel=0.05)
    assert "tracemalloc" in mem.seen and "torch_cpu" not in mem.seen
    assert mem.total_bytes == pytest.approx(80_000_000, rel=0.05)


def test_torch_cpu_tensor_peak_is_40_mb() -> None:
    torch = pytest.importorskip("torch")
    mem = timer.measure_peak(lambda _: torch.ones(10_000_000), None)
    assert mem.by_allocator["torch_cpu"] == pytest.approx(40_000_000, rel=0.05)
    assert mem.seen == ("tracemalloc", "torch_cpu") or mem.seen == ("torch_cpu",)
    assert timer.peak_memory(lambda _: torch.ones(10_000_000), None) == pytest.approx(
        40_000_000, rel=0.05
    )


def test_torch_peak_replays_frees_in_order() -> None:
    torch = pytest.importorskip("torch")

    def two_steps(_):
        a = torch.ones(10_000_000)  # 40 MB
        del a
        b = torch.ones(5_000_000)  # 20 MB, after the 40 MB were freed
        return b

    mem = timer.measure_peak(two_steps, None)
    assert mem.by_allocator["torch_cpu"] == pytest.approx(40_000_000, rel=0.05)


def test_numpy_and_torch_peaks_add_up() -> None:
    torch = pytest.importorskip("torch")

    def both(_):
        return np.ones(10_000_000), torch.ones(10_000_000)

    mem = timer.measure_peak(both, None)
    assert mem.total_bytes == pytest.approx(120_000_000, rel=0.05)


@pytest.mark.gpu
def test_cuda_peak_is_40_mb() -> None:
    torch = pytest.importorskip("torch")
    if not torch.cuda.is_available():
        pytest.skip("no CUDA device on this machine")
    mem = timer.measure_peak(lambda _: torch.ones(10_000_000, device="cuda"), None, device="cuda")
    assert mem.by_allocator["cuda"] == pytest.approx(40_000_000, rel=0.05)
    assert "cuda" in mem.seen


def test_rss_high_water_mark_sees_a_fresh_buffer() -> None:
    if timer.reset_rss_hwm() is None:
        pytest.skip("the RSS high-water mark cannot be reset on this platform")
    # 200 MB, written: above glibc's largest mmap threshold, so it is fresh memory every call.
    peak = timer.rss_peak(lambda _: np.ones(25_000_000), None)
    assert peak == pytest.approx(200_000_000, rel=0.05)


def test_time_pair_records_memory_per_allocator() -> None:
    b, c = timer.time_pair(lambda _: np.ones(1_000_000), lambda _: None, None, warmup=0)
    assert b.memory is not None and c.memory is not None
    assert b.peak_bytes == b.memory.total_bytes == pytest.approx(8_000_000, rel=0.05)
    assert c.peak_bytes is not None and c.peak_bytes < 100_000
    assert timer.Timing.from_dict(b.to_dict()) == b
