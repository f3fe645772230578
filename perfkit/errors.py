"""Every exception perfkit raises, each carrying the exit code the CLI uses for it."""

from __future__ import annotations


class PerfkitError(Exception):
    """Base of perfkit's errors: a message that names the problem, a hint that names the fix."""

    exit_code: int = 1

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.message} — {self.hint}" if self.hint else self.message


class UsageError(PerfkitError, ValueError):
    """Bad input from the user: a wrong option, a missing file, data of the wrong shape (exit 2)."""

    exit_code = 2


class InputFileError(UsageError):
    """A file the user named is missing, unreadable, corrupt, or of an unsupported kind (exit 2)."""


class SchemaError(InputFileError):
    """A results/profile JSON file that is corrupt, foreign, or from a newer schema (exit 2)."""


class MissingDependencyError(PerfkitError, ImportError):
    """An optional dependency is not installed; the hint says which extra brings it (exit 2)."""

    exit_code = 2

    def __init__(self, package: str, extra: str, feature: str = "") -> None:
        what = f" (needed for {feature})" if feature else ""
        super().__init__(
            f"{package} is not installed{what}",
            f"pip install 'perfkit[{extra}]'",
        )
        self.package = package
        self.extra = extra

    @classmethod
    def check(cls, packages: tuple[str, ...], extra: str, feature: str = "") -> None:
        """Raise for the first of ``packages`` that is not installed, without importing any.

        Lets a module that only *uses* heavy packages inside its functions (torch, transformers)
        say up front that they are missing, while importing them costs nothing until needed.
        """
        import importlib.util

        for package in packages:
            if importlib.util.find_spec(package) is None:
                raise cls(package, extra, feature)


class DeviceUnavailableError(UsageError):
    """A device was asked for that this machine lacks, e.g. --device cuda without CUDA (exit 2)."""


class CheckFailedError(PerfkitError):
    """A candidate no longer matches its baseline, or a gate found a regression (exit 1)."""

    exit_code = 1


class RegressionError(CheckFailedError):
    """A benchmark compare found a case significantly slower than its baseline (exit 3).

    Kept apart from a failed check (exit 1) so that CI can tell "wrong answer" from "slower".
    """

    exit_code = 3
