"""IPython / Jupyter magics: ``%perfkit``, ``%%perfkit`` and ``%%perfkit_bench``.

``%perfkit STATEMENT`` and ``%%perfkit [--memory] [--lines auto|fn,...] [--cpu tracing] [-o name]``
profile a line or a cell with the same engines as ``perfkit profile``, show the report inline (HTML
in Jupyter, the terminal summary in IPython) and keep the :class:`~perfkit.profiling.model.Profile`
in ``_perfkit`` (or ``-o name``).

``%%perfkit_bench`` times a baseline against a candidate the way a Case does — warm-up,
interleaved repeats, medians — and checks that the candidate's output still matches::

    %%perfkit_bench --rtol 1e-6
    # baseline
    np.sort(x)[-10:]
    # candidate
    np.partition(x, -10)[-10:]; _[np.argsort(_)]

Each block's last expression is its output. ``%perfkit_bench [-i INPUTS] slow fast`` does the same
for two callables of the notebook, called with ``INPUTS`` (an expression) or nothing.
"""

from __future__ import annotations

import ast
import math
import re
from collections.abc import Callable
from typing import Any

from IPython.core.magic import Magics, line_cell_magic, magics_class, needs_local_scope

from perfkit import display as show

_SECTION = re.compile(r"^\s*#\s*[-=%\s]*(baseline|candidate)\b[-=\s]*$", re.IGNORECASE)


class _Shown:
    """What a magic displays: HTML in a notebook, plain text in a terminal."""

    def __init__(self, html: Callable[[], str], text: Callable[[], str]) -> None:
        self._html, self._text = html, text

    def _repr_html_(self) -> str:
        return self._html()

    def __repr__(self) -> str:
        return self._text()


def compile_block(source: str, filename: str) -> Callable[[dict[str, Any], Any], Any]:
    """Compile ``source``; the returned function runs it and returns its last expression's value."""
    tree = ast.parse(source, filename=filename, mode="exec")
    last = None
    if tree.body and isinstance(tree.body[-1], ast.Expr):
        last = ast.Expression(tree.body.pop().value)
    body = compile(tree, filename, "exec")
    tail = compile(last, filename, "eval") if last is not None else None

    def run(glb: dict[str, Any], loc: Any = None) -> Any:
        exec(body, glb, loc)
        return eval(tail, glb, loc) if tail is not None else None

    return run


def split_sections(cell: str) -> tuple[str, str]:
    """Split a ``%%perfkit_bench`` cell at its ``# candidate`` line into (baseline, candidate)."""
    base: list[str] = []
    cand: list[str] = []
    current: list[str] | None = base
    seen_candidate = False
    for line in cell.splitlines():
        m = _SECTION.match(line)
        if m:
            seen_candidate = seen_candidate or m.group(1).lower() == "candidate"
            current = cand if m.group(1).lower() == "candidate" else base
            continue
        current.append(line)
    if not seen_candidate:
        from perfkit.errors import UsageError

        raise UsageError(
            "%%perfkit_bench needs a '# candidate' line between the baseline and the candidate",
            "write the baseline, a line '# candidate', then the candidate",
        )
    return "\n".join(base), "\n".join(cand)


def _as_array(value: Any) -> Any:
    if hasattr(value, "detach") and hasattr(value, "cpu"):  # torch tensor
        return value.detach().cpu().numpy()
    if hasattr(value, "to_numpy") and not isinstance(value, (list, tuple, dict)):
        return value.to_numpy()
    return value


