"""Hints: the performance playbook turned into rules over a :class:`Profile`.

Each rule reads only the profile (times, allocation sites, arrays seen, and the program's source
kept in ``Profile.sources``) and names the line, the evidence and the perfkit helper or
technique to use. A rule only looks at code the profile shows is hot — a line or function over
:data:`HOT_LINE_SHARE` / :data:`HOT_FUNCTION_SHARE` of the run, or an allocation over
:data:`MIN_HINT_BYTES` — so cold code never gets advice.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Callable, Iterator
from functools import lru_cache

from perfkit.profiling.model import FunctionStat, Hint, Profile

#: A line is hot when its time (self or total) is at least this share of the run's wall time.
HOT_LINE_SHARE = 0.05
#: A function is hot when its total time is at least this share of the run's wall time.
HOT_FUNCTION_SHARE = 0.10
#: Allocations and arrays smaller than this get no memory hint.
MIN_HINT_BYTES = 4 * 1024 * 1024
#: float32 "holds" a float64 array when the round trip's relative error stays within this.
FLOAT32_RTOL = 1e-6
#: A function is CPU-bound when its CPU time is at least this share of its wall time (low on
#: purpose: on a busy machine a CPU-bound thread still waits for a core; sleeping code is ~0).
CPU_BOUND = 0.3
#: A loop dominates a function when its lines take at least this share of the function's time.
LOOP_DOMINANCE = 0.5

_COPY_PATTERNS = (
    (re.compile(r"\.astype\("), "astype() always copies unless copy=False and the dtype matches"),
    (re.compile(r"\b(np|numpy)\.array\("), "np.array(x) copies x; np.asarray(x) does not"),
    (re.compile(r"\b(np|numpy)\.copy\(|\.copy\(\)"), "an explicit copy"),
    (re.compile(r"\.flatten\(\)"), "flatten() copies; ravel() returns a view when it can"),
    (re.compile(r"\[\s*\["), "fancy (list) indexing copies; a slice is a view"),
    (re.compile(r"\[[^\[\]]*(==|!=|<=|>=|<|>)[^\[\]]*\]"), "boolean-mask indexing copies"),
)
_NUMBA_FRIENDLY_CALLS = {
    "range",
    "len",
    "abs",
    "min",
    "max",
    "int",
    "float",
    "bool",
    "round",
    "sqrt",
    "exp",
    "log",
    "sin",
    "cos",
    "tan",
    "floor",
    "ceil",
    "isnan",
    "isfinite",
    "pow",
    "zeros",
    "empty",
    "ones",
    "fabs",
    "tanh",
    "hypot",
    "atan2",
}
_ITERATE_ONLY = {"sum", "any", "all", "min", "max", "sorted", "set", "frozenset", "tuple", "join"}


def find_hints(profile: Profile) -> list[Hint]:
    """Every rule's hints for ``profile``, most valuable first (time or bytes)."""
    hints: list[Hint] = []
    for rule in RULES:
        hints.extend(rule(profile))
    seen: set[tuple[str, str, int, str]] = set()
    unique = []
    for h in hints:
        key = (h.rule, h.file, h.line, h.title)
        if key not in seen:
            seen.add(key)
            unique.append(h)
    unique.sort(key=lambda h: (-(h.time_s or 0.0), -(h.bytes_saved or 0)))
    return unique


# -- helpers ---------------------------------------------------------------------------------


def _source(profile: Profile, filename: str) -> str:
    text = profile.sources.get(filename)
    if text is None:
        from perfkit.profiling._source import source_lines

        text = "\n".join(source_lines(filename))
    return text


@lru_cache(maxsize=64)
def _parse(text: str) -> ast.Module | None:
    try:
        return ast.parse(text)
    except (SyntaxError, ValueError):
        return None


def _tree(profile: Profile, filename: str) -> ast.Module | None:
    text = _source(profile, filename)
    return _parse(text) if text else None


def _line_text(profile: Profile, filename: str, line: int) -> str:
    lines = _source(profile, filename).splitlines()
    return lines[line - 1].strip() if 0 < line <= len(lines) else ""


