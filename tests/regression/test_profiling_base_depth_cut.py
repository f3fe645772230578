"""Bug: under ``python -m pytest`` (a ``<frozen runpy>`` root frame) a ``with perfkit.profile()``
block came out empty: the block's depth was applied after the internal frames were removed."""

from __future__ import annotations

from perfkit.profiling.engines._stacks import build


def _code(name: str, filename: str):
    return compile(f"def {name}(): pass", filename, "exec").co_consts[0]


def test_block_frames_survive_a_runpy_root():
    runpy = _code("_run_module_as_main", "<frozen runpy>")
    outer = _code("pytest_main", "/site/pytest.py")
    test = _code("test_block", "/tests/test_x.py")
    work = _code("work", "/tests/test_x.py")
    codes = {id(c): c for c in (runpy, outer, test, work)}
    leaf_first = tuple((id(c), 1) for c in (work, test, outer, runpy))
    threads, functions, _ = build(
        {(1, leaf_first): [1.0, 1.0, 1]}, codes, {1: "MainThread"}, base_depth={1: 2}
    )
    root = threads[0].root
    assert [c.function for c in root.children] == ["test_block"]
    assert root.children[0].children[0].function == "work"
    assert {f.function for f in functions} == {"test_block", "work"}


def test_perfkit_helper_threads_are_not_reported():
    work = _code("git_lookup", "/usr/lib/subprocess.py")
    stacks = {(2, ((id(work), 1),)): [1.0, 0.0, 1]}
    threads, _, _ = build(stacks, {id(work): work}, {2: "perfkit-commit-info"})
    assert threads == []
