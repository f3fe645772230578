"""Notebook display: every result model has a one-line repr and an escaped HTML view."""

from __future__ import annotations

import io
import webbrowser
from pathlib import Path

import numpy as np
import pytest

import perfkit
from perfkit.bench.case import Case, Verdict
from perfkit.bench.runner import run_point
from perfkit.display import repr_html, short_repr

HOSTILE = "<script>alert('x')</script>"


def _work(n: int) -> float:
    total = 0.0
    for i in range(n):
        total += i**0.5
    return total


def _profile() -> perfkit.Profile:
    # 1 ms sampling: at the 10 ms default a loaded CI machine could leave _work with no sample
    with perfkit.profile(hints=False, interval_s=0.001) as p:
        _work(3_000_000)
    assert p.result is not None and p.result.sample_count > 0
    return p.result


def test_profile_repr_is_one_line_and_html_is_the_escaped_report() -> None:
    prof = _profile()
    text = repr(prof)
    assert text.startswith("<Profile ") and "\n" not in text and len(text) < 300
    html = prof._repr_html_()
    assert html.startswith("<iframe sandbox")
    assert "_work" in html


def test_profile_print_and_open_in_browser(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    prof = _profile()
    buf = io.StringIO()
    prof.print(file=buf)
    assert "_work" in buf.getvalue()
    opened: list[str] = []
    monkeypatch.setattr(webbrowser, "open", lambda uri: opened.append(uri) or True)
    path = prof.open_in_browser(str(tmp_path / "p.html"))
    assert Path(path).read_text().lower().startswith("<!doctype html")
    assert opened == [(tmp_path / "p.html").resolve().as_uri()]


def test_downcast_report_display() -> None:
    _, report = perfkit.downcast(np.arange(1000.0))
    assert short_repr(report).startswith("<DowncastReport ")
    assert repr(report) == short_repr(report)
    assert repr_html(report).startswith("<iframe sandbox")


def test_case_result_and_run_display_escape_program_strings() -> None:
    case = Case(
        name="shown",
        group="g",
        make_inputs=lambda p: list(range(1000)),
        baseline=lambda xs: sum(xs),
        candidate=lambda xs: sum(xs) + 1,
        check=lambda b, c: Verdict(b == c, HOSTILE),
    )
    result = run_point(case, {}, "cpu", 5)
    assert result.status == "failed"
    assert repr(result).startswith("<CaseResult shown: failed")
    html = result._repr_html_()
    assert HOSTILE not in html and "&lt;script&gt;" in html
    assert "FAILED" in html


def test_compute_info_display() -> None:
    from perfkit.indicators import compute

    close = np.cumsum(np.ones((300, 3)), axis=0)
    _, info = compute({"close": close}, "sma:5", return_info=True)
    assert repr(info).startswith("<ComputeInfo ")
    assert "<table" in info._repr_html_()


def test_a_repr_never_raises() -> None:
    class Broken:
        pass

    assert short_repr(Broken()).startswith("<Broken")