def _hot(profile: Profile, seconds: float, share: float) -> bool:
    return profile.wall_s > 0 and seconds >= share * profile.wall_s


def _function_node(tree: ast.Module, line: int, name: str) -> ast.AST | None:
    short = name.rsplit(".", 1)[-1]
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name == short:
            first = min([node.lineno, *(d.lineno for d in node.decorator_list)])
            if first == line or node.lineno == line:
                return node
    return None


def _own_nodes(func: ast.AST) -> Iterator[ast.AST]:
    """Nodes of ``func``'s body, not descending into nested functions or classes."""
    stack = list(ast.iter_child_nodes(func))
    while stack:
        node = stack.pop()
        yield node
        if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef | ast.Lambda):
            stack.extend(ast.iter_child_nodes(node))


def _nodes_on_line(tree: ast.Module, line: int) -> list[ast.AST]:
    return [n for n in ast.walk(tree) if getattr(n, "lineno", None) == line]


def _line_seconds(profile: Profile, filename: str, lines: range) -> float:
    return sum(h.self_s for h in profile.hot_lines if h.file == filename and h.line in lines)


# -- rules -----------------------------------------------------------------------------------


def rule_float64_downcast(profile: Profile) -> Iterator[Hint]:
    """A large float64 array whose values float32 holds within :data:`FLOAT32_RTOL`."""
    if profile.memory is None:
        return
    for arr in profile.memory.arrays:
        if arr.dtype != "float64" or arr.nbytes < MIN_HINT_BYTES:
            continue
        err = arr.float32_max_rel_error
        if err is None or err > FLOAT32_RTOL or arr.float32_overflow:
            continue
        saved = arr.nbytes // 2
        yield Hint(
            rule="float64-downcast",
            title=f"{arr.name}: float64 array that float32 holds",
            file=arr.file,
            line=arr.line,
            function=arr.function,
            evidence=(
                f"{arr.name} {tuple(arr.shape)} float64 is {arr.nbytes / 2**20:.1f} MiB; a float32 "
                f"copy of its values is within rel. error {err:.1e}"
            ),
            suggestion=(
                f"perfkit.downcast({arr.name}, rtol={FLOAT32_RTOL:g}) or create it with "
                f"dtype=np.float32: saves {saved / 2**20:.1f} MiB and halves memory traffic"
            ),
            source=_line_text(profile, arr.file, arr.line),
            bytes_saved=saved,
        )


def rule_copy_not_view(profile: Profile) -> Iterator[Hint]:
    """A line that allocates a copy of a large array where a view could do."""
    if profile.memory is None:
        return
    best: dict[tuple[str, int], int] = {}
    for site in profile.memory.top_lines:
        if site.size_bytes >= MIN_HINT_BYTES:
            key = (site.file, site.line)
            best[key] = max(best.get(key, 0), site.size_bytes)
    for (filename, line), size in best.items():
        text = _line_text(profile, filename, line)
        why = [msg for pattern, msg in _COPY_PATTERNS if pattern.search(text)]
        if not why:
            continue
        function = next(
            (
                s.function
                for s in profile.memory.top_lines
                if s.file == filename and s.line == line and s.function
            ),
            "",
        )
        yield Hint(
            rule="copy-not-view",
            title="large copy where a view could do",
            file=filename,
            line=line,
            function=function,
            evidence=f"this line allocated {size / 2**20:.1f} MiB ({why[0]})",
            suggestion=(
                "use a view: slicing, np.asarray, .astype(dtype, copy=False), ravel(); wrap the "
                "block in `with perfkit.no_copy():` to catch new large buffers"
            ),
            source=text,
            bytes_saved=size,
        )


def _numba_friendly(loop: ast.AST) -> bool:
    for node in ast.walk(loop):
        if isinstance(
            node,
            ast.JoinedStr
            | ast.Try
            | ast.With
            | ast.Yield
            | ast.YieldFrom
            | ast.Lambda
            | ast.Dict
            | ast.Set
            | ast.DictComp
            | ast.SetComp
            | ast.Await
            | ast.Global
            | ast.Nonlocal
            | ast.FunctionDef
            | ast.ClassDef
            | ast.Raise,
        ):
            return False
        if isinstance(node, ast.Constant) and isinstance(node.value, str | bytes):
            return False
        if isinstance(node, ast.Call):
            func = node.func
            name = (
                func.id
                if isinstance(func, ast.Name)
                else (func.attr if isinstance(func, ast.Attribute) else "")
            )
            if name not in _NUMBA_FRIENDLY_CALLS and name not in ("append",):
                return False
    return True


