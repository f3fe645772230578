"""The regression gate: run the base and the candidate commit on THIS machine, then compare.

``python -m perfkit.bench.gate [--base REV] [--candidate REV] [-k PATTERN | --group G]``

Committed results files come from other machines and other days; they cannot judge a change.
The gate checks the base commit out in a temporary ``git worktree``, starts one worker process
per tree for every round (each imports perfkit from its own tree), and runs the selected grid
points in rounds, alternating the two trees point by point (base, candidate; then candidate,
base; ...) so that a drift of the machine lands on both.
Each side's per-sample times are pooled over the rounds and judged by
:func:`perfkit.bench.compare.compare_runs`: a one-sided Mann–Whitney U test, Holm-adjusted over
the cases of the run, plus the threshold on the median ratio. Each sample lasts at least
``--min-sample-ms`` (calls are batched until it does), so the clock and the scheduler's tick
are small beside it.

Samples taken in one process share that process's luck (memory layout, address randomisation,
what the machine did meanwhile), so a first pass that flags a case is not the verdict. Every case
flagged by the first pass is measured again, alone, in ``--confirm-rounds`` new rounds of fresh
processes, and it is a regression only if these independent samples also show a significant
slowdown beyond the threshold (Holm over the flagged cases). Each verdict prints its effect size:
the median ratio and the Hodges–Lehmann ratio with its 95% confidence interval. Like the U test,
that interval treats the pooled samples as independent, which samples sharing a process are
not; the confirmation's fresh processes are what make a flag trustworthy.

Exit codes: 0 no regression, 1 a check failed (a wrong answer) or a worker broke, 3 a significant
regression, 2 bad usage (unknown revision, not a git checkout, no case selected).

``--plant CASE_ID=FACTOR`` slows that case's candidate by FACTOR in the candidate tree only (after
each call the worker keeps the CPU busy for FACTOR - 1 times that call's own measured duration, so
the candidate really does FACTOR times its work, whatever the machine's speed): how
``perfkit.bench.gate_study`` measures that the gate detects a known slowdown. It changes nothing
in either tree.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from perfkit.bench.compare import (
    ALPHA,
    CaseChange,
    Comparison,
    compare_runs,
    parse_threshold,
)
from perfkit.bench.results import BenchRun, CaseResult
from perfkit.bench.timer import Timing
from perfkit.errors import CheckFailedError, PerfkitError, UsageError

#: The working tree as it is (uncommitted changes included), as a ``--candidate`` value.
WORKTREE = "WORKTREE"
#: Temporary worktrees live in folders named with this prefix.
TEMP_PREFIX = "perfkit-gate-"

#: The worker each tree runs: it imports perfkit from that tree only (cwd and PYTHONPATH), lists
#: the selected grid points (one JSON line), then answers each grid-point id written to its
#: stdin with that point's result (one JSON line); any other line ends it. It uses only
#: ``registry.select``, ``Case.grid``, ``runner.run_point`` and ``CaseResult.to_dict``, which
#: every perfkit with a bench spine has.
_WORKER = r"""
import dataclasses, json, sys, time
cfg = json.loads(sys.argv[1])
out, sys.stdout = sys.stdout, sys.stderr  # the protocol owns the real stdout
from perfkit.bench import registry, timer
from perfkit.bench.case import case_id
if cfg.get("min_sample_s") and hasattr(timer, "MIN_SAMPLE_S"):
    timer.MIN_SAMPLE_S = float(cfg["min_sample_s"])  # calibrate() reads it at call time
from perfkit.bench.runner import run_point

def slowed(fn, factor):
    def run(inputs):
        start = time.perf_counter()
        result = fn(inputs)
        end = start + (time.perf_counter() - start) * factor
        while time.perf_counter() < end:
            pass
        return result
    return run

points = {}
for c in registry.select(cfg["pattern"], cfg["group"]):
    if "cpu" not in c.devices:
        continue
    for p in c.grid(cfg["quick"]):
        cid = case_id(c.name, p)
        planted = c
        if cfg["plant"] and cfg["plant"][0] == cid:
            planted = dataclasses.replace(c, candidate=slowed(c.candidate, cfg["plant"][1]))
        points[cid] = (planted, p)
