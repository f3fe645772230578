"""The magics in a real Jupyter kernel: a notebook executed headless (nbclient + ipykernel).

Each magic's output is checked in the saved notebook, and the HTML output of ``%%perfkit`` is
opened in headless Chromium like the other reports (skipped where Chromium is absent).
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")

CELLS = [
    "%load_ext perfkit",
    "import numpy as np\n"
    "def slow_sum(n):\n"
    "    total = 0\n"
    "    for i in range(n):\n"
    "        total += i * i\n"
    "    return total\n"
    "x = np.random.default_rng(0).random(200_000)",
    "%%perfkit --lines slow_sum\nslow_sum(300_000)\nname = '<script>alert(1)</script>'",
    "print(type(_perfkit).__name__, _perfkit.top_functions(1)[0].function, _perfkit.modes)",
    "%perfkit -o line_prof slow_sum(100_000)",
    "print(line_prof.program)",
    "%%perfkit_bench --rtol 0\nnp.sort(x)[-10:]\n# candidate\nnp.sort(np.partition(x, -10)[-10:])",
    "print(_perfkit_bench.status, _perfkit_bench.verdict.ok)",
    "%%perfkit_bench\nx.sum()\n# candidate\nx.sum() + 1",
    "print(_perfkit_bench.status)",
    "%perfkit_bench -i 50_000 slow_sum slow_sum",
    "%perfkit",
]


@pytest.fixture(scope="module")
def executed(tmp_path_factory: pytest.TempPathFactory) -> tuple[object, Path]:
    folder = tmp_path_factory.mktemp("nb")
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(src) for src in CELLS]
    client = nbclient.NotebookClient(
        nb,
        timeout=240,
        startup_timeout=240,  # nbclient's 60 s default is tight for a kernel on a loaded CI box
        kernel_name="python3",
        allow_errors=True,
        resources={"metadata": {"path": str(folder)}},
    )
    client.execute()
    path = folder / "magics.ipynb"
    nbformat.write(nb, path)
    return nbformat.read(path, as_version=4), folder


def _text(cell: dict) -> str:
    parts = []
    for out in cell["outputs"]:
        if out.get("output_type") == "stream":
            parts.append(out["text"])
        elif "data" in out:
            parts.append(out["data"].get("text/plain", ""))
        elif out.get("output_type") == "error":
            parts.append(f"{out['ename']}: {out['evalue']}")
    return "".join(parts)


def _html(cell: dict) -> str:
    return "".join(out.get("data", {}).get("text/html", "") for out in cell["outputs"])


def test_cell_profile_shows_html_report_and_keeps_result(executed: tuple) -> None:
    nb, _ = executed
    html = _html(nb.cells[2])
    assert html.startswith("<iframe sandbox")
    assert "slow_sum" in html
    assert "<script>alert(1)</script>" not in html  # program strings are escaped
    assert "Profile slow_sum" in _text(nb.cells[3]) or "slow_sum" in _text(nb.cells[3])
    assert "'lines'" in _text(nb.cells[3])


def test_line_magic_stores_under_the_name_given(executed: tuple) -> None:
    nb, _ = executed
    assert _text(nb.cells[5]).strip() == "%perfkit slow_sum(100_000)"


def test_bench_cell_passes_a_correct_candidate_and_fails_a_wrong_one(executed: tuple) -> None:
    nb, _ = executed
    assert "faster" in _html(nb.cells[6]) or "SLOWER" in _html(nb.cells[6])
    assert _text(nb.cells[7]).split() == ["passed", "True"]
    assert "FAILED" in _html(nb.cells[8])
    assert _text(nb.cells[9]).strip() == "failed"
    assert "CaseResult notebook: passed" in _text(nb.cells[10])


def test_usage_error_is_one_line_not_a_traceback(executed: tuple) -> None:
    nb, _ = executed
    outputs = nb.cells[11]["outputs"]
    assert [o["output_type"] for o in outputs] == ["stream"]
    text = _text(nb.cells[11]).strip()
    assert text.startswith("UsageError: nothing to profile")
    assert "\n" not in text and "Traceback" not in text


def test_html_output_renders_in_chromium(executed: tuple) -> None:
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        pytest.skip("chromium is not installed (make browser installs it)")
    nb, folder = executed
    page = folder / "output.html"
    page.write_text(f"<!doctype html><html><body>{_html(nb.cells[2])}</body></html>")
    dom = subprocess.run(
        [
            chromium,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--no-first-run",
            f"--user-data-dir={folder / 'chrome'}",
            "--dump-dom",
            page.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert dom.returncode == 0, dom.stderr[-2000:]
    assert "<iframe" in dom.stdout and "slow_sum" in dom.stdout
    json.dumps(nb)  # the saved notebook is valid JSON
