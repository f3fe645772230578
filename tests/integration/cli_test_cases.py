"""Cases loaded by the CLI tests through PERFKIT_CASES: one wrong, one raising, one fine."""

from __future__ import annotations

from perfkit.bench import Verdict, case


@case("zz_wrong_answer", "zz_cli_test")
class WrongAnswer:
    """A candidate that is fast and wrong."""

    def make_inputs(self, p):
        return 1000

    def baseline(self, n):
        return sum(range(n))

    def candidate(self, n):
        return 0

    def check(self, b, c):
        return Verdict(b == c, f"{c} != {b}")


@case("zz_raises", "zz_cli_test")
class Raises:
    """A candidate that raises."""

    def make_inputs(self, p):
        return 3

    def baseline(self, n):
        return n

    def candidate(self, n):
        raise ZeroDivisionError("planted")

    def check(self, b, c):
        return Verdict(True)


@case("zz_fine", "zz_cli_test")
class Fine:
    """A correct candidate."""

    def make_inputs(self, p):
        return 1000

    def baseline(self, n):
        return sum(range(n))

    def candidate(self, n):
        return n * (n - 1) // 2

    def check(self, b, c):
        return Verdict(b == c)


# Flaky at 4 ms: on a loaded machine a sleep wakes up one scheduler slice late (measured: 20 ms
# sleeps read 20.1 or 24.0 ms), so a re-run of the same code could read 2x slower or hide a 2x.
# At 50 ms one late slice is < 10%, the threshold that makes a change count.
SLEEP_S = 0.05


@case("zz_sleepy", "zz_compare_test")
class Sleepy:
    """A candidate whose speed the test controls: PERFKIT_TEST_SLOWDOWN multiplies its time."""

    def make_inputs(self, p):
        import os

        return SLEEP_S * float(os.environ.get("PERFKIT_TEST_SLOWDOWN", "1"))

    def baseline(self, s):
        import time

        time.sleep(SLEEP_S)
        return 1

    def candidate(self, s):
        import time

        time.sleep(s)
        return 1

    def check(self, b, c):
        return Verdict(b == c)
