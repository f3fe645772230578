"""The regression gate: run the base and the candidate commit on THIS machine, then compare.

``python -m perfkit.bench.gate [--base REV] [--candidate REV] [-k PATTERN | --group G]``

Committed results files come from other machines and other days; they cannot judge a change.
The gate checks the base commit out in a temporary ``git worktree``, starts one worker process
per tree for every round (each imports perfkit from its own tree), and runs the selected grid
points in rounds, alternating the two trees point by point (base, candidate; then candidate,
base; ...) so that a drift of the machine lands on both.
Samples taken in one process share that process's luck (memory layout, address randomisation,
CPU frequency, what the machine did meanwhile), so the unit of evidence is the *round*, not the
sample: each round is one fresh base process and one fresh candidate process (run with the same
``PYTHONHASHSEED``, a new one every round), and gives one number per grid point, the log of the
candidate tree's median time over the base tree's in that round. A one-sample Student t on those
per-round log ratios (:mod:`perfkit.bench.stats`), Holm-adjusted over the cases, plus the
threshold on their geometric mean decides; its confidence interval is printed with every verdict.
Each sample lasts at least ``--min-sample-ms`` (calls are batched until it does).

The decision is sequential. The first pass runs ``--rounds`` rounds of every selected grid point.
A case whose one-sided 95% upper confidence bound already lies below the threshold is settled
there; every other case (a suspect, or too noisy to tell) gets new rounds, alone, in batches of
``--rounds`` (at most ``--confirm-rounds`` in all), and after each batch is judged on ALL its
rounds, first pass and confirmation pooled, until it is settled or regressed: a bad cluster of
rounds in either pass is outweighed by the rest instead of vetoing the verdict. A regression
needs at least one batch of new rounds; each look tests at ``--alpha`` divided by the number of
looks (Bonferroni), so looking again does not raise the false-alarm rate.

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
import math
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from perfkit.bench.compare import (
    ALPHA,
    CONFIDENCE,
    CaseChange,
    Comparison,
    holm_adjust,
    memory_change,
    parse_threshold,
)
from perfkit.bench.results import BenchRun, CaseResult
from perfkit.bench.stats import RoundEvidence, paired_log_ratio_test, round_log_ratios
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

    def __init__(self, side: Side, config: dict[str, Any], hash_seed: int = 0) -> None:
        env = {
            **os.environ,
            **({"PERFKIT_CASE_MODULES": config["modules"]} if config.get("modules") else {}),
            "PYTHONPATH": os.pathsep.join([str(side.tree), os.environ.get("PYTHONPATH", "")]),
            "PERFKIT_COMMIT": side.commit,
            # Both sides of a round get the same seed (the same dict and set layouts), and
            # every round a new one, so that a seed's luck is paired, not a side's bias.
            "PYTHONHASHSEED": str(hash_seed),
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


#: Defaults: 10 rounds of fresh process pairs x 5 samples of >= 5 ms per side (more rounds of
#: fewer samples: the rounds are the independent evidence), then up to twice as many new
#: rounds, in batches of 10, for each case the first pass did not settle.
ROUNDS = 10
REPEAT = 5
MIN_SAMPLE_S = 5e-3
#: A case is settled by the first pass when the one-sided upper confidence bound (this level) of
#: its geometric-mean ratio lies below 1 + threshold.
SETTLE_LEVEL = 0.95
#: The name of the test in the summary.
TEST_NAME = "t on per-round log ratios"

#: Per grid point, per round: (base tree's result, candidate tree's result).
RoundPairs = Mapping[str, Sequence[tuple[CaseResult, CaseResult]]]


def round_evidence(
    pairs: Sequence[tuple[CaseResult, CaseResult]], side: str = "candidate"
) -> RoundEvidence:
    """The per-round evidence of one grid point: one log ratio of medians per round.

    ``side`` picks which of the case's two implementations is compared across the trees: its
    ``candidate`` (what the gate judges) or its ``baseline`` (shown for context).
    """
    old = [getattr(b, side).times_s for b, _ in pairs]
    new = [getattr(c, side).times_s for _, c in pairs]
    return paired_log_ratio_test(round_log_ratios(old, new), CONFIDENCE)


def settled(evidence: RoundEvidence, threshold: float, level: float = SETTLE_LEVEL) -> bool:
    """True when the rounds already rule out a slowdown beyond ``threshold`` (no more needed)."""
    upper = evidence.upper_log(level)
    return upper is not None and upper < math.log1p(threshold)


def _failure(pairs: Sequence[tuple[CaseResult, CaseResult]]) -> CaseResult | None:
    return next((c for _, c in pairs if c.status in ("failed", "error")), None)


def judge_rounds(
    rounds: RoundPairs,
    threshold: float = 0.10,
    alpha: float = ALPHA,
    *,
    confirmation_rounds: Mapping[str, int] | None = None,
) -> Comparison:
    """Judge every grid point on its rounds (the unit of evidence), Holm over the points.

    Parameters
    ----------
    rounds
        Per grid point, its rounds in order: ``(base result, candidate result)`` from one pair
        of fresh processes each.
    threshold
        Slowdown of the geometric-mean ratio that counts, e.g. 0.10.
    alpha
        Level of the one-sided t test on the per-round log ratios, Holm-adjusted over the points.
    confirmation_rounds
        How many of each point's rounds came from the confirmation (for the reason text).

    Returns
    -------
    Comparison
        ``regressed`` when the geometric-mean ratio exceeds ``1 + threshold`` and the adjusted
        p-value (slower) is below ``alpha``; ``improved`` the same way in the other direction
        (its own family); ``failed`` when a check failed in any round of the candidate tree.
        Points where a round lacks a timing of either side (skipped) are left out.
    """
    extra = confirmation_rounds or {}
    failed: dict[str, CaseChange] = {}
    judged: dict[str, tuple[Sequence[tuple[CaseResult, CaseResult]], RoundEvidence]] = {}
    for pid, pairs in rounds.items():
        if not pairs:
            continue
        bad = _failure(pairs)
        if bad is not None:
            why = bad.error or (bad.verdict.detail if bad.verdict else "check failed")
            where = " (in the confirmation)" if extra.get(pid) else ""
            failed[pid] = CaseChange(pid, bad.device, "failed", None, None, why + where)
        elif all(b.candidate and c.candidate for b, c in pairs):
            judged[pid] = (pairs, round_evidence(pairs))
    adj_slow = holm_adjust([ev.p_slower for _, ev in judged.values()])
    adj_fast = holm_adjust([ev.p_faster for _, ev in judged.values()])
    verdicts: dict[str, CaseChange] = {}
    for (pid, (pairs, ev)), ps, pf in zip(judged.items(), adj_slow, adj_fast, strict=True):
        n_conf = extra.get(pid, 0)
        where = (
            f"{ev.n - n_conf} first-pass + {n_conf} confirmation rounds"
            if n_conf
            else f"{ev.n} round{'s' if ev.n != 1 else ''}"
        )
        if ps is None or pf is None or ev.ci is None:
            slower = faster = False
            how = "one round: no test (use --rounds >= 2)"
            ci = "no interval"
        else:
            slower, faster = ps < alpha, pf < alpha
            how = f"t-test p={min(ev.p_slower or 1, ev.p_faster or 1):.2g}, Holm {min(ps, pf):.2g}"
            ci = f"{CONFIDENCE:.0%} CI {ev.ci[0]:.2f}-{ev.ci[1]:.2f}"
        if ev.ratio > 1 + threshold and slower:
            status = "regressed"
        elif ev.ratio < 1 / (1 + threshold) and faster:
            status = "improved"
        else:
            status = "unchanged"
        reason = (
            f"candidate {ev.ratio:.2f}× the base (geometric mean of per-round median ratios, "
            f"{ci}; {where}; {how})"
        )
        if status == "unchanged" and abs(ev.mean_log) > math.log1p(threshold):
            reason += ": not significant, treated as noise"
        base_ratio = None
        if all(b.baseline and c.baseline for b, c in pairs):
            base_ratio = round_evidence(pairs, "baseline").ratio
            reason += f"; the case's baseline {base_ratio:.2f}×"
        last_b, last_c = pairs[-1]
        assert last_b.candidate is not None and last_c.candidate is not None
        mem_ratio, grew = memory_change(
            last_b.candidate.peak_bytes, last_c.candidate.peak_bytes, threshold
        )
        if grew:
            status = "regressed"
            reason += grew
        verdicts[pid] = CaseChange(
            pid,
            last_c.device,
            status,
            ev.ratio,
            base_ratio,
            reason,
            ev.p_slower,
            ev.p_faster,
            mem_ratio,
            ps,
            pf,
            None,
            ev.ci,
            rounds=ev.n,
        )
    changes = tuple(failed.get(p) or verdicts[p] for p in rounds if p in failed or p in verdicts)
    return Comparison(changes, (), (), threshold, alpha, TEST_NAME)


#: ``measure(points, n)``: ``n`` new rounds of ``points`` (None: every selected point).
Measure = Callable[[Sequence[str] | None, int], RoundPairs]


@dataclass(frozen=True)
class Verdict:
    """The sequential decision: the first pass, the confirmation alone, and the final verdict."""

    first: Comparison
    confirmation: Comparison | None
    final: Comparison
    rounds: dict[str, list[tuple[CaseResult, CaseResult]]]


def decide(
    measure: Measure,
    *,
    rounds: int = ROUNDS,
    confirm_rounds: int | None = None,
    threshold: float = 0.10,
    alpha: float = ALPHA,
    log: Callable[[str], None] | None = None,
) -> Verdict:
    """The gate's sequential rule, on whatever ``measure`` returns (real workers or synthetic).

    The first pass measures every point ``rounds`` times. A point whose one-sided 95% upper
    bound already lies below the threshold is settled (not slower beyond it). The others get new
    rounds, alone, in batches of ``rounds`` (at most ``confirm_rounds`` in all), each judged
    on ALL its rounds so far; a point leaves the loop once it is settled, regressed or failed.
    A regression is only declared after at least one batch of new rounds, and each of the
    ``ceil(confirm_rounds / rounds)`` looks tests at ``alpha`` divided by their number
    (Bonferroni over the looks), so looking again does not raise the false-alarm rate; settling
    early can only lower it.

    Parameters
    ----------
    measure
        Runs new rounds: ``measure(None, n)`` every selected point, ``measure(ids, n)`` only
        those; returns each point's ``(base, candidate)`` results per round.
    rounds, confirm_rounds
        First-pass rounds (also the batch size); the most new rounds an unsettled point gets
        (default: twice ``rounds``; 0: the first pass alone is the verdict, at ``alpha``).
    threshold, alpha
        See :func:`judge_rounds`.

    Returns
    -------
    Verdict
        ``final`` judges every point on all its rounds, in one Holm family. A point the first
        pass alone flagged but all its rounds do not is ``unchanged`` with ``confirmed=False``;
        a regression among the re-measured points has ``confirmed=True``.
    """
    if confirm_rounds is None:
        confirm_rounds = 2 * rounds
    first_rounds = measure(None, rounds)
    first = judge_rounds(first_rounds, threshold, alpha)
    pooled = {pid: list(pairs) for pid, pairs in first_rounds.items()}
    by_id = {c.id: c for c in first.changes}
    open_ = [
        pid
        for pid, pairs in first_rounds.items()
        if pid in by_id
        and by_id[pid].status != "failed"
        and not settled(round_evidence(pairs), threshold)
    ]
    if not open_ or not confirm_rounds:
        return Verdict(first, None, first, pooled)
    looks = math.ceil(confirm_rounds / rounds)
    level = alpha / looks
    added: dict[str, list[tuple[CaseResult, CaseResult]]] = {pid: [] for pid in open_}
    left = confirm_rounds
    current = first
    while open_ and left > 0:
        n = min(rounds, left)
        left -= n
        if log:
            log(f"{len(open_)} point(s) not settled: {', '.join(open_)}; {n} new rounds")
        more = measure(open_, n)
        for pid in open_:
            got = more.get(pid, ())
            pooled[pid].extend(got)
            added[pid].extend(got)
        counts = {pid: len(got) for pid, got in added.items()}
        current = judge_rounds(pooled, threshold, level, confirmation_rounds=counts)
        now = {c.id: c for c in current.changes}
        open_ = [
            pid
            for pid in open_
            if pid in now
            and now[pid].status not in ("failed", "regressed")
            and not settled(round_evidence(pooled[pid]), threshold)
        ]
    confirmation = judge_rounds({p: a for p, a in added.items() if a}, threshold, level)
    out: list[CaseChange] = []
    for c in current.changes:
        was = by_id.get(c.id)
        if not added.get(c.id) or c.status == "failed":
            out.append(c)
        elif c.status == "regressed":
            out.append(replace(c, confirmed=True))
        elif was is not None and was.status == "regressed":
            out.append(
                replace(
                    c,
                    confirmed=False,
                    reason=f"{c.reason}; the first pass alone flagged it ({was.ratio:.2f}×): "
                    "not confirmed by all the rounds, treated as noise",
                )
            )
        else:
            out.append(c)
    return Verdict(first, confirmation, replace(current, changes=tuple(out)), pooled)


@dataclass(frozen=True)
class GateResult:
    """Both pooled runs, the comparisons and the exit code the gate returns.

    ``first`` judges the first pass; ``confirmation`` the new rounds alone (``None`` when the
    first pass settled every case or confirmation is off); ``comparison`` is the verdict.
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
    seeds: random.Random | None = None,
) -> tuple[list[str], list[list[list[CaseResult]]]]:
    """``rounds`` rounds of fresh worker pairs; each side's results per round."""
    collected: list[list[list[CaseResult]]] = [[], []]
    points: list[str] = list(only) if only else []
    seeds = seeds or random.Random()
    for i in range(rounds):
        # Fresh worker processes every round, as pyperf does: a process's own luck (memory
        # layout, address randomisation) would otherwise bias every sample of one side.
        hash_seed = seeds.randrange(2**32)
        workers: list[Worker] = []
        try:
            workers.append(Worker(base, config, hash_seed))
            workers.append(Worker(candidate, config, hash_seed))
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


