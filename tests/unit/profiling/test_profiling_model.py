"""Profile model: JSON round trip, schema, golden file of schema version 1, upgrades, errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from perfkit.errors import SchemaError
from perfkit.profiling.model import SCHEMA_VERSION, Profile, _upgrade

GOLDEN = Path(__file__).parent / "golden"
SCHEMA = Path(__file__).parents[3] / "perfkit" / "profiling" / "profile.schema.json"


def test_round_trip_is_lossless(profile, tmp_path):
    path = profile.save(tmp_path / "p.json")
    again = Profile.load(path)
    assert again == profile
    assert again.to_dict() == profile.to_dict()


def test_to_dict_validates_against_schema(profile):
    jsonschema = pytest.importorskip("jsonschema")
    jsonschema.validate(profile.to_dict(), json.loads(SCHEMA.read_text()))


def test_golden_v1_file_loads(profile):
    loaded = Profile.load(GOLDEN / "profile_v1.json")
    assert loaded == profile
    assert loaded.top_functions(1)[0].function == "<script>alert('x')</script>"


def test_unknown_fields_from_newer_minor_writers_are_ignored(profile):
    data = profile.to_dict()
    data["profile"]["future_field"] = 1
    data["profile"]["functions"][0]["future"] = "x"
    assert Profile.from_dict(data) == profile


def test_upgrade_from_version_0_moves_body_under_profile(profile):
    body = profile.to_dict()["profile"]
    old = {"schema_version": 0, **body}
    assert Profile.from_dict(old) == profile


def test_newer_schema_is_refused_with_upgrade_hint(profile):
    data = profile.to_dict()
    data["schema_version"] = SCHEMA_VERSION + 1
    with pytest.raises(SchemaError, match="newer"):
        Profile.from_dict(data)
    with pytest.raises(SchemaError):
        _upgrade({"kind": "perfkit-profile"})


@pytest.mark.parametrize(
    ("content", "match"),
    [
        ("{not json", "not valid JSON"),
        ('{"kind": "other"}', "not a perfkit profile"),
        (
            '{"kind": "perfkit-profile", "schema_version": 1, "profile": {"program": "x"}}',
            "malformed",
        ),
    ],
)
def test_corrupt_files_raise_schema_error(tmp_path, content, match):
    path = tmp_path / "bad.json"
    path.write_text(content)
    with pytest.raises(SchemaError, match=match):
        Profile.load(path)


def test_missing_file_raises_schema_error(tmp_path):
    with pytest.raises(SchemaError, match="no such file"):
        Profile.load(tmp_path / "none.json")


def test_nan_becomes_null(profile):
    from dataclasses import replace

    data = replace(profile, cpu_s=float("nan")).to_dict()
    assert data["profile"]["cpu_s"] is None
    json.dumps(data, allow_nan=False)


def test_flat_trees_any_depth_and_forward_compatible_hint_rules(profile):
    from dataclasses import replace

    from perfkit.profiling.model import FrameNode, Hint, ThreadTree

    node = FrameNode("leaf", "/a.py", 1, 1.0, 1.0)
    for i in range(5000):  # deeper than any recursion limit
        node = FrameNode(f"f{i % 3}", "/a.py", 2, 1.0, 0.0, children=(node,))
    deep = replace(
        profile,
        threads=(ThreadTree(1, "MainThread", node),),
        hints=(Hint("a-rule-from-a-newer-perfkit", "t", "/a.py", 1, "f", "e", "s"),),
    )
    data = deep.to_dict()
    assert data["schema_version"] == SCHEMA_VERSION == 2
    assert len(data["profile"]["threads"][0]["nodes"]) == 5001
    again = Profile.from_dict(json.loads(json.dumps(data)))
    assert again == deep
    assert max(d for d, _ in again.threads[0].root.walk()) == 5000


def test_to_json_fast_path_writes_the_text_of_the_cleaned_copy(profile):
    """json's encoder on the records directly gives the same text as the copy of to_dict, and a
    NaN or a mapping json would key differently falls back to that copy (never a bare NaN)."""
    from dataclasses import replace
    from types import MappingProxyType

    from perfkit.profiling import model

    def slow(p: Profile) -> str:
        return json.dumps(p.to_dict(), allow_nan=False)

    assert model.to_json(profile) == slow(profile)
    assert json.loads(model.to_json(profile)) == profile.to_dict()
    env = {**profile.environment, "proxy": MappingProxyType({"a": (1, 2.5)}), "ints": {3: "x"}}
    odd = replace(profile, environment=env)
    assert model.to_json(odd) == slow(odd)
    nan = replace(profile, cpu_s=float("nan"), environment={**env, "inf": float("inf")})
    assert model.to_json(nan) == slow(nan)
    assert json.loads(model.to_json(nan))["profile"]["cpu_s"] is None
    keyed = replace(profile, environment={**env, "flags": MappingProxyType({True: 1})})
    assert model.to_json(keyed) == slow(keyed)  # {"True": 1} as str() spells it, not "true"
