"""``perfkit indicators``: compute indicator features for price files, locally or on a cluster.

Only argparse and perfkit.errors are imported at module level; numpy, pandas and numba load
inside :func:`run`, so ``perfkit --help`` stays light.
"""

from __future__ import annotations

import argparse
import glob
import os
import sys
import time
from pathlib import Path

from perfkit.errors import InputFileError, UsageError

_SUFFIXES = (".csv", ".parquet", ".pq")


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``indicators`` subcommand."""
    p = subparsers.add_parser(
        "indicators",
        help="compute technical indicators for a panel of instruments (numba, joblib, dask)",
        description=(
            "Read prices (a long table: instrument, time, open/high/low/close/volume), compute "
            "the indicators for every instrument in parallel and write the features. INPUT may "
            "be a file, a directory or a glob: each input file gives one output file."
        ),
    )
    p.add_argument("input", help="PRICES.csv / PRICES.parquet, a directory, or a glob")
    p.add_argument(
        "--spec",
        required=True,
        help="indicators, e.g. sma:20,rsi:14,macd:12,26,9 (names: sma ema wma rsi macd bbands "
        "atr stoch obv std zscore roc logret min max)",
    )
    p.add_argument("--out", required=True, help="FEATURES.parquet/.csv, or a directory")
    p.add_argument("--n-jobs", type=int, default=None, help="workers (default: all cores)")
    p.add_argument(
        "--backend",
        default="auto",
        choices=["auto", "serial", "threads", "loky", "numba", "dask"],
        help="parallel backend (default: auto, chosen from the panel size)",
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
            return pd.read_csv(path)
        return pd.read_parquet(path)
    except ImportError as exc:
        raise InputFileError(f"cannot read {path}: {exc}", "pip install 'perfkit[io]'") from None
    except (ValueError, OSError, pd.errors.ParserError) as exc:
        msg = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise InputFileError(f"cannot read {path}: {msg}", "is it a valid price table?") from None


def _write(df: object, out: Path) -> None:
    from perfkit._atomic import atomic_open

    suffix = out.suffix.lower()
    if suffix == ".csv":
        with atomic_open(out, "w", encoding="utf-8", newline="") as fh:
            df.to_csv(fh, index=False)
    else:
        with atomic_open(out, "wb") as fh:
            df.to_parquet(fh, index=False)


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
    return [target / f"{p.stem}.features.parquet" for p in inputs]


def run(args: argparse.Namespace) -> int:
    """Compute the features for each input file and write one output per input."""
    from perfkit.indicators import compute, parse_specs

    specs = parse_specs(args.spec)
    if args.n_jobs is not None and args.n_jobs == 0:
        raise UsageError("--n-jobs must be a non-zero integer", "e.g. --n-jobs 2, or -1 for all")
    inputs = _inputs(args.input)
    many = Path(args.input).is_dir() or any(ch in args.input for ch in "*?[")
    outputs = _outputs_for(inputs, args.out, many)
    backend = args.backend
    client = None
    if args.scheduler and backend not in ("auto", "dask"):
        raise UsageError(f"--scheduler needs --backend dask (got --backend {backend})")
    try:
        if args.scheduler:
            from perfkit.indicators.parallel import _dask_client

            client, _owned = _dask_client(args.scheduler)
            backend = "dask"
        for src, dst in zip(inputs, outputs, strict=True):
            started = time.perf_counter()
            df = _read(src)
            if args.instrument_col not in df.columns and args.time_col in df.columns:
                df = df.assign(**{args.instrument_col: src.stem})
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
            _write(result, dst)
            took = time.perf_counter() - started
            print(
                f"wrote {dst}: {len(result):,} rows, {info.n_instruments:,} instruments, "
                f"{len(info.outputs)} features in {took:.2f} s "
                f"(backend {info.backend}: {info.reason})",
                file=sys.stderr,
            )
    finally:
        if client is not None:
            client.close()
    return 0
