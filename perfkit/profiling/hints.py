"""Hints: the performance playbook turned into rules over a :class:`Profile`.

Each rule reads only the profile (times, allocation sites, arrays seen, and the program's source
kept in ``Profile.sources``) and names the line, the evidence and the perfkit helper or
technique to use. A rule only looks at code the profile shows is hot — a line or function over
:data:`HOT_LINE_SHARE` / :data:`HOT_FUNCTION_SHARE` of the run, or an allocation over
:data:`MIN_HINT_BYTES` — so cold code never gets advice.
"""

from __future__ import annotations

import ast
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
#: A function is CPU-bound when its CPU/wall ratio is at least this share of the CPU the run got
#: (the process's CPU/wall, at most 1, at least :data:`MIN_CPU_SHARE`): on a machine with a load
#: average of 12 on 2 cores a CPU-bound function was measured at 0.09 CPU/wall in a run at 0.17,
#: while code that sleeps or waits for I/O reads 0.00-0.02 (idle machine: 0.9-1.0 and ~0).
CPU_BOUND = 0.3
#: The floor of the run's CPU share used by :data:`CPU_BOUND` (a run that only waits).
MIN_CPU_SHARE = 0.1
#: A loop dominates a function when its lines take at least this share of the function's time.
LOOP_DOMINANCE = 0.5

#: A memory hint needs its bytes to be at least this share of the run's memory growth (peak RSS
#: over start RSS) as well as :data:`MIN_HINT_BYTES`: an allocation that small is cold.
HOT_BYTES_SHARE = 0.05

#: Calls whose result is a boolean mask: indexing with one copies, and no view can replace it.
_MASK_CALLS = {
    "isnan",
    "isfinite",
    "isinf",
    "isin",
    "isclose",
    "logical_and",
    "logical_or",
    "logical_not",
    "logical_xor",
    "isna",
    "notna",
    "isnull",
    "notnull",
    "signbit",
}
#: Calls whose result is an integer index array (fancy indexing with it copies).
_INDEX_CALLS = {
    "arange",
    "argsort",
    "argpartition",
    "flatnonzero",
    "argwhere",
    "nonzero",
    "permutation",
    "choice",
    "integers",
    "randint",
    "array",
    "asarray",
    "range",
    "list",
}
#: Index arrays that are a regular range: a slice would give a view of the same elements.
_RANGE_CALLS = {"arange", "range"}
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
    "enumerate",
    "zip",
    "append",
    "sum",
    "mean",
    "dot",
    "empty_like",
    "zeros_like",
    "full",
    "power",
    "maximum",
    "minimum",
    "copysign",
    "sign",
    "float64",
    "float32",
    "int64",
    "int32",
}
#: Modules whose functions numba compiles in nopython mode (most of math, much of NumPy).
_NUMBA_MODULES = {"math", "np", "numpy", "cmath"}
_ITERATE_ONLY = {"sum", "any", "all", "min", "max", "sorted", "set", "frozenset", "tuple", "join"}


def find_hints(profile: Profile) -> list[Hint]:
    """Every rule's hints for ``profile``, most valuable first (time or bytes)."""
    hints: list[Hint] = []
    for rule in RULES:
        try:
            hints.extend(rule(profile))
        except RecursionError:  # pathological source (a[0][0]... thousands deep): skip the rule
            continue
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
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None  # not Python we can read (or nested past the parser's limit): no hint


def _tree(profile: Profile, filename: str) -> ast.Module | None:
    text = _source(profile, filename)
    return _parse(text) if text else None


def _user_file(profile: Profile, filename: str) -> bool:
    """True when ``filename`` is the program's own code (its source is kept in the profile, or
    it lies outside the standard library, site-packages and perfkit)."""
    if filename in profile.sources:
        return True
    from perfkit.profiling._source import is_user_code

    return is_user_code(filename)


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


#: id(tree) -> (tree, line -> its nodes in ast.walk order): one walk per tree, not per line.
_LINE_INDEX: dict[int, tuple[ast.Module, dict[int, list[ast.AST]]]] = {}


