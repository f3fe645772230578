"""The per-run fixed costs of ``perfkit profile`` stay cut (issue 12, overhead on short programs).

Structure only, never timings: the hint rules parse only the program's own, hot files; the
report is written without an fsync per file; the commit is read from the ``.git`` files without
a git process, with the same answer as ``git log``.
"""

from __future__ import annotations

import linecache
import os
import shutil
import subprocess
import sys
import sysconfig
import textwrap
from pathlib import Path

import pytest
from _profiling_builders import func_stat, profile_of
from hypothesis import given, settings
from hypothesis import strategies as st

from perfkit import _env
from perfkit.profiling import hints
from perfkit.profiling.model import FunctionStat, HotLine

SRC = textwrap.dedent(
    """
    def score(values):
        return sum([v * v for v in values])
    """
).strip("\n")


def _func(name: str, file: str, line: int, total: float, calls: int = 10) -> FunctionStat:
    return func_stat(name, file, line, total, cpu=total, calls=calls, module="m")


def test_list_rule_reads_user_code_but_never_a_library_file(monkeypatch):
    user = "/prog/app.py"
    library = os.path.join(sysconfig.get_paths()["stdlib"], "perfkit_fake_library.py")
    lines = [ln + "\n" for ln in SRC.splitlines()]
    monkeypatch.setitem(linecache.cache, library, (len(SRC), None, lines, library))
    parsed: list[str] = []
    real_tree = hints._tree
    monkeypatch.setattr(hints, "_tree", lambda p, f: parsed.append(f) or real_tree(p, f))

    mine = profile_of({user: SRC}, hot=[HotLine(user, 2, "score", 0.5, 0.5)])
    assert [h.line for h in hints.rule_list_only_iterated(mine)] == [2]  # the rule works here
    theirs = profile_of({}, hot=[HotLine(library, 2, "score", 0.5, 0.5)])
    assert list(hints.rule_list_only_iterated(theirs)) == []
    assert library not in parsed


def test_joblib_rule_parses_only_files_holding_a_hot_function(monkeypatch):
    main, cold = "/prog/main.py", "/prog/cold.py"
    src = textwrap.dedent(
        """
        def work(x):
            return x * x
        for item in range(10):
            work(item)
        """
    ).strip("\n")
    prof = profile_of(
        {main: src, cold: "def unused():\n    pass\n"},
        functions=[
            _func("<module>", main, 1, 0.9, calls=1),
            _func("work", main, 1, 0.8),
            _func("unused", cold, 1, 0.01),
        ],
    )
    parsed: list[str] = []
    real_tree = hints._tree
    monkeypatch.setattr(hints, "_tree", lambda p, f: parsed.append(f) or real_tree(p, f))
    found = list(hints.rule_joblib_candidate(prof))
    assert [(h.rule, h.line) for h in found] == [("joblib-candidate", 4)]
    assert parsed == [main]


def test_profile_report_is_written_without_fsync(monkeypatch, tmp_path):
    from perfkit.render.base import write_outputs

    calls: list[int] = []
    monkeypatch.setattr(os, "fsync", lambda fd: calls.append(fd))
    prof = profile_of({})
    written = write_outputs(prof, tmp_path / "a", ("terminal", "json", "speedscope"), fsync=False)
    assert calls == []
    assert sorted(p.name for p in (tmp_path / "a").iterdir()) == sorted(
        p.name for p in written.values()
    )
    assert len(written) == 2 and all(p.stat().st_size > 0 for p in written.values())
    write_outputs(prof, tmp_path / "b", ("json", "speedscope"))  # the default stays durable
    assert len(calls) == 2


# -- the commit, read without git ----------------------------------------------------------

needs_git = pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")


def _git(cwd: Path, *args: str, date: str | None = None) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    env.update(GIT_CONFIG_NOSYSTEM="1", HOME=str(cwd))
    if date:
        env.update(GIT_COMMITTER_DATE=date, GIT_AUTHOR_DATE=date)
    return subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@e", "-c", "init.defaultBranch=trunk",
         *args],
        cwd=cwd, env=env, capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip


