"""``perfkit bench``: run baseline/candidate cases, check them, print and save the results."""

from __future__ import annotations

import argparse
import os
import sys

from perfkit.errors import UsageError


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "bench",
        help="run baseline vs candidate cases and prove each candidate is faster and still correct",
        description=(
            "Time each case's baseline and candidate on the same inputs (warm-up, >=5 interleaved "
            "repeats, medians), check the candidate still gives the baseline's answer, print a "
            "table and write reports/bench/<timestamp>-<device>-<commit>.json (also a "
            "pytest-benchmark file). Exits 1 when any check fails or a case raises, 3 when "
            "--compare finds a significant regression, 2 on bad usage."
        ),
    )
    p.add_argument(
        "-k", dest="pattern", metavar="PATTERN", help="glob/regex on case names or groups"
    )
    p.add_argument("--group", help="only cases of this group (playbook, memory, indicators, ...)")
    p.add_argument("--device", default="cpu", help="cpu (default) or cuda")
    p.add_argument(
        "--repeat", type=int, default=5, metavar="N", help="timed samples per side (>=5)"
    )
    p.add_argument(
        "--quick",
        action="store_true",
        help="small input sizes (each case's quick grid), for smoke runs",
    )
    p.add_argument("--list", action="store_true", help="list the matching cases and exit")
    p.add_argument("--out", metavar="FILE", help="results file (default: reports/bench/...json)")
    p.add_argument("--no-save", action="store_true", help="do not write a results file")
    p.add_argument(
        "--format",
        choices=("table", "markdown", "json"),
        default="table",
        help="what to print on stdout (table also goes to stdout; progress goes to stderr)",
    )
    p.add_argument(
        "--compare",
        metavar="BASELINE",
        help=(
            "compare with a saved run (a results file, or a folder: newest result per case from "
            "this machine; invalid files are skipped and listed); exit 3 on a significant "
            "regression, 1 on a failed check"
        ),
    )
    p.add_argument(
        "--allow-other-machine",
        action="store_true",
        help="with --compare: accept saved results from another machine (timings then mislead)",
    )
    p.add_argument(
        "--alpha",
        type=float,
        default=None,
        metavar="P",
        help="with --compare: significance level of the Mann-Whitney U test (default 0.01)",
    )
    p.add_argument(
        "--threshold",
        default="10%",
        help="slowdown that counts as a regression with --compare (e.g. 10%% or 1.1)",
    )
    p.add_argument(
        "--progress",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="progress bar on stderr (default: when stderr is a terminal)",
    )
    p.set_defaults(func=run)


def _stdout_console():  # noqa: ANN202
    """A rich console for stdout; wide when piped so that names are never folded."""
    from rich.console import Console

    out = Console()
    return out if out.is_terminal else Console(width=160)


def _list(cases: list, quick: bool) -> int:
    from rich.table import Table

    from perfkit.bench.registry import unavailable

    table = Table(title="perfkit cases")
    for col in ("case", "group", "devices", "grid points", "what it shows"):
        table.add_column(col, overflow="fold")
    for c in cases:
        table.add_row(c.name, c.group, ",".join(c.devices), str(len(c.ids(quick))), c.description)
    console = _stdout_console()
    console.print(table)
    for mod, why in unavailable().items():
        console.print(f"[yellow]not loaded:[/] {mod} — {why}")
    return 0


