from __future__ import annotations

import json
from pathlib import Path

import pytest

from perfkit.bench.results import BenchRun
from perfkit.render import bench_table

GOLDEN = Path(__file__).parent / "golden"


@pytest.fixture
def run() -> BenchRun:
    return BenchRun.load(GOLDEN / "bench_v1.json")


def test_markdown_matches_golden(run: BenchRun) -> None:
    assert bench_table.to_markdown(run) == (GOLDEN / "bench_v1.md").read_text()


def test_json_is_the_full_document(run: BenchRun) -> None:
    assert json.loads(bench_table.to_json(run)) == run.to_dict()


def test_rich_table_has_a_row_per_result(run: BenchRun) -> None:
    from rich.console import Console

    table = bench_table.to_rich_table(run)
    assert table.row_count == 1
    console = Console(width=200, record=True)
    console.print(table)
    text = console.export_text()
    assert "fib_divisible_by_3" in text and "PASSED (agreement 1)" in text and "0.95×" in text


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(2.5, "2.5 s"), (0.0123, "12.3 ms"), (4.2e-6, "4.2 µs"), (8.5e-8, "85 ns"), (None, "—")],
)
def test_fmt_seconds(seconds, text) -> None:
    assert bench_table.fmt_seconds(seconds) == text


@pytest.mark.parametrize(
    ("n", "text"),
    [(512, "512 B"), (2048, "2.0 KiB"), (3 * 2**20, "3.0 MiB"), (5 * 2**30, "5.0 GiB")],
)
def test_fmt_bytes(n, text) -> None:
    assert bench_table.fmt_bytes(n) == text


def test_markdown_escapes_pipes(run: BenchRun) -> None:
    from dataclasses import replace

    r = replace(run.results[0], error=None, verdict=None, status="error")
    r = replace(r, error="a | b")
    md = bench_table.to_markdown(run.with_results((r,)))
    assert "a \\| b" in md
