"""Atomic writes and output safety: a temp file (or folder) beside the target, then one rename.

Every output perfkit writes goes through here, so that a failing or killed writer never leaves a
half-written file, a multi-file output is committed in one step, and an output never lands on top
of one of its inputs.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO, Any

from perfkit.errors import UsageError

#: Temp names start with this prefix so a later run can find and remove a killed run's leftovers.
TEMP_PREFIX = ".perfkit-tmp-"
#: A leftover temp older than this (seconds) belongs to a dead run, not a concurrent one.
STALE_AFTER_S = 3600.0


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def clean_stale_temps(folder: str | os.PathLike[str], older_than_s: float = STALE_AFTER_S) -> int:
    """Remove temp files and folders a killed perfkit run left in ``folder``; return how many."""
    removed = 0
    now = time.time()
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return 0
    for entry in entries:
        if not entry.name.startswith(TEMP_PREFIX):
            continue
        try:
            if now - entry.stat(follow_symlinks=False).st_mtime < older_than_s:
                continue
            if entry.is_dir(follow_symlinks=False):
                shutil.rmtree(entry.path, ignore_errors=True)
            else:
                os.unlink(entry.path)
            removed += 1
        except OSError:
            continue
    return removed


def _writable_parent(target: Path) -> None:
    """Create ``target``'s folder and refuse a target that is an existing directory, up front."""
    if target.is_dir():
        raise UsageError(
            f"cannot write {target}: it is an existing directory",
            "give a file name as the output, not a folder",
        )
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UsageError(
            f"cannot write to {target.parent}: {exc.strerror or exc}",
            "choose a writable output location",
        ) from exc
    if not os.access(target.parent, os.W_OK | os.X_OK):
        raise UsageError(
            f"cannot write to {target.parent}: permission denied",
            "choose a writable output location",
        )


def check_writable(path: str | os.PathLike[str], *, directory: bool = False) -> Path:
    """Fail early (before any work) when ``path`` cannot be written as a file (or a folder)."""
    target = Path(path)
    if directory:
        if target.exists() and not target.is_dir():
            raise UsageError(
                f"cannot write the folder {target}: a file of that name exists",
                "give a new or existing folder as the output",
            )
        parent = target if target.is_dir() else target.parent
        while not parent.exists() and parent != parent.parent:
            parent = parent.parent
        if not os.access(parent, os.W_OK | os.X_OK):
            raise UsageError(
                f"cannot write to {parent}: permission denied",
                "choose a writable output location",
            )
        return target
    if target.is_dir():
        raise UsageError(
            f"cannot write {target}: it is an existing directory",
            "give a file name as the output, not a folder",
        )
    parent = target.parent
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent
    if not os.access(parent, os.W_OK | os.X_OK):
        raise UsageError(
            f"cannot write to {parent}: permission denied", "choose a writable output location"
        )
    return target


def refuse_output_over_input(
    output: str | os.PathLike[str], inputs: Iterable[str | os.PathLike[str]]
) -> None:
    """Refuse an output that resolves to an input, or a folder that is or contains an input.

    Called before any work, so a typo such as ``--out x.npy`` for input ``x.npy`` costs nothing
    and destroys nothing.
    """
    out = Path(output).resolve()
    for raw in inputs:
        src = Path(raw).resolve()
        same = out == src
        if not same and out.exists() and src.exists():
            with contextlib.suppress(OSError):
                same = os.path.samefile(out, src)
        if same:
            raise UsageError(
                f"the output {output} is the input {raw}: writing it would destroy the input",
                "choose another --out",
            )
        if src in out.parents:
            raise UsageError(
                f"the output {output} lies inside the input folder {raw}",
                "choose an --out outside the input",
            )
        if out in src.parents:
            raise UsageError(
                f"the output folder {output} contains the input {raw}: it would be replaced",
                "choose an --out that does not contain the input",
            )


