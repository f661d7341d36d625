"""Compare an answer recorded in the student's kernel with the reference's answer.

:func:`difference` returns ``None`` when the two agree and otherwise one sentence saying how
they differ (shape, dtype, values...), written for a student.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from labkit.checks.encoding import Opaque, Tensor


def summarize(value: Any, limit: int = 160) -> str:
    """A short, readable rendering of a decoded value for feedback."""
    if isinstance(value, np.ndarray):
        text = np.array2string(value, precision=6, threshold=12, edgeitems=3,
                               max_line_width=100)
        text = f"{text} ({value.dtype}, shape {value.shape})"
    elif isinstance(value, (list, tuple)) and value and all(
            isinstance(v, np.ndarray) for v in value):
        inner = ", ".join(summarize(v, limit // 2) for v in value[:4])
        more = ", …" if len(value) > 4 else ""
        text = f"{type(value).__name__} of {len(value)}: [{inner}{more}]"
    else:
        text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _as_array(value: Any) -> np.ndarray | None:
    """Numbers and 0-d/n-d arrays are compared as arrays; anything else is not an array."""
    if isinstance(value, np.ndarray):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return np.asarray(value)
    return None


def _array_difference(expected: np.ndarray, got: np.ndarray, rtol: float, atol: float,
                      check_dtype: bool) -> str | None:
    if expected.shape != got.shape:
        hint = " (transposed?)" if expected.shape == got.shape[::-1] and got.ndim > 1 else ""
        return f"shape {got.shape} instead of {expected.shape}{hint}"
    if got.dtype.kind not in "biuf":
        return f"dtype {got.dtype} is not a real number type"
    if check_dtype and expected.dtype.kind == "f" and got.dtype != expected.dtype:
        if got.dtype.kind == "f":
            return f"dtype {got.dtype} instead of {expected.dtype} (precision lost?)"
        if expected.size and not np.all(np.isclose(expected, np.round(expected))):
            return f"dtype {got.dtype} instead of {expected.dtype} (integer division?)"
    if expected.dtype.kind in "biu" and got.dtype.kind == "f":
        return f"floating-point values ({got.dtype}) where integers were expected"
    got_nan, expected_nan = np.isnan(got.astype(float)), np.isnan(expected.astype(float))
    if np.any(got_nan & ~expected_nan):
        return f"{int(np.sum(got_nan & ~expected_nan))} value(s) are NaN"
    close = np.isclose(got.astype(float), expected.astype(float), rtol=rtol, atol=atol,
                       equal_nan=True)
    if not np.all(close):
        diff = np.abs(got.astype(float) - expected.astype(float))
        diff = np.where(np.isfinite(diff), diff, np.inf)
        worst = np.unravel_index(int(np.argmax(np.where(close, -1, diff))), expected.shape)
        where = f" at index {tuple(int(i) for i in worst)}" if expected.ndim else ""
        return (f"{int(np.sum(~close))} of {expected.size} value(s) differ; largest difference "
                f"{float(np.max(np.where(close, 0, diff))):.3g}{where}")
    return None


def difference(expected: Any, got: Any, *, rtol: float = 1e-6, atol: float = 1e-9,
               check_dtype: bool = True) -> str | None:
    """``None`` when ``got`` matches ``expected`` within tolerance, else what differs."""
    if isinstance(got, Opaque):
        return f"a {got.type_name} object ({got.text}) where {_kind(expected)} was expected"
    if got is None and expected is not None:
        return "None (did the function forget to `return` its result?)"
    if isinstance(expected, Tensor):
        if not isinstance(got, Tensor):
            return f"{_kind(got)} where a torch tensor was expected"
        if got.dtype != expected.dtype:
            return f"tensor dtype {got.dtype} instead of {expected.dtype}"
        return _array_difference(expected.array, got.array, rtol, atol, check_dtype)
    expected_array = _as_array(expected)
    if expected_array is not None:
        got_array = _as_array(got)
        if isinstance(got, Tensor):
            got_array = got.array
        if got_array is None:
            return f"{_kind(got)} where {_kind(expected)} was expected"
        if isinstance(expected, (int, float)) and got_array.ndim == 0:
            check_dtype = False  # a Python float and a NumPy scalar are both fine
        return _array_difference(expected_array, got_array, rtol, atol, check_dtype)
    if isinstance(expected, (list, tuple)):
        if not isinstance(got, (list, tuple)):
            return f"{_kind(got)} where a sequence of {len(expected)} items was expected"
        if len(got) != len(expected):
            return f"{len(got)} items instead of {len(expected)}"
        for i, (e, g) in enumerate(zip(expected, got, strict=True)):
            diff = difference(e, g, rtol=rtol, atol=atol, check_dtype=check_dtype)
            if diff:
                return f"item {i}: {diff}"
        return None
    if isinstance(expected, dict):
        if not isinstance(got, dict):
            return f"{_kind(got)} where a dict was expected"
        if set(got) != set(expected):
            return f"keys {sorted(got, key=repr)} instead of {sorted(expected, key=repr)}"
        for key in expected:
            diff = difference(expected[key], got[key], rtol=rtol, atol=atol,
                              check_dtype=check_dtype)
            if diff:
                return f"[{key!r}]: {diff}"
        return None
    if type(expected) is not type(got) or expected != got:
        return f"{summarize(got)} instead of {summarize(expected)}"
    return None


def _kind(value: Any) -> str:
    if isinstance(value, np.ndarray):
        return f"an array of shape {value.shape}"
    if isinstance(value, Opaque):
        return f"a {value.type_name}"
    if isinstance(value, Tensor):
        return "a torch tensor"
    return f"a {type(value).__name__}"
