"""perfkit.memory has no import cycle (lazy imports inside functions included), and the public
names stay importable where they were before downcast.py was split."""

from __future__ import annotations

import ast
from pathlib import Path

import perfkit

PACKAGE = Path(perfkit.__file__).parent / "memory"


def _module_graph() -> dict[str, set[str]]:
    modules = {p.stem: p for p in PACKAGE.glob("*.py")}
    graph: dict[str, set[str]] = {name: set() for name in modules}
    for name, path in modules.items():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            targets: list[str] = []
            if isinstance(node, ast.ImportFrom) and node.module:
                if node.module == "perfkit.memory":
                    targets = [a.name if a.name in modules else "__init__" for a in node.names]
                elif node.module.startswith("perfkit.memory."):
                    targets = [node.module.split(".")[2]]
            elif isinstance(node, ast.Import):
                targets = [
                    a.name.split(".")[2] for a in node.names if a.name.startswith("perfkit.memory.")
                ]
            graph[name].update(t for t in targets if t in modules and t != name)
    return graph


def _find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    for start in graph:
        if state.get(start):
            continue
        stack: list[tuple[str, list[str]]] = [(start, sorted(graph[start]))]
        path = [start]
        state[start] = 1
        while stack:
            node, todo = stack[-1]
            if not todo:
                stack.pop()
                path.pop()
                state[node] = 2
                continue
            nxt = todo.pop()
            if state.get(nxt) == 1:
                return [*path[path.index(nxt) :], nxt]
            if not state.get(nxt):
                state[nxt] = 1
                path.append(nxt)
                stack.append((nxt, sorted(graph[nxt])))
    return None


def test_memory_package_has_no_import_cycle() -> None:
    graph = _module_graph()
    assert {"_report", "_planning", "_conversion", "downcast"} <= set(graph)
    assert _find_cycle(graph) is None, _find_cycle(graph)


def test_cycle_finder_sees_a_cycle() -> None:
    assert _find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _find_cycle({"a": {"b"}, "b": set()}) is None


def test_split_modules_have_one_job_each() -> None:
    graph = _module_graph()
    assert graph["_report"] == set()  # the report depends on nothing else in perfkit.memory
    assert "downcast" not in graph["_planning"] | graph["_conversion"] | graph["_frames"]
    assert "_conversion" not in graph["_planning"]


def test_public_names_importable_where_they_were() -> None:
    from perfkit import downcast, plan_downcast
    from perfkit.memory import DowncastReport as R1
    from perfkit.memory.downcast import ColumnReport, DowncastReport, LossyDowncastError
    from perfkit.memory.downcast import downcast as d2
    from perfkit.memory.downcast import plan_downcast as p2

    assert downcast is d2 and plan_downcast is p2 and R1 is DowncastReport
    assert ColumnReport.__module__ == "perfkit.memory._report"
    assert issubclass(LossyDowncastError, ValueError)
