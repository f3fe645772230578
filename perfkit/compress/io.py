"""Load models and data sets for perfkit.compress: ONNX files, model dirs, .npz/.npy/.txt data."""

from __future__ import annotations

import os
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from perfkit.errors import InputFileError, UsageError


def load_compressed(path: str | os.PathLike[str]) -> Any:
    """Load a model saved by perfkit: ``.onnx``, a torch int8 dir, or an fp32 model dir/file.

    Raises
    ------
    InputFileError
        Missing, corrupt or unknown files; pickles are never loaded.
    """
    path = Path(path)
    if not path.exists():
        raise InputFileError(f"model {path} not found", "check the path")
    if path.suffix == ".onnx" or (path.is_dir() and (path / "model.onnx").is_file()):
        from perfkit.compress._ort import OrtModel

        return OrtModel.load(path if path.suffix == ".onnx" else path / "model.onnx")
    if path.is_dir() and (path / "quantization.json").is_file():
        from perfkit.compress._torch import TorchQuantModel

        return TorchQuantModel.load(path)
    from perfkit.compress.models import load_model

    return load_model(path)


def load_data(
    path: str | os.PathLike[str], input_names: tuple[str, ...], tokenizer: Any = None
) -> tuple[dict[str, np.ndarray], np.ndarray | None]:
    """Read named model inputs (and optional ``labels``) from a data file.

    ``.npz``: one array per model input (plus ``labels``); ``.npy``: the single input of a
    one-input model; ``.txt``: one sentence per line, tokenized with ``tokenizer``.
    Never unpickles (``allow_pickle=False``).
    """
    path = Path(path)
    if not path.is_file():
        raise InputFileError(f"data file {path} not found", "check the path")
    try:
        if path.suffix == ".npz":
            with np.load(path, allow_pickle=False) as npz:
                arrays = {k: npz[k] for k in npz.files}
        elif path.suffix == ".npy":
            if len(input_names) != 1:
                raise UsageError(
                    f"{path} holds one array but the model takes {list(input_names)}",
                    "save one array per input in an .npz file",
                )
            arrays = {input_names[0]: np.load(path, allow_pickle=False)}
        elif path.suffix == ".txt":
            if tokenizer is None:
                raise UsageError(
                    f"{path} is text but this model takes {list(input_names)}",
                    "pass an .npz file with one array per model input",
                )
            lines = [ln.strip() for ln in path.read_text(encoding="utf-8").splitlines()]
            sentences = [ln for ln in lines if ln]
            if not sentences:
                raise UsageError(f"{path} has no sentences", "write one sentence per line")
            arrays = tokenizer(sentences)
        else:
            raise InputFileError(
                f"unsupported data file {path.name}",
                "use .npz, .npy, or .txt (one sentence a line)",
            )
    except (ValueError, OSError, zipfile.BadZipFile, EOFError) as exc:
        if isinstance(exc, UsageError):
            raise
        raise InputFileError(
            f"cannot read {path}: {str(exc).splitlines()[0][:160]}",
            "write it with numpy.savez (no object arrays)",
        ) from None
    labels = arrays.pop("labels", None)
    missing = [n for n in input_names if n not in arrays]
    if missing:
        raise UsageError(
            f"{path} lacks arrays {missing} (has {sorted(arrays)})",
            f"save one array per model input: {list(input_names)}",
        )
    data = {n: arrays[n] for n in input_names}
    lengths = {len(v) if np.ndim(v) else 0 for v in data.values()}
    if lengths == {0}:
        raise UsageError(f"{path} holds no samples", "pass at least one sample")
    return data, labels