def compare_outputs(baseline: Any, candidate: Any, rtol: float = 1e-7, atol: float = 0.0) -> Any:
    """The check of a notebook pair: equal within ``rtol``/``atol`` (arrays, frames, numbers)."""
    from perfkit.bench.case import Verdict

    b, c = _as_array(baseline), _as_array(candidate)
    if hasattr(b, "shape") and hasattr(c, "shape"):
        import numpy as np

        b, c = np.asarray(b), np.asarray(c)
        if b.shape != c.shape:
            return Verdict(False, f"shapes differ: {b.shape} vs {c.shape}")
        if b.dtype.kind in "iub" and c.dtype.kind in "iub":
            # Integers are exact: a relative tolerance would let 332833500 pass for 332833501.
            gap = np.abs(b.astype(np.float64) - c.astype(np.float64))
            err = float(gap.max()) if b.size else 0.0
            ok = bool(np.array_equal(b, c)) or (atol > 0 and err <= atol)
            return Verdict(ok, f"max abs error {err:.3g} (integers: exact, atol={atol:g})", err)
        if b.dtype.kind in "fciub" and c.dtype.kind in "fciub":
            diff = np.abs(b.astype(np.complex128) - c.astype(np.complex128)) if b.size else b
            both_nan = np.isnan(b) & np.isnan(c) if b.dtype.kind in "fc" else False
            err = float(np.max(np.where(both_nan, 0, diff))) if b.size else 0.0
            ok = bool(np.allclose(b, c, rtol=rtol, atol=atol, equal_nan=True))
            return Verdict(ok, f"max abs error {err:.3g} (rtol={rtol:g}, atol={atol:g})", err)
        ok = bool(np.array_equal(b, c))
        return Verdict(ok, "arrays equal" if ok else "arrays differ")
    if isinstance(b, int) and isinstance(c, int):
        err = float(abs(b - c))
        return Verdict(err <= atol, f"{b!r} vs {c!r} (integers: exact, atol={atol:g})", err)
    if isinstance(b, (int, float)) and isinstance(c, (int, float)):
        err = abs(float(b) - float(c))
        ok = (math.isnan(b) and math.isnan(c)) or math.isclose(b, c, rel_tol=rtol, abs_tol=atol)
        return Verdict(ok, f"{b!r} vs {c!r}", err)
    try:
        ok = bool(b == c)
    except Exception as exc:  # ambiguous truth values and the like
        return Verdict(False, f"cannot compare {type(b).__name__} outputs: {exc}")
    return Verdict(ok, "outputs equal" if ok else f"outputs differ: {b!r:.80} vs {c!r:.80}")


def _friendly(method: Callable[..., None]) -> Callable[..., None]:
    """perfkit's usage errors become IPython's: one red line, no traceback."""
    import functools

    @functools.wraps(method)
    def wrapper(*args: Any, **kwargs: Any) -> None:
        from IPython.core.error import UsageError as IPythonUsageError

        from perfkit.errors import PerfkitError

        try:
            return method(*args, **kwargs)
        except PerfkitError as exc:
            raise IPythonUsageError(str(exc)) from None

    return wrapper


