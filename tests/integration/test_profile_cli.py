"""``perfkit profile`` end to end in subprocesses: every mode, for a script, -m and -c, with
argv, exit codes, exceptions and Ctrl-C compared against plain python."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCHEMA = ROOT / "perfkit" / "profiling" / "profile.schema.json"

PROGRAM = textwrap.dedent(
    """
    import multiprocessing as mp
    import pickle
    import sys


    class Point:
        def __init__(self, x):
            self.x = x


    def square(v):
        return v * v


    def busy(n):
        total = 0
        for i in range(n):
            total += i % 7
        return total


    if __name__ == "__main__":
        print("argv", sys.argv)
        print("path0", sys.path[0])
        print("name", __name__, __file__ if "__file__" in globals() else None)
        print("stdin", sys.stdin.read().strip())
        print("pickled", pickle.loads(pickle.dumps(Point(3))).x)
        if "--spawn" in sys.argv:
            with mp.get_context("spawn").Pool(1) as pool:
                print("spawn", pool.map(square, [1, 2, 3]))
        print("busy", busy(3_000_000))  # ~0.2 s: dozens of samples at the 100 Hz default
        if "--exit" in sys.argv:
            sys.exit(int(sys.argv[sys.argv.index("--exit") + 1]))
        if "--raise" in sys.argv:
            raise RuntimeError("<boom> & bust")
    """
)


def run(args, cwd, stdin="hello", env=None, **kw):
    return subprocess.run(
        [sys.executable, *args],
        cwd=cwd,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        **kw,
    )


def perfkit(args, cwd, **kw):
    return run(["-m", "perfkit", "profile", *args], cwd, **kw)


@pytest.fixture
def prog(tmp_path):
    (tmp_path / "prog.py").write_text(PROGRAM)
    pkg = tmp_path / "pkg"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "tool.py").write_text(PROGRAM)
    return tmp_path


def load(out: Path) -> dict:
    data = json.loads((out / "profile.json").read_text())
    jsonschema = pytest.importorskip("jsonschema")
    jsonschema.validate(data, json.loads(SCHEMA.read_text()))
    return data["profile"]


def test_script_default_mode_matches_plain_python(prog):
    args = ["prog.py", "--spawn", "--exit", "3", "--memory"]  # --memory belongs to the script
    plain = run(args, prog)
    prof = perfkit(["--out", "out", *args], prog)
    assert plain.returncode == prof.returncode == 3
    assert prof.stdout == plain.stdout  # byte-identical, spawn and pickling included
    assert "spawn [1, 4, 9]" in prof.stdout and "pickled 3" in prof.stdout
    assert "Top functions by own time" in prof.stderr  # the summary goes to stderr
    p = load(prog / "out")
    assert p["exit_status"] == 3 and p["modes"] == ["sampling"]
    assert any(f["function"] == "busy" for f in p["functions"])
    assert p["argv"] == args
    for name in ("index.html", "speedscope.json"):
        assert (prog / "out" / name).exists()


def test_exception_traceback_is_pythons_and_report_is_written(prog):
    plain = run(["prog.py", "--raise"], prog)
    prof = perfkit(["--out", "out", "prog.py", "--raise"], prog)
    assert plain.returncode == prof.returncode == 1
    assert prof.stderr.startswith(plain.stderr)  # same traceback, no perfkit frames
    assert "perfkit" not in plain.stderr.replace(str(prog), "")
    p = load(prog / "out")
    assert p["ended_by"] == "exception" and "<boom> & bust" in p["exception"]
    html = (prog / "out" / "index.html").read_text()
    assert "&lt;boom&gt; &amp; bust" in html


LOOP = "import time\nprint('ready', flush=True)\nwhile True:\n    sum(range(1000))\n"
KINDS = {"script": ["loop.py"], "module": ["-m", "loop"], "code": ["-c", LOOP]}


@pytest.mark.parametrize("kind", list(KINDS))
def test_sigint_writes_partial_report_and_dies_by_sigint(tmp_path, kind):
    (tmp_path / "loop.py").write_text(LOOP)
    proc = subprocess.Popen(
        [sys.executable, "-m", "perfkit", "profile", "--out", "out", *KINDS[kind]],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout.readline().strip() == "ready"
    time.sleep(0.3)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=240)
    assert proc.returncode == -signal.SIGINT  # a shell shows 130
    assert "KeyboardInterrupt" in err and "runner.py" not in err
    p = load(tmp_path / "out")
    assert p["ended_by"] == "interrupt" and p["wall_s"] > 0.2


@pytest.mark.parametrize(
    "target",
    [
        ["prog.py"],
        ["-m", "pkg.tool"],
        ["-c", "import runpy; runpy.run_path('prog.py', run_name='__main__')"],
    ],
)
def test_uncaught_exception_for_each_kind(prog, target):
    prof = perfkit(["--out", "out", "--format", "json", *target, "--raise"], prog)
    plain = run([*target, "--raise"], prog)
    assert prof.returncode == plain.returncode == 1
    assert prof.stdout == plain.stdout
    # python's traceback without perfkit frames; python -m starts it with runpy's own two
    # frames, which perfkit leaves out with its own
    lines = plain.stderr.splitlines(keepends=True)
    while len(lines) > 1 and "<frozen runpy>" in lines[1]:
        del lines[1]
    expected = "".join(lines)
    assert prof.stderr.startswith(expected)
    assert plain.stderr.rstrip().endswith("RuntimeError: <boom> & bust")
    assert load(prog / "out")["ended_by"] == "exception"


def test_module_mode_matches_python_dash_m(prog):
    plain = run(["-m", "pkg.tool", "a", "--exit", "4"], prog)
    prof = perfkit(["--out", "out", "--cpu", "tracing", "-m", "pkg.tool", "a", "--exit", "4"], prog)
    assert plain.returncode == prof.returncode == 4
    assert prof.stdout == plain.stdout
    p = load(prog / "out")
    assert p["kind"] == "module" and p["program"] == "pkg.tool"
    busy = next(f for f in p["functions"] if f["function"] == "busy")
    assert busy["calls"] == 1 and busy["module"] == "__main__"
    import pstats

    stats = pstats.Stats(str(prog / "out" / "profile.pstats"))
    assert any(k[2] == "busy" for k in stats.stats)  # type: ignore[attr-defined]


def test_code_mode_matches_python_dash_c(tmp_path):
    code = "import sys\nprint(sys.argv, repr(sys.path[0]), __name__)\nsys.exit(5)"
    plain = run(["-c", code, "x", "--y"], tmp_path)
    prof = perfkit(["--out", "out", "--memory", "-c", code, "x", "--y"], tmp_path)
    assert plain.returncode == prof.returncode == 5
    assert prof.stdout == plain.stdout == "['-c', 'x', '--y'] '' __main__\n"
    p = load(tmp_path / "out")
    assert p["memory"]["peak_rss_bytes"] > 0 and p["kind"] == "code"


def test_lines_mode_for_script_module_and_code(prog):
    prof = perfkit(["--out", "o1", "--lines", "busy", "prog.py"], prog)
    assert prof.returncode == 0, prof.stderr
    (table,) = load(prog / "o1")["line_tables"]
    hits = {r["source"].strip(): r["hits"] for r in table["lines"]}
    assert hits["total += i % 7"] == 3_000_000
    prof = perfkit(["--out", "o2", "--lines", "pkg.tool:busy", "-m", "pkg.tool"], prog)
    assert prof.returncode == 0, prof.stderr
    assert load(prog / "o2")["line_tables"][0]["function"] == "busy"
    code = "def f(n):\n    s = 0\n    for i in range(n):\n        s += i\n    return s\nf(1000)"
    prof = perfkit(["--out", "o3", "--lines", "f", "-c", code], prog)
    assert prof.returncode == 0, prof.stderr
    (table,) = load(prog / "o3")["line_tables"]
    assert {r["line"]: r["hits"] for r in table["lines"]}[4] == 1000


@pytest.mark.slow
def test_lines_auto_runs_twice_and_says_so(prog):
    prof = perfkit(["--out", "out", "--lines", "auto", "--lines-top", "1", "prog.py"], prog)
    assert prof.returncode == 0, prof.stderr
    assert prof.stdout.count("busy 128") == 0 and prof.stdout.count("argv") == 1
    p = load(prog / "out")
    assert [t["function"] for t in p["line_tables"]] == ["busy"]
    assert any("ran the program twice" in n for n in p["notes"])
    assert "ran the program twice" in prof.stderr


def test_memory_lines_and_pyinstrument_modes(tmp_path):
    (tmp_path / "mem.py").write_text(
        "def grow():\n    blocks = []\n    for _ in range(3):\n"
        "        blocks.append(bytearray(8 << 20))\n    return len(blocks)\n\n"
        "def spin():\n    return sum(i * i for i in range(300_000))\n\n"
        "print(grow(), spin())\n"
    )
    prof = perfkit(
        ["--out", "out", "--cpu", "pyinstrument", "--memory-lines", "grow", "mem.py"], tmp_path
    )
    assert prof.returncode == 0, prof.stderr
    assert prof.stdout == "3 8999955000050000\n"
    p = load(tmp_path / "out")
    assert p["modes"] == ["pyinstrument", "memory-lines"]
    (table,) = p["memory"]["line_tables"]
    rows = {r["source"].strip(): r for r in table["lines"]}
    assert table["function"] == "grow" and rows["blocks.append(bytearray(8 << 20))"]["occurrences"]
    assert any(f["function"] == "spin" for f in p["functions"])


def test_default_output_folder_and_speedscope(prog):
    prof = perfkit(["prog.py"], prog)
    assert prof.returncode == 0
    (folder,) = (prog / "reports" / "profiles").iterdir()
    assert folder.name.startswith("prog-")
    doc = json.loads((folder / "speedscope.json").read_text())
    assert doc["$schema"] == "https://www.speedscope.app/file-format-schema.json"
    assert f"report written to {Path('reports') / 'profiles' / folder.name}" in prof.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["missing.py"], "script not found: missing.py"),
        (["pkg"], "is a directory"),
        (["data.bin"], "not a Python source file"),
        (["-m", "no_such_module_here"], "no module named 'no_such_module_here'"),
        (["--lines", "bussy", "prog.py"], "did you mean: busy"),
        (["--cpu", "nope", "prog.py"], "invalid choice"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(prog, args, message):
    (prog / "data.bin").write_bytes(b"\x00\x01\x02binary")
    prof = perfkit(args, prog)
    assert prof.returncode == 2
    assert message in prof.stderr
    assert "Traceback" not in prof.stderr and prof.stdout == ""


def test_syntax_error_prints_pythons_message_exit_1(tmp_path):
    (tmp_path / "bad.py").write_text("x = (1,\n")
    plain = run(["bad.py"], tmp_path)
    prof = perfkit(["bad.py"], tmp_path)
    assert plain.returncode == prof.returncode == 1
    assert prof.stderr == plain.stderr


def test_unwritable_output_dir_is_refused_before_the_program_runs(prog):
    blocker = prog / "file"
    blocker.write_text("not a folder")
    prof = perfkit(["--out", str(blocker / "sub"), "prog.py"], prog)
    assert prof.returncode == 2
    assert "perfkit: error: cannot write" in prof.stderr
    assert prof.stdout == ""  # refused up front: no work is done for a report that cannot land
    assert blocker.read_text() == "not a folder"


def test_help_imports_no_heavy_modules(tmp_path):
    code = (
        "import sys\nfrom perfkit.cli.__main__ import main\n"
        "try:\n    main(['profile', '--help'])\nexcept SystemExit:\n    pass\n"
        "heavy = [m for m in ('numpy', 'numba', 'torch', 'pandas', 'rich') if m in sys.modules]\n"
        "print('HEAVY', heavy)"
    )
    out = run(["-c", code], tmp_path, stdin="")
    assert "HEAVY []" in out.stdout, out.stdout + out.stderr


@pytest.mark.slow
def test_profiling_does_not_change_what_the_program_computes(tmp_path):
    script = str(ROOT / "examples" / "slow_pipeline.py")
    work = ["--assets", "30", "--days", "10000", "--scale", "0.2"]  # loops dominate imports
    plain = run([script, *work], tmp_path, stdin="")
    # 1 kHz for the hint run: at the 100 Hz default this short run gives the rules too few
    # samples on a loaded CI machine (the hints themselves are tested on the hint corpus).
    for i, extra in enumerate((["--interval", "0.001"], ["--memory"], ["--cpu", "tracing"])):
        prof = perfkit(["--out", f"out{i}", *extra, script, *work], tmp_path, stdin="")
        assert prof.returncode == plain.returncode == 0, prof.stderr
        assert prof.stdout == plain.stdout
    hints = {h["rule"] for h in load(tmp_path / "out0")["hints"]}
    assert "numba-loop" in hints


def test_env_without_bytecode_cache_still_works(prog):
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    prof = perfkit(["--out", "out", "--format", "json", "prog.py"], prog, env=env)
    assert prof.returncode == 0 and (prog / "out" / "profile.json").exists()
    assert not (prog / "out" / "index.html").exists()