def run(args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.markup import escape

    from perfkit.bench import registry
    from perfkit.bench.runner import default_results_path, require_device, run_cases
    from perfkit.render import bench_table

    cases = registry.select(args.pattern, args.group)
    if args.list:
        return _list(cases, args.quick)
    if not cases:
        what = f"-k {args.pattern!r}" if args.pattern else f"--group {args.group!r}"
        raise UsageError(f"no case matches {what}", "see the cases with 'perfkit bench --list'")
    require_device(args.device)
    for mod, why in registry.unavailable().items():
        Console(stderr=True).print(f"cases not loaded from {mod}: {why}", markup=False)
    no_form = [c.name for c in cases if args.device not in c.devices]
    if no_form and len(no_form) < len(cases):
        # Leave out cases with no form for this device rather than listing them as skipped.
        cases = [c for c in cases if args.device in c.devices]
        Console(stderr=True).print(
            f"{len(no_form)} matching case(s) have no {args.device} form and are left out",
            markup=False,
        )
    if args.out and not args.no_save:
        from perfkit._atomic import check_writable, refuse_output_over_input

        check_writable(args.out)
        if args.compare and not os.path.isdir(args.compare):
            refuse_output_over_input(args.out, [args.compare])
    if args.alpha is not None and not 0 < args.alpha < 1:
        raise UsageError(f"--alpha must be between 0 and 1, got {args.alpha}", "use e.g. 0.01")
    baseline_run = None
    if args.compare:
        from perfkit._env import machine_info
        from perfkit.bench.compare import parse_threshold, saved_baseline

        parse_threshold(args.threshold)  # a bad threshold fails before the run, not after
        if not os.path.exists(args.compare):
            raise UsageError(f"--compare {args.compare}: no such file or folder", "check the path")
        saved = saved_baseline(args.compare, machine_info(), args.allow_other_machine)
        for _path, why in saved.skipped:
            Console(stderr=True).print(
                f"skipped invalid results file: {why}", markup=False, soft_wrap=True
            )
        if saved.other_machine:
            Console(stderr=True).print(
                f"left out {len(saved.other_machine)} results file(s) from other machines "
                "(--allow-other-machine to use them)",
                markup=False,
                soft_wrap=True,
            )
        baseline_run = saved.run
        if not args.allow_other_machine:
            from perfkit.bench.compare import machine_differences

            diff = machine_differences(baseline_run.machine_info, machine_info())
            if diff:
                raise UsageError(
                    f"{args.compare} comes from another machine ({'; '.join(diff)})",
                    "compare runs made on this machine (make bench-check runs both commits "
                    "here), or pass --allow-other-machine",
                )
        wanted = {(i, args.device) for c in cases for i in c.ids(args.quick)}
        saved_ids = {(r.id, r.device) for r in baseline_run.results}
        if not wanted & saved_ids:
            raise UsageError(
                f"{args.compare} has no case in common with this run",
                "compare runs of the same cases (same -k pattern, device and --quick)",
            )
        # Judge (and list as missing) only the cases this run selected.
        baseline_run = baseline_run.with_results(
            tuple(r for r in baseline_run.results if (r.id, r.device) in wanted)
        )

    err = Console(stderr=True)
    show_progress = err.is_terminal if args.progress is None else args.progress
    progress_cb = None
    progress_ctx = None
    if show_progress:
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

        progress_ctx = Progress(
            TextColumn("[bold]bench"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.description}"),
            console=err,
            transient=True,
        )
        task = progress_ctx.add_task("", total=None)

        def progress_cb(done: int, total: int, res) -> None:  # noqa: ANN001
            progress_ctx.update(task, completed=done, total=total, description=res.id)

        progress_ctx.start()
    try:
        result = run_cases(
            cases,
            device=args.device,
            repeat=args.repeat,
            progress=progress_cb,
            pattern=args.pattern,
            quick=args.quick,
        )
    finally:
        if progress_ctx is not None:
            progress_ctx.stop()

    if args.format == "json":
        sys.stdout.write(bench_table.to_json(result))
    elif args.format == "markdown":
        sys.stdout.write(bench_table.to_markdown(result))
    else:
        _stdout_console().print(bench_table.to_rich_table(result))
    if not args.no_save:
        root = os.path.join(getattr(args, "report_dir", None) or "reports", "bench")
        path = result.save(args.out or default_results_path(result, root))
        err.print(f"results written to {path}", markup=False, highlight=False)
    c = result.counts()
    err.print(
        f"{c['passed']} passed, {c['failed']} failed, {c['error']} errors, {c['skipped']} skipped"
    )
    for r in result.results:
        if r.status == "error":
            err.print(f"[red]ERROR[/] {escape(r.id)}: {escape(r.error or '')}", highlight=False)
        elif r.status == "failed":
            detail = r.verdict.detail if r.verdict else ""
            err.print(f"[red]FAILED[/] {escape(r.id)}: {escape(detail)}", highlight=False)
    exit_code = 1 if result.failed else 0
    if baseline_run is not None:
        from perfkit.bench.compare import ALPHA, compare_runs, parse_threshold

        cmp = compare_runs(
            baseline_run,
            result,
            threshold=parse_threshold(args.threshold),
            alpha=args.alpha if args.alpha is not None else ALPHA,
            allow_other_machine=args.allow_other_machine,
        )
        err.print(cmp.summary(), markup=False, highlight=False, soft_wrap=True)
        exit_code = exit_code or cmp.exit_code()
    return exit_code