def rule_numba_loop(profile: Profile) -> Iterator[Hint]:
    """A pure-Python numeric loop that dominates a hot function: a numba candidate."""
    for func in profile.functions:
        if not func.user_code or not _hot(profile, func.total_s, HOT_FUNCTION_SHARE):
            continue
        tree = _tree(profile, func.file)
        node = _function_node(tree, func.line, func.function) if tree else None
        if node is None:
            continue
        for loop in _own_nodes(node):
            if not isinstance(loop, ast.For | ast.While):
                continue
            span = range(loop.lineno, (loop.end_lineno or loop.lineno) + 1)
            loop_s = _line_seconds(profile, func.file, span)
            if loop_s < LOOP_DOMINANCE * func.total_s or not _numba_friendly(loop):
                continue
            yield Hint(
                rule="numba-loop",
                title=f"{func.function}: pure-Python loop, a numba candidate",
                file=func.file,
                line=loop.lineno,
                function=func.function,
                evidence=(
                    f"the loop at line {loop.lineno} ran {loop_s:.2f} s "
                    f"({loop_s / max(func.total_s, 1e-12):.0%} of {func.function}, "
                    f"{loop_s / profile.wall_s:.0%} of the run) in the interpreter"
                ),
                suggestion=(
                    "compile it with @numba.njit(cache=True) (NumPy arrays in, no Python objects),"
                    " or use a perfkit.indicators kernel if it computes an indicator"
                ),
                source=_line_text(profile, func.file, loop.lineno),
                time_s=loop_s,
            )
            break


def _names(node: ast.AST) -> set[str]:
    return {n.id for n in ast.walk(node) if isinstance(n, ast.Name)}


def rule_joblib_candidate(profile: Profile) -> Iterator[Hint]:
    """A hot CPU-bound function called in a loop on independent inputs: a joblib candidate."""
    by_name: dict[str, FunctionStat] = {}
    for f in profile.functions:
        if (
            f.user_code
            and not f.function.startswith("<")
            and _hot(profile, f.total_s, HOT_FUNCTION_SHARE * 2)
        ):
            if (
                f.total_cpu_s is not None
                and f.total_s > 0
                and f.total_cpu_s < CPU_BOUND * f.total_s
            ):
                continue  # waits (I/O, sleep, locks) more than it computes
            if f.calls is not None and f.calls < 2:
                continue
            by_name[f.function.rsplit(".", 1)[-1]] = f
    if not by_name:
        return
    for filename in {f.file for f in profile.functions if f.user_code}:
        tree = _tree(profile, filename)
        if tree is None:
            continue
        for loop in ast.walk(tree):
            if isinstance(loop, ast.For):
                targets, body = _names(loop.target), loop.body
                carried = _assigned(body)
                iter_stmts: list[ast.AST] = list(body)
            elif isinstance(loop, ast.ListComp | ast.GeneratorExp):
                targets = set().union(*(_names(g.target) for g in loop.generators))
                carried, iter_stmts = set(), [loop.elt]
            else:
                continue
            for stmt in iter_stmts:
                for call in ast.walk(stmt):
                    if not isinstance(call, ast.Call) or not isinstance(call.func, ast.Name):
                        continue
                    f = by_name.get(call.func.id)
                    if f is None:
                        continue
                    arg_names = set().union(
                        set(),
                        *(_names(a) for a in call.args),
                        *(_names(k.value) for k in call.keywords),
                    )
                    # independent inputs: the args depend on the loop variable and on nothing
                    # that the loop body itself reassigns (no value carried between iterations)
                    if not arg_names & targets or arg_names & (carried - targets):
                        continue
                    count = f"{f.calls} calls, " if f.calls else ""
                    cpu = (
                        f"CPU-bound ({f.total_cpu_s / f.total_s:.0%} CPU/wall)"
                        if f.total_cpu_s is not None and f.total_s > 0
                        else "CPU-bound"
                    )
                    yield Hint(
                        rule="joblib-candidate",
                        title=f"{f.function}: independent calls in a loop, a joblib candidate",
                        file=filename,
                        line=call.lineno,
                        function=f.function,
                        evidence=(
                            f"{f.function} took {f.total_s:.2f} s ({count}"
                            f"{f.total_s / profile.wall_s:.0%} of the run), {cpu}, called "
                            "once per loop item with inputs that do not depend on each other"
                        ),
                        suggestion=(
                            f"joblib.Parallel(n_jobs=-1)(joblib.delayed({f.function})(x) for x "
                            "in items) — or perfkit.indicators.compute(..., n_jobs=-1) for "
                            "indicator panels"
                        ),
                        source=_line_text(profile, filename, call.lineno),
                        time_s=f.total_s,
                    )


