"""Keep third-party noise (warnings, root-logger chatter, cache files) from leaking to users."""

from __future__ import annotations

import contextlib
import io
import logging
import os
import shutil
import tempfile
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any


@contextlib.contextmanager
def quiet(records: list[str] | None = None) -> Iterator[None]:
    """Silence warnings and log records below ERROR inside the block.

    The legacy ONNX exporter and ONNX Runtime's quantizer announce deprecations and hints
    ("run pre-processing") that are about their internals, not the user's code. When
    ``records`` is given, the silenced warning messages are appended to it so callers can report
    them instead of dropping them.
    """
    previous = logging.root.manager.disable
    logging.disable(logging.WARNING)
    try:
        # ORT's calibrators print() progress lines; they are not the caller's output.
        with (
            warnings.catch_warnings(record=True) as caught,
            contextlib.redirect_stdout(io.StringIO()),
        ):
            warnings.simplefilter("always")
            yield
        if records is not None:
            records.extend(f"{w.category.__name__}: {w.message}" for w in caught)
    finally:
        logging.disable(previous)


#: Environment variables naming the cache folders of the libraries compress uses. ONNX Runtime
#: writes a telemetry device id under ``$XDG_CACHE_HOME`` (default ``~/.cache``) on import;
#: transformers/huggingface_hub and torch keep caches under their own homes.
CACHE_ENV = (
    "XDG_CACHE_HOME",
    "HF_HOME",
    "HF_HUB_CACHE",
    "HF_DATASETS_CACHE",
    "TRANSFORMERS_CACHE",
    "TORCH_HOME",
    "TORCHINDUCTOR_CACHE_DIR",
    "TRITON_CACHE_DIR",
)


@contextlib.contextmanager
def private_caches() -> Iterator[Path]:
    """Point every library cache at a fresh temp folder for the block, then remove it.

    perfkit writes only where the user asked: libraries imported (or run) inside the block write
    their caches and telemetry files into the temp folder, which is deleted afterwards, instead of
    under ``~/.cache``. Hub access is switched off (``HF_HUB_OFFLINE=1``) and so is its telemetry.
    """
    root = Path(tempfile.mkdtemp(prefix="perfkit-cache-"))
    forced = {name: str(root / name.lower()) for name in CACHE_ENV}
    forced.update({"HF_HUB_OFFLINE": "1", "HF_HUB_DISABLE_TELEMETRY": "1"})
    saved = {name: os.environ.get(name) for name in forced}
    os.environ.update(forced)
    try:
        yield root
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        shutil.rmtree(root, ignore_errors=True)


def import_onnxruntime() -> Any:
    """``import onnxruntime`` without the device-id file it writes under ``~/.cache`` on import."""
    import sys

    if "onnxruntime" in sys.modules:
        return sys.modules["onnxruntime"]
    with private_caches():
        import onnxruntime

    return onnxruntime
