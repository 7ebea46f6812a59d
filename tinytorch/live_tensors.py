"""The tensors the frontend must find again later, held weakly: lazy ones and gradient leaves.

`LAZY` holds every tensor whose node is not computed yet: when `realize` runs a Program that overwrites
state (an optimizer's `assign`), it computes the live lazy tensors that read the old state in the same
Program. `PENDING_ASSIGNS` holds, per thread, the tensors whose pending node is an `assign` this thread built:
they ride along with the next Program of that thread that overwrites state. `GRAD_LEAVES` maps the node of each leaf that collects gradients to its tensor: `backward` walks
the graph from the loss and fills `.grad` of the tensors it meets there.
"""
from __future__ import annotations

import threading
import weakref

from .compiler import is_computed


class LazyTensors:
    """Tensors whose node is not computed yet, held weakly (`==` on tensors builds a graph node, so a WeakSet,
    which compares its members, cannot hold them).

    Adding is one weak reference appended to a list (every lazy op adds its result). Tensors that died or got
    computed are dropped when the set is read, and when the list outgrows twice its last live size."""

    def __init__(self):
        self._refs = []
        self._limit = 1024

    def add(self, t) -> None:
        self._refs.append(weakref.ref(t))
        if len(self._refs) > self._limit:
            self._live()

    def _live(self) -> list:
        if not self._refs:  # the common case after a captured step's replay: nothing built since
            return []
        live = {}
        for r in self._refs:
            t = r()
            if t is not None and not is_computed(t._node):
                live.setdefault(id(t), (r, t))
        self._refs = [r for r, _ in live.values()]
        self._limit = max(1024, 2 * len(self._refs))
        return [t for _, t in live.values()]

    def __iter__(self):
        return iter(self._live())


LAZY = LazyTensors()

# Leaf tensors that collect gradients, keyed by their node (weakly both ways: node -> weakref to the tensor).
GRAD_LEAVES: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()


class _PendingAssigns(threading.local):
    """This thread's tensors holding a pending `assign` (weakly): BatchNorm's running statistics and counter.
    An assign stands for an in-place update PyTorch would already have made, so computing it in the next
    Program that writes state is never early, and it spares a Program of its own later (BatchNorm's next
    forward would otherwise compute them separately, recomputing the forward pass they read). Per thread:
    another thread's pending work is never taken in."""

    def __init__(self):
        self.refs = []

    def add(self, t) -> None:
        self.refs.append(weakref.ref(t))

    def take(self) -> list:
        """The live tensors whose node is still a pending assign, each once (a parameter is assigned again every
        step); forgets the rest."""
        live = {id(t): t for t in (r() for r in self.refs) if t is not None and t._node.op == "assign"
                and not is_computed(t._node)}
        self.refs = [weakref.ref(t) for t in live.values()]
        return list(live.values())


PENDING_ASSIGNS = _PendingAssigns()
