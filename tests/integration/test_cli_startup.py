"""``perfkit --help`` must stay light: no numpy, numba, torch or pandas at start-up."""

from __future__ import annotations

import subprocess
import sys

import pytest

HEAVY = ("numpy", "numba", "torch", "pandas", "onnxruntime", "matplotlib", "rich")

PROBE = """
import sys
from perfkit.cli.__main__ import main
try:
    main({argv!r})
except SystemExit:
    pass
print("SUBCOMMANDS:" + ",".join(sorted(m for m in sys.modules if m.startswith("perfkit.cli."))),
      file=sys.stderr)
print("LOADED:" + ",".join(m for m in {heavy!r} if m in sys.modules), file=sys.stderr)
"""


@pytest.mark.parametrize(
    "argv",
    [
        ["--help"],
        ["bench", "--help"],
        ["profile", "--help"],
        ["diff", "--help"],
        ["report", "--help"],
        ["downcast", "--help"],
        ["indicators", "--help"],
        ["compress", "--help"],
    ],
)
def test_help_imports_nothing_heavy(argv: list[str]) -> None:
    from perfkit.cli.__main__ import SUBCOMMANDS

    if len(argv) > 1 and argv[0] not in SUBCOMMANDS:
        pytest.fail(f"subcommand {argv[0]} is not registered")
    proc = subprocess.run(
        [sys.executable, "-c", PROBE.format(argv=argv, heavy=HEAVY)],
        capture_output=True,
        text=True,
        timeout=240,
    )
    *_, subcommands, loaded = proc.stderr.strip().splitlines()
    assert loaded == "LOADED:", f"perfkit {' '.join(argv)} imported {loaded}"
    assert "usage: perfkit" in proc.stdout
    # Only the named subcommand's module is imported (none for the top-level help).
    wanted = {f"perfkit.cli.{argv[0]}"} if argv[0] in SUBCOMMANDS else set()
    assert (
        set(filter(None, subcommands.split(":", 1)[1].split(","))) - {"perfkit.cli.__main__"}
        == wanted
    )


def test_version_and_python_m(run_perfkit) -> None:
    proc = run_perfkit("--version")
    assert proc.returncode == 0 and proc.stdout.startswith("perfkit ")


def test_no_command_prints_help_and_exits_2(run_perfkit) -> None:
    proc = run_perfkit()
    assert proc.returncode == 2 and "usage: perfkit" in proc.stderr
