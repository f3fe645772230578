"""Run ``perfkit profile`` on a small program in a subprocess and return its JSON report.

Shared by the CLI tests of the profiler (``from _profile_cli import profile_program``; pytest
puts ``tests/`` on ``sys.path`` for its ``conftest.py``).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any


def profile_program(
    folder: Path, source: str, *options: str, name: str = "prog.py", timeout: float = 600
) -> dict[str, Any]:
    """Write ``source`` to ``folder/name``, profile it with ``options`` (JSON only, into
    ``folder/out``), assert it exits 0 and return the parsed ``profile.json``.

    The timeout is a hang guard, never a timing assertion.
    """
    script = folder / name
    script.write_text(source)
    cmd = [sys.executable, "-m", "perfkit", "profile", "--quiet", *options]
    res = subprocess.run(
        [*cmd, "--format", "json", "--out", "out", str(script)],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert res.returncode == 0, res.stderr[-3000:]
    return json.loads((folder / "out" / "profile.json").read_text())