def _pairs(points: list[str], collected: list[list[list[CaseResult]]]) -> RoundPairs:
    """Per grid point, per round: (base result, candidate result)."""
    return {
        pid: [(b[j], c[j]) for b, c in zip(collected[0], collected[1], strict=True)]
        for j, pid in enumerate(points)
    }


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
    seed: int | None = None,
) -> GateResult:
    """Run both sides' cases in alternating rounds and decide with :func:`decide`.

    Parameters
    ----------
    base, candidate
        The two trees (and the candidate's planted slowdown, if any).
    rounds, repeat
        First pass: rounds of fresh worker-process pairs, samples per side per round (>= 5).
    threshold, alpha
        Slowdown of the geometric-mean ratio that counts, and the level of the Holm-adjusted
        one-sided t test on the per-round log ratios.
    confirm_rounds
        The most new rounds a case the first pass did not settle gets, in batches of
        ``rounds`` (default: twice ``rounds``; 0: the first pass is the verdict).
    min_sample_s
        Each sample batches calls until it lasts at least this long.
    seed
        Seeds the per-round ``PYTHONHASHSEED`` values (default: fresh ones every run).

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
        confirm_rounds = 2 * rounds
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
    seeds = random.Random(seed)
    first_collected: list[list[list[CaseResult]]] = []

    def measure(only: Sequence[str] | None, n: int) -> RoundPairs:
        what = "first pass" if only is None else "confirmation"
        points, collected = _run_rounds(base, candidate, config, n, only, log, what, seeds)
        if only is None:
            first_collected.extend(collected)
        return _pairs(points, collected)

    verdict = decide(
        measure,
        rounds=rounds,
        confirm_rounds=confirm_rounds,
        threshold=threshold,
        alpha=alpha,
        log=log,
    )
    runs = [
        BenchRun(
            results=_pool(results),
            datetime=when,
            duration_s=time.perf_counter() - started,
            machine_info=machine_info(),
            commit_info={"id": side.commit, "branch": "", "dirty": False, "time": ""},
            settings={
                "device": "cpu",
                "repeat": repeat,
                "rounds": rounds,
                "confirm_rounds": confirm_rounds,
                "stage": "first pass",
                "test": TEST_NAME,
                "min_sample_s": min_sample_s,
                "pattern": pattern,
                "group": group,
                "quick": quick,
                "gate_side": side.label,
                "planted": list(side.plant) if side.plant else None,
            },
            version=__version__,
        )
        for side, results in zip((base, candidate), first_collected, strict=True)
    ]
    return GateResult(
        runs[0],
        runs[1],
        verdict.final,
        time.perf_counter() - started,
        verdict.first,
        verdict.confirmation,
    )


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
        help=f"first-pass rounds, each a fresh base and candidate process ({ROUNDS})",
    )
    p.add_argument(
        "--repeat", type=int, default=REPEAT, help=f"samples per side per round ({REPEAT}, >=5)"
    )
    p.add_argument(
        "--confirm-rounds",
        type=int,
        help="at most this many new rounds, in batches of --rounds, for each case the first "
        "pass did not settle, judged with all its rounds (default: twice --rounds; 0: the "
        "first pass decides)",
    )
    p.add_argument(
        "--min-sample-ms",
        type=float,
        default=MIN_SAMPLE_S * 1e3,
        help=f"batch calls until a sample lasts this long ({MIN_SAMPLE_S * 1e3:g} ms)",
    )
    p.add_argument(
        "--threshold",
        default="10%",
        help="slowdown of the geometric-mean ratio that counts (10%%)",
    )
    p.add_argument(
        "--alpha",
        type=float,
        default=ALPHA,
        help="level of the one-sided t test on per-round log ratios, Holm-adjusted over the "
        "cases (0.01)",
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
