"""``perfkit diff before.json after.json [--fail-if-slower PCT]``: what got faster or slower."""

from __future__ import annotations

import argparse


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``diff`` subcommand."""
    p = subparsers.add_parser(
        "diff",
        help="compare two profile.json files: total, memory and per-function changes",
        description="Compare two profiles written by `perfkit profile` (profile.json).",
    )
    p.add_argument("before", help="profile.json of the baseline run")
    p.add_argument("after", help="profile.json of the new run")
    p.add_argument(
        "--fail-if-slower",
        type=float,
        metavar="PCT",
        help="exit 1 when total wall time grew by more than PCT percent (CI gate)",
    )
    p.add_argument("--top", type=int, default=15, help="functions to show (default 15)")
    p.add_argument(
        "--format",
        choices=("text", "markdown", "html", "json"),
        default="text",
        help="text (default), markdown (for a PR comment), html, or json (every function)",
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Print the comparison; exit 1 under --fail-if-slower when the total got slower."""
    import math
    import sys

    from perfkit.errors import UsageError
    from perfkit.profiling.diff import diff_profiles
    from perfkit.profiling.model import Profile
    from perfkit.render import _table
    from perfkit.render.reports import diff_document, diff_table

    if args.fail_if_slower is not None and not (
        math.isfinite(args.fail_if_slower) and args.fail_if_slower >= 0
    ):
        raise UsageError("--fail-if-slower must be a number >= 0", "e.g. --fail-if-slower 10")
    if args.top < 0:
        raise UsageError("--top must be >= 0", "e.g. --top 15")
    # Profile.load validates each file against profile.schema.json (types, NaN, missing keys,
    # newer versions) and names the file in its error: nothing below sees a malformed value.
    before, after = Profile.load(args.before), Profile.load(args.after)
    for name, p in ((args.before, before), (args.after, after)):
        if not math.isfinite(p.wall_s):  # pragma: no cover - the schema refuses it first
            raise UsageError(f"{name}: wall_s is not a finite number", "re-create the profile")
    d = diff_profiles(before, after)
    if args.format == "json":
        from perfkit._atomic import dumps_strict

        sys.stdout.write(dumps_strict(diff_document(d), indent=2) + "\n")
    else:
        to = {"text": _table.to_text, "markdown": _table.to_markdown, "html": _table.to_html}
        sys.stdout.write(to[args.format](diff_table(d, top=args.top)))
    if args.fail_if_slower is not None and d.wall_change_pct > args.fail_if_slower:
        print(
            f"perfkit: total got {d.wall_change_pct:.1f}% slower "
            f"(more than --fail-if-slower {args.fail_if_slower:g}%)",
            file=sys.stderr,
        )
        return 1
    return 0