def _nodes_on_line(tree: ast.Module, line: int) -> list[ast.AST]:
    hit = _LINE_INDEX.get(id(tree))
    if hit is None or hit[0] is not tree:
        index: dict[int, list[ast.AST]] = {}
        for n in ast.walk(tree):
            index.setdefault(getattr(n, "lineno", None), []).append(n)  # type: ignore[arg-type]
        if len(_LINE_INDEX) >= 64:  # as many as _parse keeps
            _LINE_INDEX.clear()
        hit = _LINE_INDEX[id(tree)] = (tree, index)
    return list(hit[1].get(line, ()))


def _line_seconds(profile: Profile, filename: str, lines: range) -> float:
    return sum(h.self_s for h in profile.hot_lines if h.file == filename and h.line in lines)


# -- rules -----------------------------------------------------------------------------------


#: name -> [(line, value)] of the bindings of a scope (value None: a parameter or loop target).
_Bindings = dict[str, list[tuple[int, ast.AST | None]]]


def _memory_hot(profile: Profile, nbytes: int) -> bool:
    """Large enough to be worth a memory hint: :data:`MIN_HINT_BYTES` and a real share of growth."""
    if nbytes < MIN_HINT_BYTES:
        return False
    mem = profile.memory
    growth = max(0, mem.peak_rss_bytes - mem.start_rss_bytes) if mem is not None else 0
    return nbytes >= HOT_BYTES_SHARE * growth


def _enclosing_scope(tree: ast.Module, line: int) -> ast.AST:
    """The innermost function containing ``line`` (the module when none does)."""
    best: ast.AST = tree
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
            end = node.end_lineno or node.lineno
            if node.lineno <= line <= end and (
                best is tree or node.lineno >= getattr(best, "lineno", 0)
            ):
                best = node
    return best


def _assignments(scope: ast.AST) -> _Bindings:
    """name -> [(line, value)] of every binding in ``scope``; ``None`` value: a loop target or a
    parameter (a scalar or an unknown)."""
    out: _Bindings = {}
    if isinstance(scope, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
        a = scope.args
        for arg in (*a.posonlyargs, *a.args, *a.kwonlyargs, a.vararg, a.kwarg):
            if arg is not None:
                out.setdefault(arg.arg, []).append((scope.lineno, None))
    nodes = _own_nodes(scope) if not isinstance(scope, ast.Module) else ast.walk(scope)
    for node in nodes:
        if isinstance(node, ast.Assign):
            for t in node.targets:
                if isinstance(t, ast.Name):
                    out.setdefault(t.id, []).append((node.lineno, node.value))
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            out.setdefault(node.target.id, []).append((node.lineno, node.value))
        elif isinstance(node, ast.For | ast.comprehension):
            for n in ast.walk(node.target):
                if isinstance(n, ast.Name):
                    out.setdefault(n.id, []).append((getattr(node, "lineno", 0), None))
    return out


def _call_name(node: ast.AST) -> str:
    if not isinstance(node, ast.Call):
        return ""
    func = node.func
    if isinstance(func, ast.Name):
        return func.id
    if isinstance(func, ast.Attribute):
        return func.attr
    return ""


def _origins(expr: ast.AST, names: _Bindings, depth: int = 0):
    """The expressions ``expr`` may stand for, following simple names through their bindings."""
    if isinstance(expr, ast.Name) and depth < 4:
        bound = names.get(expr.id, [])
        if not bound:
            return [None]
        out: list[ast.AST | None] = []
        for _, value in bound:
            out.extend([None] if value is None else _origins(value, names, depth + 1))
        return out
    return [expr]


def _is_mask(expr: ast.AST, names: _Bindings) -> bool:
    """True when ``expr`` is a boolean mask (a comparison, ``~m``, ``a & b``, isnan(...))."""
    for node in _origins(expr, names):
        if node is None:
            continue
        if isinstance(node, ast.Compare | ast.BoolOp):
            return True
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not | ast.Invert):
            return True
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitAnd | ast.BitOr | ast.BitXor):
            return True
        if _call_name(node) in _MASK_CALLS:
            return True
        if isinstance(node, ast.Subscript) and _is_mask(node.value, names):
            return True  # a slice of a mask is a mask
    return False


