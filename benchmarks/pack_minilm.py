"""Pack all-MiniLM-L6-v2 so it travels to a GPU machine: fp16 weights, tokenizer and configs.

The model's pip package (90 MB of fp32 safetensors) is over the 64 MiB a device run can carry and
is not installed there; the fp16 copy (~45 MB) is. ``PERFKIT_MINILM_DIR`` then points
:func:`perfkit.compress.models.minilm_path` at the packed folder::

    python benchmarks/pack_minilm.py .gpu_minilm     # here (the folder is git-ignored)
    PERFKIT_MINILM_DIR=.gpu_minilm perfkit bench --device cuda -k Encoder   # there

The fp16 weights are exact fp16 roundings of the fp32 ones; loaded into an fp32 model they give
embeddings within ~1e-4 cosine of the original (checked by the test).
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

#: The small files of a sentence-transformers folder that travel as they are.
SMALL_FILES = (
    "config.json",
    "config_sentence_transformers.json",
    "modules.json",
    "sentence_bert_config.json",
    "special_tokens_map.json",
    "tokenizer.json",
    "tokenizer_config.json",
    "vocab.txt",
)


def pack(out: Path, source: Path | None = None) -> int:
    """Write the fp16 pack of ``source`` (default: installed MiniLM) to ``out``; bytes written."""
    import torch
    from safetensors.torch import load_file, save_file

    from perfkit._atomic import atomic_dir, refuse_output_over_input
    from perfkit.compress.models import minilm_path

    src = Path(source) if source is not None else minilm_path()
    refuse_output_over_input(out, [src])
    tensors = load_file(str(src / "model.safetensors"))
    half = {
        k: (v.to(torch.float16) if v.is_floating_point() else v).contiguous()
        for k, v in tensors.items()
    }
    with atomic_dir(out) as tmp:
        tmp = Path(tmp)
        for name in SMALL_FILES:
            if (src / name).is_file():
                shutil.copy2(src / name, tmp / name)
        if (src / "1_Pooling").is_dir():
            shutil.copytree(src / "1_Pooling", tmp / "1_Pooling")
        save_file(half, str(tmp / "model.safetensors"), metadata={"format": "pt"})
    return sum(p.stat().st_size for p in out.rglob("*") if p.is_file())


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out", type=Path, help="folder to write (replaced in one step)")
    args = ap.parse_args(argv)
    from perfkit.errors import PerfkitError

    try:
        size = pack(args.out)
    except PerfkitError as exc:
        print(f"pack_minilm: error: {exc}", file=sys.stderr)
        return 2
    print(f"packed MiniLM (fp16) into {args.out}: {size / 2**20:.1f} MiB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
