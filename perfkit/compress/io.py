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
        from perfkit.compress.models import (
            _read_json,
            build_from_config,
            check_size_against_weights,
            numel_on_meta,
            validate_config,
        )

        cfg_path = path / "config.json"
        cfg = validate_config(_read_json(cfg_path), cfg_path)
        _check_quantization_json(path / "quantization.json")
        numel = numel_on_meta(lambda: build_from_config(cfg, cfg_path), cfg_path)
        check_size_against_weights(numel, [path / "model.pt"], cfg_path)
        try:
            return TorchQuantModel.load(path)
        except (AttributeError, KeyError, TypeError) as exc:
            raise InputFileError(
                f"{path} is not a consistent torch int8 model: {str(exc)[:160]}",
                "re-save the model with perfkit compress",
            ) from None
    from perfkit.compress.models import load_model

    return load_model(path)


def _check_quantization_json(path: Path) -> None:
    """Schema of a torch int8 model's ``quantization.json``: layer lists and the scale mode."""
    from perfkit.compress.models import _read_json

    meta = _read_json(path)
    ok = (
        isinstance(meta, dict)
        and all(
            isinstance(meta.get(k), list) and all(isinstance(x, str) for x in meta[k])
            for k in ("quantized_layers", "float_layers")
        )
        and isinstance(meta.get("per_channel"), bool)
        and isinstance(meta.get("method", ""), str)
    )
    if not ok:
        raise InputFileError(
            f"{path} is not a valid quantization record (needs quantized_layers and "
            "float_layers as lists of names, per_channel true/false)",
            "re-save the model with perfkit compress",
        )


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
        if "pickled" in str(exc):  # numpy's guess for bytes that are no .npy/.npz at all
            raise InputFileError(
                f"cannot read {path}: not a NumPy file (or one holding Python objects, which "
                "perfkit never unpickles)",
                "write it with numpy.savez (no object arrays)",
            ) from None
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
    data = {n: np.asarray(arrays[n]) for n in input_names}
    return data, check_data(data, labels, path)


def check_data(
    data: dict[str, np.ndarray], labels: np.ndarray | None, where: str | os.PathLike[str]
) -> np.ndarray | None:
    """Validate named model inputs (and labels) before any work; return the labels.

    Every input must be a numeric array of at least one dimension, all of one non-zero length,
    with only finite values (NaN/inf inputs make every fidelity figure meaningless: a model that
    answers NaN to everything would "agree" with itself). Labels must be one integer per sample.

    Raises
    ------
    UsageError
        The message names the file, the array and what is wrong with it.
    """
    lengths = set()
    for name, arr in data.items():
        if arr.dtype.kind not in "fiub":
            raise UsageError(
                f"{where}: input {name!r} has dtype {arr.dtype}",
                "pass numeric arrays (float32 features, int64 token ids)",
            )
        if arr.ndim == 0:
            raise UsageError(
                f"{where}: input {name!r} is a single number, not samples",
                "save an array with one row per sample",
            )
        if arr.dtype.kind == "f":
            bad = int(arr.size - np.count_nonzero(np.isfinite(arr)))
            if bad:
                raise UsageError(
                    f"{where}: input {name!r} has {bad} non-finite values (NaN/inf) of {arr.size}",
                    "remove or replace them (e.g. numpy.nan_to_num) before compressing",
                )
        lengths.add(len(arr))
    if len(lengths) > 1:
        raise UsageError(
            f"{where}: inputs have different numbers of samples {sorted(lengths)}",
            "give every input the same number of rows",
        )
    if not lengths or lengths == {0}:
        raise UsageError(f"{where} holds no samples", "pass at least one sample")
    if labels is None:
        return None
    labels = np.asarray(labels)
    n = lengths.pop()
    if labels.ndim != 1 or len(labels) != n or labels.dtype.kind not in "iu":
        raise UsageError(
            f"{where}: 'labels' must be {n} integers (one per sample), got "
            f"{labels.dtype} of shape {labels.shape}",
            "save labels as a 1-D integer array",
        )
    return labels