def _index_array(expr: ast.AST, names: _Bindings) -> str | None:
    """ "range" / "array" when ``expr`` is an integer index array (fancy indexing), else None."""
    if _is_mask(expr, names):
        return None
    if isinstance(expr, ast.List | ast.ListComp):
        return "array"
    for node in _origins(expr, names):
        if node is None:
            continue
        if isinstance(node, ast.List | ast.ListComp):
            return "array"
        name = _call_name(node)
        if name in _INDEX_CALLS:
            return "range" if name in _RANGE_CALLS else "array"
        if isinstance(node, ast.Subscript) and isinstance(node.slice, ast.Slice):
            # a slice of something: an array (a scalar cannot be sliced); of an arange, a range
            inner = _index_array(node.value, names)
            return inner or "array"
    return None


def _statement_at(tree: ast.Module, line: int) -> list[ast.AST]:
    """The expressions evaluated on ``line``: its innermost simple statement, or the header of a
    compound statement (``for x in ...:``), without descending into nested bodies."""
    best: ast.stmt | None = None
    for node in ast.walk(tree):
        if not isinstance(node, ast.stmt) or not (
            node.lineno <= line <= (node.end_lineno or node.lineno)
        ):
            continue
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            continue
        span = (node.end_lineno or node.lineno) - node.lineno
        if best is None or span <= (best.end_lineno or best.lineno) - best.lineno:
            best = node
    if best is None:
        return []
    compound = ("body", "orelse", "finalbody", "handlers")
    roots = [
        value
        for name, value in ast.iter_fields(best)
        if name not in compound and isinstance(value, ast.AST)
    ]
    if isinstance(best, ast.With | ast.AsyncWith):
        roots = [item.context_expr for item in best.items]
    if isinstance(best, ast.For | ast.While | ast.If | ast.With | ast.AsyncWith | ast.Try):
        if line != best.lineno:
            return []
    out: list[ast.AST] = []
    for root in roots:
        out.extend(ast.walk(root))
    return out


#: dtype spellings in ``astype(...)`` -> NumPy's dtype name.
_DTYPE_ALIASES = {
    "float": "float64",
    "double": "float64",
    "f8": "float64",
    "float_": "float64",
    "single": "float32",
    "f4": "float32",
    "half": "float16",
    "f2": "float16",
    "int": "int64",
    "i8": "int64",
    "i4": "int32",
    "bool": "bool",
    "bool_": "bool",
}


def _dtype_name(node: ast.AST) -> str | None:
    """``np.float32`` / ``"float32"`` / ``float`` -> "float32" / "float32" / "float64"."""
    if isinstance(node, ast.Attribute):
        raw = node.attr
    elif isinstance(node, ast.Name):
        raw = node.id
    elif isinstance(node, ast.Constant) and isinstance(node.value, str):
        raw = node.value.lstrip("<>=|")
    else:
        return None
    return _DTYPE_ALIASES.get(raw, raw)


def _observed_dtype(profile: Profile, filename: str, name: str) -> str | None:
    """The dtype the memory engine saw for the array bound to ``name`` in ``filename``, when it
    saw exactly one."""
    if profile.memory is None:
        return None
    seen = {a.dtype for a in profile.memory.arrays if a.file == filename and a.name == name}
    return seen.pop() if len(seen) == 1 else None


