"""Child-process following: the child sampler, its records, collection, merging and rendering."""

from __future__ import annotations

import json
import marshal
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from perfkit.profiling.children import _child, follow, render
from perfkit.profiling.model import (
    FrameNode,
    FunctionStat,
    HotLine,
    ProcessProfile,
    Profile,
    ThreadTree,
)

HOSTILE = "<script>alert('x')</script>"


def burn(seconds: float) -> int:
    end = time.process_time() + seconds
    n = 0
    while time.process_time() < end:
        n += 1
    return n


def _wait(cond, timeout: float = 20.0) -> bool:  # noqa: ANN001 - a predicate
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if cond():
            return True
        time.sleep(0.01)
    return False


def _record(folder: Path, pid: int) -> dict | None:
    rec, _why = follow.load_record(str(folder / f"{pid}{_child.SUFFIX}"))
    return rec


# -- the child sampler -------------------------------------------------------------------------
def test_sampler_writes_a_record_that_builds_trees(tmp_path: Path) -> None:
    s = _child.ChildSampler(str(tmp_path), 0.001, "exec")
    s.start()
    assert _record(tmp_path, os.getpid()) is not None  # the first record marks the process
    burn(0.15)
    s.finish("exit")
    rec = _record(tmp_path, os.getpid())
    assert rec is not None and rec["ended"] == "exit" and rec["samples"] > 0
    proc, functions, hot = follow.process_from_record(rec)
    assert proc.pid == os.getpid() and proc.role == "subprocess" and proc.threads
    mine = [f for f in functions if f.function == "burn" and f.file == __file__]
    assert mine and mine[0].total_s > 0 and mine[0].user_code
    assert any(h.function == "burn" for h in hot)
    s.finish("exit")  # a second finish writes nothing more and does not fail


def test_sampler_answers_the_parents_request(tmp_path: Path) -> None:
    s = _child.ChildSampler(str(tmp_path), 0.001, "exec")
    s.start()
    try:
        follow._write_request(str(tmp_path), 1)
        assert _wait(lambda: (_record(tmp_path, os.getpid()) or {}).get("answered") == 1)
    finally:
        s.stop()


def test_sampler_flushes_when_asked_before_a_kill(tmp_path: Path) -> None:
    s = _child.ChildSampler(str(tmp_path), 0.001, "exec")
    s.start()
    try:
        burn(0.05)
        assert _child.ask_to_flush(str(tmp_path), os.getpid(), timeout=20.0)
        assert not (tmp_path / f"{os.getpid()}.req").exists()
        assert _record(tmp_path, os.getpid())["samples"] > 0
    finally:
        s.stop()
    # a process that is not followed (no record) is not waited for
    assert not _child.ask_to_flush(str(tmp_path), 1, timeout=5.0)


def test_sampler_stops_and_writes_nothing_once_the_folder_is_gone(tmp_path: Path) -> None:
    folder = tmp_path / "session"
    folder.mkdir()
    s = _child.ChildSampler(str(folder), 0.001, "exec")
    s.start()
    (folder / f"{os.getpid()}{_child.SUFFIX}").unlink()
    folder.rmdir()
    assert _wait(lambda: not s.running)
    assert s.session_over
    s.finish("exit")
    assert not folder.exists()  # never re-created


def test_sampler_start_on_a_missing_folder_does_nothing(tmp_path: Path) -> None:
    s = _child.ChildSampler(str(tmp_path / "gone"), 0.001, "exec")
    s.start()
    assert not s.running and s.session_over
    assert not (tmp_path / "gone").exists()


def test_describe_outside_multiprocessing() -> None:
    assert _child.describe("exec") == ("", "subprocess", "exec")
    assert _child.describe("fork")[1] == "fork child"


# -- records and collection ------------------------------------------------------------------
def _fake_record(pid: int, ended: str = "running", answered: int = -1) -> dict:
    return {
        "format": _child.FORMAT,
        "pid": pid,
        "ppid": os.getpid(),
        "role": "subprocess",
        "name": "",
        "start_method": "exec",
        "argv": ["python", "-c", "pass"],
        "started_at": 1.0,
        "wall_s": 0.5,
        "cpu_s": 0.25,
        "samples": 2,
        "interval_s": 0.001,
        "ended": ended,
        "answered": answered,
        "codes": [["/src/work.py", "<module>", 1], ["<dynamic-code>", "kernel", 5]],
        "threads": {7: "MainThread"},
        "stacks": [[7, (1, 6, 0, 9), 0.5, 0.25, 2]],
    }