@contextlib.contextmanager
def atomic_open(
    path: str | os.PathLike[str], mode: str = "w", *, fsync: bool = True, **kwargs: Any
) -> Iterator[IO[Any]]:
    """Open a temp file beside ``path``; rename it over ``path`` only if the block succeeds.

    An interrupted or failing writer never leaves a half-written file at ``path``; an existing
    directory or an unwritable folder is a :class:`UsageError` before anything is written.
    ``fsync=False`` skips the flush to disk before the rename (readers still see the old file or
    the whole new one; only an OS crash right after can lose it): for outputs that a rerun
    recreates, where an fsync costs milliseconds per file.
    """
    target = Path(path)
    _writable_parent(target)
    clean_stale_temps(target.parent)
    try:
        fd, tmp = tempfile.mkstemp(prefix=f"{TEMP_PREFIX}{target.name}.", dir=target.parent)
    except OSError as exc:
        raise UsageError(
            f"cannot write to {target.parent}: {exc.strerror or exc}",
            "choose a writable output location",
        ) from exc
    try:
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; give the file normal permissions
        with os.fdopen(fd, mode, **kwargs) as fh:
            yield fh
            fh.flush()
            if fsync:
                os.fsync(fh.fileno())
        try:
            os.replace(tmp, target)
        except OSError as exc:
            raise UsageError(
                f"cannot write {target}: {exc.strerror or exc}", "choose another output location"
            ) from exc
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


@contextlib.contextmanager
def atomic_dir(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield an empty temp folder beside ``path``; on success it becomes ``path`` in one step.

    For multi-file outputs (a model and its report): readers see the old folder or the new one,
    never a mix. An existing ``path`` folder is replaced; a file of that name is refused.
    """
    target = Path(path)
    check_writable(target, directory=True)
    target.parent.mkdir(parents=True, exist_ok=True)
    clean_stale_temps(target.parent)
    tmp = Path(tempfile.mkdtemp(prefix=f"{TEMP_PREFIX}{target.name}.", dir=target.parent))
    try:
        os.chmod(tmp, 0o777 & ~_umask())
        yield tmp
        old = None
        if target.exists():
            old = Path(
                tempfile.mkdtemp(prefix=f"{TEMP_PREFIX}{target.name}.old.", dir=target.parent)
            )
            os.rmdir(old)
            os.replace(target, old)
        try:
            os.replace(tmp, target)
        except OSError as exc:
            if old is not None:
                os.replace(old, target)
            raise UsageError(
                f"cannot write {target}: {exc.strerror or exc}", "choose another output location"
            ) from exc
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def atomic_write_text(path: str | os.PathLike[str], text: str, *, fsync: bool = True) -> Path:
    """Write ``text`` to ``path`` atomically (UTF-8) and return the path (``fsync``: see
    :func:`atomic_open`)."""
    with atomic_open(path, "w", encoding="utf-8", fsync=fsync) as fh:
        fh.write(text)
    return Path(path)


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes, *, fsync: bool = True) -> Path:
    """Write ``data`` to ``path`` atomically and return the path (``fsync``: see
    :func:`atomic_open`)."""
    with atomic_open(path, "wb", fsync=fsync) as fh:
        fh.write(data)
    return Path(path)


def dumps_strict(obj: Any, **kwargs: Any) -> str:
    """``json.dumps`` that never writes NaN/Infinity: non-finite floats become ``null``.

    JSON has no NaN; a file with a bare ``NaN`` is refused by strict readers (and by our own
    loaders). Callers that need the reason keep it in a field beside the value.
    """
    import json
    import math

    def clean(value: Any) -> Any:
        stack: list[tuple[Any, Any, Any]] = []
        root: list[Any] = [value]
        stack.append((root, 0, value))
        while stack:
            parent, key, item = stack.pop()
            if isinstance(item, float) and not math.isfinite(item):
                parent[key] = None
            elif isinstance(item, dict):
                new = dict(item)
                parent[key] = new
                stack.extend((new, k, v) for k, v in new.items())
            elif isinstance(item, (list, tuple)):
                new_list = list(item)
                parent[key] = new_list
                stack.extend((new_list, i, v) for i, v in enumerate(new_list))
        return root[0]

    return json.dumps(clean(obj), allow_nan=False, **kwargs)
