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
