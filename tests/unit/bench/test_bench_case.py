from __future__ import annotations

import pytest

from perfkit.bench import Case, Verdict, case, case_id, get, register, select
from perfkit.errors import UsageError


def _case(name: str = "t_case", **kw) -> Case:
    return Case(
        name=name,
        group=kw.pop("group", "test"),
        make_inputs=lambda p: p,
        baseline=lambda x: 1,
        candidate=lambda x: 1,
        check=lambda b, c: Verdict(b == c),
        **kw,
    )


def test_grid_walks_every_combination_in_order() -> None:
    c = _case(params={"n": [1, 2], "dtype": ["f4", "f8"]})
    assert list(c.grid()) == [
        {"n": 1, "dtype": "f4"},
        {"n": 1, "dtype": "f8"},
        {"n": 2, "dtype": "f4"},
        {"n": 2, "dtype": "f8"},
    ]
    assert c.ids() == [
        "t_case[n=1,dtype=f4]",
        "t_case[n=1,dtype=f8]",
        "t_case[n=2,dtype=f4]",
        "t_case[n=2,dtype=f8]",
    ]


def test_quick_grid_replaces_params_only_when_asked() -> None:
    c = _case(params={"n": [10**7]}, quick_params={"n": [10]})
    assert list(c.grid()) == [{"n": 10**7}]
    assert list(c.grid(quick=True)) == [{"n": 10}]
    assert list(_case(params={"n": [5]}).grid(quick=True)) == [{"n": 5}]


def test_case_without_params_is_one_point() -> None:
    assert list(_case().grid()) == [{}]
    assert case_id("x", {}) == "x"


@pytest.mark.parametrize("bad", ["", "a b", "a[1]", "a=b", "a,b"])
def test_bad_names_are_refused(bad: str) -> None:
    with pytest.raises(ValueError, match="name"):
        _case(name=bad)


def test_unknown_device_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown devices"):
        _case(devices=("cpu", "tpu"))


def test_decorator_registers_and_select_finds(clean_registry: None) -> None:
    @case("t_decorated", "t_group", params={"n": [3]})
    class Decorated:
        """Sum of a range two ways."""

        def make_inputs(self, p):
            return p["n"]

        def baseline(self, n):
            return sum(range(n))

        def candidate(self, n):
            return n * (n - 1) // 2

        def check(self, b, c):
            return Verdict(b == c)

    c = get("t_decorated")
    assert c.group == "t_group"
    assert c.description == "Sum of a range two ways."
    assert c.baseline(4) == c.candidate(4) == 6
    assert [x.name for x in select("t_decor*")] == ["t_decorated"]
    assert [x.name for x in select("T_GROUP")] == ["t_decorated"]
    assert select("no-such-thing-anywhere") == []


def test_get_unknown_suggests_close_names(clean_registry: None) -> None:
    register(_case("t_alpha_case"))
    with pytest.raises(UsageError, match="did you mean t_alpha_case"):
        get("t_alpha_cas")


def test_same_name_from_two_modules_is_an_error(clean_registry: None) -> None:
    register(_case("t_dup", module="a"))
    with pytest.raises(ValueError, match="registered twice"):
        register(_case("t_dup", module="b"))


def test_verdict_round_trips_and_drops_non_finite() -> None:
    v = Verdict(True, "ok", max_abs_error=float("nan"), agreement=1.0, figures={"x_bytes": 3})
    d = v.to_dict()
    assert d["max_abs_error"] is None
    assert d["figures"] == {"x_bytes": 3.0}
    assert Verdict.from_dict(d) == Verdict(True, "ok", None, None, 1.0, {"x_bytes": 3.0})


def test_playbook_cases_are_registered() -> None:
    names = {c.name for c in select(group="playbook")}
    assert {
        "fib_divisible_by_3",
        "small_sequence_literal",
        "select_rows_view",
        "scale_in_place",
        "feature_matrix_dtype",
        "release_temporaries",
    } <= names


def test_broken_or_missing_case_modules_are_recorded_not_fatal(tmp_path, monkeypatch) -> None:
    from perfkit.bench import registry

    (tmp_path / "broken_cases_mod.py").write_text("raise RuntimeError('half-written')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(registry, "_loaded", False)
    monkeypatch.setattr(registry, "_UNAVAILABLE", {})
    registry.load_all(["broken_cases_mod", "no_such_cases_mod_xyz"])
    why = registry.unavailable()
    assert "RuntimeError: half-written" in why["broken_cases_mod"]
    assert why["no_such_cases_mod_xyz"] == "case module no_such_cases_mod_xyz not found"


def test_each_case_module_declares_the_groups_its_cases_use() -> None:
    from perfkit.bench import registry

    registry.load_all()
    used: dict[str, set[str]] = {}
    for c in registry.registered():
        if c.module in registry.CASE_GROUPS:
            used.setdefault(c.module, set()).add(c.group)
    for mod, groups in used.items():
        assert groups <= set(registry.CASE_GROUPS[mod]), (
            f"{mod} declares {registry.CASE_GROUPS[mod]}"
        )


def test_selecting_a_group_imports_only_its_modules() -> None:
    # --group playbook used to import every case module, torch and transformers included
    # (seconds of start-up for each `perfkit bench` run)
    import subprocess
    import sys

    code = (
        "import sys\n"
        "from perfkit.bench import registry\n"
        "cases = registry.select(None, 'playbook')\n"
        "assert cases and {c.group for c in cases} == {'playbook'}, cases\n"
        "heavy = ('torch', 'transformers', 'onnxruntime', 'numba')\n"
        "heavy = sorted(m for m in heavy if m in sys.modules)\n"
        "print('heavy:', heavy)\n"
        "registry.get('small_sequence_literal')\n"
        "assert len(registry.all_cases()) > len(cases)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=600, check=True
    ).stdout
    assert "heavy: []" in out