def _dead_pid() -> int:
    p = subprocess.Popen([sys.executable, "-c", "pass"])
    p.wait()
    return p.pid


@pytest.mark.parametrize(
    ("data", "why"),
    [
        (b"\x00garbage", "unreadable"),
        (marshal.dumps([1, 2]), "malformed record"),
        (marshal.dumps({**_fake_record(5), "pid": "5"}), "field pid"),
        (marshal.dumps({**_fake_record(5), "samples": True}), "field samples"),
        (marshal.dumps({**_fake_record(5), "format": 99}), "record format 99"),
    ],
)
def test_load_record_refuses_bad_data(tmp_path: Path, data: bytes, why: str) -> None:
    path = tmp_path / "5.pkc"
    path.write_bytes(data)
    rec, problem = follow.load_record(str(path))
    assert rec is None and why in (problem or "")


def test_collect_final_killed_silent_and_unreadable(tmp_path: Path) -> None:
    dead, dead2 = _dead_pid(), _dead_pid()
    (tmp_path / f"{dead}.pkc").write_bytes(marshal.dumps(_fake_record(dead)))
    (tmp_path / f"{dead2}.pkc").write_bytes(b"corrupt")
    alive = os.getpid()  # alive and never answering
    (tmp_path / f"{alive}.pkc").write_bytes(marshal.dumps(_fake_record(alive)))
    (tmp_path / "123.pkc.99.tmp").write_bytes(b"half written")  # ignored
    records, notes = follow.collect(str(tmp_path), wait_s=0.2)
    by_pid = {r["pid"]: r for r in records}
    assert by_pid[dead]["ended"].startswith("killed")
    assert by_pid[alive]["ended"].startswith("running (did not answer")
    assert dead2 not in by_pid and any(str(dead2) in n for n in notes)
    assert (tmp_path / _child.REQUEST).read_text() == "1"


def test_collect_takes_final_and_answered_records_without_waiting(tmp_path: Path) -> None:
    me = os.getpid()
    (tmp_path / f"{me}.pkc").write_bytes(marshal.dumps(_fake_record(me, answered=1)))
    t0 = time.monotonic()
    records, notes = follow.collect(str(tmp_path), wait_s=30.0)
    assert time.monotonic() - t0 < 20.0 and notes == []
    assert records[0]["ended"] == "running" and records[0]["answered"] == 1


def test_dynamic_code_gets_its_file_back(tmp_path: Path) -> None:
    script = tmp_path / "job.py"
    script.write_text(
        "import functools\n\n\nclass A:\n    def m(self):\n        def inner():\n"
        "            pass\n\n\n@functools.cache\ndef kernel(x):\n    return x\n"
    )
    lines = follow.function_lines(str(script))
    assert lines[("A.m", 5)] == str(script)
    assert lines[("A.m.<locals>.inner", 6)] == str(script)
    assert lines[("kernel", 10)] == str(script)  # a decorated function starts at its decorator
    rec = _fake_record(1)
    rec["codes"][1] = ["<dynamic-code>", "kernel", 10]
    _proc, functions, _hot = follow.process_from_record(rec, lines)
    assert {f.file for f in functions if f.function == "kernel"} == {str(script)}
    assert follow.function_lines(str(tmp_path / "missing.py")) == {}


def test_merge_functions_and_hot_lines_add_up() -> None:
    a = FunctionStat("f", "/a.py", 1, 1.0, 2.0, 0.5, 1.5, None, None, 10, "", False)
    b = FunctionStat("f", "/a.py", 1, 0.5, 0.5, None, 0.25, None, None, 5, "mod", True)
    c = FunctionStat("g", "/a.py", 9, 3.0, 3.0, 3.0, 3.0, None, None, 30, "", True)
    merged = follow.merge_functions([[a], [b, c]])
    assert [m.function for m in merged] == ["g", "f"]
    f = merged[1]
    assert (f.self_s, f.total_s, f.self_cpu_s, f.total_cpu_s, f.samples) == (
        1.5,
        2.5,
        0.5,
        1.75,
        15,
    )
    assert f.module == "mod" and f.user_code
    assert a.self_s == 1.0  # the inputs are not modified
    lines = follow.merge_hot_lines(
        [[HotLine("/a.py", 3, "f", 0.1, 0.2)], [HotLine("/a.py", 3, "f", 0.3, 0.3)]]
    )
    assert len(lines) == 1 and lines[0].self_s == pytest.approx(0.4)


