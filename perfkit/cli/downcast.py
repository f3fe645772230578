"""``perfkit downcast FILE``: shrink the dtypes of a .npy/.npz/.csv/.parquet file, losing nothing.

Parse -> read the file (never unpickling) -> :func:`perfkit.memory.downcast` -> print the report
-> write the output atomically. NumPy/pandas are imported inside :func:`run`.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

from perfkit.errors import InputFileError, UsageError

SUFFIXES = (".npy", ".npz", ".csv", ".parquet")


def register(subparsers: Any) -> None:
    """Add the ``downcast`` subcommand."""
    p = subparsers.add_parser(
        "downcast",
        help="shrink dtypes of a .npy/.npz/.csv/.parquet file with a no-loss guarantee",
        description=(
            "Pick per column the smallest dtype that keeps every value within rtol/atol "
            "(NaN, inf and -0.0 preserved), print the report and write the result atomically."
        ),
    )
    p.add_argument("file", metavar="FILE", help="input: .npy, .npz, .csv or .parquet")
    p.add_argument(
        "--out",
        metavar="FILE",
        help="output file (default: FILE with '.downcast' before the extension); "
        "a .csv input may be written as .parquet to keep the dtypes",
    )
    p.add_argument("--rtol", type=float, default=1e-6, help="relative tolerance (default 1e-6)")
    p.add_argument("--atol", type=float, default=0.0, help="absolute tolerance (default 0)")
    p.add_argument(
        "--floats",
        default="float32,float16",
        help="smaller float dtypes allowed, comma-separated (default float32,float16; '' for none)",
    )
    p.add_argument("--no-ints", action="store_true", help="leave integer dtypes alone")
    p.add_argument(
        "--categories", action="store_true", help="store low-cardinality strings as category"
    )
    p.add_argument("--dry-run", action="store_true", help="print the report, write nothing")
    p.add_argument(
        "--strict",
        action="store_true",
        help="fail (exit 1, nothing written) if a column cannot be shrunk within tolerance",
    )
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    p.set_defaults(func=run)


def _default_out(path: Path) -> Path:
    return path.with_name(f"{path.stem}.downcast{path.suffix}")


def _check_input(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix not in SUFFIXES:
        raise InputFileError(
            f"{path}: unsupported file type {suffix or '(no extension)'!r}",
            f"use one of {', '.join(SUFFIXES)}",
        )
    if not path.exists():
        raise InputFileError(f"{path}: no such file", "check the path")
    if path.is_dir():
        raise InputFileError(f"{path}: is a directory", "name a file")
    if not os.access(path, os.R_OK):
        raise InputFileError(f"{path}: permission denied", "make the file readable")
    return suffix


_INTACT = "check that the file is intact"
_MAGIC = {".npy": (b"\x93NUMPY", "a NumPy .npy file"), ".npz": (b"PK", "a NumPy .npz (zip) file")}
_PICKLE_HINT = "save a numeric array (np.save without dtype=object)"


def _is_pickle_error(exc: BaseException) -> bool:
    text = str(exc)
    return "allow_pickle" in text or "Object arrays" in text or "Python objects" in text


def _read_npz(path: Path) -> dict[str, Any]:
    """Every member of an .npz as an array; a member that is not an array is named and refused."""
    import numpy as np

    out: dict[str, Any] = {}
    with np.load(path, allow_pickle=False) as z:
        for name in z.files:
            try:
                value = z[name]
            except Exception as exc:  # a corrupt member: bad header, short data, bad CRC...
                if _is_pickle_error(exc):
                    raise InputFileError(
                        f"{path}: member {name!r} holds a pickled object array, "
                        "which perfkit never loads",
                        _PICKLE_HINT,
                    ) from None
                raise InputFileError(
                    f"{path}: member {name!r} cannot be read: {type(exc).__name__}: {exc}",
                    _INTACT,
                ) from None
            if not isinstance(value, np.ndarray):
                raise InputFileError(
                    f"{path}: member {name!r} is not a NumPy .npy array "
                    f"({len(value) if isinstance(value, bytes) else '?'} bytes of other data)",
                    "keep only arrays in the .npz (np.savez(file, name=array, ...))",
                )
            out[name] = value
    return out


def _read(path: Path, suffix: str) -> Any:
    import numpy as np

    if suffix in _MAGIC:
        magic, what = _MAGIC[suffix]
        try:
            with open(path, "rb") as fh:
                head = fh.read(len(magic))
        except OSError as exc:
            raise InputFileError(f"{path}: cannot read: {exc.strerror or exc}", _INTACT) from None
        if head != magic:
            raise InputFileError(f"{path}: not {what}", _INTACT)
    try:
        if suffix == ".npy":
            return np.load(path, mmap_mode="r", allow_pickle=False)
        if suffix == ".npz":
            return _read_npz(path)
        if suffix == ".csv":
            import pandas as pd

            return pd.read_csv(path)
        import pandas as pd

        try:
            import pyarrow  # noqa: F401
        except ImportError:
            from perfkit.errors import MissingDependencyError

            raise MissingDependencyError("pyarrow", "io", "parquet files") from None
        return pd.read_parquet(path)
    except InputFileError:
        raise
    except ValueError as exc:
        if _is_pickle_error(exc):
            raise InputFileError(
                f"{path}: holds a pickled object array, which perfkit never loads", _PICKLE_HINT
            ) from None
        raise InputFileError(f"{path}: cannot read: {exc}", _INTACT) from None
    except (OSError, EOFError, UnicodeDecodeError, OverflowError, MemoryError) as exc:
        raise InputFileError(f"{path}: cannot read: {type(exc).__name__}: {exc}", _INTACT) from None
    except Exception as exc:  # pandas/pyarrow raise their own error types for corrupt files
        # a corrupt .npy header reaches NumPy's header parser: SyntaxError, tokenize.TokenError
        npy = suffix in (".npy", ".npz") and not isinstance(exc, MemoryError)
        if npy or type(exc).__module__.split(".")[0] in ("pandas", "pyarrow", "zipfile"):
            raise InputFileError(
                f"{path}: cannot read: {type(exc).__name__}: {exc}", _INTACT
            ) from None
        raise


def _unstorable(out: Path, column: Any, why: str) -> UsageError:
    return UsageError(
        f"--out {out}: column {str(column)!r} cannot be stored in parquet: {why}",
        "write the output as .csv (values only), or drop or convert that column first",
    )


def _arrow_table(out: Path, frame: Any) -> Any:
    """The pyarrow Table a parquet output will hold, built before anything is printed or written.

    A column parquet cannot store (integers beyond int64/uint64, a map or mixed-type object
    column...) is a :class:`UsageError` naming it, not a pyarrow traceback after the report.
    """
    import pyarrow as pa

    errors = (pa.ArrowException, OverflowError, TypeError, ValueError)
    try:
        return pa.Table.from_pandas(frame, preserve_index=False)
    except errors as exc:
        whole = exc
    for name in frame.columns:  # name the first column that fails on its own
        col = frame[name]
        if getattr(col, "ndim", 1) != 1:
            raise _unstorable(out, name, "the column name is not unique") from None
        try:
            pa.Table.from_pandas(col.to_frame(name=str(name)), preserve_index=False)
        except OverflowError:
            raise _unstorable(
                out, name, "it holds integers beyond the int64/uint64 range"
            ) from None
        except errors as exc:
            raise _unstorable(out, name, f"{type(exc).__name__}: {exc}") from None
    raise UsageError(
        f"--out {out}: the table cannot be stored in parquet: {type(whole).__name__}: {whole}",
        "write the output as .csv, or give every column a unique string name",
    )


def _prepare(out: Path, data: Any) -> Any:
    """What :func:`_write` will write, checked to be writable as ``out``'s format (no I/O)."""
    suffix = out.suffix.lower()
    if suffix == ".parquet":
        try:
            import pyarrow  # noqa: F401
        except ImportError:
            from perfkit.errors import MissingDependencyError

            raise MissingDependencyError("pyarrow", "io", "parquet files") from None
        return _arrow_table(out, data)
    return data


