"""Statistics on rounds: the evidence of a gate whose samples come in per-process clusters.

Samples taken in one process share that process's luck (memory layout, address randomisation,
CPU frequency, what the machine did meanwhile). Pooling them and testing per sample (a
Mann–Whitney U over 80 samples of 8 processes) treats clustered samples as independent: its
p-values and intervals are far too narrow. Here the unit of evidence is the *round*: one fresh
base process and one fresh candidate process, run one after the other. Each round gives one
number, the log of the candidate tree's median time over the base tree's median time in that
round, and the rounds are the independent replicates: a one-sample Student t on those log
ratios gives the p-value and the confidence interval of the geometric-mean ratio.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass

from perfkit.errors import MissingDependencyError


def _special():  # scipy is part of the bench extra, as for compare's U test
    try:
        from scipy import special
    except ImportError:
        raise MissingDependencyError("scipy", "bench", "the gate's significance test") from None
    return special


def t_cdf(x: float, df: int) -> float:
    """The Student t distribution's CDF at ``x`` with ``df`` degrees of freedom."""
    return float(_special().stdtr(df, x))


def t_quantile(p: float, df: int) -> float:
    """The ``p`` quantile of the Student t distribution with ``df`` degrees of freedom."""
    return float(_special().stdtrit(df, p))


def round_log_ratios(
    old_rounds: Sequence[Sequence[float]], new_rounds: Sequence[Sequence[float]]
) -> list[float]:
    """``log(median(new_r) / median(old_r))`` for each round ``r`` (the two sides paired by round).

    Parameters
    ----------
    old_rounds, new_rounds
        Per round, the positive per-sample times of each side; the same number of rounds.

    Returns
    -------
    list of float
        One log ratio per round: > 0 where the new side was slower in that round.
    """
    if len(old_rounds) != len(new_rounds):
        raise ValueError(f"{len(old_rounds)} old rounds vs {len(new_rounds)} new rounds")
    out = []
    for old, new in zip(old_rounds, new_rounds, strict=True):
        if not old or not new:
            raise ValueError("every round needs at least one sample per side")
        a, b = statistics.median(old), statistics.median(new)
        if not (a > 0 and b > 0 and math.isfinite(a) and math.isfinite(b)):
            raise ValueError(f"times must be positive and finite, got medians {a!r} and {b!r}")
        out.append(math.log(b / a))
    return out


@dataclass(frozen=True)
class RoundEvidence:
    """What ``n`` per-round log ratios say about the new side's time ratio.

    ``ratio`` is the geometric mean of the per-round median ratios; ``ci`` its two-sided
    confidence interval (Student t on the log ratios, ``n - 1`` degrees of freedom);
    ``p_slower`` / ``p_faster`` the one-sided p-values that the true log ratio is above / below
    zero. With fewer than two rounds there is no spread: the p-values and interval are ``None``.
    """

    n: int
    mean_log: float
    sd_log: float | None
    ratio: float
    ci: tuple[float, float] | None
    p_slower: float | None
    p_faster: float | None
    confidence: float

    def upper_log(self, level: float) -> float | None:
        """The one-sided upper confidence bound of the mean log ratio at ``level`` (or None)."""
        if self.n < 2 or self.sd_log is None:
            return None
        if self.sd_log == 0:
            return self.mean_log
        q = t_quantile(level, self.n - 1)
        return self.mean_log + q * self.sd_log / math.sqrt(self.n)


def paired_log_ratio_test(log_ratios: Sequence[float], confidence: float = 0.95) -> RoundEvidence:
    """One-sample t test and confidence interval on per-round log ratios.

    Parameters
    ----------
    log_ratios
        One value per independent round (see :func:`round_log_ratios`); at least one.
    confidence
        Two-sided coverage of the interval, in (0, 1).

    Returns
    -------
    RoundEvidence
        The geometric-mean ratio, its interval and both one-sided p-values. Rounds that all
        agree exactly (zero spread) give p 0 in the direction of their mean (1 the other way),
        and p 1 both ways when that mean is 0.
    """
    if not log_ratios:
        raise ValueError("no rounds")
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be in (0, 1), got {confidence}")
    if not all(math.isfinite(x) for x in log_ratios):
        raise ValueError("log ratios must be finite")
    n = len(log_ratios)
    mean = math.fsum(log_ratios) / n
    if n < 2:
        return RoundEvidence(1, mean, None, math.exp(mean), None, None, None, confidence)
    sd = statistics.stdev(log_ratios)
    if sd <= 1e-12 * max(1.0, abs(mean)):
        slower = 0.0 if mean > 0 else 1.0
        faster = 0.0 if mean < 0 else 1.0
        ci = (math.exp(mean), math.exp(mean))
        return RoundEvidence(n, mean, 0.0, math.exp(mean), ci, slower, faster, confidence)
    se = sd / math.sqrt(n)
    stat = mean / se
    q = t_quantile(0.5 + confidence / 2, n - 1)
    ci = (math.exp(mean - q * se), math.exp(mean + q * se))
    return RoundEvidence(
        n,
        mean,
        sd,
        math.exp(mean),
        ci,
        t_cdf(-stat, n - 1),
        t_cdf(stat, n - 1),
        confidence,
    )
