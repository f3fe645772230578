"""is_view, shares_memory, explain_copy, sliding_windows and the no_copy guard."""

from __future__ import annotations

import inspect
import warnings

import numpy as np
import pandas as pd
import pytest

from perfkit.errors import UsageError
from perfkit.memory.views import (
    CopyDetectedError,
    CopyWarning,
    explain_copy,
    is_view,
    no_copy,
    shares_memory,
    sliding_windows,
)

MB = 1 << 20


def _line_of(marker: str) -> int:
    """Line number of the source line containing ``marker`` in this file."""
    lines, start = inspect.getsourcelines(inspect.getmodule(_line_of))
    for i, text in enumerate(lines):
        if marker in text and "_line_of" not in text:
            return start + i if start else i + 1
    raise AssertionError(marker)


def test_is_view_and_shares_memory():
    x = np.arange(100.0)
    assert is_view(x[2:50], of=x)
    assert is_view(x.reshape(10, 10), of=x)
    assert not is_view(x[[1, 2, 3]], of=x)
    assert not is_view(x[x > 50], of=x)
    assert is_view(x[::2]) and not is_view(x)
    assert not shares_memory(x[::2], x[1::2])
    assert shares_memory(x, x[5:6])


def test_shares_memory_with_pandas_and_torch():
    x = np.arange(10.0)
    s = pd.Series(x, copy=False)
    assert shares_memory(s, x)
    assert not shares_memory(s.copy(), x)
    torch = pytest.importorskip("torch")
    t = torch.from_numpy(x)
    assert shares_memory(t, x) and is_view(t[2:], of=t)
    assert not shares_memory(t.clone(), x)
    with pytest.raises(UsageError, match="cannot inspect the memory"):
        shares_memory(object(), x)


def test_sliding_windows_is_a_read_only_view():
    x = np.arange(10.0)
    w = sliding_windows(x, 4)
    assert w.shape == (7, 4) and is_view(w, of=x)
    assert np.array_equal(w[3], x[3:7])
    assert not w.flags.writeable
    with pytest.raises(ValueError):
        w[0, 0] = 1.0
    stepped = sliding_windows(x, 3, step=3)
    assert stepped.tolist() == [[0, 1, 2], [3, 4, 5], [6, 7, 8]]
    m = sliding_windows(np.arange(12).reshape(3, 4), 2, axis=0)
    assert m.shape == (2, 4, 2)


@pytest.mark.parametrize(
    ("args", "match"),
    [
        ((np.arange(5), 0), "between 1 and"),
        ((np.arange(5), 6), "between 1 and"),
        ((np.arange(5), 2.5), "must be an int"),
        ((np.array(1.0), 1), "0-d"),
    ],
)
def test_sliding_windows_bad_input(args, match):
    with pytest.raises(UsageError, match=match):
        sliding_windows(*args)
    with pytest.raises(UsageError, match="step"):
        sliding_windows(np.arange(5), 2, step=0)


def test_explain_copy_notes():
    x = np.arange(24.0)
    idx = np.array([1, 2, 3])
    fancy = explain_copy("x[idx]")  # names come from this frame
    assert idx.size == 3
    assert fancy.is_copy and fancy.result_bytes == 24
    assert any("fancy" in n for n in fancy.notes)
    sl = explain_copy("x[2:10].reshape(2, 4)")
    assert not sl.is_copy and sl.shares_with == ("x",)
    mask = explain_copy("x[x > 3]", {"x": x})
    assert mask.is_copy and any("boolean mask" in n for n in mask.notes)
    strided = explain_copy("x.reshape(4, 6)[:, :3].reshape(-1)", {"x": x})
    assert strided.is_copy and any("non-contiguous" in n for n in strided.notes)
    arr = explain_copy("np.array(x)", {"x": x})
    assert arr.is_copy and any("np.asarray" in n for n in arr.notes)
    cast = explain_copy("x.astype(np.float32)", {"x": x, "np": np})
    assert cast.is_copy and any("astype" in n for n in cast.notes)
    df = pd.DataFrame({"a": x})
    cow = explain_copy("df[df.a > 2]", {"df": df})
    assert any("Copy-on-Write" in n for n in cow.notes)
    assert "copy" in str(fancy)
    with pytest.raises(UsageError, match="not a Python expression"):
        explain_copy("x[", {"x": x})
    with pytest.raises(UsageError, match="evaluating"):
        explain_copy("y[1]", {"x": x})


def test_no_copy_catches_fancy_index_and_np_array_with_their_lines():
    x = np.arange(1_000_000.0)
    idx = np.arange(300_000)
    with no_copy(min_bytes=MB, action="record") as guard:
        view = x[10:900_000]  # slice: silent
        grid = x.reshape(1000, 1000)  # reshape of a contiguous array: silent
        picked = x[idx]  # MARK-fancy
        dup = np.array(x)  # MARK-array
    assert view.base is x and grid.base is x and picked.size and dup.size
    lines = {(c.lineno, c.size_bytes, c.kind) for c in guard.copies}
    assert lines == {
        (_line_of("MARK-fancy"), 2_400_000, "buffer"),
        (_line_of("MARK-array"), 8_000_000, "buffer"),
    }
    assert all(c.filename == __file__ for c in guard.copies)
    assert "picked = x[idx]" in guard.copies[0].code or "picked = x[idx]" in guard.copies[1].code


def test_no_copy_is_silent_for_views():
    x = np.arange(2_000_000.0)
    # 64 KiB: the line-peak check sees every thread's allocations (pytest-xdist's IO thread
    # allocates a few KB at any moment), so a 1 KiB threshold flagged views at random.
    with no_copy(min_bytes=1 << 16) as guard:  # action="raise": would raise on any copy
        a = x[::2]
        b = x.reshape(2000, 1000).T
        c = x[100:200_000].reshape(-1, 10)
        d = np.asarray(x)
    assert guard.copies == [] and a.base is x and b.base is not None and c.size and d is x


def test_no_copy_raise_and_warn():
    x = np.arange(500_000.0)
    with pytest.raises(CopyDetectedError, match=r"new buffer\(s\) of >= 1,048,576 bytes"):
        with no_copy(min_bytes=MB):
            _ = x[np.arange(200_000)]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with no_copy(min_bytes=MB, action="warn"):
            kept = x.copy()  # MARK-warn
    assert kept.size
    found = [w for w in caught if issubclass(w.category, CopyWarning)]
    assert len(found) == 1 and found[0].lineno == _line_of("MARK-warn")


def test_no_copy_catches_temporaries_line_by_line():
    x = np.arange(1_000_000.0)
    idx = np.arange(0, 1_000_000, 2)
    with no_copy(min_bytes=MB, action="record") as guard:
        total = x[idx].sum()  # MARK-temp
        small = x[:10].sum()
    assert total > small
    if guard.notes:  # another tracer (coverage, a debugger) is active: temporaries are off
        pytest.skip(guard.notes[0])
    assert [(c.lineno, c.kind) for c in guard.copies] == [(_line_of("MARK-temp"), "temporary")]
    assert guard.copies[0].size_bytes >= 4_000_000


def test_no_copy_does_not_hide_exceptions():
    with pytest.raises(ZeroDivisionError):
        with no_copy(min_bytes=1):
            _ = np.arange(10.0)[[1, 2]]
            1 / 0  # noqa: B018


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [({"min_bytes": 0}, "min_bytes must be >= 1"), ({"action": "log"}, "unknown action")],
)
def test_no_copy_bad_arguments(kwargs, match):
    with pytest.raises(UsageError, match=match):
        no_copy(**kwargs)
