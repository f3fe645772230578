"""``perfkit profile`` follows child Python processes: every kind, end to end in a subprocess.

Each test runs a small program whose workers burn CPU in one function and checks, from the
report's JSON, that the workers are listed with their role, that the worker function holds most
of the workers' CPU and tops the merged CPU table, that the program's stdout and exit status
are what python gives, that nothing is written to the working directory, and that the temp
folder is removed.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]

PROGRAM = textwrap.dedent(
    """
    import os
    import signal
    import subprocess
    import sys

    N = 3_000_000


    def burn(n):
        total = 0
        for i in range(n):
            total += i * i % 7
        return total


    def crash(n):
        burn(n)
        os.kill(os.getpid(), signal.SIGKILL)


    def main(kind):
        import multiprocessing as mp

        if kind in ("fork", "spawn", "forkserver"):
            with mp.get_context(kind).Pool(2) as pool:
                result = pool.map(burn, [N] * 4)
        elif kind.startswith("executor-"):
            from concurrent.futures import ProcessPoolExecutor

            ctx = mp.get_context(kind.split("-", 1)[1])
            with ProcessPoolExecutor(2, mp_context=ctx) as ex:
                result = list(ex.map(burn, [N] * 4))
        elif kind == "process-spawn":
            procs = [mp.get_context("spawn").Process(target=burn, args=(2 * N,)) for _ in "ab"]
            for p in procs:
                p.start()
            for p in procs:
                p.join()
            result = [p.exitcode for p in procs]
        elif kind == "subprocess":
            out = subprocess.run(
                [sys.executable, __file__, "child"], capture_output=True, text=True, check=True
            )
            result = [int(out.stdout)]
        elif kind == "osfork":
            pid = os.fork()
            if pid == 0:
                burn(2 * N)
                sys.exit(7)  # falls back through perfkit's runner in the forked copy
            _, status = os.waitpid(pid, 0)
            result = [os.waitstatus_to_exitcode(status)]
        elif kind == "crash":
            p = mp.get_context("fork").Process(target=crash, args=(N,))
            p.start()
            p.join()
            result = [p.exitcode]
        print(kind, sum(result))


    if __name__ == "__main__":
        if sys.argv[1] == "child":
            print(burn(2 * N))
        else:
            main(sys.argv[1])
            sys.exit(3)
    """
)


def _burn(n: int) -> int:
    """What the program's ``burn(n)`` returns (``i * i % 7`` repeats every 7 values)."""
    period = [i * i % 7 for i in range(7)]
    return n // 7 * sum(period) + sum(period[: n % 7])


EXPECTED_BURN = _burn(3_000_000)


