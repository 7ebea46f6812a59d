"""Errors: raised while the op is built (never from inside realize), with the op's name and the shapes.

Each row builds one bad op on lazy (unrealized) inputs. The test checks the
exception type, that the message names the op and the shapes (or dtypes) it
was given, that nothing was realized, and that no frame of the traceback is in
the realizer or the runtime: the error points at the user's line.
"""
from __future__ import annotations

import re
import traceback

import numpy as np
import pytest
import torch

import tinytorch as tt


def lazy(*shape, dtype="float32"):
    """An unrealized tensor, so an error can only come from building, not from data already there."""
    return tt.tensor(np.ones(shape, dtype)) * 1


def shapes(*ss):
    return ".*".join(re.escape(str(s)) for s in ss)


ERRORS = [  # (name, build, exception, regex the message must match)
    # broadcasting, in the user's operand order
    ("add", lambda: lazy(3, 4) + lazy(5), ValueError, "add.*" + shapes((3, 4), (5,))),
    ("radd", lambda: lazy(5) + lazy(2, 3), ValueError, "add.*" + shapes((5,), (2, 3))),
    ("sub", lambda: lazy(2, 3) - lazy(3, 2), ValueError, "sub.*" + shapes((2, 3), (3, 2))),
    ("mul", lambda: lazy(4, 1, 3) * lazy(2, 4), ValueError, "mul.*" + shapes((4, 1, 3), (2, 4))),
    ("div", lambda: lazy(3) / lazy(4), ValueError, "div.*" + shapes((3,), (4,))),
    ("pow", lambda: lazy(3) ** lazy(2), ValueError, "pow.*" + shapes((3,), (2,))),
    ("floor_divide", lambda: lazy(3, dtype="int64") // lazy(2, dtype="int64"), ValueError,
     "floor_divide.*" + shapes((3,), (2,))),
    ("remainder", lambda: lazy(3, dtype="int64") % lazy(2, dtype="int64"), ValueError,
     "remainder.*" + shapes((3,), (2,))),
    ("maximum", lambda: tt.maximum(lazy(3, 4), lazy(3)), ValueError, "maximum.*" + shapes((3, 4), (3,))),
    ("minimum", lambda: tt.minimum(lazy(3, 4), lazy(3)), ValueError, "minimum.*" + shapes((3, 4), (3,))),
    ("lt", lambda: lazy(3, 4) < lazy(5), ValueError, "lt.*" + shapes((3, 4), (5,))),
    ("gt", lambda: lazy(3, 4) > lazy(5), ValueError, "gt.*" + shapes((3, 4), (5,))),
    ("le", lambda: lazy(3, 4) <= lazy(5), ValueError, "le.*" + shapes((3, 4), (5,))),
    ("ge", lambda: lazy(3, 4) >= lazy(5), ValueError, "ge.*" + shapes((3, 4), (5,))),
    ("eq", lambda: lazy(3, 4) == lazy(5), ValueError, "eq.*" + shapes((3, 4), (5,))),
    ("ne", lambda: lazy(3, 4) != lazy(5), ValueError, "ne.*" + shapes((3, 4), (5,))),
    ("where", lambda: tt.where(lazy(3, 4) > 0, lazy(3, 4), lazy(5)), ValueError,
     "where.*" + shapes((3, 4), (5,))),
    # matmul
    ("matmul inner", lambda: lazy(3, 4) @ lazy(5, 6), ValueError, "matmul.*" + shapes((3, 4), (5, 6))),
    ("matmul vec", lambda: lazy(3) @ lazy(4), ValueError, "matmul.*" + shapes((3,), (4,))),
    ("matmul batch", lambda: lazy(2, 3, 4) @ lazy(3, 4, 5), ValueError, "matmul.*" + shapes((2, 3, 4), (3, 4, 5))),
    ("matmul 0-dim", lambda: lazy() @ lazy(3, 4), ValueError, "matmul.*" + shapes((), (3, 4))),
    # reshape and friends
    ("reshape", lambda: lazy(3, 4).reshape(5, 2), ValueError, "reshape.*" + shapes((3, 4), (5, 2))),
    ("reshape -1", lambda: lazy(3, 4).reshape(5, -1), ValueError, "reshape.*" + shapes((3, 4), (5, -1))),
    ("reshape two -1", lambda: lazy(3, 4).reshape(-1, -1), ValueError, "reshape.*-1"),
    ("view", lambda: lazy(2, 3).view(4, 2), ValueError, "reshape.*" + shapes((2, 3), (4, 2))),
    ("expand", lambda: lazy(3, 4).expand(3, 5), ValueError, "expand.*" + shapes((3, 4), (3, 5))),
    ("expand rank", lambda: lazy(3, 4).expand(4), ValueError, "expand.*" + shapes((4,), (3, 4))),
    ("permute", lambda: lazy(3, 4).permute(0, 0), ValueError, "permute.*" + shapes((0, 0), (3, 4))),
    ("repeat", lambda: lazy(3, 4).repeat(2), ValueError, "repeat.*" + shapes((3, 4), (2,))),
    ("flatten", lambda: lazy(2, 3, 4).flatten(2, 1), ValueError, "flatten.*" + shapes((2, 3, 4))),
    ("cat", lambda: tt.cat([lazy(3, 4), lazy(3, 5)]), ValueError, "cat.*" + shapes((3, 4), (3, 5))),
    ("cat rank", lambda: tt.cat([lazy(3, 4), lazy(4)], 1), ValueError, "cat.*" + shapes((3, 4), (4,))),
    ("stack", lambda: tt.stack([lazy(3, 4), lazy(4, 3)]), ValueError, "stack.*" + shapes((3, 4), (4, 3))),
    ("gather", lambda: lazy(3, 4).gather(1, tt.zeros(5, 2, dtype=tt.int64)), ValueError,
     "gather.*" + shapes((5, 2), (3, 4))),
    # dims out of range: IndexError as in PyTorch, and a ValueError too
    ("sum dim", lambda: lazy(3, 4).sum(2), ValueError, "sum.*dim 2.*2 dims"),
    ("mean dim", lambda: lazy(3, 4).mean((0, -3)), IndexError, "mean.*dim -3"),
    ("max dim", lambda: lazy(3, 4).max(5), IndexError, "max.*dim 5"),
    ("softmax dim", lambda: lazy(3, 4).softmax(2), ValueError, "softmax.*dim 2"),
    ("argmax dim", lambda: lazy(3).argmax(1), ValueError, "argmax.*dim 1"),
    ("var dim", lambda: lazy(3).var(-2), ValueError, "var.*dim -2"),
    ("unsqueeze dim", lambda: lazy(3, 4).unsqueeze(3), ValueError, "unsqueeze.*dim 3"),
    ("squeeze dim", lambda: lazy(3, 4).squeeze(2), ValueError, "squeeze.*dim 2"),
    ("transpose dim", lambda: lazy(3, 4).transpose(0, 2), ValueError, "transpose.*dim 2"),
    ("cat dim", lambda: tt.cat([lazy(3), lazy(3)], 1), ValueError, "cat.*dim 1"),
    ("dim not int", lambda: lazy(3, 4).sum(1.0), TypeError, "sum.*dim must be an int"),
    # dtypes an op does not take
    ("mean int", lambda: lazy(3, dtype="int64").mean(), TypeError, r"mean.*int64\[3\]"),
    ("var int", lambda: lazy(2, 3, dtype="int32").var(), TypeError, r"var.*int32\[2, 3\]"),
    ("neg bool", lambda: -(lazy(3) > 0), TypeError, r"neg.*bool.*\[3\]"),
    ("sub bool", lambda: (lazy(3) > 0) - lazy(3), TypeError, r"sub.*bool\[3\]"),
    ("sub bool scalar", lambda: True - lazy(3, dtype="int64"), TypeError, r"sub.*True.*int64\[3\]"),
    ("and float", lambda: lazy(3) & lazy(3), TypeError, r"bitwise_and.*float32\[3\]"),
    ("remainder bool", lambda: (lazy(2) > 0) % (lazy(2) > 0), TypeError, "remainder.*bool"),
    ("float index", lambda: lazy(3, 4)[lazy(2)], TypeError, "index.*float32"),
    ("requires_grad int", lambda: tt.tensor([1, 2], requires_grad=True), TypeError, "floating point.*int64"),
    ("complex data", lambda: tt.tensor(np.ones(2, np.complex64)), TypeError, "complex64"),
    ("cast to complex", lambda: lazy(2).to(np.complex64), TypeError, "complex64.*not supported"),
    ("not a dtype", lambda: lazy(2).to("nonsense"), TypeError, "nonsense.*not a dtype"),
    # indexing and arguments
    ("index out of range", lambda: lazy(3, 4)[3], IndexError, r"index 3.*size 3.*\(3, 4\)"),
    ("index too many", lambda: lazy(3, 4)[0, 0, 0], IndexError, r"too many indices.*\(3, 4\)"),
    ("bool mask shape", lambda: lazy(3)[lazy(2) > 0], IndexError, r"mask of shape \(2,\).*\(3,\)"),
    ("negative step", lambda: lazy(5)[::-1], ValueError, "indexing: step -1.*flip"),
    ("gelu approximate", lambda: lazy(3).gelu(approximate="fast"), ValueError, "gelu.*'fast'"),
    ("clamp no bounds", lambda: lazy(3).clamp(), ValueError, "clamp.*min and max"),
    ("arange step 0", lambda: tt.arange(0, 5, 0), ValueError, "arange.*step"),
    ("max of empty", lambda: lazy(0).max(), ValueError, r"max.*size-0.*\(0,\)"),
    ("max over empty dim", lambda: lazy(0, 3).max(0), ValueError, r"max.*size-0.*\(0, 3\)"),
    ("argmax of empty", lambda: lazy(2, 0).argmax(), ValueError, r"argmax.*size-0.*\(2, 0\)"),
    ("cat 0-dim", lambda: tt.cat([lazy(), lazy()]), ValueError, r"cat.*0-dim"),
    ("int pow negative", lambda: lazy(3, dtype="int64") ** -2, ValueError, r"pow.*negative.*int64\[3\] \*\* -2"),
    ("int floor_divide 0", lambda: lazy(3, dtype="int32") // 0, ZeroDivisionError, "floor_divide.*0"),
    ("int remainder 0", lambda: lazy(3, dtype="int64") % 0, ZeroDivisionError, "remainder.*0"),
]


def _in_realize(tb) -> bool:
    return any(part in frame.filename for frame in traceback.extract_tb(tb)
               for part in ("realizer.py", "executor.py", "program.py"))


@pytest.mark.parametrize("name,build,exc,pattern", ERRORS, ids=[e[0] for e in ERRORS])
def test_error_at_build_time(name, build, exc, pattern):
    before = tt.stats()["realizes"]
    with pytest.raises(exc, match=pattern) as info:
        build()
    assert tt.stats()["realizes"] == before, f"{name}: something was realized before the error"
    assert not _in_realize(info.tb), f"{name}: raised from inside realize:\n{''.join(traceback.format_tb(info.tb))}"


def _ones(*s):
    return torch.ones(s)


TORCH_TWINS = {  # the same mistakes written with torch: PyTorch refuses them too
    "add": lambda: _ones(3, 4) + _ones(5), "matmul inner": lambda: _ones(3, 4) @ _ones(5, 6),
    "matmul batch": lambda: _ones(2, 3, 4) @ _ones(3, 4, 5), "reshape": lambda: _ones(3, 4).reshape(5, 2),
    "sum dim": lambda: _ones(3, 4).sum(2), "cat": lambda: torch.cat([_ones(3, 4), _ones(3, 5)]),
    "stack": lambda: torch.stack([_ones(3, 4), _ones(4, 3)]), "neg bool": lambda: -(_ones(3) > 0),
    "sub bool": lambda: (_ones(3) > 0) - _ones(3), "index out of range": lambda: _ones(3, 4)[3],
    "expand": lambda: _ones(3, 4).expand(3, 5), "permute": lambda: _ones(3, 4).permute(0, 0),
    "var int": lambda: torch.ones(2, 3, dtype=torch.int32).var(), "negative step": lambda: _ones(5)[::-1],
    "max over empty dim": lambda: torch.ones(0, 3).max(0), "cat 0-dim": lambda: torch.cat([_ones(), _ones()]),
    "int pow negative": lambda: torch.ones(3, dtype=torch.int64) ** -2,
    "int floor_divide 0": lambda: torch.ones(3, dtype=torch.int32) // 0,
}


@pytest.mark.parametrize("name", sorted(TORCH_TWINS))
def test_torch_rejects_the_same(name):
    assert name in {row[0] for row in ERRORS}
    with pytest.raises((RuntimeError, IndexError, ValueError, TypeError)):
        TORCH_TWINS[name]()


def test_dim_error_is_index_error_and_value_error():
    with pytest.raises(IndexError):
        lazy(3).sum(1)
    with pytest.raises(ValueError):
        lazy(3).sum(1)


def test_out_of_range_gather_fails_clearly_at_run_time():
    """Index values are data, so the check runs with the kernel; the message still names the op."""
    x = lazy(3, 4)
    bad = x[tt.tensor([0, 7])]  # builds fine: 7 is only known when the data is
    with pytest.raises(RuntimeError, match=r"gather.*index 7.*size 3"):
        bad.realize()
    ok = x[tt.tensor([0, -1])]
    np.testing.assert_array_equal(ok.numpy(), np.ones((2, 4), np.float32))


def test_error_leaves_state_usable():
    """A failed build adds nothing that breaks the next realize."""
    x = lazy(3, 4)
    with pytest.raises(ValueError):
        x + lazy(5)
    np.testing.assert_array_equal((x + 1).numpy(), np.full((3, 4), 2.0, np.float32))
