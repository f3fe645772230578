"""``perfkit report``: build the scoreboard page from every results file in reports/bench/."""

from __future__ import annotations

import argparse
import os
import sys


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "report",
        help="build the dashboard reports/index.html from the bench results files",
        description=(
            "One self-contained page from every results file: per case baseline vs candidate, "
            "speed-up, memory ratio, figures and verdict, CPU and GPU side by side, history per "
            "commit. A file that cannot be read or holds an odd value is listed and skipped. "
            "Case modules are not imported: the page is drawn from the files alone."
        ),
    )
    p.add_argument(
        "results",
        nargs="*",
        default=["reports/bench"],
        help="results files or folders (default: reports/bench)",
    )
    p.add_argument(
        "--out",
        default="reports/index.html",
        help="the page to write (not a folder, not an input; default: reports/index.html)",
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from perfkit.bench.dashboard import write_dashboard

    report_dir = getattr(args, "report_dir", None)  # [tool.perfkit] report_dir
    if report_dir and args.results == ["reports/bench"]:
        args.results = [os.path.join(report_dir, "bench")]
    if report_dir and args.out == "reports/index.html":
        args.out = os.path.join(report_dir, "index.html")
    path, loaded = write_dashboard(args.results, args.out)
    for f, why in loaded.skipped:
        print(f"perfkit: skipped {f}: {why}", file=sys.stderr)
    print(f"dashboard written to {path} ({len(loaded.runs)} runs)", file=sys.stderr)
    return 0
