"""Validate a JSON document against the subset of JSON Schema that perfkit's schemas use.

``perfkit diff`` and ``Profile.load`` must refuse a profile.json whose fields have the wrong
types before reading any of it, with the file and the field named, and without needing the
``jsonschema`` package (a development dependency). The keywords understood are the ones
``profile.schema.json`` uses: ``type``, ``const``, ``enum``, ``properties``, ``required``,
``items``, ``prefixItems``, ``minItems``, ``maxItems``, ``additionalProperties``, ``minimum``,
``oneOf`` and local ``$ref``. One difference from JSON Schema, on purpose: a ``number`` must be
finite (JSON has no NaN; a reader that let one through would compare NaN with thresholds).

The walk uses an explicit stack, so a deeply nested document cannot exhaust Python's recursion.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import Any

_JSON_TYPES = {
    "object": "object",
    "array": "array",
    "string": "string",
    "integer": "integer",
    "number": "number",
    "boolean": "boolean",
    "null": "null",
}


def json_type(value: Any) -> str:
    """The JSON type name of a parsed value (``integer`` for whole ints, not for bools)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number" if math.isfinite(value) else "non-finite number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list | tuple):
        return "array"
    if isinstance(value, Mapping):
        return "object"
    return type(value).__name__


def _type_ok(value: Any, wanted: str) -> bool:
    got = json_type(value)
    return got == wanted or (wanted == "number" and got == "integer")


def _where(path: tuple[Any, ...]) -> str:
    out = ""
    for p in path:
        out += f"[{p}]" if isinstance(p, int) else (f".{p}" if out else str(p))
    return out or "(top level)"


def errors(instance: Any, schema: Mapping[str, Any], limit: int = 1) -> list[str]:
    """Up to ``limit`` messages ``"<path>: <problem>"`` for ``instance`` against ``schema``."""
    root = schema
    found: list[str] = []
    stack: list[tuple[Any, Mapping[str, Any], tuple[Any, ...]]] = [(instance, schema, ())]
    while stack and len(found) < limit:
        value, sch, path = stack.pop()
        ref = sch.get("$ref")
        if isinstance(ref, str):
            sch = _resolve(root, ref)
        problem = _check_here(value, sch)
        if problem:
            found.append(f"{_where(path)}: {problem}")
            continue
        if "oneOf" in sch:
            branches = [b for b in sch["oneOf"] if not errors(value, _with_root(b, root))]
            if len(branches) != 1:
                kinds = "no" if not branches else "more than one"
                found.append(f"{_where(path)}: matches {kinds} allowed form ({json_type(value)})")
                continue
            stack.append((value, _with_root(branches[0], root), path))
        if isinstance(value, Mapping):
            props = sch.get("properties", {})
            for key in reversed(list(value)):
                sub = props.get(key, sch.get("additionalProperties"))
                if isinstance(sub, Mapping):
                    stack.append((value[key], sub, (*path, key)))
        elif isinstance(value, list | tuple):
            prefix = sch.get("prefixItems", [])
            items = sch.get("items")
            for i in range(len(value) - 1, -1, -1):
                sub = prefix[i] if i < len(prefix) else items
                if isinstance(sub, Mapping):
                    stack.append((value[i], sub, (*path, i)))
    return found


def _with_root(branch: Mapping[str, Any], root: Mapping[str, Any]) -> Mapping[str, Any]:
    # a oneOf branch validated on its own still resolves $ref against the whole schema
    return {**branch, "$defs": root.get("$defs", {})} if "$defs" in root else branch


def _resolve(root: Mapping[str, Any], ref: str) -> Mapping[str, Any]:
    if not ref.startswith("#/"):
        raise ValueError(f"only local $ref is supported, not {ref!r}")
    node: Any = root
    for part in ref[2:].split("/"):
        node = node[part]
    return node


def _check_here(value: Any, sch: Mapping[str, Any]) -> str | None:
    """The problem with ``value`` itself (not its members), or None."""
    wanted = sch.get("type")
    if wanted is not None:
        options = [wanted] if isinstance(wanted, str) else list(wanted)
        if not any(_type_ok(value, t) for t in options if t in _JSON_TYPES):
            return f"expected {' or '.join(options)}, got {json_type(value)}"
    elif isinstance(value, float) and not math.isfinite(value):
        return "got a non-finite number (NaN or infinity)"
    if "const" in sch and (value != sch["const"] or json_type(value) != json_type(sch["const"])):
        return f"must be {sch['const']!r}, got {_short(value)}"
    if "enum" in sch and not any(
        value == e and json_type(value) == json_type(e) for e in sch["enum"]
    ):
        return f"must be one of {', '.join(map(str, sch['enum']))}; got {_short(value)}"
    if "minimum" in sch and _type_ok(value, "number") and value < sch["minimum"]:
        return f"must be >= {sch['minimum']}, got {value}"
    if isinstance(value, Mapping):
        missing = [k for k in sch.get("required", ()) if k not in value]
        if missing:
            return f"missing key {missing[0]!r}"
    if isinstance(value, list | tuple):
        if "minItems" in sch and len(value) < sch["minItems"]:
            return f"needs at least {sch['minItems']} items, has {len(value)}"
        if "maxItems" in sch and len(value) > sch["maxItems"]:
            return f"allows at most {sch['maxItems']} items, has {len(value)}"
    return None


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:39] + "…"


@cache
def profile_schema() -> dict[str, Any]:
    """``profile.schema.json``, shipped beside this module."""
    path = Path(__file__).with_name("profile.schema.json")
    return json.loads(path.read_text(encoding="utf-8"))