def _git_log(cwd: Path) -> dict[str, str]:
    commit, when, refs = (_git(cwd, "log", "-1", "--format=%H%n%cI%n%D").splitlines() + [""])[:3]
    branch = refs.split("HEAD -> ", 1)[1].split(",")[0] if "HEAD -> " in refs else ""
    return {"id": commit, "branch": branch, "time": when}


@pytest.fixture
def no_git_location(monkeypatch):
    for key in _env._GIT_LOCATION_VARS:
        monkeypatch.delenv(key, raising=False)


@needs_git
@pytest.mark.parametrize("date", ["2026-01-02T03:04:05+05:30", "2025-07-08T23:59:59-04:00"])
def test_commit_read_from_files_matches_git_log(tmp_path, date, no_git_location):
    _git(tmp_path, "init", "-q")
    (tmp_path / "a.txt").write_text("a")
    _git(tmp_path, "add", "a.txt")
    _git(tmp_path, "commit", "-q", "-m", "one", date=date)
    (tmp_path / "sub").mkdir()
    found = _env.read_git_head(str(tmp_path / "sub"))  # found from a folder inside the tree
    assert found == _git_log(tmp_path)
    assert found["time"] == date and found["branch"] == "trunk"
    lookup = _env.CommitLookup(str(tmp_path))
    assert lookup._proc is None  # no git process was started
    assert lookup.result() == {**found, "dirty": None}


@needs_git
def test_packed_commit_and_detached_head_fall_back_or_match(tmp_path, no_git_location):
    _git(tmp_path, "init", "-q")
    (tmp_path / "a.txt").write_text("a")
    _git(tmp_path, "add", "a.txt")
    _git(tmp_path, "commit", "-q", "-m", "one")
    _git(tmp_path, "gc", "-q")  # packs the commit and the branch ref
    assert _env.read_git_head(str(tmp_path)) is None  # only git can read a pack
    lookup = _env.CommitLookup(str(tmp_path))
    assert lookup._proc is not None
    expected = _git_log(tmp_path)
    assert lookup.result() == {**expected, "dirty": None}
    (tmp_path / "b.txt").write_text("b")
    _git(tmp_path, "add", "b.txt")
    _git(tmp_path, "commit", "-q", "-m", "two")  # loose again, on a packed branch ref's repo
    _git(tmp_path, "checkout", "-q", "--detach")
    found = _env.read_git_head(str(tmp_path))
    assert found == _git_log(tmp_path) and found["branch"] == ""


@needs_git
def test_worktree_unborn_branch_and_no_repository(tmp_path, no_git_location):
    repo = tmp_path / "repo"
    repo.mkdir()
    _git(repo, "init", "-q")
    assert _env.read_git_head(str(repo)) == {}  # no commit yet: git log gives nothing too
    (repo / "a.txt").write_text("a")
    _git(repo, "add", "a.txt")
    _git(repo, "commit", "-q", "-m", "one")
    _git(repo, "worktree", "add", "-q", "-b", "side", str(tmp_path / "wt"))
    found = _env.read_git_head(str(tmp_path / "wt"))
    assert found == _git_log(tmp_path / "wt") and found["branch"] == "side"
    plain = tmp_path / "plain"
    plain.mkdir()
    if _env._find_git_dir(str(plain)) is None:  # tmp_path itself may sit in a repository
        assert _env.read_git_head(str(plain)) == {}
        assert _env.CommitLookup(str(plain)).result()["id"] == ""


def test_git_location_variables_leave_it_to_git(monkeypatch, tmp_path):
    monkeypatch.setenv("GIT_DIR", str(tmp_path))
    assert _env.read_git_head(str(tmp_path)) is None


# -- --memory: one sampler thread, not two -----------------------------------------------------