# -- the model, merged tree and renderers ------------------------------------------------------
def _node(name: str, wall: float, cpu: float, kids: tuple[FrameNode, ...] = ()) -> FrameNode:
    own = wall - sum(k.wall_s for k in kids)
    own_cpu = cpu - sum(k.cpu_s for k in kids)
    return FrameNode(name, "/src/job.py", 1, wall, own, cpu, own_cpu, 1, kids)


def _profile() -> Profile:
    main_tree = _node("MainThread", 1.0, 0.1, (_node("<module>", 1.0, 0.1),))
    worker = _node("MainThread", 0.9, 0.8, (_node("run", 0.9, 0.8, (_node(HOSTILE, 0.8, 0.75),)),))
    procs = (
        ProcessProfile(10, 1, "main", "python job.py", wall_s=1.0, cpu_s=0.1),
        ProcessProfile(11, 10, "loky worker", f"python -c {HOSTILE}", "loky", "LokyProcess-1",
                       0.9, 0.8, 900, "exit", (ThreadTree(1, "MainThread", worker),)),
        ProcessProfile(12, 10, "loky worker", "python -c w", "loky", "LokyProcess-2",
                       0.9, 0.8, 900, "exit", (ThreadTree(1, "MainThread", worker),)),
    )  # fmt: skip
    return Profile(
        program="job.py",
        kind="script",
        argv=("job.py",),
        cwd="/src",
        modes=("sampling",),
        started_at="2026-01-02T03:04:05Z",
        wall_s=1.0,
        cpu_s=0.1,
        threads=(ThreadTree(1, "MainThread", main_tree),),
        functions=(
            FunctionStat(HOSTILE, "/src/job.py", 1, 1.6, 1.6, 1.5, 1.5, None, None, 9, "", True),
            FunctionStat("<module>", "/src/job.py", 1, 1.0, 1.0, 0.1, 0.1, None, None, 9, "", True),
        ),
        processes=procs,
    )


def test_profile_with_processes_round_trips_through_json() -> None:
    p = _profile()
    data = json.loads(json.dumps(p.to_dict()))
    back = Profile.from_dict(data)  # validated against profile.schema.json first
    assert back.processes == p.processes
    assert back.processes[1].threads[0].root == p.processes[1].threads[0].root
    old = Profile.from_dict({**data, "profile": {**data["profile"]}})
    assert old.processes == p.processes
    data["profile"].pop("processes")
    assert Profile.from_dict(data).processes == ()  # files written before the field


def test_merged_tree_folds_workers_that_ran_the_same_code() -> None:
    tree = follow.merged_tree(_profile())
    assert tree.function == "all processes"
    assert tree.wall_s == pytest.approx(1.0 + 2 * 0.9)
    run = next(c for c in tree.children if c.function == "run")
    assert run.cpu_s == pytest.approx(1.6)
    assert run.children[0].function == HOSTILE and run.children[0].cpu_s == pytest.approx(1.5)


def test_merged_tree_and_html_of_a_10000_frame_stack_need_no_recursion() -> None:
    node = _node("leaf", 1.0, 1.0)
    for _ in range(10_000):
        node = _node("f", 1.0, 1.0, (node,))
    p = _profile()
    root = _node("MainThread", 1.0, 1.0, (node,))
    deep = ProcessProfile(
        13, 10, "subprocess", "python deep.py", threads=(ThreadTree(1, "MainThread", root),)
    )
    p = Profile(**{**p.__dict__, "processes": (*p.processes, deep)})
    depth = max(d for d, _n in follow.merged_tree(p).walk())
    assert depth >= 10_000
    html = render.html_section(p, lambda s: str(s))
    assert html.count("<details") == html.count("</details>") > 10_000


def test_terminal_and_html_sections_list_processes_and_escape() -> None:
    import html as html_mod

    from perfkit.render.terminal import render_plain

    p = _profile()
    text = render_plain(render.terminal_sections(p))
    assert "Processes (3;" in text and "loky worker" in text and "Top functions by own CPU" in text
    assert f"{HOSTILE} (93.8%)" in text  # each worker's top function with its share of the CPU
    page = render.html_section(p, lambda v: html_mod.escape(str(v), quote=True))
    assert HOSTILE not in page and html_mod.escape(HOSTILE, quote=True) in page
    assert "all processes merged" in page
    assert (
        "\\n"
        in render.terminal_sections(
            Profile(
                **{**p.__dict__, "processes": (*p.processes[:2], ProcessProfile(9, 1, "x", "a\nb"))}
            )
        )[0].rows[-1][-1]
    )  # a multi-line command stays on one row
    single = Profile(**{**p.__dict__, "processes": ()})
    assert render.terminal_sections(single) == [] and render.html_section(single, str) == ""


