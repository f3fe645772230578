"""Open the HTML reports in headless Chromium: they render tables and charts, no console errors.

Needs Debian's ``chromium`` (``make test`` installs it) and Playwright's Python package, which
drives that binary through ``executable_path`` (its own browser download cannot work here).
Screenshots land in ``reports/screenshots/``.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SHOTS = REPO / "reports" / "screenshots"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")

pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed")

ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="module")
def browser():
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


def open_page(browser, path: Path):  # noqa: ANN001, ANN201
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    page.goto(path.resolve().as_uri())
    page.wait_for_load_state("load")
    return page, errors, requests


def test_dashboard_renders_tables_and_charts(browser, run_perfkit, tmp_path: Path) -> None:
    assert (
        run_perfkit(
            "bench", "--group", "playbook", "--quick", "--out", "reports/bench/r1.json"
        ).returncode
        == 0
    )
    proc = run_perfkit("report")
    assert proc.returncode == 0, proc.stderr
    page, errors, requests = open_page(browser, tmp_path / "reports" / "index.html")
    assert errors == []
    assert all(u.startswith("file://") for u in requests), requests  # nothing from the network
    assert page.locator("h1").inner_text() == "perfkit scoreboard"
    assert page.locator("table tbody tr").count() >= 6
    assert page.locator("svg").count() >= 1
    box = page.locator(".chart svg").first.bounding_box()
    assert box is not None and box["width"] > 300 and box["height"] > 100
    assert "fib_divisible_by_3" in page.content()
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "dashboard.png"), full_page=True)
    assert (SHOTS / "dashboard.png").stat().st_size > 10_000


HOSTILE_SCRIPT = """
import numpy as np

def busy():
    total = 0
    for i in range(300_000):
        total += i % 7
    return total

# A hostile name and source line: they must show as text, never run as markup.
BAD = "<img src=x onerror=window.__pwned=1>"
busy.__code__ = busy.__code__.replace(co_name=BAD, co_qualname=BAD)
fn = busy
for _ in range(8):
    fn()
a = np.ones(2_000_000)  # "<script>window.__pwned=2</script>"
print(a.sum())
"""


def test_profile_report_renders_and_escapes_the_program(
    browser, run_perfkit, tmp_path: Path
) -> None:
    script = tmp_path / "hostile.py"
    script.write_text(HOSTILE_SCRIPT)
    out = tmp_path / "prof"
    proc = run_perfkit("profile", "--memory", "--out", str(out), str(script))
    assert proc.returncode == 0, proc.stderr
    page, errors, requests = open_page(browser, out / "index.html")
    assert errors == []
    assert all(u.startswith("file://") for u in requests), requests
    assert page.evaluate("window.__pwned === undefined")
    assert page.locator("img").count() == 0
    assert page.locator("table").count() >= 1
    assert "&lt;img src=x onerror" in page.content()
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "profile.png"), full_page=False)
