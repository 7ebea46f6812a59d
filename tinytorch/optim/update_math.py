"""The optimizers' per-parameter update math, built as graph nodes rather than through Tensor ops.

An update is a fixed formula over values of one shape and dtype (the parameter, its gradient, its state)
and a few 0-d per-step scalars (learning rate, bias corrections). Through Tensor ops each of its ~20 ops
pays for type promotion, broadcasting, a Tensor wrapper and its registration as a live lazy tensor, about
half of a plain training step's optimizer build. `Update` builds each op with one `build` instead, making
exactly the nodes the Tensor ops make (a Python number is a `const` of the update's shape and dtype, a 0-d
tensor is reshaped to the rank and expanded, as broadcasting does it), so the compiled Program is the same.
Only no_grad differs: an update built under no_grad has no `detach` nodes (nothing differentiates an update).
The optimizers keep PyTorch's rounding order: its addcmul is self + (value * t1) * t2, its addcdiv
self + (value * t1) / t2, and a scalar is cast to the parameter's dtype before it meets a tensor.
"""
from __future__ import annotations

from .. import compiler as C
from ..elementwise import scalar_const
from ..tensor import Tensor
from ..tensor_base import wrap


class Update:
    """Node math for values shaped like `like` (a Tensor): operands are Tensors, nodes or Python numbers."""
    __slots__ = ("shape", "dtype", "_scalars")

    def __init__(self, like: Tensor):
        self.shape, self.dtype = like._node.shape, like._node.dtype
        self._scalars = {}  # id(0-d node) -> (node, its broadcast): a scalar is broadcast once per parameter

    def node(self, x) -> "C.Node":
        if isinstance(x, Tensor):
            x = x._node
        if not isinstance(x, C.Node):
            return scalar_const(x, self.shape, self.dtype)
        if x.shape == self.shape:
            return x
        hit = self._scalars.get(id(x))
        if hit is None:
            b = x
            if len(b.shape) < len(self.shape):
                b = C.build("reshape", b, arg=(1,) * (len(self.shape) - len(b.shape)) + b.shape)
            hit = self._scalars[id(x)] = (x, C.build("expand", b, arg=self.shape))
        return hit[1]

    def add(self, a, b): return C.build("add", self.node(a), self.node(b))
    def sub(self, a, b): return C.build("sub", self.node(a), self.node(b))
    def mul(self, a, b): return C.build("mul", self.node(a), self.node(b))
    def div(self, a, b): return C.build("div", self.node(a), self.node(b))
    def maximum(self, a, b): return C.build("maximum", self.node(a), self.node(b))
    def neg(self, a): return C.build("neg", self.node(a))
    def sqrt(self, a): return C.build("sqrt", self.node(a))
    def abs(self, a): return C.build("abs", self.node(a))
    def where(self, cond, a, b): return C.build("where", self.node(cond), self.node(a), self.node(b))

    def lerp(self, start, end, weight):
        """torch.lerp in torch's two forms (the second is exact at weight 1), picked in Python for a number and
        by `where` for a 0-d tensor (a weight that is data, such as 1 - a cycled beta1)."""
        if not isinstance(weight, Tensor):
            if weight < 0.5:
                return self.add(start, self.mul(self.sub(end, start), weight))
            return self.sub(end, self.mul(self.sub(end, start), 1 - weight))
        w = weight.to(self.dtype)
        diff = self.sub(end, start)
        return self.where(w < 0.5, self.add(start, self.mul(diff, w)), self.sub(end, self.mul(diff, 1 - w)))


def assign(target: Tensor, value) -> Tensor:
    """`target.assign(value)` for a value node built by `Update`."""
    return target.assign(wrap(value))
