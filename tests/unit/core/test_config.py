"""``[tool.perfkit]``: validated keys become CLI defaults; flags override; bad keys are named."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from perfkit.config import Config, find_pyproject, load_config
from perfkit.errors import InputFileError

REPO = Path(__file__).resolve().parents[3]


def _project(tmp_path: Path, body: str) -> Path:
    (tmp_path / "pyproject.toml").write_text(body)
    return tmp_path


def test_no_pyproject_means_no_defaults(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    cfg = load_config(tmp_path)
    assert cfg.defaults_for("profile") == {}


def test_nearest_pyproject_is_found_from_a_subfolder(tmp_path: Path) -> None:
    _project(tmp_path, "[project]\nname='x'\n")
    sub = tmp_path / "a" / "b"
    sub.mkdir(parents=True)
    assert find_pyproject(sub) == tmp_path / "pyproject.toml"


def test_keys_map_to_cli_defaults(tmp_path: Path) -> None:
    _project(
        tmp_path,
        '[tool.perfkit]\nreport_dir = "perf"\n'
        '[tool.perfkit.profile]\ninterval = 0.01\nformats = ["html", "json"]\nhints = false\n'
        'disabled_hints = ["joblib-candidate"]\n'
        '[tool.perfkit.bench]\nthreshold = "5%"\nrepeat = 9\n',
    )
    cfg = load_config(tmp_path)
    assert cfg.defaults_for("profile") == {
        "report_dir": "perf",
        "interval": 0.01,
        "format": "html,json",
        "no_hints": True,
        "disabled_hints": ("joblib-candidate",),
    }
    assert cfg.defaults_for("bench") == {"report_dir": "perf", "threshold": "5%", "repeat": 9}


@pytest.mark.parametrize(
    ("body", "named"),
    [
        ("[tool.perfkit]\nbogus = 1\n", "tool.perfkit.bogus"),
        ("[tool.perfkit.profile]\nintervall = 0.1\n", "tool.perfkit.profile.intervall"),
        ("[tool.perfkit.profile]\ninterval = -1\n", "tool.perfkit.profile.interval"),
        ("[tool.perfkit.profile]\ninterval = nan\n", "tool.perfkit.profile.interval"),
        ("[tool.perfkit.profile]\nformats = 'html'\n", "tool.perfkit.profile.formats"),
        ("[tool.perfkit.bench]\nrepeat = true\n", "tool.perfkit.bench.repeat"),
        ("[tool.perfkit.bench]\nthreshold = 'fast'\n", "tool.perfkit.bench.threshold"),
        ("[tool.perfkit]\nprofile = 3\n", "tool.perfkit.profile"),
        ("[tool.perfkit\n", "TOML"),
    ],
)
def test_bad_config_names_the_key(tmp_path: Path, body: str, named: str) -> None:
    _project(tmp_path, body)
    with pytest.raises(InputFileError, match=named.replace(".", r"\.")):
        load_config(tmp_path)


def test_config_is_empty_when_disabled(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _project(tmp_path, "[tool.perfkit]\nbogus = 1\n")
    monkeypatch.setenv("PERFKIT_NO_CONFIG", "1")
    assert load_config(tmp_path) == Config()


def _perfkit(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "perfkit", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
        env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin"},
    )


def test_cli_uses_config_and_flags_override(tmp_path: Path) -> None:
    _project(tmp_path, '[tool.perfkit.profile]\nformats = ["json"]\n')
    (tmp_path / "job.py").write_text("print(sum(range(10)))\n")
    proc = _perfkit(tmp_path, "profile", "--out", "a", "job.py")
    assert proc.returncode == 0, proc.stderr
    assert sorted(p.name for p in (tmp_path / "a").iterdir()) == ["profile.json"]
    proc = _perfkit(tmp_path, "profile", "--format", "html", "--out", "b", "job.py")
    assert proc.returncode == 0, proc.stderr
    assert sorted(p.name for p in (tmp_path / "b").iterdir()) == ["index.html"]


def test_cli_refuses_unknown_key_with_exit_2(tmp_path: Path) -> None:
    _project(tmp_path, "[tool.perfkit.profile]\ncolour = 'red'\n")
    (tmp_path / "job.py").write_text("print(1)\n")
    proc = _perfkit(tmp_path, "profile", "job.py")
    assert proc.returncode == 2
    assert "tool.perfkit.profile.colour" in proc.stderr and "Traceback" not in proc.stderr
    assert not (tmp_path / "reports").exists()


def test_report_dir_and_disabled_hints_reach_profile(tmp_path: Path) -> None:
    job = (
        "def hot(n):\n"
        "    total = 0\n"
        "    for i in range(n):\n"
        "        total += i * i % 7\n"
        "    return total\n"
        "print(hot(3_000_000))\n"
    )
    (tmp_path / "job.py").write_text(job)
    proc = _perfkit(tmp_path, "profile", "--format", "json", "job.py")
    assert proc.returncode == 0, proc.stderr
    first = next((tmp_path / "reports" / "profiles").glob("job-*"))
    rules = {
        h["rule"] for h in json.loads((first / "profile.json").read_text())["profile"]["hints"]
    }
    assert "numba-loop" in rules  # the control: the rule fires without the config
    _project(
        tmp_path,
        '[tool.perfkit]\nreport_dir = "perf"\n'
        '[tool.perfkit.profile]\nformats = ["json"]\ndisabled_hints = ["numba-loop"]\n',
    )
    proc = _perfkit(tmp_path, "profile", "job.py")
    assert proc.returncode == 0, proc.stderr
    second = next((tmp_path / "perf" / "profiles").glob("job-*"))
    doc = json.loads((second / "profile.json").read_text())["profile"]
    assert "numba-loop" not in {h["rule"] for h in doc["hints"]}
