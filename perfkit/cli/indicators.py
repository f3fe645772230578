"""``perfkit indicators``: compute indicator features for price files, locally or on a cluster.

Only argparse and perfkit.errors are imported at module level; numpy, pandas and numba load
inside :func:`run`, so ``perfkit --help`` stays light.
"""

from __future__ import annotations

import argparse
import contextlib
import glob
import os
import sys
import time
from pathlib import Path

from perfkit.errors import InputFileError, MissingDependencyError, PerfkitError, UsageError

_SUFFIXES = (".csv", ".parquet", ".pq")


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``indicators`` subcommand."""
    p = subparsers.add_parser(
        "indicators",
        help="compute technical indicators for a panel of instruments (numba, joblib, dask)",
        description=(
            "Read prices (a long table: instrument, time, open/high/low/close/volume), compute "
            "the indicators for every instrument in parallel and write the features. INPUT may "
            "be a file, a directory or a glob: each input file gives one output file. A table "
            "without an instrument column is one instrument; without a time column its rows "
            "are taken in file order. Every input is computed before any output is written."
        ),
    )
    p.add_argument("input", help="PRICES.csv / PRICES.parquet, a directory, or a glob")
    from perfkit.indicators.definitions import INDICATORS  # a plain table: no numpy

    p.add_argument(
        "--spec",
        required=True,
        help="indicators, e.g. sma:20,rsi:14,macd:12,26,9 (names: "
        + ", ".join(f"{d.example} {d.summary}" for d in INDICATORS.values()).replace("%", "%%")
        + ")",
    )
    p.add_argument("--out", required=True, help="FEATURES.parquet/.csv, or a directory")
    p.add_argument("--n-jobs", type=int, default=None, help="workers (default: all cores)")
    p.add_argument(
        "--backend",
        default="auto",
        choices=["auto", "serial", "threads", "loky", "numba", "dask"],
        help="parallel backend (default: auto, chosen by measuring serial against threads)",
    )
    p.add_argument("--scheduler", default=None, help="dask scheduler address, tcp://host:8786")
    p.add_argument(
        "--nan",
        default="propagate",
        choices=["propagate", "restart"],
        help="gaps: propagate as TA-Lib does (default) or restart the window after a gap",
    )
    p.add_argument("--instrument-col", default="instrument", help="instrument column name")
    p.add_argument("--time-col", default="time", help="time column name")
    p.set_defaults(func=run)


def _inputs(spec: str) -> list[Path]:
    path = Path(spec)
    if path.is_dir():
        files = sorted(p for p in path.iterdir() if p.suffix.lower() in _SUFFIXES)
        if not files:
            raise InputFileError(
                f"no .csv or .parquet files in directory {spec}", "point at price files"
            )
        return files
    if any(ch in spec for ch in "*?["):
        files = sorted(Path(p) for p in glob.glob(spec) if Path(p).suffix.lower() in _SUFFIXES)
        if not files:
            raise InputFileError(f"no .csv or .parquet file matches {spec!r}", "check the pattern")
        return files
    if not path.exists():
        raise InputFileError(f"input file not found: {spec}", "check the path")
    if path.suffix.lower() not in _SUFFIXES:
        raise InputFileError(
            f"unsupported input type {path.suffix or '(none)'!r}: {spec}",
            "use a .csv or .parquet price file",
        )
    return [path]


def _read(path: Path) -> object:
    import pandas as pd

    try:
        if path.suffix.lower() == ".csv":
            df = pd.read_csv(path)
        else:
            df = pd.read_parquet(path)
    except ImportError as exc:
        raise InputFileError(f"cannot read {path}: {exc}", "pip install 'perfkit[io]'") from None
    except pd.errors.EmptyDataError:
        raise InputFileError(f"{path} is empty", "give a price table with a header row") from None
    except (ValueError, OSError, pd.errors.ParserError) as exc:
        msg = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise InputFileError(f"cannot read {path}: {msg}", "is it a valid price table?") from None
    if len(df) == 0:
        raise InputFileError(
            f"{path} has a header but no rows", "give a price table with some price rows"
        )
    return df


def _outputs_for(inputs: list[Path], out: str, many: bool) -> list[Path]:
    target = Path(out)
    multi = many or len(inputs) > 1 or target.is_dir() or out.endswith(os.sep)
    if not multi:
        if target.suffix.lower() not in (".csv", ".parquet", ".pq"):
            raise UsageError(
                f"--out {out!r} must end in .parquet or .csv", "e.g. --out FEATURES.parquet"
            )
        return [target]
    if target.exists() and not target.is_dir():
        raise UsageError(
            f"--out {out!r} is a file, but {len(inputs)} inputs need one output each",
            "give a directory for --out",
        )
    outputs = [target / f"{p.stem}.features.parquet" for p in inputs]
    seen: dict[Path, Path] = {}
    for src, dst in zip(inputs, outputs, strict=True):
        if dst in seen:
            raise UsageError(
                f"inputs {seen[dst]} and {src} would both write {dst}",
                "rename one of them, or run them separately",
            )
        seen[dst] = src
    return outputs


def _named(exc: PerfkitError, src: Path) -> PerfkitError:
    """The same error, its message prefixed with the file it came from (if not already)."""
    if str(src) not in exc.message:
        exc.message = f"{src}: {exc.message}"
        exc.args = (exc.message,)
    return exc


class _Staged:
    """Outputs written to temp files beside their targets, renamed into place together.

    Every input is read and computed, and every output written to its temp file, before any
    target is touched: a bad file anywhere leaves no output at all. The renames come last;
    should one fail, the error lists the outputs already in place.
    """

    def __init__(self) -> None:
        self.pending: list[tuple[Path, Path]] = []

    def write(self, df: object, out: Path) -> None:
        import tempfile

        from perfkit._atomic import TEMP_PREFIX, check_writable, clean_stale_temps

        check_writable(out)
        try:
            out.parent.mkdir(parents=True, exist_ok=True)
            clean_stale_temps(out.parent)
            fd, name = tempfile.mkstemp(prefix=f"{TEMP_PREFIX}{out.name}.", dir=out.parent)
        except OSError as exc:
            raise UsageError(
                f"cannot write to {out.parent}: {exc.strerror or exc}",
                "choose a writable output location",
            ) from None
        tmp = Path(name)
        self.pending.append((tmp, out))
        with os.fdopen(fd, "wb") as fh:
            try:
                if out.suffix.lower() == ".csv":
                    fh.write(df.to_csv(index=False).encode("utf-8"))
                else:
                    df.to_parquet(fh, index=False)
            except ImportError as exc:
                raise MissingDependencyError("pyarrow", "io", f"writing {out.name}") from exc
            except Exception as exc:
                known = (ValueError, TypeError, ArithmeticError, NotImplementedError)
                if not (isinstance(exc, known) or type(exc).__module__.startswith("pyarrow")):
                    raise
                raise UsageError(
                    f"cannot write {out}: {str(exc).splitlines()[0] if str(exc) else exc!r}",
                    "write a .csv instead, or drop the column that cannot be stored",
                ) from None
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o644)

    def commit(self) -> list[Path]:
        done: list[Path] = []
        for tmp, out in self.pending:
            try:
                os.replace(tmp, out)
            except OSError as exc:
                written = ", ".join(str(p) for p in done) or "none"
                raise UsageError(
                    f"cannot write {out}: {exc.strerror or exc}; outputs already written: "
                    f"{written}",
                    "choose another output location and run again",
                ) from None
            done.append(out)
        self.pending = []
        return done

    def discard(self) -> None:
        for tmp, _ in self.pending:
            with contextlib.suppress(OSError):
                tmp.unlink()
        self.pending = []


def run(args: argparse.Namespace) -> int:
    """Compute the features of every input file, then write one output per input.

    All inputs are read and computed first; outputs are committed only when every file
    succeeded, so a bad file leaves no output (the error names it).
    """
    from perfkit._atomic import check_writable, refuse_output_over_input
    from perfkit.indicators import compute, parse_specs

    specs = parse_specs(args.spec)
    if args.n_jobs is not None and args.n_jobs == 0:
        raise UsageError("--n-jobs must be a non-zero integer", "e.g. --n-jobs 2, or -1 for all")
    inputs = _inputs(args.input)
    many = Path(args.input).is_dir() or any(ch in args.input for ch in "*?[")
    outputs = _outputs_for(inputs, args.out, many)
    roots = [args.input] if Path(args.input).is_dir() else []
    refuse_output_over_input(args.out, [*roots, *inputs])
    for dst in outputs:
        refuse_output_over_input(dst, inputs)
        check_writable(dst)  # an unwritable or directory target fails before any work
    backend = args.backend
    client = None
    if args.scheduler and backend not in ("auto", "dask"):
        raise UsageError(f"--scheduler needs --backend dask (got --backend {backend})")
    staged = _Staged()
    lines: list[str] = []
    try:
        if args.scheduler:
            from perfkit.indicators.parallel import _dask_client

            client, _owned = _dask_client(args.scheduler)
            backend = "dask"
        for src, dst in zip(inputs, outputs, strict=True):
            started = time.perf_counter()
            try:
                df = _read(src)
                result, info = compute(
                    df,
                    specs,
                    n_jobs=args.n_jobs,
                    backend=backend,
                    scheduler=client,
                    nan=args.nan,
                    instrument_col=args.instrument_col,
                    time_col=args.time_col,
                    return_info=True,
                )
                staged.write(result, dst)
            except PerfkitError as exc:
                if len(inputs) > 1:
                    exc.hint = f"{exc.hint + '; ' if exc.hint else ''}no output was written"
                raise _named(exc, src) from None
            took = time.perf_counter() - started
            order = info.extra.get("order", "")
            lines.append(
                f"wrote {dst}: {len(result):,} rows, {info.n_instruments:,} instruments, "
                f"{len(info.outputs)} features in {took:.2f} s "
                f"(backend {info.backend}: {info.reason}{'; bars in ' + order if order else ''})"
            )
        staged.commit()
    finally:
        staged.discard()
        if client is not None:
            client.close()
    for line in lines:
        print(line, file=sys.stderr)
    return 0