def _write(out: Path, data: Any) -> None:
    import numpy as np

    from perfkit._atomic import atomic_open

    suffix = out.suffix.lower()
    if suffix == ".npy":
        with atomic_open(out, "wb") as fh:
            np.save(fh, data, allow_pickle=False)
    elif suffix == ".npz":
        import zipfile

        # one member per array, written directly: np.savez(**data) would take a member named
        # "file" or "allow_pickle" for its own argument
        with atomic_open(out, "wb") as fh, zipfile.ZipFile(fh, "w", allowZip64=True) as zf:
            for name, arr in data.items():
                with zf.open(f"{name}.npy", "w", force_zip64=True) as member:
                    np.lib.format.write_array(member, np.asanyarray(arr), allow_pickle=False)
    elif suffix == ".csv":
        with atomic_open(out, "w", encoding="utf-8", newline="") as fh:
            data.to_csv(fh, index=False)
    elif suffix == ".parquet":
        import pyarrow.parquet as pq

        with atomic_open(out, "wb") as fh:
            pq.write_table(data, fh)


def run(args: argparse.Namespace) -> int:
    """Read, downcast, report, write. Returns the exit code.

    Every check that can fail without reading the data (the output is the input or lies over
    it, is a folder, or is in an unwritable folder) runs before the input is read; the output is
    converted to its file format before the report is printed, so a value the format cannot hold
    is an exit 2 with nothing printed or written.
    """
    from perfkit._atomic import check_writable, refuse_output_over_input

    for label, value in (("FILE", args.file), ("--out", args.out or "")):
        if "\x00" in value:
            raise UsageError(f"{label} {value!r}: a path cannot hold a NUL byte", "fix the path")
    path = Path(args.file)
    suffix = _check_input(path)
    out = Path(args.out) if args.out else _default_out(path)
    out_suffix = out.suffix.lower()
    allowed = {
        ".npy": (".npy",),
        ".npz": (".npz",),
        ".csv": (".csv", ".parquet"),
        ".parquet": (".parquet", ".csv"),
    }[suffix]
    if not args.dry_run:
        refuse_output_over_input(out, [path])
        if out.is_dir():
            raise UsageError(
                f"--out {out}: is an existing directory",
                f"give a file name, e.g. {out / ('small' + allowed[0])}",
            )
        if out_suffix not in allowed:
            raise UsageError(
                f"--out {out}: a {suffix} input can be written as {' or '.join(allowed)}",
                f"give --out a {allowed[0]} name",
            )
        check_writable(out)
    floats = tuple(f.strip() for f in args.floats.split(",") if f.strip())
    data = _read(path, suffix)

    from perfkit.memory.downcast import DowncastReport, downcast, plan_downcast

    def shrink(obj: Any, **kw: Any) -> tuple[Any, DowncastReport]:
        if args.dry_run:  # plan only: one read pass, nothing converted
            return None, plan_downcast(obj, **kw)
        return downcast(obj, **kw)

    kwargs = dict(
        rtol=args.rtol,
        atol=args.atol,
        floats=floats,
        ints=not args.no_ints,
        categories=args.categories,
        strict=args.strict,
    )
    if suffix == ".npz":
        results: dict[str, Any] = {}
        columns = []
        for name, arr in data.items():
            small, rep = shrink(arr, **kwargs)
            results[name] = small
            columns.extend(_rename(c, name) for c in rep.columns)
        report = DowncastReport(tuple(columns), args.rtol, args.atol, converted=not args.dry_run)
        converted: Any = results
    else:
        converted, report = shrink(data, **kwargs)
    payload = None if args.dry_run else _prepare(out, converted)
    if args.json:
        from perfkit._atomic import dumps_strict

        sys.stdout.write(dumps_strict(report.to_dict(), indent=2) + "\n")
    else:
        sys.stdout.write(report.render() + "\n")
    if args.dry_run:
        print("dry run: nothing written", file=sys.stderr)
        return 0
    _write(out, payload)
    if suffix in (".csv", ".parquet") and out_suffix == ".csv":
        print(
            f"wrote {out} (CSV keeps values, not dtypes: write .parquet to keep them)",
            file=sys.stderr,
        )
    else:
        print(f"wrote {out}", file=sys.stderr)
    return 0


def _rename(col: Any, prefix: str) -> Any:
    from dataclasses import replace

    name = prefix if col.name == "array" else f"{prefix}{col.name}"
    return replace(col, name=name)