def _copy_reasons(
    tree: ast.Module, line: int, dtype_of: Callable[[str], str | None] = lambda name: None
) -> list[tuple[str, str]]:
    """(title, why) for each copy on ``line`` that a view (or no copy at all) could replace.

    Boolean-mask indexing is never one: the selected elements are not evenly spaced, so no view
    can hold them. List comprehensions and other Python containers are not arrays. ``astype``
    is one only when the array already has the target dtype (``dtype_of`` says, from the arrays
    the profile saw): a real conversion cannot be a view.
    """
    names = _assignments(_enclosing_scope(tree, line))
    found: list[tuple[str, str]] = []
    for node in _statement_at(tree, line):
        if isinstance(node, ast.Call):
            name = _call_name(node)
            func = node.func
            owner = (
                func.value.id
                if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name)
                else ""
            )
            copy_false = any(
                k.arg == "copy" and isinstance(k.value, ast.Constant) and k.value.value is False
                for k in node.keywords
            )
            target = _dtype_name(node.args[0]) if node.args else None
            source = (
                dtype_of(func.value.id)
                if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name)
                else None
            )
            if name == "astype" and not copy_false and target and target == source:
                found.append(
                    (
                        "astype() copies even when the dtype already matches",
                        "astype() always copies; .astype(dtype, copy=False) returns the array "
                        "itself when it already has that dtype",
                    )
                )
            elif (
                name == "array"
                and owner in ("np", "numpy")
                and node.args
                and not isinstance(node.args[0], ast.List | ast.Tuple | ast.ListComp)
                and not copy_false
            ):
                found.append(
                    (
                        "np.array(x) copies an existing array",
                        "np.array(x) copies x; np.asarray(x) does not",
                    )
                )
            elif name == "copy" and (owner in ("np", "numpy") or not node.args):
                found.append(
                    (
                        "explicit copy of a large array",
                        "an explicit copy; drop it when nothing writes to either array",
                    )
                )
            elif name == "flatten" and isinstance(func, ast.Attribute):
                found.append(
                    (
                        "flatten() copies where ravel() gives a view",
                        "flatten() always copies; ravel() returns a view when it can",
                    )
                )
        elif isinstance(node, ast.Subscript):
            index = node.slice
            parts = index.elts if isinstance(index, ast.Tuple) else [index]
            for part in parts:
                if isinstance(part, ast.Slice | ast.Constant):
                    continue
                kind = _index_array(part, names)
                if kind is None:
                    continue
                if kind == "range":
                    why = (
                        "fancy indexing with a range of indices copies; the slice "
                        "a[start:stop:step] selects the same elements as a view"
                    )
                else:
                    why = (
                        "fancy (integer-array) indexing copies; when the indices are a regular "
                        "range, a slice (a[start:stop:step]) is a view"
                    )
                found.append(("fancy-index copy where a slice would be a view", why))
                break
    return found


def _previous_statement_line(tree: ast.Module, line: int) -> int | None:
    """The line of the simple statement just before the one on ``line`` in the same block."""
    for node in ast.walk(tree):
        for name in ("body", "orelse", "finalbody"):
            block = getattr(node, name, None)
            if not isinstance(block, list):
                continue
            for i, stmt in enumerate(block):
                if isinstance(stmt, ast.stmt) and stmt.lineno == line and i > 0:
                    prev = block[i - 1]
                    compound = ast.For | ast.While | ast.If | ast.With | ast.Try | ast.FunctionDef
                    if isinstance(prev, compound | ast.ClassDef | ast.AsyncFunctionDef):
                        return None
                    return prev.lineno
    return None


def _allocates(tree: ast.Module, line: int) -> bool:
    """True when the statement on ``line`` makes new arrays by its syntax: mask or fancy
    indexing, or arithmetic between two non-constant operands (``a + b``, ``a[m]``)."""
    names = _assignments(_enclosing_scope(tree, line))
    for node in _statement_at(tree, line):
        if isinstance(node, ast.BinOp) and not (
            isinstance(node.left, ast.Constant) or isinstance(node.right, ast.Constant)
        ):
            return True
        if isinstance(node, ast.Subscript):
            index = node.slice
            parts = index.elts if isinstance(index, ast.Tuple) else [index]
            for part in parts:
                if not isinstance(part, ast.Slice | ast.Constant) and (
                    _is_mask(part, names) or _index_array(part, names)
                ):
                    return True
    return False


