"""Dtypes (NumPy dtype objects) and PyTorch's type-promotion rules.

TinyTorch's dtypes are plain `numpy.dtype`s, so `t.dtype == np.float32` holds
and arrays move in and out without conversion tables.
"""
import numpy as np

float16 = half = np.dtype("float16")
float32 = float = np.dtype("float32")
float64 = double = np.dtype("float64")
int32 = int = np.dtype("int32")
int64 = long = np.dtype("int64")
bool = np.dtype("bool")
uint8 = np.dtype("uint8")
int8 = np.dtype("int8")
int16 = short = np.dtype("int16")
uint16 = np.dtype("uint16")
uint32 = np.dtype("uint32")
uint64 = np.dtype("uint64")

SUPPORTED = (float16, float32, float64, int8, int16, int32, int64, bool, uint8, uint16, uint32, uint64)
# PyTorch promotes these only with themselves, bool and floats: uint16 + int32 is an error there, so here too
_LIMITED_UNSIGNED = (uint16, uint32, uint64)
DEFAULT_FLOAT = float32
_CATEGORY = {"b": 0, "u": 1, "i": 1, "f": 2}


def as_dtype(d) -> np.dtype:
    try:
        d = np.dtype(d)
    except TypeError:
        raise TypeError(f"{d!r} is not a dtype; use one of {', '.join(x.name for x in SUPPORTED)}") from None
    if d not in SUPPORTED:
        raise TypeError(f"dtype {d.name} is not supported; use one of {', '.join(x.name for x in SUPPORTED)}")
    return d


def category(d: np.dtype) -> int:
    return _CATEGORY[d.kind]


def join(a: np.dtype, b: np.dtype) -> np.dtype:
    """The smallest dtype holding both, where a higher category always wins (int32 + float16 -> float16)."""
    ca, cb = category(a), category(b)
    if ca != cb:
        return a if ca > cb else b
    if a != b and (a in _LIMITED_UNSIGNED or b in _LIMITED_UNSIGNED):
        raise TypeError(f"promoting {a.name} and {b.name} is not supported, as in PyTorch (uint16, uint32 and "
                        f"uint64 promote only with themselves, bool and floats); cast one operand with .to() first")
    return np.promote_types(a, b)


def scalar_category(x) -> int:
    if isinstance(x, (np.bool_,)) or type(x).__name__ == "bool":
        return 0
    if isinstance(x, (np.integer,)) or type(x).__name__ == "int":
        return 1
    return 2


def result_type(*operands) -> np.dtype:
    """PyTorch's promotion: dimensioned tensors first, then 0-dim tensors, then Python scalars, each of
    which only counts when it is of a higher category than everything before it."""
    dims = [o.dtype for o in operands if hasattr(o, "dtype") and o.ndim > 0]
    zero = [o.dtype for o in operands if hasattr(o, "dtype") and o.ndim == 0]
    scalars = [scalar_category(o) for o in operands if not hasattr(o, "dtype")]
    out = None
    for group in (dims, zero):
        if not group:
            continue
        g = group[0]
        for d in group[1:]:
            g = join(g, d)
        out = g if out is None or category(g) > category(out) else out
    if scalars:
        top = max(scalars)
        if out is None or top > category(out):
            out = (bool, int64, DEFAULT_FLOAT)[top]
    return out
