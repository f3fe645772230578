"""``perfkit report`` under hostile input: one odd results file never takes the page down.

Each example puts a valid results file and one mutated copy in a folder and runs the command
in-process: exit 0 with the odd file either shown or listed as skipped (on the page and on
stderr), every string escaped, inputs untouched; an output that is a folder or an input is exit 2
before any work.
"""

from __future__ import annotations

import json
from html.parser import HTMLParser
from pathlib import Path

import pytest
from _harness import (
    HOSTILE_SETTINGS,
    HOSTILE_STRINGS,
    assert_contract,
    json_mutations,
    run_main,
    snapshot,
)
from hypothesis import given
from hypothesis import strategies as st

GOLDEN = Path(__file__).resolve().parents[1] / "unit" / "bench" / "golden" / "bench_v1.json"
VALID = json.loads(GOLDEN.read_text())
STRING_FIELDS = (
    ("id",),
    ("case",),
    ("group",),
    ("description",),
    ("baseline_label",),
    ("candidate_label",),
    ("status",),
    ("error",),
    ("verdict", "detail"),
)


def _workspace(tmp: Path, odd: bytes) -> tuple[Path, Path, Path]:
    bench = tmp / "bench"
    bench.mkdir(parents=True, exist_ok=True)
    (bench / "good.json").write_text(json.dumps(VALID))
    (bench / "odd.json").write_bytes(odd)
    return bench, bench / "odd.json", tmp / "site" / "index.html"


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: set[str] = set()
        self.handlers: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.add(tag)
        self.handlers += [name for name, _ in attrs if name.startswith("on")]


def _assert_page_is_safe(page: str) -> None:
    # Only perfkit's own markup: no script, no image, no event handler attribute from the data.
    parsed = _Tags()
    parsed.feed(page)
    assert not parsed.tags & {"script", "img", "iframe", "object"}, parsed.tags
    assert parsed.handlers == []


def _report(tmp: Path, odd: bytes) -> None:
    bench, odd_path, out = _workspace(tmp, odd)
    before = snapshot([bench])
    result = run_main(["report", str(bench), "--out", str(out)], cwd=tmp)
    assert_contract(result, before, [out])
    assert result.rc == 0, result.err
    page = out.read_text(encoding="utf-8")
    _assert_page_is_safe(page)
    assert "fib_divisible_by_3[<wbr>n=100]" in page  # the good file is always shown
    if f"skipped {odd_path}" in result.err:
        assert "odd.json" in page.split("Skipped results files", 1)[1]


@HOSTILE_SETTINGS
@given(odd=json_mutations(VALID))
def test_one_mutated_results_file_never_breaks_the_page(tmp_path_factory, odd: bytes) -> None:
    _report(tmp_path_factory.mktemp("report"), odd)


@HOSTILE_SETTINGS
@given(field=st.sampled_from(STRING_FIELDS), text=st.sampled_from(HOSTILE_STRINGS))
def test_hostile_strings_in_any_field_are_escaped(tmp_path_factory, field, text: str) -> None:
    doc = json.loads(json.dumps(VALID))
    target = doc["results"][0]
    for key in field[:-1]:
        target = target[key]
    target[field[-1]] = text
    _report(tmp_path_factory.mktemp("report"), json.dumps(doc).encode())


def _with(change) -> bytes:  # noqa: ANN001
    doc = json.loads(json.dumps(VALID))
    change(doc["results"][0])
    return json.dumps(doc, allow_nan=True).encode()


ODD = {
    "string figure": lambda r: r["verdict"]["figures"].update(size_bytes="12 MB"),
    "empty sample times": lambda r: r["baseline"].update(times_s=[]),
    "all-zero sample times": lambda r: r["candidate"].update(times_s=[0.0, 0.0, 0.0]),
    "NaN sample time": lambda r: r["baseline"].update(times_s=[float("nan"), 1e-3]),
    "NaN peak": lambda r: r["candidate"].update(peak_bytes=float("nan")),
    "infinite agreement": lambda r: r["verdict"].update(agreement=float("inf")),
    "unknown status": lambda r: r.update(status="<b>great</b>"),
}


@pytest.mark.parametrize("what", sorted(ODD))
def test_each_odd_value_skips_the_file_and_lists_it(tmp_path: Path, what: str) -> None:
    bench, odd_path, out = _workspace(tmp_path, _with(ODD[what]))
    result = run_main(["report", str(bench), "--out", str(out)], cwd=tmp_path)
    assert result.rc == 0, result.err
    (line,) = [ln for ln in result.err.splitlines() if "skipped" in ln]
    assert line.startswith(f"perfkit: skipped {odd_path}: ")
    page = out.read_text()
    assert "Skipped results files" in page and "odd.json" in page


def test_a_math_text_case_id_is_shown_as_typed(tmp_path: Path) -> None:
    odd = _with(lambda r: r.update(id="$\\undefinedmacro{x}$", case="$\\undefinedmacro{x}$"))
    bench, _, out = _workspace(tmp_path, odd)
    result = run_main(["report", str(bench), "--out", str(out)], cwd=tmp_path)
    assert result.rc == 0 and "skipped" not in result.err, result.err
    assert "$\\undefinedmacro{x}$" in out.read_text()


@pytest.mark.parametrize("where", ["existing folder", "the input file", "inside the input"])
def test_out_that_is_a_folder_or_an_input_is_exit_2(tmp_path: Path, where: str) -> None:
    bench, odd_path, _ = _workspace(tmp_path, json.dumps(VALID).encode())
    (tmp_path / "site").mkdir()
    (tmp_path / "site" / "keep.txt").write_text("mine")
    out = {
        "existing folder": tmp_path / "site",
        "the input file": odd_path,
        "inside the input": bench / "index.html",
    }[where]
    before = snapshot([bench, tmp_path / "site"])
    result = run_main(["report", str(bench), "--out", str(out)], cwd=tmp_path)
    assert_contract(result, before, [] if out.is_dir() else [out])
    assert result.rc == 2 and "perfkit: error:" in result.err
    assert len(result.err.strip().splitlines()) == 1
