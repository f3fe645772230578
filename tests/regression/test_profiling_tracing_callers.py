"""Bug: cProfile caller edges were stored with file/line/name in the wrong fields, so the JSON
failed its schema (a function name in ``line``) and profile.pstats had broken callers."""

from __future__ import annotations

import perfkit.profiling as pp


def leaf(n):
    return n + 1


def caller():
    return [leaf(i) for i in range(5)]


def test_caller_edges_have_name_file_and_line_in_place():
    with pp.profile(cpu="tracing") as p:
        caller()
    row = next(f for f in p.result.functions if f.function == "leaf")
    assert row.calls == 5
    for edge in row.callers:
        assert isinstance(edge.line, int) and isinstance(edge.function, str)
        assert edge.file.endswith(".py") or edge.file.startswith("<") or edge.file == "~"
    assert any("listcomp" in e.function or e.function == "caller" for e in row.callers)
