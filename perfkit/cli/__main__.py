"""``perfkit`` / ``python -m perfkit``: dispatch to one subcommand module.

Only argparse and the subcommand modules are imported here; those modules import numpy, numba,
torch or pandas inside their ``run`` function, so ``perfkit --help`` stays fast.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from perfkit import __version__
from perfkit.errors import PerfkitError

#: Subcommand name -> (the module that builds its parser and runs it, one-line help).
SUBCOMMANDS: dict[str, tuple[str, str]] = {
    "profile": (
        "perfkit.cli.profile",
        "profile a script, module or code: CPU, lines, memory, hints",
    ),
    "diff": ("perfkit.cli.diff", "compare two profile.json files: what got faster or slower"),
    "bench": ("perfkit.cli.bench", "run baseline vs candidate cases, check them, save the results"),
    "report": ("perfkit.cli.report", "build the dashboard reports/index.html from bench results"),
    "downcast": (
        "perfkit.cli.downcast",
        "shrink the dtypes of a .npy/.npz/.csv/.parquet file safely",
    ),
    "indicators": ("perfkit.cli.indicators", "compute technical indicators for a panel of prices"),
    "compress": (
        "perfkit.cli.compress",
        "distil or quantize a model and report size, speed, fidelity",
    ),
}


#: The extra that brings what each subcommand imports beyond the core (profile and diff need none).
EXTRAS: dict[str, str] = {
    "downcast": "memory",
    "indicators": "indicators",
    "compress": "compress",
    "bench": "bench",
}
#: Top-level modules that live in an extra, and which extra brings them when the command has none.
_MODULE_EXTRAS: dict[str, str] = {
    "numpy": "memory",
    "pandas": "memory",
    "numba": "indicators",
    "joblib": "indicators",
    "torch": "compress",
    "onnx": "compress",
    "onnxruntime": "compress",
    "transformers": "compress",
    "safetensors": "compress",
    "sklearn": "compress",
    "scipy": "bench",
    "asv": "bench",
    "dask": "dist",
    "distributed": "dist",
    "pyarrow": "io",
    "polars": "io",
}


def missing_extra(exc: ModuleNotFoundError, command: str | None) -> PerfkitError | None:
    """A one-line error naming the extra to install when an optional package is missing."""
    top = (exc.name or "").split(".")[0]
    # profile/diff run the user's program: its own ImportError is the program's, not ours.
    if top not in _MODULE_EXTRAS or command not in EXTRAS:
        return None
    extra = EXTRAS[command]
    if top in ("dask", "distributed", "pyarrow", "polars"):
        extra = _MODULE_EXTRAS[top]
    from perfkit.errors import MissingDependencyError

    return MissingDependencyError(top, extra, f"perfkit {command}")


def build_parser(argv: Sequence[str] = ()) -> argparse.ArgumentParser:
    """The parser, with the full options of the subcommand named in ``argv`` only.

    Only that subcommand's module is imported; the others appear in ``--help`` from their one-line
    help alone, which keeps start-up to a few milliseconds.
    """
    parser = argparse.ArgumentParser(
        prog="perfkit",
        description=(
            "Profile, optimize, and prove every step is faster and still correct. "
            "profile -> fix the algorithm -> use libraries well -> shrink dtypes and avoid copies "
            "-> parallelize -> compress models."
        ),
    )
    parser.add_argument("--version", action="version", version=f"perfkit {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    chosen = next((a for a in argv if not a.startswith("-")), None)
    for name, (module, help_text) in SUBCOMMANDS.items():
        if name == chosen:
            importlib.import_module(module).register(sub)
        else:
            sub.add_parser(name, help=help_text)
    return parser


def _mentions_perfkit_config() -> bool:
    """Cheap pre-check: does the nearest pyproject.toml mention ``tool.perfkit`` at all?"""
    import os

    if os.environ.get("PERFKIT_NO_CONFIG"):
        return False
    folder = os.path.abspath(os.getcwd())
    while True:
        candidate = os.path.join(folder, "pyproject.toml")
        if os.path.isfile(candidate):
            try:
                with open(candidate, "rb") as fh:
                    return b"tool.perfkit" in fh.read()
            except OSError:
                return True  # let the real loader name the problem
        parent = os.path.dirname(folder)
        if parent == folder:
            return False
        folder = parent


def apply_config(parser: argparse.ArgumentParser, command: str) -> None:
    """Make ``[tool.perfkit]`` (nearest pyproject.toml) the defaults of ``command``'s flags."""
    if not _mentions_perfkit_config():
        return  # the common case costs a few stat calls, not tomllib and dataclasses
    from perfkit.config import load_config

    defaults = load_config().defaults_for(command)
    if not defaults:
        return
    for action in parser._subparsers._group_actions if parser._subparsers else ():
        sub = getattr(action, "choices", {}).get(command)
        if sub is not None:
            sub.set_defaults(**defaults)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; user errors print one line and return their exit code (2 for usage)."""
    if argv is None:
        argv = sys.argv[1:]
    parser = build_parser(argv)
    command = next((a for a in argv if not a.startswith("-")), None)
    if command in SUBCOMMANDS and not any(a in ("-h", "--help") for a in argv):
        try:
            apply_config(parser, command)
        except PerfkitError as exc:
            print(f"perfkit: error: {exc}", file=sys.stderr)
            return exc.exit_code
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help(sys.stderr)
        return 2
    try:
        return int(args.func(args) or 0)
    except PerfkitError as exc:
        print(f"perfkit: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except ModuleNotFoundError as exc:
        err = missing_extra(exc, getattr(args, "command", None))
        if err is None:
            raise
        print(f"perfkit: error: {err}", file=sys.stderr)
        return err.exit_code
    except KeyboardInterrupt:
        print("perfkit: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0


if __name__ == "__main__":
    sys.exit(main())