def test_speedscope_has_a_profile_per_thread_of_every_process() -> None:
    from perfkit.render.speedscope import to_speedscope

    names = [p["name"] for p in to_speedscope(_profile())["profiles"]]
    assert names == [
        "job.py — MainThread",
        "job.py — loky worker 11 — MainThread",
        "job.py — loky worker 12 — MainThread",
    ]


# -- the parent's set-up and the bootstrap -----------------------------------------------------
def test_follower_restores_the_environment_and_removes_its_folder(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(_child, "install_hooks", lambda: None)  # keep this process's os.kill
    monkeypatch.setenv("PYTHONPATH", "/opt/mine")
    monkeypatch.delenv(_child.ENV_DIR, raising=False)
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", None)
    f = follow.Follower(0.002, wait_s=0.5)
    f.start()
    folder = f.folder
    assert Path(folder).parent == tmp_path
    assert os.environ["PYTHONPATH"] == follow.BOOT_DIR + os.pathsep + "/opt/mine"
    assert os.environ[_child.ENV_DIR] == folder and _child.MAIN_FOLLOW == (folder, 0.002)
    f.stop()
    assert os.environ["PYTHONPATH"] == "/opt/mine"
    assert _child.ENV_DIR not in os.environ and _child.MAIN_FOLLOW is None
    assert not Path(folder).exists() and f.records == []


def test_follower_never_uses_the_working_directory(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    import tempfile

    monkeypatch.setattr(_child, "install_hooks", lambda: None)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(tempfile, "gettempdir", lambda: str(tmp_path))
    f = follow.Follower(0.001)
    f.start()
    assert f.folder == "" and _child.ENV_DIR not in os.environ
    f.stop()
    assert list(tmp_path.iterdir()) == [] and "not followed" in f.notes[0]


def test_bootstrap_follows_a_child_and_chains_the_shadowed_sitecustomize(tmp_path: Path) -> None:
    other = tmp_path / "other"
    other.mkdir()
    (other / "sitecustomize.py").write_text("import sys\nsys.stderr.write('chained\\n')\n")
    folder = tmp_path / "session"
    folder.mkdir()
    root = str(Path(follow.__file__).resolve().parents[3])
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([follow.BOOT_DIR, str(other), root]),
        _child.ENV_DIR: str(folder),
        _child.ENV_INTERVAL: "0.001",
    }
    code = "import sys; print([p for p in sys.path if 'children' in p])"
    proc = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=240
    )
    assert proc.returncode == 0 and proc.stdout == "[]\n"  # the bootstrap is off sys.path
    assert proc.stderr == "chained\n"
    (rec_path,) = folder.glob("*.pkc")
    rec, _ = follow.load_record(str(rec_path))
    assert rec["role"] == "subprocess" and rec["ended"] == "exit" and code in rec["argv"]
    assert rec["pid"] == int(rec_path.stem)


def test_bootstrap_leaves_helpers_and_finished_sessions_alone(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "PYTHONPATH": follow.BOOT_DIR,
        _child.ENV_DIR: str(tmp_path / "gone"),
    }
    proc = subprocess.run(
        [sys.executable, "-c", "print('ok')"], env=env, capture_output=True, text=True, timeout=240
    )
    assert (proc.returncode, proc.stdout, proc.stderr) == (0, "ok\n", "")
    assert not (tmp_path / "gone").exists()
    env[_child.ENV_DIR] = str(tmp_path)
    code = "import multiprocessing.resource_tracker"  # names a bookkeeping helper
    subprocess.run([sys.executable, "-c", code], env=env, check=True, timeout=240)
    assert list(tmp_path.glob("*.pkc")) == []


def test_a_run_without_children_never_parses_the_script(monkeypatch, tmp_path):
    """The main script's functions are only looked up to rename children's cloudpickled code."""
    from perfkit.profiling.engines.base import Collector

    script = tmp_path / "job.py"
    script.write_text("def work():\n    pass\n")
    parsed: list[str] = []
    real = follow.function_lines
    monkeypatch.setattr(follow, "function_lines", lambda f: parsed.append(f) or real(f))
    f = follow.Follower(0.01)
    collector = Collector()
    f.contribute(collector, ["python", str(script)], 1.0, 1.0, main_file=str(script))
    assert parsed == [] and collector.processes == []
    f.records = [_child.ChildSampler(str(tmp_path), 0.01, "exec").record("exit")]
    collector = Collector()
    f.contribute(collector, ["python", str(script)], 1.0, 1.0, main_file=str(script))
    assert parsed == [str(script)] and len(collector.processes) == 2  # a child: looked up
