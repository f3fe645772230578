"""Open the HTML reports in headless Chromium: they render tables and charts, no console errors.

Needs Debian's ``chromium`` (``make test`` installs it) and Playwright's Python package, which
drives that binary through ``executable_path`` (its own browser download cannot work here).
Screenshots land in ``reports/screenshots/``.
"""

from __future__ import annotations

import os
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
        # 120 s, not playwright's 30 s: chromium starting on a loaded 2-core CI machine
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, timeout=120_000)
        yield b
        b.close()


def open_page(browser, path: Path):  # noqa: ANN001, ANN201
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.set_default_timeout(120_000)  # playwright's 30 s is tight on a loaded CI machine
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
    assert page.locator(".chart .bar").count() >= 6
    box = page.locator(".chart").first.bounding_box()
    assert box is not None and box["width"] > 600 and box["height"] > 100
    assert "fib_divisible_by_3" in page.content()
    assert layout_problems(page) == {"words": [], "overflow": [], "overlaps": []}


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
    shots = SHOTS if os.environ.get("PERFKIT_UPDATE_SCREENSHOTS") == "1" else tmp_path
    shots.mkdir(parents=True, exist_ok=True)  # a plain test run leaves the tree clean
    page.screenshot(path=str(shots / "profile.png"), full_page=False)


# ---- the dashboard's layout at the widths people use ------------------------------------------

#: Every word of every table cell on one line and inside its cell (a column narrower than a word
#: would break or spill it); every scroll box as wide as its table; no two labels overlapping.
#: A word is a run of characters between spaces and hyphens: a compound such as "speed-up" may
#: break after its hyphen, as in print; numbers use a true minus sign and never break.
LAYOUT_JS = """
() => {
  const words = [], overflow = [], overlaps = [];
  for (const cell of document.querySelectorAll('td, th')) {
    const c = cell.getBoundingClientRect();
    if (c.width === 0) continue;
    const walk = document.createTreeWalker(cell, NodeFilter.SHOW_TEXT);
    let node;
    while ((node = walk.nextNode())) {
      const re = /[^\\s-]+-?/g; let m;
      while ((m = re.exec(node.textContent))) {
        const r = document.createRange();
        r.setStart(node, m.index); r.setEnd(node, m.index + m[0].length);
        const rects = Array.from(r.getClientRects()).filter(x => x.width > 0);
        if (!rects.length) continue;
        const lines = new Set(rects.map(x => Math.round(x.top))).size;
        const left = Math.min(...rects.map(x => x.left));
        const right = Math.max(...rects.map(x => x.right));
        if (lines > 1 || left < c.left - 1 || right > c.right + 1)
          words.push([m[0], Math.round(c.width), Math.round(right - left), lines]);
      }
    }
  }
  for (const box of document.querySelectorAll('.scroll'))
    if (box.scrollWidth > box.clientWidth + 1)
      overflow.push([box.querySelector('th') ? box.querySelector('th').textContent : '',
                     box.scrollWidth, box.clientWidth]);
  const hit = (a, b) => a.left < b.right - 0.5 && b.left < a.right - 0.5 &&
                        a.top < b.bottom - 0.5 && b.top < a.bottom - 0.5;
  const groups = [...document.querySelectorAll('.ch-row')].map(r => r.querySelectorAll('.tick'))
    .concat([...document.querySelectorAll('.spark .yl')].map(y => y.querySelectorAll('span')));
  const page = document.documentElement.clientWidth;
  for (const g of groups) {
    const rs = [...g].map(e => [e.textContent, e.getBoundingClientRect()]);
    for (let i = 0; i < rs.length; i++) {
      if (rs[i][1].left < 0 || rs[i][1].right > page) overlaps.push([rs[i][0], 'off the page']);
      for (let j = i + 1; j < rs.length; j++)
        if (hit(rs[i][1], rs[j][1])) overlaps.push([rs[i][0], rs[j][0]]);
    }
  }
  return {words: words.slice(0, 20), overflow, overlaps: overlaps.slice(0, 20)};
}
"""


def layout_problems(page) -> dict:  # noqa: ANN001
    """Words broken or spilling out of cells, tables wider than the page, labels overlapping."""
    return page.evaluate(LAYOUT_JS)


@pytest.fixture(scope="module")
def committed_dashboard(tmp_path_factory) -> Path:
    """The page built from the results files committed in reports/bench (CPU and GPU runs, slowdowns
    and extreme memory ratios included)."""
    from perfkit.bench.dashboard import write_dashboard

    out = tmp_path_factory.mktemp("dash") / "index.html"
    write_dashboard([REPO / "reports" / "bench"], out)
    return out


@pytest.mark.parametrize("width", [1024, 1400, 1920])
def test_dashboard_is_readable_from_1024_to_1920_px(
    browser, committed_dashboard, width, tmp_path: Path
) -> None:
    """Also writes the screenshots at 1024 and 1920 px: into reports/screenshots/ (they are
    committed) with PERFKIT_UPDATE_SCREENSHOTS=1, else into a temp folder, so a plain test run
    leaves the tree clean."""
    page = browser.new_page(viewport={"width": width, "height": 1200})
    page.set_default_timeout(120_000)  # playwright's 30 s is tight on a loaded CI machine
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    page.goto(committed_dashboard.resolve().as_uri())
    page.wait_for_load_state("load")
    assert errors == [] and all(u.startswith("file://") for u in requests), (errors, requests)
    assert layout_problems(page) == {"words": [], "overflow": [], "overlaps": []}
    # The case column holds a case id's longest piece on one line (it wrapped every 5 letters).
    case_cell = page.locator("td.case").first.bounding_box()
    assert case_cell is not None and case_cell["width"] > 150
    # Slowdowns are red and say so; extreme ratios carry a note with a tooltip.
    slow = page.locator("td.slower")
    assert slow.count() >= 1 and "slower" in slow.first.inner_text()
    assert page.locator("td[title] sup a").count() >= 1 and page.locator("ol.notes li").count() >= 1
    assert "newest run is" in page.locator(".card").first.inner_text()
    if width in (1024, 1920):
        shots = SHOTS if os.environ.get("PERFKIT_UPDATE_SCREENSHOTS") == "1" else tmp_path
        shots.mkdir(parents=True, exist_ok=True)
        height = page.evaluate("document.documentElement.scrollHeight")
        page.screenshot(
            path=str(shots / f"dashboard-{width}.png"),
            full_page=True,
            clip={"x": 0, "y": 0, "width": width, "height": min(height, 2600)},
        )
    page.close()
