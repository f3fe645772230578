"""Issue 11 (findings 3 and 7): one results file with an odd value crashed all of ``perfkit
report`` (a string figure, empty or all-zero sample times, a math-text case id through
matplotlib), and the command imported every case module (torch, onnxruntime). Now the odd file
is listed and skipped, and the page is drawn from the files alone."""

from __future__ import annotations

import json
from pathlib import Path

from perfkit.bench.dashboard import write_dashboard

GOLDEN = Path(__file__).resolve().parents[1] / "unit" / "bench" / "golden" / "bench_v1.json"


def test_odd_files_are_skipped_and_the_math_text_id_is_plain_text(tmp_path: Path) -> None:
    bench = tmp_path / "bench"
    bench.mkdir()
    valid = json.loads(GOLDEN.read_text())
    odd = {
        "string_figure": ("verdict", "figures", {"size_bytes": "12 MB"}),
        "no_samples": ("baseline", "times_s", []),
        "zero_samples": ("candidate", "times_s", [0.0, 0.0]),
    }
    for name, (outer, key, value) in odd.items():
        doc = json.loads(json.dumps(valid))
        doc["results"][0][outer][key] = value
        (bench / f"{name}.json").write_text(json.dumps(doc))
    doc = json.loads(json.dumps(valid))
    doc["results"][0]["id"] = "$\\undefinedmacro{x}$"
    (bench / "math.json").write_text(json.dumps(doc))

    out, loaded = write_dashboard([bench], tmp_path / "index.html")
    assert sorted(p.stem for p, _ in loaded.skipped) == sorted(odd)
    page = out.read_text()
    assert "$\\undefinedmacro{x}$" in page
    for name in odd:
        assert f"{name}.json" in page