def _assigned(body: list[ast.stmt]) -> set[str]:
    out: set[str] = set()
    for stmt in body:
        for node in ast.walk(stmt):
            if isinstance(node, ast.Assign):
                for t in node.targets:
                    if isinstance(t, ast.Name):
                        out.add(t.id)
            elif isinstance(node, ast.AugAssign | ast.AnnAssign) and isinstance(
                node.target, ast.Name
            ):
                out.add(node.target.id)
    return out


def rule_list_only_iterated(profile: Profile) -> Iterator[Hint]:
    """A list built on a hot line only to be iterated: a generator or a tuple would do."""
    seen: set[tuple[str, int]] = set()
    for hl in profile.hot_lines:
        if not _hot(profile, max(hl.self_s, hl.total_s), HOT_LINE_SHARE):
            continue
        if (hl.file, hl.line) in seen:
            continue
        seen.add((hl.file, hl.line))
        tree = _tree(profile, hl.file)
        if tree is None:
            continue
        for node in _nodes_on_line(tree, hl.line):
            found = _iterate_only_list(node)
            if found is None:
                continue
            what, fix = found
            yield Hint(
                rule="list-only-iterated",
                title=what,
                file=hl.file,
                line=hl.line,
                function=hl.function,
                evidence=(
                    f"line {hl.line} took {hl.total_s:.2f} s ({hl.total_s / profile.wall_s:.0%} "
                    "of the run) and builds a list that is only iterated once"
                ),
                suggestion=fix,
                source=hl.source or _line_text(profile, hl.file, hl.line),
                time_s=hl.total_s,
            )
            break


def _iterate_only_list(node: ast.AST) -> tuple[str, str] | None:
    if isinstance(node, ast.Call):
        name = (
            node.func.id
            if isinstance(node.func, ast.Name)
            else (node.func.attr if isinstance(node.func, ast.Attribute) else "")
        )
        if name in _ITERATE_ONLY and len(node.args) == 1 and isinstance(node.args[0], ast.ListComp):
            return (
                f"{name}() of a list comprehension",
                f"pass a generator: {name}(... for ...) — no intermediate list is built",
            )
    if isinstance(node, ast.For | ast.comprehension):
        it = node.iter
        if isinstance(it, ast.ListComp):
            return (
                "loop over a list comprehension",
                "iterate a generator expression (...) instead of building the list [...]",
            )
        if (
            isinstance(it, ast.Call)
            and isinstance(it.func, ast.Name)
            and it.func.id == "list"
            and len(it.args) == 1
        ):
            return ("loop over list(...)", "iterate the iterable directly; list() copies it first")
        if isinstance(it, ast.List) and not all(isinstance(e, ast.Constant) for e in it.elts):
            return (
                "loop over a list display",
                "use a tuple (a, b, c): cheaper to build, and it cannot be mutated by accident",
            )
    return None


#: The rules, in the order they run.
RULES: tuple[Callable[[Profile], Iterator[Hint]], ...] = (
    rule_float64_downcast,
    rule_copy_not_view,
    rule_numba_loop,
    rule_joblib_candidate,
    rule_list_only_iterated,
)
