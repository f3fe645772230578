"""Renderers: golden outputs, schema validity, and escaping of the program's strings."""

from __future__ import annotations

import json
import marshal
import pstats
from html.parser import HTMLParser
from pathlib import Path

import pytest

from perfkit.render.base import DEFAULT_FORMATS, get_renderer, parse_formats, write_outputs
from perfkit.render.html import HtmlRenderer, memory_svg
from perfkit.render.json_out import JsonRenderer
from perfkit.render.pstats_out import PstatsRenderer, to_stats
from perfkit.render.speedscope import SpeedscopeRenderer
from perfkit.render.terminal import TerminalRenderer, print_summary

#: The same strings as the sample profile of conftest.py uses.
HOSTILE = "<script>alert('x')</script>"
HOSTILE_SOURCE = 'if a < b and "</td>" in s: total += 1  # & more'

GOLDEN = Path(__file__).parent / "golden"
jsonschema = pytest.importorskip("jsonschema")


def test_terminal_matches_golden(profile):
    assert TerminalRenderer().render(profile) == (GOLDEN / "summary.txt").read_text()


def test_html_matches_golden(profile):
    assert HtmlRenderer().render(profile) == (GOLDEN / "index.html").read_text()


def test_speedscope_matches_golden(profile):
    assert SpeedscopeRenderer().render(profile) == (GOLDEN / "speedscope.json").read_text()


SPEEDSCOPE_SCHEMA = Path(__file__).parent / "speedscope_file_format.schema.json"


def check_speedscope(doc: dict) -> None:
    """What speedscope's importer needs beyond the schema: events nested and never back in time."""
    jsonschema.validate(doc, json.loads(SPEEDSCOPE_SCHEMA.read_text()))
    assert doc["profiles"], "speedscope hangs on an empty profile list"
    n_frames = len(doc["shared"]["frames"])
    for prof in doc["profiles"]:
        assert prof["type"] == "evented" and prof["events"]
        open_frames: list[int] = []
        last = prof["startValue"]
        for ev in prof["events"]:
            assert 0 <= ev["frame"] < n_frames
            assert ev["at"] >= last
            last = ev["at"]
            if ev["type"] == "O":
                open_frames.append(ev["frame"])
            else:
                assert open_frames.pop() == ev["frame"]
        assert not open_frames
        assert prof["endValue"] >= last


def test_speedscope_validates_against_file_format_schema(profile):
    doc = json.loads(SpeedscopeRenderer().render(profile))
    check_speedscope(doc)
    events = doc["profiles"][0]["events"]
    # the thread's whole time is laid out: the last close is at the thread's wall time
    assert events[-1]["at"] == pytest.approx(1.0)
    names = [doc["shared"]["frames"][e["frame"]]["name"] for e in events if e["type"] == "O"]
    # siblings keep the tree's (first-seen, i.e. time) order, not the order by weight
    assert names == ["<module>", "main", HOSTILE, "helper"]


def test_speedscope_of_a_profile_without_samples_is_not_empty(profile):
    from dataclasses import replace

    doc = json.loads(SpeedscopeRenderer().render(replace(profile, threads=(), wall_s=0.004)))
    check_speedscope(doc)
    assert doc["profiles"][0]["events"][-1]["at"] == pytest.approx(0.004)


class _Collector(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)

    def handle_data(self, data):
        self.text.append(data)


def test_html_escapes_hostile_function_name_and_source(profile):
    page = HtmlRenderer().render(profile)
    parser = _Collector()
    parser.feed(page)
    assert "script" not in parser.tags  # the hostile name never became an element
    text = "".join(parser.text)
    assert HOSTILE in text  # shown, as text
    assert HOSTILE_SOURCE in text
    assert HOSTILE not in page and HOSTILE_SOURCE not in page  # raw forms never in the markup
    assert "&lt;script&gt;" in page
    assert "<details" in page and "<svg" in page  # collapsible tree and memory plot
    assert "http://" not in page.replace('xmlns="http://www.w3.org/2000/svg"', "")  # offline


def test_terminal_shows_hostile_strings_verbatim(profile):
    text = TerminalRenderer().render(profile)
    assert HOSTILE in text and "[numba-loop]" in text


def test_print_summary_plain_when_not_a_terminal(profile, capsys):
    import io

    buf = io.StringIO()
    print_summary(profile, file=buf, saved_to="x/index.html")
    assert buf.getvalue().startswith("perfkit profile app.py --epochs 3")
    assert "report: x/index.html" in buf.getvalue()


def test_json_renderer_validates_against_profile_schema(profile):
    schema_path = Path(__file__).parents[3] / "perfkit" / "profiling" / "profile.schema.json"
    jsonschema.validate(
        json.loads(JsonRenderer().render(profile)), json.loads(schema_path.read_text())
    )


def test_pstats_loads_with_pstats(profile, tmp_path):
    path = tmp_path / "p.pstats"
    path.write_bytes(PstatsRenderer().render(profile))
    stats = pstats.Stats(str(path))
    key = ("/src/app.py", 20, "helper")
    cc, nc, tt, ct, callers = stats.stats[key]  # type: ignore[attr-defined]
    assert (nc, tt, ct) == (7, 0.3, 0.3)
    assert ("/src/app.py", 30, "main") in callers
    assert marshal.loads(path.read_bytes()) == to_stats(profile)


def test_memory_svg_scales_points_into_the_box():
    svg = memory_svg(((0.0, 0), (1.0, 100), (2.0, 50)), width=200, height=100)
    assert svg.startswith("<svg") and "polyline" in svg
    assert memory_svg(((0.0, 1),)) == ""


def test_write_outputs_writes_each_file_format(profile, tmp_path):
    written = write_outputs(profile, tmp_path / "out", parse_formats(None, tracing=True))
    assert set(written) == {"html", "json", "speedscope", "pstats"}
    assert all(p.exists() for p in written.values())
    assert "terminal" in DEFAULT_FORMATS


def test_unknown_format_lists_valid_ones():
    from perfkit.errors import UsageError

    with pytest.raises(UsageError, match="unknown format 'htm'.*did you mean html"):
        parse_formats("json,htm")
    with pytest.raises(UsageError):
        get_renderer("pdf")
    assert parse_formats("all") == ("terminal", "html", "json", "speedscope", "pstats")