@magics_class
class PerfkitMagics(Magics):
    """The magics registered by ``%load_ext perfkit``."""

    def _filename(self, source: str) -> str:
        shell = self.shell
        count = getattr(shell, "execution_count", 0)
        try:
            return shell.compile.cache(source, count)
        except Exception:
            return f"<perfkit-cell-{count}>"

    @needs_local_scope
    @line_cell_magic
    @_friendly
    def perfkit(self, line: str, cell: str | None = None, local_ns: Any = None) -> None:
        """Profile a statement (``%perfkit``) or a cell (``%%perfkit``) and show the report.

        Options: ``--memory``, ``--lines auto|fn,fn``, ``--cpu sampling|tracing|pyinstrument``,
        ``--interval SECONDS``, ``-o NAME`` (default ``_perfkit``), ``-q`` (keep, don't show).
        ``--lines auto`` runs the code twice, as the CLI does: once to find the hottest functions,
        once to time them line by line.
        """
        import perfkit
        from perfkit.errors import UsageError

        opts, stmt = self.parse_options(
            line, "o:qi:", "memory", "lines=", "cpu=", "interval=", posix=False, strict=False
        )
        source = cell if cell is not None else stmt
        if not source.strip():
            raise UsageError("nothing to profile", "%perfkit STATEMENT or %%perfkit on a cell")
        name = opts.get("o", "_perfkit")
        cpu = opts.get("cpu", "sampling")
        interval = float(opts.get("interval", opts.get("i", 0.001)))
        memory = "memory" in opts
        code = compile_block(self.shell.transform_cell(source), self._filename(source))
        glb = self.shell.user_ns
        loc = local_ns if cell is None and local_ns is not glb else None
        lines_spec = opts.get("lines")
        lines: list[Any] = []
        if lines_spec and lines_spec != "auto":
            for fname in (x.strip() for x in lines_spec.split(",") if x.strip()):
                fn = (loc or {}).get(fname, glb.get(fname))
                if not callable(fn):
                    raise UsageError(f"--lines {fname}: no such function in the notebook")
                lines.append(fn)
        if lines_spec == "auto":
            with perfkit.profile(cpu="sampling", interval_s=interval, hints=False) as first:
                code(glb, loc)
            lines = self._hottest_functions(first.result, glb)
        prof = perfkit.profile(memory=memory, lines=lines, cpu=cpu, interval_s=interval)
        with prof:
            code(glb, loc)
        from dataclasses import replace

        label = "%%perfkit cell" if cell is not None else f"%perfkit {stmt.strip()}"[:80]
        # The kernel's own argv (ipykernel_launcher -f ...) says nothing about the cell.
        result = replace(prof.result, program=label, argv=(label, *line.split()))
        glb[name] = result
        if "q" not in opts:
            from IPython.display import display

            display(_Shown(lambda: show.profile_html(result), lambda: show.profile_text(result)))

    @staticmethod
    def _hottest_functions(result: Any, glb: dict[str, Any], top: int = 5) -> list[Any]:
        """The notebook's own functions that took the most time, as objects for line_profiler."""
        found: list[Any] = []
        for stat in result.top_functions(50) if result is not None else ():
            fn = glb.get(stat.function)
            code = getattr(fn, "__code__", None)
            if code is not None and code.co_filename == stat.file and fn not in found:
                found.append(fn)
            if len(found) >= top:
                break
        return found

    @needs_local_scope
    @line_cell_magic
    @_friendly
    def perfkit_bench(self, line: str, cell: str | None = None, local_ns: Any = None) -> None:
        """Time a baseline against a candidate and check the candidate's output.

        Cell form: the baseline, a ``# candidate`` line, the candidate; each block's last
        expression is its output. Line form: ``%perfkit_bench [-i INPUTS] BASELINE CANDIDATE``,
        two callables. Options: ``-r N`` samples per side (>= 5), ``--rtol``, ``--atol``,
        ``-o NAME`` (default ``_perfkit_bench``).
        """
        from perfkit.bench.case import Case
        from perfkit.bench.runner import run_point
        from perfkit.errors import UsageError

        opts, rest = self.parse_options(
            line, "o:r:i:q", "rtol=", "atol=", posix=False, strict=False
        )
        glb = self.shell.user_ns
        loc = local_ns if local_ns is not glb else None
        if cell is not None:
            base_src, cand_src = split_sections(cell)
            base_code = compile_block(self.shell.transform_cell(base_src), self._filename(base_src))
            cand_code = compile_block(self.shell.transform_cell(cand_src), self._filename(cand_src))

            def baseline(_: Any) -> Any:
                return base_code(glb, loc)

            def candidate(_: Any) -> Any:
                return cand_code(glb, loc)

            labels = ("baseline cell", "candidate cell")
            make_inputs: Callable[[dict[str, Any]], Any] = lambda _p: None  # noqa: E731
        else:
            names = rest.split()
            if len(names) != 2:
                raise UsageError(
                    "%perfkit_bench needs two callables", "%perfkit_bench [-i INPUTS] slow fast"
                )
            fns = [(loc or {}).get(n, glb.get(n)) for n in names]
            for n, fn in zip(names, fns, strict=True):
                if not callable(fn):
                    raise UsageError(f"{n} is not a function of the notebook")
            expr = opts.get("i")
            args_code = compile_block(expr, "<perfkit_bench inputs>") if expr else None
            base_fn, cand_fn = fns

            def baseline(x: Any) -> Any:
                return base_fn() if args_code is None else base_fn(x)

            def candidate(x: Any) -> Any:
                return cand_fn() if args_code is None else cand_fn(x)

            labels = (names[0], names[1])

            def make_inputs(_p: dict[str, Any]) -> Any:
                return args_code(glb, loc) if args_code is not None else None

        rtol = float(opts.get("rtol", 1e-7))
        atol = float(opts.get("atol", 0.0))
        case = Case(
            name="notebook",
            group="notebook",
            make_inputs=make_inputs,
            baseline=baseline,
            candidate=candidate,
            check=lambda b, c: compare_outputs(b, c, rtol, atol),
            baseline_label=labels[0],
            candidate_label=labels[1],
            module="__main__",
        )
        result = run_point(case, {}, "cpu", int(opts.get("r", 5)))
        glb[opts.get("o", "_perfkit_bench")] = result
        if "q" not in opts:
            from IPython.display import display

            display(
                _Shown(lambda: show.case_result_html(result), lambda: show.case_result_repr(result))
            )


def load_ipython_extension(ipython: Any) -> None:
    """Register the magics (``%load_ext perfkit``)."""
    ipython.register_magics(PerfkitMagics)
