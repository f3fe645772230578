from __future__ import annotations

import json
from html.parser import HTMLParser
from pathlib import Path

import pytest

from perfkit.bench.case import Verdict
from perfkit.bench.dashboard import load_runs, write_dashboard
from perfkit.bench.results import BenchRun, CaseResult
from perfkit.bench.timer import Timing
from perfkit.errors import UsageError

HOSTILE = "<script>alert('x')</script>"


def _run(when: str, device: str, speed: float, name: str = "small_sequence_literal") -> BenchRun:
    r = CaseResult(
        case=name,
        id=f"{name}[n=1]",
        group="playbook",
        params={"n": 1},
        device=device,
        status="passed",
        baseline=Timing((speed,) * 5, 1, 4_000_000),
        candidate=Timing((1.0,) * 5, 1, 1_000_000),
        verdict=Verdict(True, HOSTILE, max_abs_error=0.0, figures={"size_bytes": 2048.0}),
        description=f"desc {HOSTILE}",
    )
    gpu = {"name": "NVIDIA H100 <b>"} if device == "cuda" else None
    return BenchRun(
        (r,),
        when,
        1.0,
        {"cpu_model": HOSTILE},
        {"id": "abcdef1234"},
        {"device": device},
        gpu_info=gpu,
    )


class Collect(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.script_tags = 0

    def handle_starttag(self, tag, attrs) -> None:
        self.tags.append(tag)
        if tag == "script":
            self.script_tags += 1


@pytest.fixture
def results_dir(tmp_path: Path) -> Path:
    d = tmp_path / "bench"
    _run("2026-01-01T00:00:00Z", "cpu", 2.0).save(d / "a.json")
    _run("2026-01-02T00:00:00Z", "cpu", 3.0).save(d / "b.json")
    _run("2026-01-02T00:00:00Z", "cuda", 9.0).save(d / "c.json")
    (d / "corrupt.json").write_text("{")
    (d / "newer.json").write_text(json.dumps({"kind": "perfkit.bench", "schema_version": 42}))
    return d


def test_loads_good_files_in_time_order_and_lists_the_bad(results_dir: Path) -> None:
    loaded = load_runs([results_dir])
    assert [r.path.name for r in loaded.runs] == ["a.json", "b.json", "c.json"]
    assert sorted(p.name for p, _ in loaded.skipped) == ["corrupt.json", "newer.json"]


def test_page_escapes_everything_and_shows_cpu_gpu_and_history(
    results_dir: Path, tmp_path: Path
) -> None:
    out, loaded = write_dashboard([results_dir], tmp_path / "index.html")
    page = out.read_text()
    assert HOSTILE not in page and "&lt;script&gt;" in page
    assert "NVIDIA H100 &lt;b&gt;" in page
    parser = Collect()
    parser.feed(page)
    assert parser.script_tags == 0
    assert parser.tags.count("svg") >= 1  # the CPU history line (two runs)
    assert "3.00×" in page and "9.00×" in page  # latest CPU and GPU speed-ups side by side
    assert "corrupt.json" in page and "newer than this perfkit reads" in page
    assert "size bytes 2,048" in page


def test_empty_folder_builds_a_page_saying_so(tmp_path: Path) -> None:
    (tmp_path / "bench").mkdir()
    out, _ = write_dashboard([tmp_path / "bench"], tmp_path / "index.html")
    assert "No results yet" in out.read_text()


def test_missing_results_path_is_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="does not exist"):
        write_dashboard([tmp_path / "nope"], tmp_path / "index.html")


def test_files_from_another_case_set_are_skipped_with_the_reason(tmp_path: Path) -> None:
    d = tmp_path / "bench"
    _run("2026-01-01T00:00:00Z", "cpu", 2.0, name="mine").save(d / "mine.json")
    _run("2026-01-01T00:00:00Z", "cpu", 2.0, name="theirs").save(d / "theirs.json")
    loaded = load_runs([d], known_cases={"mine"})
    assert [r.path.name for r in loaded.runs] == ["mine.json"]
    ((path, why),) = loaded.skipped
    assert path.name == "theirs.json" and "another case set" in why and "theirs" in why


def test_an_odd_figure_skips_only_its_file_and_names_case_and_field(tmp_path: Path) -> None:
    d = tmp_path / "bench"
    _run("2026-01-01T00:00:00Z", "cpu", 2.0).save(d / "good.json")
    doc = json.loads((d / "good.json").read_text())
    doc["results"][0]["verdict"]["figures"]["size_bytes"] = "big"
    (d / "odd.json").write_text(json.dumps(doc))
    loaded = load_runs([d])
    assert [r.path.name for r in loaded.runs] == ["good.json"]
    ((path, why),) = loaded.skipped
    assert path.name == "odd.json" and "size_bytes" in why and "'big'" in why


def test_out_over_an_input_or_an_existing_folder_is_refused_before_work(
    results_dir: Path, tmp_path: Path
) -> None:
    before = (results_dir / "a.json").read_bytes()
    with pytest.raises(UsageError, match="is the input"):
        write_dashboard([results_dir / "a.json"], results_dir / "a.json")
    assert (results_dir / "a.json").read_bytes() == before
    (tmp_path / "site").mkdir()
    with pytest.raises(UsageError, match="existing directory"):
        write_dashboard([results_dir], tmp_path / "site")
    with pytest.raises(UsageError, match="inside the input folder"):
        write_dashboard([results_dir], results_dir / "index.html")
    assert not (results_dir / "index.html").exists()


def test_a_folder_or_a_fifo_named_json_is_skipped_not_read(tmp_path: Path) -> None:
    import os

    d = tmp_path / "bench"
    _run("2026-01-01T00:00:00Z", "cpu", 2.0).save(d / "good.json")
    (d / "dir.json").mkdir()
    os.mkfifo(d / "pipe.json")  # reading it would block forever
    loaded = load_runs([d])
    assert [r.path.name for r in loaded.runs] == ["good.json"]
    assert sorted((p.name, why.endswith("not a regular file")) for p, why in loaded.skipped) == [
        ("dir.json", True),
        ("pipe.json", True),
    ]