def _run(
    tmp_path: Path, *args: str, program: str | None = None, flags: tuple[str, ...] = ()
) -> tuple[Any, dict[str, Any]]:
    """Run ``perfkit profile`` on the test program; returns (completed process, profile body)."""
    script = tmp_path / "prog.py"
    script.write_text(PROGRAM)
    # A short private TMPDIR: forkserver's AF_UNIX socket lives there, and pytest-xdist's deep
    # tmp_path would exceed the 108-byte socket path limit (python itself fails the same way).
    tmpdir = Path(tempfile.mkdtemp(prefix="pkc-"))
    (tmp_path / "tmp").symlink_to(tmpdir)
    env = {**os.environ, "PYTHONPATH": str(ROOT), "TMPDIR": str(tmpdir)}
    target = [program] if program else [str(script)]
    proc = subprocess.run(
        [sys.executable, "-m", "perfkit", "profile", "--quiet", "--format", "json,html"]
        + ["--out", str(tmp_path / "out"), *flags, *target, *args],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert "Traceback" not in proc.stderr, proc.stderr
    # Nothing is left in the working directory or the temp folder.
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out", "prog.py", "tmp"]
    assert [p.name for p in tmpdir.iterdir() if p.name.startswith("perfkit-")] == []
    shutil.rmtree(tmpdir, ignore_errors=True)
    body = json.loads((tmp_path / "out" / "profile.json").read_text())["profile"]
    return proc, body


def _workers(body: dict[str, Any], role: str) -> list[dict[str, Any]]:
    procs = body["processes"]
    assert procs[0]["role"] == "main"
    return [p for p in procs[1:] if role in p["role"]]


def _self_cpu(nodes: list[dict[str, Any]], function: str) -> tuple[float, float]:
    """(own CPU of ``function``, own CPU of every node) over a flat node list."""
    mine = sum(n["self_cpu_s"] for n in nodes if n["function"] == function)
    return mine, sum(n["self_cpu_s"] for n in nodes)


def _assert_worker_function(workers: list[dict[str, Any]], body: dict[str, Any], fn: str) -> None:
    """``fn`` holds most of the workers' CPU and tops the merged own-CPU table."""
    mine = total = 0.0
    for w in workers:
        for t in w["threads"]:
            a, b = _self_cpu(t["nodes"], fn)
            mine, total = mine + a, total + b
    assert total > 0
    assert mine / total > 0.5, (mine, total)
    top = max(body["functions"], key=lambda f: f["self_cpu_s"] or 0.0)
    assert top["function"] == fn, [(f["function"], f["self_cpu_s"]) for f in body["functions"]]
    assert top["user_code"]


@pytest.mark.parametrize(
    ("kind", "role"),
    [
        ("fork", "Pool worker (fork)"),
        ("spawn", "Pool worker (spawn)"),
        ("forkserver", "Pool worker (forkserver)"),
        ("executor-spawn", "ProcessPoolExecutor worker (spawn)"),
        ("executor-fork", "ProcessPoolExecutor worker (fork)"),
        ("process-spawn", "Process (spawn)"),
    ],
)
def test_pool_workers_are_followed(tmp_path: Path, kind: str, role: str) -> None:
    proc, body = _run(tmp_path, kind)
    assert proc.returncode == 3
    total = 0 if kind == "process-spawn" else 4 * EXPECTED_BURN  # exit codes / results
    assert proc.stdout == f"{kind} {total}\n"
    workers = _workers(body, role)
    assert 1 <= len(workers) <= 2, body["processes"]
    _assert_worker_function(workers, body, "burn")
    assert any(f["function"] == "burn" and f["file"].endswith("prog.py") for f in body["functions"])
    assert any("child process" in n for n in body["notes"])
    # the hints read the workers' code like the main process's: its source is kept, and
    # burn's loop (line 12) is a numba candidate
    assert list(body["sources"]) == [str(tmp_path / "prog.py")]
    if kind == "fork":
        assert any(
            h["function"] == "burn" and h["file"].endswith("prog.py") and h["line"] == 12
            for h in body["hints"]
        ), body["hints"]
    html = (tmp_path / "out" / "index.html").read_text()
    assert "<h2>Processes</h2>" in html and "all processes merged" in html


def test_subprocess_python_is_followed(tmp_path: Path) -> None:
    proc, body = _run(tmp_path, "subprocess")
    assert proc.returncode == 3
    # (under plain python the same: the child prints the sum, the parent prints it again)
    assert proc.stdout == f"subprocess {_burn(6_000_000)}\n"
    (child,) = _workers(body, "subprocess")
    assert "prog.py child" in child["command"]
    _assert_worker_function([child], body, "burn")


def test_raw_fork_that_returns_through_the_runner(tmp_path: Path) -> None:
    proc, body = _run(tmp_path, "osfork")
    assert proc.returncode == 3
    assert proc.stdout == "osfork 7\n"  # the forked copy exited with its own status, no report
    (child,) = _workers(body, "fork child")
    _assert_worker_function([child], body, "burn")


def test_crashing_child_keeps_the_report(tmp_path: Path) -> None:
    proc, body = _run(tmp_path, "crash")
    assert proc.returncode == 3
    assert proc.stdout == "crash -9\n"
    assert body["processes"][0]["role"] == "main"  # the report is whole; the child may be absent
    for p in body["processes"][1:]:
        assert p["ppid"] == body["processes"][0]["pid"]


def test_no_subprocesses_flag(tmp_path: Path) -> None:
    proc, body = _run(tmp_path, "spawn", flags=("--no-subprocesses",))
    assert proc.returncode == 3
    assert body["processes"] == []
    assert not any(f["function"] == "burn" for f in body["functions"])


def test_joblib_loky_indicators_example_tops_the_cpu(tmp_path: Path) -> None:
    pytest.importorskip("joblib")
    pytest.importorskip("numpy")
    example = str(ROOT / "examples" / "parallel_indicators.py")
    proc, body = _run(tmp_path, "--instruments", "300", "--days", "3000", program=example)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("300 instruments, mean RSI(20) ")
    workers = _workers(body, "loky worker")
    assert len(workers) == 2, body["processes"]
    _assert_worker_function(workers, body, "indicators")
    for w in workers:  # each worker's own top function (its start-up imports NumPy and joblib)
        own: dict[str, float] = {}
        for t in w["threads"]:
            for n in t["nodes"][1:]:
                own[n["function"]] = own.get(n["function"], 0.0) + n["self_cpu_s"]
        assert max(own, key=lambda k: own[k]) == "indicators", own
    top = max(body["functions"], key=lambda f: f["self_cpu_s"] or 0.0)
    assert top["file"] == example  # the cloudpickled function is given back its file