out.write(json.dumps({"points": list(points)}) + "\n")
out.flush()
for line in sys.stdin:
    cid = line.rstrip("\n")
    if cid not in points:
        break
    c, p = points[cid]
    out.write(json.dumps({"result": run_point(c, p, "cpu", cfg["repeat"]).to_dict()}) + "\n")
    out.flush()
"""


def _git(repo: Path, *args: str) -> str:
    proc = subprocess.run(
        ["git", *args], cwd=repo, capture_output=True, text=True, timeout=120, check=False
    )
    if proc.returncode != 0:
        raise UsageError(
            f"git {' '.join(args)} failed: {proc.stderr.strip() or proc.stdout.strip()}",
            "run the gate inside a git checkout and name revisions that exist",
        )
    return proc.stdout.strip()


def repo_root(start: str | os.PathLike[str] = ".") -> Path:
    """The top folder of the git checkout containing ``start``."""
    return Path(_git(Path(start), "rev-parse", "--show-toplevel"))


def resolve(repo: Path, rev: str) -> str:
    """The full commit id of ``rev`` (a UsageError naming it when it does not exist)."""
    return _git(repo, "rev-parse", "--verify", "--quiet", f"{rev}^{{commit}}")


def default_base(repo: Path, candidate: str) -> str:
    """The base to compare with when none is given.

    The working tree is compared with ``HEAD`` when it has uncommitted changes to tracked files;
    otherwise the merge-base with the upstream branch (``origin/main``...) when that differs from
    the candidate, else the candidate's parent commit.
    """
    if candidate == WORKTREE:
        dirty = _git(repo, "status", "--porcelain", "--untracked-files=no")
        if dirty:
            return "HEAD"
        candidate = "HEAD"
    cand_sha = resolve(repo, candidate)
    with contextlib.suppress(UsageError):
        upstream = _git(repo, "rev-parse", "--abbrev-ref", "--symbolic-full-name", "@{upstream}")
        base = _git(repo, "merge-base", upstream, cand_sha)
        if base and base != cand_sha:
            return base
    return f"{cand_sha}~1"


#: A gate worktree older than this belongs to a killed run (SIGKILL skips the clean-up).
STALE_AFTER_S = 3600.0


def remove_stale_worktrees(repo: Path, older_than_s: float = STALE_AFTER_S) -> list[Path]:
    """Remove the gate worktrees a killed run left behind (temp folders named ``perfkit-gate-``)."""
    import shutil

    removed = []
    listing = _git(repo, "worktree", "list", "--porcelain")
    tmp = Path(tempfile.gettempdir()).resolve()
    for line in listing.splitlines():
        if not line.startswith("worktree "):
            continue
        tree = Path(line.split(" ", 1)[1])
        folder = tree.parent
        if folder.parent.resolve() != tmp or not folder.name.startswith(TEMP_PREFIX):
            continue
        try:
            age = time.time() - folder.stat().st_mtime
        except OSError:
            age = older_than_s  # gone already: prune drops it
        if age < older_than_s:
            continue  # another gate may be running
        subprocess.run(
            ["git", "worktree", "remove", "--force", str(tree)],
            cwd=repo,
            capture_output=True,
            check=False,
        )
        shutil.rmtree(folder, ignore_errors=True)
        removed.append(tree)
    _git(repo, "worktree", "prune")
    return removed


@contextlib.contextmanager
def worktree(repo: Path, rev: str) -> Iterator[Path]:
    """A detached ``git worktree`` of ``rev`` in a temporary folder, removed afterwards."""
    sha = resolve(repo, rev)
    remove_stale_worktrees(repo)
    folder = Path(tempfile.mkdtemp(prefix=TEMP_PREFIX))
    tree = folder / sha[:12]
    try:
        _git(repo, "worktree", "add", "--detach", "--force", str(tree), sha)
        yield tree
    finally:
        subprocess.run(
            ["git", "worktree", "remove", "--force", str(tree)],
            cwd=repo,
            capture_output=True,
            check=False,
        )
        import shutil

        shutil.rmtree(folder, ignore_errors=True)
        subprocess.run(["git", "worktree", "prune"], cwd=repo, capture_output=True, check=False)


@dataclass(frozen=True)
class Side:
    """One tree to run: its folder, the commit it holds, and an optional planted slowdown."""

    tree: Path
    label: str
    commit: str
    plant: tuple[str, float] | None = None


class Worker:
    """One tree's worker process (see ``_WORKER``)."""

    def __init__(self, side: Side, config: dict[str, Any]) -> None:
        env = {
            **os.environ,
            **({"PERFKIT_CASE_MODULES": config["modules"]} if config.get("modules") else {}),
            "PYTHONPATH": os.pathsep.join([str(side.tree), os.environ.get("PYTHONPATH", "")]),
            "PERFKIT_COMMIT": side.commit,
            "PYTHONHASHSEED": "0",
        }
        cfg = {**config, "plant": list(side.plant) if side.plant else None}
        self.side = side
        self.proc = subprocess.Popen(
            [sys.executable, "-c", _WORKER, json.dumps(cfg)],
            cwd=side.tree,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self._points: list[str] | None = None

    @property
    def points(self) -> list[str]:
        """The grid-point ids the tree selected (read once, after the worker has started)."""
        if self._points is None:
            self._points = list(self._read()["points"])
        return self._points

    def _read(self) -> dict[str, Any]:
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line:
            self.proc.wait(timeout=30)
            err = (self.proc.stderr.read() if self.proc.stderr else "").strip().splitlines()
            tail = err[-1] if err else f"exit code {self.proc.returncode}"
            raise CheckFailedError(
                f"the {self.side.label} worker ({self.side.commit[:10]}) stopped: {tail}",
                "run its cases with 'perfkit bench' in that commit to see why",
            )
        return json.loads(line)

    def run_point(self, point_id: str) -> CaseResult:
        """Run one grid point (make inputs, check, time both sides) in this tree."""
        assert self.proc.stdin is not None
        self.proc.stdin.write(point_id + "\n")
        self.proc.stdin.flush()
        return CaseResult.from_dict(self._read()["result"])

    def close(self) -> None:
        with contextlib.suppress(OSError, ValueError):
            if self.proc.stdin:
                self.proc.stdin.close()
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        for stream in (self.proc.stdout, self.proc.stderr):
            if stream:
                stream.close()


def _pool(rounds: list[list[CaseResult]]) -> tuple[CaseResult, ...]:
    """One result per grid point with every round's samples; a failed round makes it failed."""
    by_id: dict[str, list[CaseResult]] = {}
    for results in rounds:
        for r in results:
            by_id.setdefault(r.id, []).append(r)
    pooled = []
    for rs in by_id.values():
        bad = next((r for r in rs if r.status != "passed"), None)
        if bad is not None:
            pooled.append(bad)
            continue
        sides = {}
        for side in ("baseline", "candidate"):
            timings: list[Timing] = [getattr(r, side) for r in rs]
            last = timings[-1]
            sides[side] = Timing(
                tuple(t for tm in timings for t in tm.times_s),
                last.number,
                last.peak_bytes,
                last.memory,
            )
        pooled.append(replace(rs[-1], **sides))
    return tuple(pooled)


#: Defaults: 8 rounds of fresh processes x 10 samples of >= 5 ms per side, and as many new
#: rounds as the first pass for the flagged cases. About 10-20 s for five quick grid points on an
#: idle 2-core machine.
ROUNDS = 8
REPEAT = 10
MIN_SAMPLE_S = 5e-3


def confirm(first: Comparison, confirmation: Comparison | None) -> Comparison:
    """The final verdict: a first-pass regression stands only if the confirmation agrees.

    Parameters
    ----------
    first
        The comparison of the first pass (every selected case).
    confirmation
        The comparison of new, independent rounds of the cases ``first`` flagged (its own Holm
        family), or ``None`` when confirmation is switched off.

    Returns
    -------
    Comparison
        ``first`` with each flagged case either kept ``regressed`` (``confirmed=True``, the
        confirmation's figures appended to the reason) or turned ``unchanged`` (``confirmed=False``)
        when the confirmation did not show a significant slowdown beyond the threshold. A flagged
        case missing from the confirmation is not confirmed; a failed check there is a failure.
    """
    if confirmation is None:
        return first
    again = {(c.id, c.device): c for c in confirmation.changes}
    out: list[CaseChange] = []
    for c in first.changes:
        if c.status != "regressed":
            out.append(c)
            continue
        second = again.get((c.id, c.device))
        if second is not None and second.status == "failed":
            out.append(replace(second, reason=f"in the confirmation: {second.reason}"))
            continue
        ok = second is not None and second.status == "regressed"
        why = second.reason if second is not None else "not measured again"
        out.append(
            replace(
                c,
                status="regressed" if ok else "unchanged",
                confirmed=ok,
                reason=f"{c.reason}; confirmation: {why}"
                + ("" if ok else ": not confirmed, treated as noise"),
            )
        )
    return replace(first, changes=tuple(out))


@dataclass(frozen=True)
class GateResult:
    """Both pooled runs, the comparisons and the exit code the gate returns.

    ``first`` judges the first pass; ``confirmation`` the new rounds of the cases it flagged
    (``None`` when nothing was flagged or confirmation is off); ``comparison`` is the verdict.
    """

    base: BenchRun
    candidate: BenchRun
    comparison: Comparison
    duration_s: float
    first: Comparison | None = None
    confirmation: Comparison | None = None

    @property
    def exit_code(self) -> int:
        failed = self.candidate.failed
        return 1 if failed else self.comparison.exit_code()


def _run_rounds(
    base: Side,
    candidate: Side,
    config: dict[str, Any],
    rounds: int,
    only: Sequence[str] | None,
    log: Any,
    what: str,
) -> tuple[list[str], list[list[list[CaseResult]]]]:
    """``rounds`` rounds of fresh worker pairs; each side's results per round."""
    collected: list[list[list[CaseResult]]] = [[], []]
    points: list[str] = list(only) if only else []
    for i in range(rounds):
        # Fresh worker processes every round, as pyperf does: a process's own luck (memory
        # layout, address randomisation) would otherwise bias every sample of one side.
        workers: list[Worker] = []
        try:
            workers.append(Worker(base, config))
            workers.append(Worker(candidate, config))
            shared = set(workers[0].points) & set(workers[1].points)  # each sends its list first
            if not points:
                if not shared:
                    pattern, group = config.get("pattern"), config.get("group")
                    raise UsageError(
                        "no case selected in both commits"
                        + (
                            f" (-k {pattern!r})"
                            if pattern
                            else f" (--group {group!r})"
                            if group
                            else ""
                        ),
                        "list the cases with 'perfkit bench --list'",
                    )
                points = [p for p in workers[1].points if p in shared]
            if log:
                log(f"{what} round {i + 1}/{rounds}: {len(points)} grid points, both sides")
            got: list[list[CaseResult]] = [[], []]
            for j, point in enumerate(points):
                # Alternate which side goes first, point by point and round by round.
                for w in (0, 1) if (i + j) % 2 == 0 else (1, 0):
                    got[w].append(workers[w].run_point(point))
            collected[0].append(got[0])
            collected[1].append(got[1])
        finally:
            for w in workers:
                w.close()
    return points, collected


def run_gate(
    base: Side,
    candidate: Side,
    *,
    modules: str | None = None,
    pattern: str | None = None,
    group: str | None = None,
    quick: bool = False,
    rounds: int = ROUNDS,
    repeat: int = REPEAT,
    threshold: float = 0.10,
    alpha: float = ALPHA,
    confirm_rounds: int | None = None,
    min_sample_s: float = MIN_SAMPLE_S,
    log: Any = None,
) -> GateResult:
    """Run both sides' cases in alternating rounds, compare, and confirm what was flagged.

    Parameters
    ----------
    base, candidate
        The two trees (and the candidate's planted slowdown, if any).
    rounds, repeat
        First pass: rounds of fresh worker processes, samples per side per round (>= 5).
    threshold, alpha
        Slowdown of the median that counts, and the level of the Holm-adjusted one-sided
        Mann–Whitney U test.
    confirm_rounds
        New rounds for the cases the first pass flagged (default: as many as ``rounds``; 0: no
        confirmation, the first pass is then the verdict).
    min_sample_s
        Each sample batches calls until it lasts at least this long.

    Raises
    ------
    UsageError
        No case selected, the two trees share no grid point, or bad settings.
    CheckFailedError
        A worker process died.
    """
    from perfkit import __version__
    from perfkit._env import machine_info, utc_now_iso

    if confirm_rounds is None:
        confirm_rounds = rounds
    if rounds < 1 or repeat < 5 or confirm_rounds < 0:
        raise UsageError("--rounds must be >= 1, --repeat >= 5 and --confirm-rounds >= 0")
    if not 0 < min_sample_s <= 1:
        raise UsageError(f"--min-sample-ms must be in (0, 1000], got {min_sample_s * 1e3:g}")
    config = {
        "pattern": pattern,
        "group": group,
        "quick": quick,
        "repeat": repeat,
        "modules": modules,
        "min_sample_s": min_sample_s,
    }
    started = time.perf_counter()
    when = utc_now_iso()

    def pooled(
        collected: list[list[list[CaseResult]]], n_rounds: int, stage: str
    ) -> list[BenchRun]:
        return [
            BenchRun(
                results=_pool(results),
                datetime=when,
                duration_s=time.perf_counter() - started,
                machine_info=machine_info(),
                commit_info={"id": side.commit, "branch": "", "dirty": False, "time": ""},
                settings={
                    "device": "cpu",
                    "repeat": repeat,
                    "rounds": n_rounds,
                    "stage": stage,
                    "min_sample_s": min_sample_s,
                    "pattern": pattern,
                    "group": group,
                    "quick": quick,
                    "gate_side": side.label,
                    "planted": list(side.plant) if side.plant else None,
                },
                version=__version__,
            )
            for side, results in zip((base, candidate), collected, strict=True)
        ]

    _, collected = _run_rounds(base, candidate, config, rounds, None, log, "first pass")
    runs = pooled(collected, rounds, "first pass")
    first = compare_runs(runs[0], runs[1], threshold, alpha=alpha)
    flagged = [c.id for c in first.regressed]
    second: Comparison | None = None
    if flagged and confirm_rounds:
        if log:
            log(f"first pass flagged {', '.join(flagged)}: confirming in new rounds")
        _, again = _run_rounds(
            base, candidate, config, confirm_rounds, flagged, log, "confirmation"
        )
        check = pooled(again, confirm_rounds, "confirmation")
        second = compare_runs(check[0], check[1], threshold, alpha=alpha)
    final = confirm(first, second)
    return GateResult(runs[0], runs[1], final, time.perf_counter() - started, first, second)


def _parse_plant(text: str | None) -> tuple[str, float] | None:
    if not text:
        return None
    cid, sep, factor = text.rpartition("=")
    try:
        value = float(factor)
    except ValueError:
        value = 0.0
    if not sep or not cid or not value >= 1.0:
        raise UsageError(f"--plant {text!r} is not CASE_ID=FACTOR", "e.g. --plant 'fib[n=100]=1.3'")
    return cid, value


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m perfkit.bench.gate",
        description=(
            "Run the selected cases at a base commit and at the candidate on this machine "
            "(alternating rounds, git worktree), and fail on a significant regression. "
            "Exit 0: none; 3: a significant regression; 1: a failed check; 2: bad usage."
        ),
    )
    p.add_argument(
        "--base",
        help="base revision (default: HEAD for a dirty tree, else the "
        "merge-base with the upstream branch, else the previous commit)",
    )
    p.add_argument(
        "--candidate",
        default=WORKTREE,
        help=f"candidate revision (default: {WORKTREE}, the checkout as it is)",
    )
    p.add_argument("-k", dest="pattern", metavar="PATTERN", help="glob/regex on case names")
    p.add_argument("--group", help="only cases of this group")
    p.add_argument("--quick", action="store_true", help="each case's small grid")
    p.add_argument(
        "--modules",
        metavar="MOD,...",
        help="import only these case modules in the workers (faster start), e.g. "
        "perfkit.bench.playbook",
    )
    p.add_argument(
        "--rounds",
        type=int,
        default=ROUNDS,
        help=f"first-pass rounds of fresh processes, sides alternating ({ROUNDS})",
    )
    p.add_argument(
        "--repeat", type=int, default=REPEAT, help=f"samples per side per round ({REPEAT}, >=5)"
    )
    p.add_argument(
        "--confirm-rounds",
        type=int,
        help="new rounds re-measuring the flagged cases (default: as many as --rounds; "
        "0: no confirmation)",
    )
    p.add_argument(
        "--min-sample-ms",
        type=float,
        default=MIN_SAMPLE_S * 1e3,
        help=f"batch calls until a sample lasts this long ({MIN_SAMPLE_S * 1e3:g} ms)",
    )
    p.add_argument("--threshold", default="10%", help="slowdown that counts (10%%)")
    p.add_argument(
        "--alpha",
        type=float,
        default=ALPHA,
        help="Mann-Whitney U level, Holm-adjusted over the cases (0.01)",
    )
    p.add_argument("--out-dir", help="write base.json, candidate.json and compare.json here")
    p.add_argument("--plant", help=argparse.SUPPRESS)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """The gate's command line; returns the exit code."""
    args = build_parser().parse_args(argv)
    # A kill (SIGTERM) unwinds like Ctrl-C, so the worktrees are removed.
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
    try:
        threshold = parse_threshold(args.threshold)
        if not 0 < args.alpha < 1:
            raise UsageError(f"--alpha must be between 0 and 1, got {args.alpha}")
        plant = _parse_plant(args.plant)
        if args.out_dir:
            from perfkit._atomic import check_writable

            check_writable(args.out_dir, directory=True)
        repo = repo_root()
        cand_rev = args.candidate
        base_rev = args.base or default_base(repo, cand_rev)
        base_sha = resolve(repo, base_rev)

        def log(msg: str) -> None:
            print(f"gate: {msg}", file=sys.stderr, flush=True)

        with contextlib.ExitStack() as stack:
            base_tree = stack.enter_context(worktree(repo, base_sha))
            if cand_rev == WORKTREE:
                cand_tree, cand_sha = repo, resolve(repo, "HEAD") + "+worktree"
            else:
                cand_sha = resolve(repo, cand_rev)
                cand_tree = stack.enter_context(worktree(repo, cand_sha))
            log(f"base {base_sha[:10]} ({base_rev}) vs candidate {cand_sha[:10]} ({cand_rev})")
            result = run_gate(
                Side(base_tree, "base", base_sha),
                Side(cand_tree, "candidate", cand_sha, plant),
                modules=args.modules,
                pattern=args.pattern,
                group=args.group,
                quick=args.quick,
                rounds=args.rounds,
                repeat=args.repeat,
                threshold=threshold,
                alpha=args.alpha,
                confirm_rounds=args.confirm_rounds,
                min_sample_s=args.min_sample_ms / 1e3,
                log=log,
            )
        print(result.comparison.summary())
        if args.out_dir:
            _write(Path(args.out_dir), result)
        for r in result.candidate.failed:
            print(f"FAILED {r.id}: {r.error or (r.verdict.detail if r.verdict else '')}")
        return result.exit_code
    except PerfkitError as exc:
        print(f"perfkit gate: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("perfkit gate: interrupted", file=sys.stderr)
        return 130


def _write(folder: Path, result: GateResult) -> None:
    from perfkit._atomic import atomic_write_text, dumps_strict

    folder.mkdir(parents=True, exist_ok=True)
    result.base.save(folder / "base.json")
    result.candidate.save(folder / "candidate.json")
    doc = {
        **result.comparison.to_dict(),
        "first_pass": result.first.to_dict() if result.first else None,
        "confirmation": result.confirmation.to_dict() if result.confirmation else None,
    }
    atomic_write_text(folder / "compare.json", dumps_strict(doc, indent=2) + "\n")


if __name__ == "__main__":
    sys.exit(main())
