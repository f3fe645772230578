"""The renderer protocol and registries: a result model in, text or bytes out.

A renderer has a ``name``, a file name or extension and ``render(model) -> str | bytes``; it
reads the model and never measures. Renderers are named as ``"module:Class"`` strings and
imported on first use, so a terminal-only run does not import the HTML renderer.

:data:`RENDERERS` holds the profile renderers (each with the ``file_name`` it is saved as in a
profile folder). :data:`MODEL_RENDERERS` holds every result model's renderers by model kind —
``profile``, ``bench`` (:class:`~perfkit.bench.results.BenchRun`), ``downcast``
(:class:`~perfkit.memory.DowncastReport`), ``comparison``
(:class:`~perfkit.compress.compare.ComparisonReport`) and ``diff``
(:class:`~perfkit.profiling.diff.ProfileDiff`); :func:`render` picks by the model's type.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Protocol, runtime_checkable

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
#: Model kind -> format name -> "module:Class", for every result model.
MODEL_RENDERERS: dict[str, dict[str, str]] = {
    "profile": RENDERERS,
    "bench": {
        "terminal": "perfkit.render.bench_table:BenchTerminalRenderer",
        "markdown": "perfkit.render.bench_table:BenchMarkdownRenderer",
        "json": "perfkit.render.bench_table:BenchJsonRenderer",
        "html": "perfkit.render.bench_html:BenchHtmlRenderer",
    },
    **{
        kind: {
            fmt: f"perfkit.render.reports:{prefix}{cls}Renderer"
            for fmt, cls in (
                ("terminal", "Terminal"),
                ("markdown", "Markdown"),
                ("json", "Json"),
                ("html", "Html"),
            )
        }
        for kind, prefix in (
            ("downcast", "Downcast"),
            ("comparison", "Comparison"),
            ("diff", "Diff"),
        )
    },
}
#: Class name of a result model -> its kind in :data:`MODEL_RENDERERS`.
MODEL_KINDS = {
    "Profile": "profile",
    "BenchRun": "bench",
    "DowncastReport": "downcast",
    "ComparisonReport": "comparison",
    "ProfileDiff": "diff",
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


@runtime_checkable
class ModelRenderer(Protocol):
    """Turns one result model into one output."""

    name: ClassVar[str]
    file_extension: ClassVar[str]

    def render(self, model: Any) -> str | bytes:
        """The rendered output."""


def get_renderer(name: str, kind: str = "profile") -> Any:
    """An instance of the ``kind`` model's renderer called ``name``; unknown names list the
    valid ones."""
    table = MODEL_RENDERERS[kind]
    try:
        spec = table[name]
    except KeyError:
        import difflib

        close = difflib.get_close_matches(name, list(table), n=2)
        more = f" (did you mean {', '.join(close)}?)" if close else ""
        raise UsageError(
            f"unknown format {name!r}{more}", f"use one of: {', '.join(table)}"
        ) from None
    module, _, cls = spec.partition(":")
    return getattr(importlib.import_module(module), cls)()


def model_kind(model: object) -> str:
    """The kind of result ``model`` is (``bench``, ``downcast``...), found by its class."""
    for klass in type(model).__mro__:
        kind = MODEL_KINDS.get(klass.__name__)
        if kind is not None:
            return kind
    raise UsageError(
        f"no renderer for a {type(model).__name__}",
        f"pass one of: {', '.join(MODEL_KINDS)}",
    )


def render(model: object, fmt: str = "terminal") -> str | bytes:
    """``model`` rendered as ``fmt`` (``terminal``, ``markdown``, ``json``, ``html``...).

    Parameters
    ----------
    model
        A Profile, BenchRun, DowncastReport, ComparisonReport or ProfileDiff.
    fmt
        A format registered for that model in :data:`MODEL_RENDERERS`.

    Raises
    ------
    UsageError
        Unknown model type or format (the message lists the valid ones).

    Examples
    --------
    >>> from perfkit.render.base import render
    >>> render(report, "markdown")  # doctest: +SKIP
    """
    return get_renderer(fmt, model_kind(model)).render(model)


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
    profile: Profile, out_dir: str | os.PathLike[str], formats: Iterable[str], fsync: bool = True
) -> dict[str, Path]:
    """Render ``profile`` in every file format of ``formats`` into ``out_dir`` (atomically).

    The terminal format is not a file and is skipped here. Files are rendered one after the
    other, then written concurrently: each atomic write ends with an fsync that releases the
    GIL, and waiting for three of them in a row was a tenth of a short run's start-up.
    ``fsync=False`` skips those fsyncs (each rename stays atomic; ``perfkit profile`` uses it).
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
                atomic_write_bytes(path, data, fsync=fsync)
            else:
                atomic_write_text(path, data, fsync=fsync)
        except BaseException as exc:  # noqa: BLE001 - re-raised in the calling thread below
            errors.append(exc)

    if not fsync:  # no fsync to wait for: threads would only add their start-up
        for _, path, data in jobs:
            write(path, data)
    threads = [threading.Thread(target=write, args=(p, d)) for _, p, d in jobs if fsync]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise errors[0]
    return {name: path for name, path, _ in jobs}
