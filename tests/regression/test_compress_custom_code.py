"""Issue 11, finding 1 (and 8): a model folder is data; it never runs its own code.

`perfkit compress DIR` on a folder whose config.json has ``auto_map`` printed transformers'
"Do you wish to run the custom code? [y/N]" and a "y" on stdin ran the folder's Python. A pickled
``pytorch_model.bin`` ended in an UnpicklingError traceback, with a torch warning before it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")
tf = pytest.importorskip("transformers")
pytest.importorskip("onnxruntime")

REPO = Path(__file__).resolve().parents[2]

EVIL_CODE = """
import pathlib
pathlib.Path({marker!r}).write_text("code from the model folder ran")
from transformers import BertConfig, BertModel


class EvilConfig(BertConfig):
    model_type = "evilbert"


class EvilModel(BertModel):
    config_class = EvilConfig
"""


def _tiny_bert_folder(folder: Path) -> dict:
    cfg = tf.BertConfig(
        hidden_size=16, num_hidden_layers=1, num_attention_heads=2, intermediate_size=32,
        vocab_size=64, max_position_embeddings=32,
    )  # fmt: skip
    torch.manual_seed(0)
    tf.BertModel(cfg).save_pretrained(folder)
    return json.loads((folder / "config.json").read_text())


def _compress_with_yes(folder: Path, tmp_path: Path) -> subprocess.CompletedProcess:
    """``perfkit compress FOLDER`` in a subprocess with "y" answers waiting on stdin."""
    np.savez(tmp_path / "d.npz", input_ids=np.ones((4, 8), np.int64),
             attention_mask=np.ones((4, 8), np.int64))  # fmt: skip
    home = tmp_path / "home"
    home.mkdir()
    env = {**os.environ, "PYTHONPATH": str(REPO), "HOME": str(home), "OMP_NUM_THREADS": "1"}
    env.pop("XDG_CACHE_HOME", None)
    args = [str(folder), "--method", "dynamic", "--calibration", str(tmp_path / "d.npz"),
            "--out", str(tmp_path / "out")]  # fmt: skip
    return subprocess.run(
        [sys.executable, "-m", "perfkit", "compress", *args],
        input="y\ny\ny\n", capture_output=True, text=True, timeout=300, env=env,
    )  # fmt: skip


def test_auto_map_folder_with_yes_on_stdin_runs_no_code(tmp_path):
    folder = tmp_path / "evil"
    marker = tmp_path / "MARKER"
    cfg = _tiny_bert_folder(folder)
    cfg["model_type"] = "evilbert"
    cfg["auto_map"] = {"AutoConfig": "evil.EvilConfig", "AutoModel": "evil.EvilModel"}
    (folder / "config.json").write_text(json.dumps(cfg))
    (folder / "evil.py").write_text(EVIL_CODE.format(marker=str(marker)))
    r = _compress_with_yes(folder, tmp_path)
    assert not marker.exists(), "the model folder's code ran"
    assert r.returncode == 2, r.stderr
    assert "custom Python code" in r.stderr and "auto_map" in r.stderr
    assert "[y/N]" not in r.stdout + r.stderr and r.stdout == ""
    assert "Traceback" not in r.stderr
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("where", ["tokenizer_config.json", "encoder_config"])
def test_custom_code_markers_anywhere_are_refused(tmp_path, where):
    from perfkit.compress.models import load_model, save_model, tiny_bert
    from perfkit.errors import InputFileError

    if where == "encoder_config":
        model = tiny_bert(num_layers=1, hidden=16, heads=2)
        save_model(model, tmp_path / "m")
        cfg = json.loads((tmp_path / "m" / "config.json").read_text())
        cfg["encoder_config"]["auto_map"] = {"AutoModel": "evil.EvilModel"}
        (tmp_path / "m" / "config.json").write_text(json.dumps(cfg))
    else:
        _tiny_bert_folder(tmp_path / "m")
        (tmp_path / "m" / where).write_text(json.dumps({"auto_map": {"AutoTokenizer": ["x.T"]}}))
    with pytest.raises(InputFileError, match="custom Python code"):
        load_model(tmp_path / "m")


def test_pickled_pytorch_model_bin_is_refused_in_one_line(tmp_path):
    folder = tmp_path / "pkl"
    _tiny_bert_folder(folder)
    (folder / "model.safetensors").unlink()
    torch.save(torch.nn.Linear(2, 2), folder / "pytorch_model.bin")  # a pickled object
    r = _compress_with_yes(folder, tmp_path)
    assert r.returncode == 2
    lines = [ln for ln in r.stderr.splitlines() if ln.strip()]
    # One line: no torch warning (or anything else) printed before the refusal.
    assert len(lines) == 1, r.stderr
    assert lines[0].startswith("perfkit: error:") and "pickled Python objects" in lines[0]
