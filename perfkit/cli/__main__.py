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

#: Subcommand name -> the module that builds its parser (``register``) and runs it (``run``).
SUBCOMMANDS: dict[str, str] = {
    "profile": "perfkit.cli.profile",
    "diff": "perfkit.cli.diff",
    "bench": "perfkit.cli.bench",
    "report": "perfkit.cli.report",
    "downcast": "perfkit.cli.downcast",
    "indicators": "perfkit.cli.indicators",
    "compress": "perfkit.cli.compress",
}


def build_parser() -> argparse.ArgumentParser:
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
    for module in SUBCOMMANDS.values():
        try:
            mod = importlib.import_module(module)
        except ModuleNotFoundError as exc:
            if exc.name == module:  # that subcommand is not built in this version
                continue
            raise
        mod.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; user errors print one line and return their exit code (2 for usage)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help(sys.stderr)
        return 2
    try:
        return int(args.func(args) or 0)
    except PerfkitError as exc:
        print(f"perfkit: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("perfkit: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0


if __name__ == "__main__":
    sys.exit(main())
