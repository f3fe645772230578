"""Issue 12, report polish: import machinery folded (``--show-all`` keeps it), CPU beside wall,
the multi-thread percentage note, and call-tree children kept in first-seen (time) order."""

from __future__ import annotations

from dataclasses import replace

from perfkit.profiling.engines import _stacks
from perfkit.profiling.model import FrameNode, ThreadTree
from perfkit.render.html import HtmlRenderer
from perfkit.render.terminal import TerminalRenderer, multi_thread_note


def _code(filename: str, name: str):
    return compile(f"def {name}(): pass", filename, "exec").co_consts[0]


USER = _code("/src/app.py", "main")
LOADER = _code("<frozen importlib._bootstrap>", "_find_and_load")
EXTERNAL = _code("<frozen importlib._bootstrap_external>", "exec_module")
MODULE = _code("/src/lib.py", "setup")
FIRST = _code("/src/app.py", "first")
SECOND = _code("/src/app.py", "second")
CODES = {id(c): c for c in (USER, LOADER, EXTERNAL, MODULE, FIRST, SECOND)}


def _stack(*codes):  # leaf first, as the sampler records them
    return tuple((id(c), 1) for c in reversed(codes))


def test_import_machinery_is_folded_into_the_import_line_and_the_module():
    stacks = {
        (1, _stack(USER, LOADER, EXTERNAL, MODULE)): [0.3, 0.3, 3],
        (1, _stack(USER, LOADER, EXTERNAL)): [0.2, 0.2, 2],  # reading the file: own time
    }
    threads, functions, _ = _stacks.build(stacks, CODES, {1: "MainThread"})
    names = {f.function for f in functions}
    assert names == {"main", "setup"}
    by = {f.function: f for f in functions}
    assert by["main"].self_s == 0.2 and by["main"].total_s == 0.5
    (main,) = threads[0].root.children
    assert [c.function for c in main.children] == ["setup"]

    threads, functions, _ = _stacks.build(stacks, CODES, {1: "MainThread"}, fold_imports=False)
    assert {"_find_and_load", "exec_module"} <= {f.function for f in functions}


def test_children_keep_first_seen_order_not_weight_order():
    stacks = {
        (1, _stack(USER, FIRST)): [0.1, 0.1, 1],  # first seen, lighter
        (1, _stack(USER, SECOND)): [0.5, 0.5, 5],
    }
    threads, _, _ = _stacks.build(stacks, CODES, {1: "MainThread"})
    (main,) = threads[0].root.children
    assert [c.function for c in main.children] == ["first", "second"]


def test_cpu_is_shown_beside_wall_and_multi_thread_totals_are_explained(profile):
    text = TerminalRenderer().render(profile)
    assert "own cpu" in text and "total cpu" in text and "550.0 ms" in text
    assert multi_thread_note(profile) == ""
    root = FrameNode("worker", "", 0, 1.0, 0.0, 1.0, 0.0, 100)
    two = replace(profile, threads=(*profile.threads, ThreadTree(2, "worker", root)))
    note = multi_thread_note(two)
    assert "2 threads" in note and "100%" in note
    assert note in TerminalRenderer().render(two)
    html = HtmlRenderer().render(two)
    assert "2 threads" in html and '<th class="n">own cpu</th>' in html


def test_html_tree_leaves_are_styled_not_glued(profile):
    html = HtmlRenderer().render(profile)
    assert ".tree .leaf" in html and ".tree .t{" in html  # leaf labels get the same layout
    assert '<div class="leaf"><span class="t">' in html
