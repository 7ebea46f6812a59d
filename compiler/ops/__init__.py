"""The op table: every primitive declared once, with everything about it.

An op's declaration (`declare(...)` in the file of its group) holds its shape/dtype rule (run when a
node is built, so a mistake is reported at the user's line), its NumPy implementation (and the ufunc
the NumPy backend calls, if it is one), its vector-Jacobian product (built from other primitives, so
gradients are graph nodes like any other), its native scalar lowering (elementwise ops: a function in
compiler/llvm/scalar.py), its kind and the traits the passes ask about (`OpDef` lists them).
`GROUPS` holds the named sets of ops derived from those declarations; `build(op, *srcs, arg=...)` is
how every node in the system is made.

Primitives take operands of equal shape and dtype; broadcasting and type promotion are the frontend's
job (an `expand` and a `cast` node), so every rule here stays simple and every gradient rule gets
broadcasting right by the `expand` rule alone.

The groups, one file each: leaves.py (buffer const constarr arange rand), elementwise.py (unary,
binary, where, cast), reduce.py (sum max), movement.py (reshape permute expand slice pad detach),
matmul.py, index.py (gather scatter_add), window.py (unfold fold), conv.py (conv2d conv2d_dx conv2d_dw),
attention.py (attention attention_grad), sort.py (argsort), scan.py (cumsum), assign.py.

To add an elementwise op: its NumPy function, VJP and kind in one line of elementwise.py, naming its
native lowering, which you write in compiler/llvm/scalar.py; tests/test_op_table.py checks nothing is
missing, tests/test_llvm_backend.py compares the two backends on it. The frontend method that builds
it goes in tinytorch/elementwise.py.
"""
from .table import ELEMENTWISE, KINDS, OPS, Groups, Hooks, OpDef, apply_chain, build
from . import leaves, elementwise, reduce, movement, matmul, index, window, conv, attention, assign  # noqa: F401  (they declare)
from . import sort, scan  # noqa: F401  (they declare)
from .builders import add, const, div, like, mul
from .leaves import ConstArray, leaf
from .elementwise import _erf  # NumPy has no erf: this one is the reference the native erf is held to
from .index import _check_range  # the native backend checks gather/scatter indices with it

GROUPS = Groups.of(OPS)

__all__ = ["ELEMENTWISE", "KINDS", "OPS", "GROUPS", "Hooks", "OpDef", "apply_chain", "build", "add", "const", "div", "like", "mul",
           "ConstArray", "leaf"]
