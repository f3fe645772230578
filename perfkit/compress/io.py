"""Load any model perfkit.compress writes: ONNX files, torch int8 dirs, fp32 model dirs."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from perfkit.errors import InputFileError


def load_compressed(path: str | os.PathLike[str]) -> Any:
    """Load a compressed or fp32 model saved by perfkit (``.onnx`` file or model directory).

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
