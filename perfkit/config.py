"""Project defaults from ``[tool.perfkit]`` in ``pyproject.toml``; command-line flags override them.

A team puts its report folder, sampling interval, formats, hint rules and gate threshold in one
place instead of every command line::

    [tool.perfkit]
    report_dir = "build/perf"          # profiles go to <report_dir>/profiles, results to .../bench

    [tool.perfkit.profile]
    interval = 0.01                    # seconds between samples
    formats = ["html", "json"]
    hints = true
    disabled_hints = ["joblib-candidate"]

    [tool.perfkit.bench]
    threshold = "10%"
    repeat = 7

Every key is checked: an unknown key or a value of the wrong type is an error naming the key and
the file (exit 2), never silently ignored.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from perfkit.errors import InputFileError


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and value == value


def _positive_number(value: Any) -> bool:
    return _number(value) and 0 < value < float("inf")


def _positive_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value > 0


def _string(value: Any) -> bool:
    return isinstance(value, str) and bool(value.strip())


def _strings(value: Any) -> bool:
    return isinstance(value, list) and all(_string(v) for v in value)


def _threshold(value: Any) -> bool:
    if _number(value):
        return value > 0
    if isinstance(value, str):
        text = value.strip().rstrip("%")
        try:
            return float(text) > 0
        except ValueError:
            return False
    return False


@dataclass(frozen=True)
class Key:
    """One allowed key: how to check it, what it means, and the CLI default it sets."""

    check: Callable[[Any], bool]
    expected: str
    dest: str
    convert: Callable[[Any], Any] = lambda v: v


#: Table -> key -> its rule. ``""`` is the top-level ``[tool.perfkit]`` table (all commands).
SCHEMA: dict[str, dict[str, Key]] = {
    "": {
        "report_dir": Key(_string, "a folder name", "report_dir"),
    },
    "profile": {
        "interval": Key(_positive_number, "seconds > 0", "interval"),
        "formats": Key(_strings, "a list of format names", "format", ",".join),
        "hints": Key(lambda v: isinstance(v, bool), "true or false", "no_hints", lambda v: not v),
        "disabled_hints": Key(_strings, "a list of hint rule ids", "disabled_hints", tuple),
        "memory": Key(lambda v: isinstance(v, bool), "true or false", "memory"),
        "cpu": Key(
            lambda v: v in ("sampling", "pyinstrument", "tracing", "off"),
            "sampling, pyinstrument, tracing or off",
            "cpu",
        ),
    },
    "bench": {
        "threshold": Key(_threshold, "a ratio such as '10%' or 0.1", "threshold", str),
        "repeat": Key(_positive_int, "an integer > 0", "repeat"),
    },
}


@dataclass(frozen=True)
class Config:
    """The validated ``[tool.perfkit]`` table and the file it came from (``None``: no file)."""

    source: Path | None = None
    tables: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)

    def get(self, table: str, key: str, default: Any = None) -> Any:
        """The raw value of ``key`` in ``[tool.perfkit.<table>]`` (``""``: the top table)."""
        return self.tables.get(table, {}).get(key, default)

    def defaults_for(self, command: str) -> dict[str, Any]:
        """argparse defaults for ``command``: its own table plus the top-level keys."""
        out: dict[str, Any] = {}
        for table in ("", command):
            rules = SCHEMA.get(table, {})
            for key, value in self.tables.get(table, {}).items():
                rule = rules[key]
                out[rule.dest] = rule.convert(value)
        return out


def find_pyproject(start: str | os.PathLike[str] | None = None) -> Path | None:
    """The nearest ``pyproject.toml`` at or above ``start`` (default: the current folder)."""
    here = Path(start or os.getcwd()).resolve()
    for folder in (here, *here.parents):
        candidate = folder / "pyproject.toml"
        if candidate.is_file():
            return candidate
    return None


def validate(raw: Any, source: str) -> dict[str, dict[str, Any]]:
    """Check a ``[tool.perfkit]`` table against :data:`SCHEMA`; return it split into tables.

    Raises
    ------
    InputFileError
        Naming the key and the file, for an unknown key, a table that is not a table, or a value
        of the wrong type.
    """
    if not isinstance(raw, dict):
        raise InputFileError(f"{source}: [tool.perfkit] must be a table", "see perfkit.config")
    tables: dict[str, dict[str, Any]] = {"": {}}
    for key, value in raw.items():
        if key in SCHEMA and key != "":
            if not isinstance(value, dict):
                raise InputFileError(
                    f"{source}: tool.perfkit.{key} must be a table", f"write [tool.perfkit.{key}]"
                )
            tables[key] = {}
            for sub, sub_value in value.items():
                _check(source, key, sub, sub_value)
                tables[key][sub] = sub_value
        else:
            _check(source, "", key, value)
            tables[""][key] = value
    return tables


def _check(source: str, table: str, key: str, value: Any) -> None:
    name = f"tool.perfkit.{table}.{key}" if table else f"tool.perfkit.{key}"
    rules = SCHEMA[table]
    if key not in rules:
        known = ", ".join(sorted(rules) + ([f"[{t}]" for t in SCHEMA if t] if not table else []))
        raise InputFileError(f"{source}: unknown key {name}", f"known keys: {known}")
    rule = rules[key]
    if not rule.check(value):
        raise InputFileError(
            f"{source}: {name} = {value!r} is not {rule.expected}", "fix the value or remove it"
        )


def load_config(start: str | os.PathLike[str] | None = None) -> Config:
    """Read and validate ``[tool.perfkit]`` from the nearest ``pyproject.toml`` (none: empty).

    ``PERFKIT_NO_CONFIG=1`` ignores the file (for scripts that must not depend on a project's
    settings).
    """
    if os.environ.get("PERFKIT_NO_CONFIG"):
        return Config()
    path = find_pyproject(start)
    if path is None:
        return Config()
    import tomllib

    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise InputFileError(f"{path}: cannot read it as TOML: {exc}", "fix the file") from exc
    raw = data.get("tool", {}).get("perfkit") if isinstance(data.get("tool"), dict) else None
    if raw is None:
        return Config(source=path)
    return Config(source=path, tables=validate(raw, str(path)))
