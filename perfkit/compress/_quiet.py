"""Keep third-party noise (deprecation warnings, root-logger chatter) from leaking to users."""

from __future__ import annotations

import contextlib
import io
import logging
import warnings
from collections.abc import Iterator


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
