"""Describe how a wrong answer differs from the expected one, with no catalog of mistakes.

Most real mistakes are in no catalog. Their *shape* still says a lot: a flipped sign, a
constant factor, a value one step late, a right answer except at the first entry, a float32
result, a constant output, the input handed back unchanged. :func:`shape_of_difference`
compares one expected and one returned value and names such a shape; :func:`locate` finds
the first and the largest offending entries (with their index and both values) so feedback
can show them even when the arrays are too long to print; :func:`across_cases` says which
of the grader's hyperparameter values separate the right cases from the wrong ones.

Every function here returns a short sentence for a student, or ``None`` when it sees nothing
it can name. Nothing here knows the reference code: only the two values.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import numpy as np

from labkit.checks.encoding import Tensor

_SIMPLE_FACTORS = sorted({float(Fraction(p, q)) for p in range(1, 11) for q in range(1, 11)
                          if Fraction(p, q) != 1} | {100.0, 1000.0, 0.01, 0.001})


@dataclass(frozen=True)
class Entry:
    """One numeric entry of a value: where it is (``path``) and the two numbers there."""

    path: str
    expected: float
    got: float

    def __str__(self) -> str:
        return f"{self.path or 'the value'}: expected {self.expected:.6g}, got {self.got:.6g}"


def leaves(value: Any, path: str = "") -> list[tuple[str, np.ndarray]]:
    """The numeric arrays inside ``value`` (arrays, numbers, tensors, lists, tuples, dicts),
    each with a path such as ``[1]['adam']``."""
    if isinstance(value, Tensor):
        value = value.array
    if isinstance(value, (bool, np.bool_)):
        return []
    if isinstance(value, (int, float, np.number)):
        return [(path, np.asarray(value, dtype=float))]
    if isinstance(value, np.ndarray) and value.dtype.kind in "biuf":
        return [(path, value.astype(float))]
    if isinstance(value, (list, tuple)):
        return [leaf for i, item in enumerate(value) for leaf in leaves(item, f"{path}[{i}]")]
    if isinstance(value, dict):
        return [leaf for key, item in value.items() for leaf in leaves(item, f"{path}[{key!r}]")]
    return []


def _paired(expected: Any, got: Any) -> tuple[list[str], np.ndarray, np.ndarray] | None:
    """Both values flattened to matching float vectors, or ``None`` if their structure differs."""
    e, g = leaves(expected), leaves(got)
    if not e or len(e) != len(g) or any(pe != pg or ae.shape != ag.shape
                                        for (pe, ae), (pg, ag) in zip(e, g, strict=True)):
        return None
    paths = [_index(p, a.shape, i) for p, a in e for i in np.ndindex(a.shape)]
    return (paths, np.concatenate([a.ravel() for _, a in e]),
            np.concatenate([a.ravel() for _, a in g]))


def _index(path: str, shape: tuple, index: tuple) -> str:
    if not shape:
        return path
    return f"{path}[{', '.join(str(i) for i in index)}]"


def locate(expected: Any, got: Any, rtol: float, atol: float) -> tuple[Entry, Entry] | None:
    """The first entry beyond the tolerance and the one with the largest error."""
    paired = _paired(expected, got)
    if paired is None:
        return None
    paths, e, g = paired
    with np.errstate(all="ignore"):
        bad = ~np.isclose(g, e, rtol=rtol, atol=atol, equal_nan=True)
        if not bad.any():
            return None
        error = np.where(np.isfinite(g - e), np.abs(g - e), np.inf)
    first = int(np.argmax(bad))
    worst = int(np.argmax(np.where(bad, error, -1.0)))
    return (Entry(paths[first], float(e[first]), float(g[first])),
            Entry(paths[worst], float(e[worst]), float(g[worst])))


def _close(a: np.ndarray, b: np.ndarray, rtol: float = 1e-6, atol: float = 1e-9) -> bool:
    with np.errstate(all="ignore"):
        return a.shape == b.shape and bool(np.all(np.isclose(a, b, rtol=rtol, atol=atol)))


def _factor_name(c: float) -> str:
    for f in _SIMPLE_FACTORS:
        if abs(c - f) <= 1e-6 * max(1.0, f):
            frac = Fraction(f).limit_denominator(1000)
            return str(frac.numerator) if frac.denominator == 1 else f"{frac}"
    return f"{c:.4g}"


def shape_of_difference(expected: Any, got: Any, inputs: tuple = (), *,
                        rtol: float = 1e-6, atol: float = 1e-9) -> str | None:
    """Name the shape of the difference between ``expected`` and ``got`` (see module doc).

    ``inputs`` are the case's arguments: an answer equal to one of them was returned
    unchanged."""
    for i, arg in enumerate(inputs):
        same = None if callable(arg) else _paired(arg, got)
        if same is not None and np.array_equal(same[1], same[2]) \
                and _paired(expected, arg) is not None:
            return f"it is argument {i + 1} returned unchanged (no update was applied)"
    if isinstance(expected, (list, tuple)) and isinstance(got, (list, tuple)) \
            and len(expected) == len(got) > 1:
        wrong = [i for i, (e, g) in enumerate(zip(expected, got, strict=True))
                 if _paired(e, g) is None or not _close(*_paired(e, g)[1:], rtol, atol)]
        if len(wrong) == 1:
            i = wrong[0]
            inner = shape_of_difference(expected[i], got[i], inputs[:1] if i == 0 else (),
                                        rtol=rtol, atol=atol)
            return f"only item {i} of the result is wrong" + (f": {inner}" if inner else "")
    step = _step_shape(expected, got, inputs, rtol, atol)
    if step:
        return step
    paired = _paired(expected, got)
    if paired is None:
        return _transposed(expected, got)
    paths, e, g = paired
    if not np.all(np.isfinite(g)):
        bad = int(np.argmax(~np.isfinite(g)))
        what = "NaN" if np.isnan(g[bad]) else "inf"
        finite_before = np.all(np.isfinite(e))
        return (f"it holds {int(np.sum(~np.isfinite(g)))} non-finite value(s), the first "
                f"({what}) at {paths[bad] or 'the value'}"
                + (" where the expected values are all finite (a division by zero, a log of "
                   "0, or an overflow?)" if finite_before else ""))
    if e.size > 1 and np.ptp(g) == 0 and np.ptp(e) > 0:
        return f"every entry is {g[0]:.6g}: a constant output where the values vary"
    if np.any(e != 0) and _close(-e, g, rtol, atol):
        return "the sign is flipped: every value is the negative of the expected one"
    if e.size >= 3 and _close(e[:-1], g[1:], rtol, atol):
        return "your value at each position is the expected value one position earlier " \
               "(one step late: an off-by-one in the step index?)"
    if e.size >= 3 and _close(e[1:], g[:-1], rtol, atol):
        return "your value at each position is the expected value one position later " \
               "(one step early: an off-by-one in the step index?)"
    scale = float(np.dot(e, e))
    if scale > 0:
        c = float(np.dot(e, g)) / scale
        if c != 0.0 and abs(c - 1.0) > 1e-3 and np.isfinite(c) and _close(c * e, g, 1e-6, atol):
            return f"every value is {_factor_name(c)} times the expected one: off by a " \
                   "constant factor"
    shift = g - e
    if e.size > 1 and np.ptp(shift) <= 1e-9 * max(1.0, float(np.max(np.abs(e)))) \
            and abs(shift[0]) > atol:
        return f"every value is off by the same amount, {shift[0]:+.6g}"
    wrong = ~np.isclose(g, e, rtol=rtol, atol=atol)
    if e.size >= 3 and wrong.sum() == 1:
        at = int(np.argmax(wrong))
        where = "the first" if at == 0 else "the last" if at == e.size - 1 else "one"
        return f"right everywhere except at {where} entry, {paths[at] or 'the value'} " \
               "(a boundary or first-step case?)"
    if _close(e, g, 1e-4, atol * 1e3) and any(a.dtype == np.float32 for _, a in _arrays(got)):
        return "right to about 6 digits but computed in float32: keep float64 throughout"
    if _close(e, g, 1e-4, max(atol, 1e-8)):
        return "close, but not within the tolerance (about 4 digits agree)"
    return None


def _step_shape(expected: Any, got: Any, inputs: tuple, rtol: float, atol: float
                ) -> str | None:
    """For an update rule (the first input is the point being updated): the shape of the
    *step* taken, got - x against expected - x."""
    if not inputs or not isinstance(inputs[0], np.ndarray):
        return None
    x, e, g = inputs[0], _first(expected), _first(got)
    if not (isinstance(e, np.ndarray) and isinstance(g, np.ndarray)) or not (
            x.shape == e.shape == g.shape) or x.dtype.kind != "f":
        return None
    de, dg = (e - x).ravel().astype(float), (g - x).ravel().astype(float)
    if not np.any(np.abs(de) > atol) or not np.all(np.isfinite(dg)):
        return None
    if np.all(np.abs(dg) <= atol):
        return "the point did not move: the update was not applied"
    if _close(-de, dg, rtol, atol):
        return "the step goes the wrong way: it is the expected step with its sign flipped"
    c = float(np.dot(de, dg) / np.dot(de, de))
    if np.isfinite(c) and c != 0.0 and abs(c - 1.0) > 1e-3 and _close(c * de, dg, 1e-6, atol):
        return f"the step is {_factor_name(c)} times the expected step (a missing or extra " \
               "factor in the step size)"
    return None


def _first(value: Any) -> Any:
    return value[0] if isinstance(value, (list, tuple)) and value else value


def _arrays(value: Any) -> list[tuple[str, np.ndarray]]:
    """Raw arrays (dtypes intact) inside ``value``."""
    if isinstance(value, Tensor):
        return [("", value.array)]
    if isinstance(value, np.ndarray):
        return [("", value)]
    if isinstance(value, (list, tuple)):
        return [a for item in value for a in _arrays(item)]
    if isinstance(value, dict):
        return [a for item in value.values() for a in _arrays(item)]
    return []


def _transposed(expected: Any, got: Any) -> str | None:
    if isinstance(expected, np.ndarray) and isinstance(got, np.ndarray) and expected.ndim == 2 \
            and got.shape == expected.shape[::-1] and expected.shape[0] != expected.shape[1]:
        if _close(expected.astype(float), got.T.astype(float)):
            return "it is the transpose of the expected array"
        return "its shape is the expected one transposed (rows and columns swapped?)"
    if isinstance(expected, np.ndarray) and isinstance(got, np.ndarray) \
            and got.size != expected.size and got.size and expected.size:
        if _broadcasts_to(got.shape, expected.shape):
            return f"shape {got.shape} where {expected.shape} was expected (a missing axis, " \
                   "or a sum/mean over the wrong axis?)"
        return f"shape {got.shape} where {expected.shape} was expected"
    return None


def _broadcasts_to(shape: tuple, target: tuple) -> bool:
    try:
        return np.broadcast_shapes(shape, target) == target
    except ValueError:  # shapes that do not broadcast at all
        return False


def across_cases(cases: list, passed: list[bool], got: list, wanted: list) -> str | None:
    """What separates the failing cases from the passing ones, if one thing does.

    ``cases`` are :class:`labkit.checks.Case` objects; a scalar argument whose values on the
    failing cases never occur on the passing ones is named, as is a constant output."""
    failing = [i for i, ok in enumerate(passed) if not ok]
    if not failing or not cases:
        return None
    if len(cases) > 1 and len(failing) == len(cases):
        firsts = [_paired(w, g) for w, g in zip(wanted, got, strict=True)]
        if all(f is not None for f in firsts) and len({f[2].tobytes() for f in firsts}) == 1 \
                and len({f[1].tobytes() for f in firsts}) > 1:
            return "every input gives the same result: the answer ignores its inputs"
        return None
    if len(failing) == len(cases):
        return None
    for position, name in enumerate(cases[0].names):
        values = [c.args[position] if position < len(c.args) else None for c in cases]
        if not all(isinstance(v, (int, float, str, bool, type(None))) for v in values):
            continue
        bad = {_show(values[i]) for i in failing}
        good = {_show(values[i]) for i, ok in enumerate(passed) if ok}
        if bad and good and not bad & good:
            return (f"right for {name} = {', '.join(sorted(good))}, wrong for {name} = "
                    f"{', '.join(sorted(bad))}: look at how {name} is used")
    return None


def _show(value: Any) -> str:
    return f"{value:g}" if isinstance(value, float) else repr(value)
