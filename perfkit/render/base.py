"""The renderer protocol and registry for profiles: a :class:`Profile` in, text or bytes out.

A renderer has a ``name``, a ``file_name`` (what it is saved as in a profile folder) and
``render(profile) -> str | bytes``; it reads the model and never measures. Renderers are named
as ``"module:Class"`` strings and imported on first use, so a terminal-only run does not import
the HTML renderer.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar, Protocol, runtime_checkable

from perfkit.errors import UsageError

if TYPE_CHECKING:
    from perfkit.profiling.model import Profile

#: Format name -> "module:Class".
RENDERERS: dict[str, str] = {
    "terminal": "perfkit.render.terminal:TerminalRenderer",
    "html": "perfkit.render.html:HtmlRenderer",
    "json": "perfkit.render.json_out:JsonRenderer",
    "speedscope": "perfkit.render.speedscope:SpeedscopeRenderer",
    "pstats": "perfkit.render.pstats_out:PstatsRenderer",
}
#: What ``perfkit profile`` writes when ``--format`` is not given (pstats joins under tracing).
DEFAULT_FORMATS = ("terminal", "html", "json", "speedscope")


@runtime_checkable
class Renderer(Protocol):
    """Turns a Profile into one output."""

    name: ClassVar[str]
    file_name: ClassVar[str]

    def render(self, profile: Profile) -> str | bytes:
        """The rendered output."""


def get_renderer(name: str) -> Renderer:
    """An instance of the renderer registered as ``name``; unknown names list the valid ones."""
    try:
        spec = RENDERERS[name]
    except KeyError:
        import difflib

        close = difflib.get_close_matches(name, list(RENDERERS), n=2)
        more = f" (did you mean {', '.join(close)}?)" if close else ""
        raise UsageError(
            f"unknown format {name!r}{more}", f"use one of: {', '.join(RENDERERS)}"
        ) from None
    module, _, cls = spec.partition(":")
    return getattr(importlib.import_module(module), cls)()


def parse_formats(text: str | None, tracing: bool = False) -> tuple[str, ...]:
    """``--format a,b`` → a validated tuple (``all`` = every format); default per mode."""
    if not text:
        return DEFAULT_FORMATS + (("pstats",) if tracing else ())
    names = [t.strip() for t in text.split(",") if t.strip()]
    if "all" in names:
        return tuple(RENDERERS)
    for n in names:
        if n not in RENDERERS:
            get_renderer(n)  # raises the UsageError listing the valid formats
    return tuple(dict.fromkeys(names))


def write_outputs(
    profile: Profile, out_dir: str | os.PathLike[str], formats: Iterable[str]
) -> dict[str, Path]:
    """Render ``profile`` in every file format of ``formats`` into ``out_dir`` (atomically).

    The terminal format is not a file and is skipped here. Files are rendered one after the
    other, then written concurrently: each atomic write ends with an fsync that releases the
    GIL, and waiting for three of them in a row was a tenth of a short run's start-up.
    Returns format -> path written.
    """
    import threading

    from perfkit._atomic import atomic_write_bytes, atomic_write_text

    out = Path(out_dir)
    jobs: list[tuple[str, Path, str | bytes]] = []
    for name in formats:
        if name == "terminal":
            continue
        renderer = get_renderer(name)
        jobs.append((name, out / renderer.file_name, renderer.render(profile)))
    errors: list[BaseException] = []

    def write(path: Path, data: str | bytes) -> None:
        try:
            if isinstance(data, bytes):
                atomic_write_bytes(path, data)
            else:
                atomic_write_text(path, data)
        except BaseException as exc:  # noqa: BLE001 - re-raised in the calling thread below
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(path, data)) for _, path, data in jobs]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise errors[0]
    return {name: path for name, path, _ in jobs}