def test_memory_readings_ride_the_cpu_sampler_thread(monkeypatch):
    import _thread
    import time

    from perfkit.profiling.engines import memory, sampling
    from perfkit.profiling.session import Options, make_engines

    cpu, mem = make_engines(Options(memory=True, interval_s=0.001, kernprof=False))
    assert isinstance(cpu, sampling.SamplingEngine) and isinstance(mem, memory.MemoryEngine)
    assert mem._host is cpu
    started: list[object] = []
    real_start = _thread.start_new_thread
    monkeypatch.setattr(
        _thread, "start_new_thread", lambda f, a: started.append(f) or real_start(f, a)
    )
    cpu.start()
    mem.start()
    t0 = time.perf_counter()
    junk = [bytearray(1 << 20) for _ in range(16)]  # RSS grows by 16 MiB, once
    x = 0
    while time.perf_counter() - t0 < 0.3 or (cpu.samples < 20 and time.perf_counter() - t0 < 30):
        x += sum(i * i for i in range(500))
    mem.stop()
    cpu.stop()
    assert cpu.samples > 0
    assert len(started) == 1  # the sampler's thread only
    assert cpu.riders == [] and cpu.rider_errors == 0
    assert len(mem.series) > 3  # start, readings taken in the sampler's thread, end
    assert mem.peak_rss >= mem.start_rss and mem.end_rss > 0
    del junk


def test_memory_keeps_its_own_thread_when_the_sampler_is_slower_or_absent():
    from perfkit.profiling.engines import sampling
    from perfkit.profiling.session import Options, make_engines

    (mem,) = make_engines(Options(cpu="off", memory=True, kernprof=False))
    assert mem._host is None
    slow, mem = make_engines(Options(memory=True, interval_s=0.05, kernprof=False))
    assert isinstance(slow, sampling.SamplingEngine) and mem._host is None


# -- modules a profile run no longer imports --------------------------------------------------


@given(st.text())
@settings(max_examples=200, deadline=None, derandomize=True)
def test_html_escape_is_the_standard_librarys(text):
    import html

    from perfkit.render.html import esc

    assert esc(text) == html.escape(text, quote=True)


def test_machine_info_without_platform_matches_platform():
    import platform

    info = _env.machine_info.__wrapped__(light=True)
    uname = platform.uname()
    assert (info["node"], info["system"], info["release"], info["machine"]) == (
        uname.node,
        uname.system,
        uname.release,
        uname.machine,
    )
    assert info["python_version"] == platform.python_version()
    assert info["python_implementation"] == platform.python_implementation()


def test_profile_run_imports_neither_platform_nor_subprocess(tmp_path):
    code = "import sys; print(sorted(m for m in ('platform', 'subprocess') if m in sys.modules))"
    res = subprocess.run(
        [sys.executable, "-m", "perfkit", "profile", "--quiet", "--out", "out", "-c", code],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert res.returncode == 0, res.stderr[-2000:]
    assert res.stdout.strip() == "[]"  # while the program runs (git, if any, read from files)


@settings(max_examples=80, deadline=None, derandomize=True)
@given(
    file=st.sampled_from(
        ["", "<string>", "<frozen os>", "/prog/app.py", "/prog/sub/deep/er/mod.py",
         "/usr/lib/python3/site-packages/pkg/m.py", "rel/path.py", "/other/x.py"]
    ),
    line=st.integers(min_value=0, max_value=5000),
    cwd=st.sampled_from(["", "/prog", "/prog/sub", "/"]),
)  # fmt: skip
def test_html_where_is_fmt_where_with_the_file_looked_up_once(file, line, cwd):
    from perfkit.render import _fmt, html

    assert html._where(file, line, cwd) == _fmt.where(file, line, cwd)
    assert html._where(file, line, cwd) == _fmt.where(file, line, cwd)  # from the cache too


def test_profiling_an_empty_program_imports_no_signal_subprocess_or_platform(tmp_path):
    """Start-up structure: modules only the Ctrl-C path or a git fallback needs stay unloaded."""
    code = (
        "import sys\n"
        "from perfkit.cli.__main__ import main\n"
        f"rc = main(['profile', '--quiet', '--out', {str(tmp_path / 'out')!r}, '-c', 'pass'])\n"
        "print(rc, [m for m in ('signal', 'subprocess', 'platform') if m in sys.modules])"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=tmp_path
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.split(None, 1) == ["0", "[]\n"], out.stdout
