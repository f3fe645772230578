"""Hostile input for ``perfkit downcast``: mutated files, hostile values and names, bad outputs.

Every run must end in exit 0 or 2 (``--strict`` is never passed), with no traceback, the input's
bytes unchanged, and on failure no output and no temp file left behind. A successful run of an
.npy input must also keep the downcast promise: every value within the tolerance.
"""

from __future__ import annotations

import io
import tempfile
import zipfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from _harness import HOSTILE_SETTINGS, HOSTILE_STRINGS, assert_contract, run_main, snapshot
from hypothesis import given
from hypothesis import strategies as st

RTOL = 1e-3


def _npy_bytes(arr: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.save(buf, arr, allow_pickle=False)
    return buf.getvalue()


def _npz_bytes() -> bytes:
    buf = io.BytesIO()
    np.savez(buf, a=np.linspace(0, 1, 50), b=np.arange(40, dtype=np.int64), c=np.zeros((3, 4)))
    return buf.getvalue()


def _csv_bytes() -> bytes:
    frame = pd.DataFrame(
        {"price": np.linspace(1, 2, 30), "qty": np.arange(30), "city": ["a", "b", "c"] * 10}
    )
    return frame.to_csv(index=False).encode()


def _parquet_bytes() -> bytes:
    pytest.importorskip("pyarrow")
    frame = pd.DataFrame({"x": np.linspace(0, 5, 25), "n": np.arange(25, dtype=np.int64)})
    buf = io.BytesIO()
    frame.to_parquet(buf, index=False)
    return buf.getvalue()


VALID: dict[str, Callable[[], bytes]] = {
    ".npy": lambda: _npy_bytes(np.linspace(-3, 3, 64)),
    ".npz": _npz_bytes,
    ".csv": _csv_bytes,
    ".parquet": _parquet_bytes,
}


@st.composite
def byte_mutations(draw: st.DrawFn, valid: bytes) -> bytes:
    """``valid`` with one hostile change: truncated, bytes flipped, garbage spliced, emptied."""
    kind = draw(st.sampled_from(["truncate", "flip", "splice", "empty", "garbage", "header"]))
    n = len(valid)
    if kind == "truncate":
        return valid[: draw(st.integers(0, n - 1))]
    if kind == "empty":
        return b""
    if kind == "garbage":
        return draw(st.binary(min_size=1, max_size=256))
    if kind == "header":  # the first 128 bytes hold the .npy header, the zip/parquet magic...
        at = draw(st.integers(0, min(n, 128) - 1))
        return valid[:at] + bytes([draw(st.integers(0, 255))]) + valid[at + 1 :]
    if kind == "flip":
        data = bytearray(valid)
        for _ in range(draw(st.integers(1, 8))):
            data[draw(st.integers(0, n - 1))] ^= 1 << draw(st.integers(0, 7))
        return bytes(data)
    at = draw(st.integers(0, n))
    return valid[:at] + draw(st.binary(min_size=1, max_size=64)) + valid[at:]


def _run(src: Path, out: Path, *extra: str):
    before = snapshot([src])
    result = run_main(
        ["downcast", str(src), "--out", str(out), "--rtol", str(RTOL), *extra], src.parent
    )
    assert_contract(result, before, [out])
    return result


def _check_npy_promise(src: Path, out: Path) -> None:
    old = np.load(src, allow_pickle=False)
    new = np.load(out, allow_pickle=False)
    assert new.shape == old.shape
    if old.dtype.kind in "iuf" and old.size:
        a = old.astype(np.float64)
        b = new.astype(np.float64)
        assert np.array_equal(np.isnan(a), np.isnan(b))
        finite = np.isfinite(a)
        assert np.array_equal(a[~finite & ~np.isnan(a)], b[~finite & ~np.isnan(a)])
        assert np.all(np.abs(b[finite] - a[finite]) <= RTOL * np.abs(a[finite]))
    else:
        assert np.array_equal(old, new)


@pytest.mark.parametrize("suffix", sorted(VALID))
def test_mutated_files(suffix: str) -> None:
    valid = VALID[suffix]()

    @HOSTILE_SETTINGS
    @given(byte_mutations(valid))
    def check(data: bytes) -> None:
        with tempfile.TemporaryDirectory() as tmp:
            src = Path(tmp) / f"in{suffix}"
            src.write_bytes(data)
            _run(src, Path(tmp) / f"out{suffix}")

    check()


_VALUES = st.sampled_from(
    [0.0, -0.0, 1.5, np.nan, np.inf, -np.inf, 1e308, -1e308, 5e-324, 65504.0, 65520.0, 1e-8, 3.0]
)
_DTYPES = st.sampled_from(
    [
        "float64",
        "float32",
        "float16",
        "int64",
        "uint64",
        "int8",
        "bool",
        "complex128",
        "<M8[s]",
        "U3",
        "<f8",
        ">f8",
        ">i4",
    ]
)


@st.composite
def hostile_arrays(draw: st.DrawFn) -> np.ndarray:
    dtype = np.dtype(draw(_DTYPES))
    shape = draw(st.sampled_from([(), (0,), (1,), (7,), (3, 5), (0, 4), (2, 3, 2)]))
    size = int(np.prod(shape))
    values = draw(st.lists(_VALUES, min_size=size, max_size=size))
    base = np.array(values, dtype=np.float64).reshape(shape)
    with np.errstate(all="ignore"):
        if dtype.kind in "iub":
            base = np.nan_to_num(base, nan=0, posinf=0, neginf=0)
            base = np.clip(base, -100, 100)
            if dtype.kind == "u":
                base = np.abs(base)
        if dtype.kind == "M":
            return np.zeros(shape, dtype=dtype)
        if dtype.kind == "U":
            return np.full(shape, "ab", dtype=dtype)
        arr = base.astype(dtype)
    if arr.ndim == 2 and draw(st.booleans()):
        arr = np.asfortranarray(arr)
    return arr


@HOSTILE_SETTINGS
@given(hostile_arrays())
def test_hostile_arrays(arr: np.ndarray) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "a.npy"
        np.save(src, arr)
        out = Path(tmp) / "b.npy"
        result = _run(src, out)
        assert result.rc == 0, result.err
        _check_npy_promise(src, out)


@HOSTILE_SETTINGS
@given(
    names=st.lists(st.sampled_from(HOSTILE_STRINGS), min_size=1, max_size=4),
    cells=st.lists(
        st.sampled_from([*HOSTILE_STRINGS, "1", "2.5", "", str(2**64), "nan", "inf"]),
        min_size=1,
        max_size=12,
    ),
    as_parquet=st.booleans(),
)
def test_hostile_csv(names: list[str], cells: list[str], as_parquet: bool) -> None:
    if as_parquet:
        pytest.importorskip("pyarrow")
    header = ",".join('"' + n.replace('"', '""') + '"' for n in names)
    rows = [cells[i : i + len(names)] for i in range(0, len(cells), len(names))]
    body = "\n".join(",".join('"' + c.replace('"', '""') + '"' for c in row) for row in rows)
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "t.csv"
        src.write_bytes((header + "\n" + body + "\n").encode("utf-8", "surrogatepass"))
        _run(src, Path(tmp) / ("o.parquet" if as_parquet else "o.csv"), "--categories")


@HOSTILE_SETTINGS
@given(member=st.sampled_from(HOSTILE_STRINGS), payload=st.binary(max_size=64))
def test_hostile_npz_members(member: str, payload: bytes) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "z.npz"
        with zipfile.ZipFile(src, "w") as zf:
            zf.writestr("ok.npy", _npy_bytes(np.arange(5.0)))
            zf.writestr(member.replace("\x00", "_") + ".npy", _npy_bytes(np.arange(3)))
            zf.writestr("junk.bin", payload)
        result = _run(src, Path(tmp) / "o.npz")
        assert result.rc == 2 and "'junk.bin'" in result.err


@pytest.mark.parametrize(
    "out",
    [
        "in.npy",
        ".",
        "..",
        "sub",
        "sub/",
        "in.npy/x.npy",
        "x.csv",
        "",
        "a\x00b.npy",
        "../w/in.npy",
        "sub/../in.npy",
    ],
)
def test_bad_outputs(out: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "w"
        (root / "sub").mkdir(parents=True)
        src = root / "in.npy"
        np.save(src, np.linspace(0, 1, 20))
        before = snapshot([root])
        result = run_main(["downcast", "in.npy", "--out", out], root)
        assert_contract(result, before, [])
        assert sorted(p.name for p in root.iterdir()) == ["in.npy", "sub"] or result.rc == 0
        assert result.rc == 2 or out in ("", "x.csv")


@pytest.mark.parametrize(
    "opts",
    [
        ["--rtol", "nan"],
        ["--rtol", "-1"],
        ["--atol", "inf"],
        ["--rtol", "1e309"],
        ["--floats", "int8"],
        ["--floats", "$\\undefinedmacro{x}$"],
        ["--floats", ",,,"],
        ["--rtol", "x"],
    ],
)
def test_bad_options(opts: list[str]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "in.npy"
        np.save(src, np.linspace(0, 1, 20))
        _run(src, Path(tmp) / "out.npy", *opts)
