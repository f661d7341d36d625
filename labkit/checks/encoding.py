"""Turn answers into JSON that survives a notebook file, exactly, and back.

Arrays travel as base64 of their raw bytes (bit-exact, NaN and inf included); anything the
grader does not understand travels as its type name and a short ``repr`` so that it can never
compare equal to an expected value (an object whose ``__eq__`` always says yes gains nothing).
"""

from __future__ import annotations

import base64
import math
from typing import Any

import numpy as np

MAX_ELEMENTS = 1_000_000
"""Arrays larger than this are not recorded (a sign of a runaway answer, not of a right one)."""


def encode(value: Any) -> Any:
    """Encode ``value`` (numbers, arrays, tensors, lists, tuples, dicts, strings) as JSON."""
    # Exact type checks: subclasses (with a rigged ``__eq__`` or ``__float__``) are not trusted.
    if value is None or type(value) is bool or type(value) is str:
        return value
    if type(value) is int:
        return {"__int__": str(value)}
    if type(value) is float:
        return value if math.isfinite(value) else {"__float__": repr(value)}
    if isinstance(value, np.generic) and type(value).__module__ == "numpy":
        return encode(np.asarray(value))
    if type(value) is np.ndarray:
        if value.dtype.kind not in "biufc" or value.size > MAX_ELEMENTS:
            return _opaque(value)
        data = value.copy(order="C")  # keeps 0-d arrays 0-d
        return {"__ndarray__": base64.b64encode(data.tobytes()).decode("ascii"),
                "dtype": data.dtype.str, "shape": list(data.shape)}
    if type(value).__module__ == "torch" and type(value).__name__ in ("Tensor", "Parameter"):
        array = value.detach().cpu().numpy()
        return {"__tensor__": encode(array), "dtype": str(value.dtype).replace("torch.", "")}
    if type(value) in (list, tuple):
        items = [encode(item) for item in value]
        return items if type(value) is list else {"__tuple__": items}
    if type(value) is dict:
        return {"__dict__": [[encode(k), encode(v)] for k, v in value.items()]}
    return _opaque(value)


def _opaque(value: Any) -> dict:
    try:
        text = repr(value)
    except Exception as error:  # a hostile __repr__ must not break recording
        text = f"<repr failed: {type(error).__name__}>"
    return {"__opaque__": type(value).__qualname__, "repr": text[:200]}


def decode(data: Any) -> Any:
    """Invert :func:`encode`. Opaque values come back as :class:`Opaque`."""
    if isinstance(data, list):
        return [decode(item) for item in data]
    if not isinstance(data, dict):
        return data
    if "__int__" in data:
        return int(data["__int__"])
    if "__float__" in data:
        return float(data["__float__"])
    if "__ndarray__" in data:
        raw = base64.b64decode(data["__ndarray__"])
        return np.frombuffer(raw, dtype=np.dtype(data["dtype"])).reshape(data["shape"]).copy()
    if "__tensor__" in data:
        return Tensor(decode(data["__tensor__"]), data["dtype"])
    if "__tuple__" in data:
        return tuple(decode(item) for item in data["__tuple__"])
    if "__dict__" in data:
        return {_hashable(decode(k)): decode(v) for k, v in data["__dict__"]}
    if "__opaque__" in data:
        return Opaque(data["__opaque__"], data.get("repr", ""))
    raise ValueError(f"unknown encoded value: {sorted(data)[:3]}")


def _hashable(key: Any) -> Any:
    """Dict keys must stay hashable: 0-d arrays become scalars, other arrays tuples."""
    if isinstance(key, np.ndarray):
        return key.item() if key.ndim == 0 else tuple(key.ravel().tolist())
    if isinstance(key, list):
        return tuple(_hashable(k) for k in key)
    try:
        hash(key)
    except TypeError:
        return repr(key)
    return key


class Opaque:
    """A value the grader cannot compare (unknown type); it equals nothing."""

    def __init__(self, type_name: str, text: str) -> None:
        self.type_name, self.text = type_name, text

    def __repr__(self) -> str:
        return f"<{self.type_name}: {self.text}>"


class Tensor:
    """A decoded torch tensor: its values as a NumPy array and torch's dtype name."""

    def __init__(self, array: np.ndarray, dtype: str) -> None:
        self.array, self.dtype = array, dtype

    def __repr__(self) -> str:
        return f"tensor({self.array!r}, dtype={self.dtype})"