def _assigned_name(tree: ast.Module, line: int) -> str | None:
    """``x`` when the statement on ``line`` is ``x = ...``."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and node.lineno == line and len(node.targets) == 1:
            target = node.targets[0]
            return target.id if isinstance(target, ast.Name) else None
    return None


def _observed_bytes(profile: Profile, filename: str, name: str) -> int:
    """The size of the largest array the memory engine saw bound to ``name`` in ``filename``."""
    if profile.memory is None:
        return 0
    sizes = [a.nbytes for a in profile.memory.arrays if a.file == filename and a.name == name]
    return max(sizes, default=0)


def _creation_line(profile: Profile, filename: str, line: int, name: str) -> int:
    """The line that made the array bound to ``name`` at ``line`` (its dtype is chosen there).

    The last assignment to ``name`` before ``line`` in its function; for a parameter, the line
    that assigned the argument at the one call site of the function in the file (when every call
    site agrees); else ``line`` itself.
    """
    tree = _tree(profile, filename)
    if tree is None or not name.isidentifier():
        return line
    scope = _enclosing_scope(tree, line)
    bound = _assignments(scope).get(name, [])
    made = [ln for ln, value in bound if value is not None and ln <= line]
    if made:
        return max(made)
    if not isinstance(scope, ast.FunctionDef | ast.AsyncFunctionDef):
        return line
    params = [a.arg for a in (*scope.args.posonlyargs, *scope.args.args)]
    if name not in params or (params and params[0] in ("self", "cls")):
        return line
    pos = params.index(name)
    origins: set[int] = set()
    for call in ast.walk(tree):
        if not isinstance(call, ast.Call) or not isinstance(call.func, ast.Name):
            continue
        if call.func.id != scope.name:
            continue
        arg = call.args[pos] if pos < len(call.args) else None
        arg = next((k.value for k in call.keywords if k.arg == name), arg)
        if not isinstance(arg, ast.Name):
            return line
        caller = _assignments(_enclosing_scope(tree, call.lineno)).get(arg.id, [])
        lines = [ln for ln, value in caller if value is not None and ln <= call.lineno]
        if not lines:
            return line
        origins.add(max(lines))
    return origins.pop() if len(origins) == 1 else line


def rule_float64_downcast(profile: Profile) -> Iterator[Hint]:
    """A large float64 array whose values float32 holds within :data:`FLOAT32_RTOL`.

    The hint points at the line that created the array (its dtype is chosen there), once per
    line even when several frames saw it.
    """
    if profile.memory is None:
        return
    seen: set[tuple[str, int]] = set()
    for arr in sorted(profile.memory.arrays, key=lambda a: -a.nbytes):
        if arr.dtype != "float64" or not _memory_hot(profile, arr.nbytes):
            continue
        err = arr.float32_max_rel_error
        if err is None or err > FLOAT32_RTOL or arr.float32_overflow:
            continue
        line = _creation_line(profile, arr.file, arr.line, arr.name)
        if (arr.file, line) in seen:
            continue
        seen.add((arr.file, line))
        saved = arr.nbytes // 2
        yield Hint(
            rule="float64-downcast",
            title=f"{arr.name}: float64 array that float32 holds",
            file=arr.file,
            line=line,
            function=arr.function,
            evidence=(
                f"{arr.name} {tuple(arr.shape)} float64 is {arr.nbytes / 2**20:.1f} MiB; a float32 "
                f"copy of its values is within rel. error {err:.1e}"
            ),
            suggestion=(
                f"perfkit.downcast({arr.name}, rtol={FLOAT32_RTOL:g}) or create it with "
                f"dtype=np.float32: saves {saved / 2**20:.1f} MiB and halves memory traffic"
            ),
            source=_line_text(profile, arr.file, line),
            bytes_saved=saved,
        )


def rule_copy_not_view(profile: Profile) -> Iterator[Hint]:
    """A line that allocates a large copy where a view (or no copy) could do.

    Read from the line's syntax: ``astype`` without ``copy=False``, ``np.array(x)``, ``.copy()``,
    ``flatten()``, and fancy indexing with an integer index array (``a[:, idx[k:]]``), where a
    slice is a view. Boolean-mask indexing always copies (no view can select scattered elements)
    and is never reported here.
    """
    if profile.memory is None:
        return
    best: dict[tuple[str, int], int] = {}
    sampled: dict[tuple[str, int], bool] = {}
    for site in profile.memory.top_lines:
        key = (site.file, site.line)
        best[key] = max(best.get(key, 0), site.size_bytes)
        sampled[key] = sampled.get(key, True) and site.method == "rss_growth"
    # (file, line of the copy) -> (bytes, reasons, the line the bytes were charged to)
    found: dict[tuple[str, int], tuple[int, list[tuple[str, str]], list[int]]] = {}
    for (filename, line), size in best.items():
        tree = _tree(profile, filename)
        if tree is None:
            continue

        def dtype_of(name: str, f: str = filename) -> str | None:
            return _observed_dtype(profile, f, name)

        where, reasons = line, _copy_reasons(tree, line, dtype_of)
        if not reasons and sampled[(filename, line)]:
            # RSS growth is charged to the line running when the sampler next looks: a copy
            # that ends between two samples lands on the statement after it
            # only when the array that statement made was seen, about as large as the growth
            # and only when the charged line does not allocate arrays itself (a[mask], a + b)
            prev = _previous_statement_line(tree, line)
            made = _assigned_name(tree, prev) if prev is not None else None
            seen = _observed_bytes(profile, filename, made) if made else 0
            if prev is not None and seen >= size // 2 and not _allocates(tree, line):
                where, reasons = prev, _copy_reasons(tree, prev, dtype_of)
                size = min(size, seen)
        if not reasons:
            continue
        total, _, charged = found.get((filename, where), (0, reasons, []))
        found[(filename, where)] = (total + size, reasons, [*charged, line])
    for (filename, line), (size, reasons, charged) in found.items():
        if not _memory_hot(profile, size):
            continue
        title, why = reasons[0]
        moved = [c for c in charged if c != line]
        if moved:
            measured = (
                f"memory grew by {size / 2**20:.1f} MiB between this line and line "
                f"{moved[0]} (the sampler charged it to line {moved[0]})"
            )
        else:
            measured = f"this line allocated {size / 2**20:.1f} MiB"
        function = next(
            (
                s.function
                for s in profile.memory.top_lines
                if s.file == filename and s.line in (line, *charged) and s.function
            ),
            "",
        )
        yield Hint(
            rule="copy-not-view",
            title=title,
            file=filename,
            line=line,
            function=function,
            evidence=f"{measured} ({why})",
            suggestion=(
                "use a view: slicing, np.asarray, .astype(dtype, copy=False), ravel(); wrap the "
                "block in `with perfkit.no_copy():` to catch new large buffers"
            ),
            source=_line_text(profile, filename, line),
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
            name = _call_name(node)
            if name not in _NUMBA_FRIENDLY_CALLS and _root_name(node.func) not in _NUMBA_MODULES:
                return False
    return True


#: Array methods whose time is spent in NumPy's C loops, not in the interpreter.
_ARRAY_METHODS = {"sum", "mean", "dot", "std", "var", "max", "min", "cumsum", "prod", "copy"}


def _scalar_loop(loop: ast.AST) -> bool:
    """True when the loop works element by element (where numba pays off), not on whole arrays.

    A loop that indexes single elements with its loop variables (``x[i]``, ``X[i, j]``) is
    scalar; so is pure arithmetic with no NumPy call. A loop over ``a @ b`` or NumPy calls on
    whole arrays spends its time in compiled code already: numba would not help.
    """
    targets = {
        n.id
        for node in ast.walk(loop)
        if isinstance(node, ast.For)
        for n in ast.walk(node.target)
        if isinstance(n, ast.Name)
    }
    element = False
    array_calls = False
    for node in ast.walk(loop):
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.MatMult):
            return False
        if isinstance(node, ast.Subscript):
            index = node.slice
            parts = index.elts if isinstance(index, ast.Tuple) else [index]
            if not any(isinstance(p, ast.Slice) for p in parts) and _names(index) & targets:
                element = True
        if isinstance(node, ast.Call):
            root = _root_name(node.func)
            if root in ("np", "numpy") or (
                isinstance(node.func, ast.Attribute)
                and node.func.attr in _ARRAY_METHODS
                and root not in ("math", "cmath")
            ):
                array_calls = True
    return element or not array_calls


def _root_name(node: ast.AST) -> str:
    """``np`` for ``np.random.normal``; "" when the expression does not start with a name."""
    while isinstance(node, ast.Attribute):
        node = node.value
    return node.id if isinstance(node, ast.Name) else ""


def rule_numba_loop(profile: Profile) -> Iterator[Hint]:
    """A pure-Python numeric loop that dominates a hot function: a numba candidate."""
    for func in profile.functions:
        if not func.user_code or not _hot(profile, func.total_s, HOT_FUNCTION_SHARE):
            continue
        tree = _tree(profile, func.file)
        if tree is not None and func.function == "<module>":
            node: ast.AST | None = tree  # a loop at the top level of a script
        else:
            node = _function_node(tree, func.line, func.function) if tree else None
        if node is None:
            continue
        # Samples with no line (CPython 3.11 gives the back-edge jump of a loop without calls no
        # line number, and that is where such a loop lets the sampler in) are loop time.
        unplaced = sum(
            h.self_s
            for h in profile.hot_lines
            if h.file == func.file and h.line <= 0 and h.function == func.function
        )
        for loop in _own_nodes(node):
            if not isinstance(loop, ast.For | ast.While):
                continue
            span = range(loop.lineno, (loop.end_lineno or loop.lineno) + 1)
            loop_s = _line_seconds(profile, func.file, span) + unplaced
            if loop_s < LOOP_DOMINANCE * func.total_s:
                continue
            if not _numba_friendly(loop) or not _scalar_loop(loop):
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


def _cpu_bound_share(profile: Profile) -> float:
    """The CPU/wall ratio above which a function counts as CPU-bound in this run.

    Relative to the CPU the run could get, so that a loaded machine (every thread waiting for a
    core) does not make computing code look like waiting code; deterministic given the profile.
    Where the profile has the main thread's run-queue wait (Linux), that says how starved the
    run was; else the run's own CPU/wall stands in (which a program that mostly waits lowers).
    """
    sched = profile.environment.get("main_thread_sched") if profile.environment else None
    if isinstance(sched, dict):
        # Linux: of the time the main thread was ready to run, the share it got a core. An idle
        # machine gives ~1 however much the program sleeps or waits on I/O (a waiting loop is
        # not CPU-bound); a loaded one gives less and lowers the bar as before.
        cpu, queued = float(sched.get("cpu_s", 0.0)), float(sched.get("runqueue_wait_s", 0.0))
        if cpu + queued > 0:
            return CPU_BOUND * min(1.0, max(MIN_CPU_SHARE, cpu / (cpu + queued)))
    run_share = profile.cpu_s / profile.wall_s if profile.wall_s > 0 else 1.0
    return CPU_BOUND * min(1.0, max(MIN_CPU_SHARE, run_share))


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
                and f.total_cpu_s < _cpu_bound_share(profile) * f.total_s
            ):
                continue  # waits (I/O, sleep, locks) more than it computes
            if f.calls is not None and f.calls < 2:
                continue
            by_name[f.function.rsplit(".", 1)[-1]] = f
    if not by_name:
        return
    # A call site of a hot function lies in a function at least as hot (its total time includes
    # the call), so only files holding such a function are parsed; cold files never are.
    floor = min(f.total_s for f in by_name.values())
    for filename in {f.file for f in profile.functions if f.user_code and f.total_s >= floor}:
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
        if not _user_file(profile, hl.file):
            continue  # library code: not the user's to change, and parsing it costs ms per file
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
