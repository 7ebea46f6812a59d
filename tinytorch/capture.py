"""Step capture: trace a training step, then replay its compiled Programs without building any graph.

    step = tinytorch.compile(train_step)     # or @tinytorch.compile; `capture` is the same function
    loss = step(x, y)

A cached step still spends milliseconds of Python rebuilding the same few hundred nodes (forward, backward,
update) only to find the Program it already has. A captured step runs the function normally ("traces") while
`lazy.realize` reports every Program it runs, with the buffer behind each Program input. Each input is then
bound to where its array comes from on the next call:

  ARG   the buffer of a tensor argument             -> that argument's array
  OUT   a value an earlier Program of the step made -> that output
  SEED  the seed of a `rand` node (dropout)         -> a fresh seed, drawn from the generator in trace order
  GRAD  a `.grad` that existed when the call began  -> that tensor's `.grad` now (gradient accumulation)
  BUF   anything else: parameters, optimizer state, -> the same Buffer, read at replay time (`assign` writes
        the learning-rate buffer                       in place, so it holds the current values)

When two traces in a row (same guard) ran the same Programs with the same bindings, the step is frozen and
later calls only bind arrays, run the Programs, point `.grad` and the updated tensors at the results and wrap
the returned tensors. Two traces, not one, because a step's first run can differ (SGD momentum's first
update, Adam creating its state). The guard is the argument shapes and dtypes (non-tensor arguments by
value), the backend, grad mode and a train()/eval() counter; before each replay the optimizers that stepped
check they still have the same groups and hyperparameters and write their current learning rates.

What a replay cannot see, so the function must not rely on it: Python values read from tensors (`item()`,
branching on them), tensors created inside the call from Python data (they are bound as constants; such a
step never repeats its bindings and simply keeps tracing), side effects other than `assign`s and `.grad`.
A call that finds live lazy tensors reading state the step overwrites is traced (run normally), so they
still see the pre-step values. Returned tensors (a Tensor, None, or a tuple/list of them) come back realized
and detached. Eager mode calls the function directly.
"""
from __future__ import annotations

import time
import warnings

import numpy as np

from . import compiler as C
from . import lazy
from .creation import RNG, SEED_HIGH as _SEED_HIGH
from .live_tensors import GRAD_LEAVES, LAZY
from .nn.module import Modes
from .runtime import Buffer
from .checkpointing import with_budget
from .tensor import Tensor
from .tensor_base import GradMode, wrap
from .amp.autocast import STATE as AUTOCAST

ARG, OUT, SEED, GRAD, BUF = range(5)
_MISS = object()


def compile(fn=None, *, max_traces: int = 4, memory_budget=None, checkpoint_strategy: str = "mincut"):
    """Capture `fn` (a training step that returns a Tensor, None or a tuple of Tensors) for replay.
    `memory_budget` (bytes): its Programs compile under `tinytorch.memory_budget(memory_budget,
    checkpoint_strategy)` (gradient checkpointing)."""
    if fn is None:
        return lambda f: compile(f, max_traces=max_traces, memory_budget=memory_budget,
                                 checkpoint_strategy=checkpoint_strategy)
    if memory_budget is not None:
        fn = with_budget(fn, memory_budget, checkpoint_strategy)
    return CapturedStep(fn, max_traces)


capture = compile


class CapturedStep:
    """A callable wrapping `fn`: traces until its Programs repeat, then replays them (see the module doc)."""

    def __init__(self, fn, max_traces: int = 4):
        self.fn = fn
        self.max_traces = max_traces
        self.plans = {}  # guard -> _Plan
        self.traces = self.replays = 0
        self.__doc__, self.__name__ = getattr(fn, "__doc__", None), getattr(fn, "__name__", "step")

    def __call__(self, *args, **kwargs):
        if C.eager_enabled() or lazy.TRACE is not None:
            return self.fn(*args, **kwargs)
        key = _guard(args, kwargs)
        plan = self.plans.get(key)
        if plan is None:
            plan = self.plans[key] = _Plan()
        if plan.frozen is not None:
            out = plan.frozen.replay(args)
            if out is not _MISS:
                self.replays += 1
                return out
        if plan.gave_up is not None:
            return self.fn(*args, **kwargs)
        self.traces += 1
        return plan.trace(self, args, kwargs)

    def why_not_captured(self) -> list:
        """For each guard that runs uncaptured, the reason."""
        return [p.gave_up for p in self.plans.values() if p.gave_up is not None]


def _guard(args, kwargs):
    parts = [C.CONFIG.options.key(), GradMode.enabled, AUTOCAST.dtype]
    for a in list(args) + [kwargs[k] for k in sorted(kwargs)]:
        if isinstance(a, Tensor):
            if not C.is_computed(a._node):
                a.realize()
            parts.append((a._node.shape, a._node.dtype))
        else:
            try:
                hash(a)
                parts.append((type(a), a))
            except TypeError:
                parts.append(("id", id(a)))
    return tuple(parts) + tuple(sorted(kwargs))


class _Record:
    """One realize of a traced call: its Program, the Buffer behind each input, which inputs are rand seeds,
    the Buffers of its results, and the tensors it moved to a new version of their buffer (assigns)."""
    __slots__ = ("prog", "inputs", "seeds", "outputs", "assigned")

    def __init__(self, prog, inputs, targets, order, todo):
        seeds = {id(n.srcs[0]) for n in order if n.op == "rand"}
        self.prog = prog
        self.inputs = [C.buffer_of(n) for n in inputs]
        self.seeds = [id(n) in seeds for n in inputs]
        self.outputs = [C.buffer_of(n) for n in targets]
        self.assigned = [(t, t._node.srcs[0].arg) for t in todo if t._node.op == "assign"]


class _Recorder:
    """Installed as `lazy.TRACE` while a traced call runs."""

    def __init__(self):
        self.records, self.hooks = [], {}

    def realized(self, prog, inputs, targets, order, todo):
        self.records.append(_Record(prog, inputs, targets, order, todo))

    def on_replay(self, owner):
        """`owner` feeds Python state into the step as data; before each replay `owner._refresh_for_replay(key)`
        must say the step still fits it (and write that state), key being `owner._capture_key()` now."""
        self.hooks.setdefault(id(owner), (owner, owner._capture_key()))


class _Plan:
    """Per guard: the last trace's frozen step candidate, and the frozen step once two traces agree."""

    def __init__(self):
        self.last = self.frozen = self.gave_up = None
        self.misses = 0

    def trace(self, owner: CapturedStep, args, kwargs):
        grads_before = {}
        for node, ref in list(GRAD_LEAVES.items()):
            t = ref()
            if t is not None:
                grads_before[t] = t.grad
        lazy_before = {id(t) for t in LAZY}
        gen = RNG.gen
        rng_before = gen.bit_generator.state
        rec = lazy.TRACE = _Recorder()
        try:
            result = owner.fn(*args, **kwargs)
            outs, single = _outputs(result)
            pending = [t for t in outs if t is not None and not C.is_computed(t._node)]
            pending += [t.grad for t in grads_before if t.grad is not None and not C.is_computed(t.grad._node)]
            if pending:
                lazy.realize(*pending)
        finally:
            lazy.TRACE = None
        try:
            step = _Frozen.build(rec, args, outs, single, grads_before, lazy_before, gen, rng_before)
        except _Uncapturable as e:
            self._give_up(owner, str(e))
            return result
        if self.last is not None and step.signature == self.last.signature:
            self.frozen, self.misses = step, 0
        else:
            self.frozen = None
            self.misses += 1
            if self.misses > owner.max_traces:
                self._give_up(owner, f"its Programs or their inputs changed on each of {self.misses} traced "
                                     f"calls (a tensor made from Python data inside the step?)")
        self.last = step
        return result

    def _give_up(self, owner, why):
        self.gave_up, self.last, self.frozen = why, None, None
        warnings.warn(f"tinytorch.compile({owner.__name__}): running uncaptured: {why}", stacklevel=4)


class _Uncapturable(Exception):
    pass


def _outputs(result):
    if result is None:
        return [], None
    if isinstance(result, Tensor):
        return [result], True
    if isinstance(result, (tuple, list)) and all(isinstance(t, Tensor) or t is None for t in result):
        return list(result), type(result)
    raise TypeError(f"tinytorch.compile: the step must return a Tensor, None or a tuple/list of Tensors, got "
                    f"{type(result).__name__}; return the loss tensor and call .item() outside")


def _draws(gen, before, after_state, limit=4096) -> list:
    """The seeds drawn from the generator between `before` and its state now (creation.next_seed's draws)."""
    probe = np.random.Generator(type(gen.bit_generator)())
    probe.bit_generator.state = before
    out = []
    while probe.bit_generator.state != after_state:
        if len(out) == limit:
            raise _Uncapturable("it draws random numbers other than rand() seeds")
        out.append(int(probe.integers(0, _SEED_HIGH)))
    return out


class _Frozen:
    """A traced call turned into bindings; `replay(args)` runs it again without the function."""

    @classmethod
    def build(cls, rec, args, outs, single, grads_before, lazy_before, gen, rng_before):
        if RNG.gen is not gen:
            raise _Uncapturable("it reseeds the generator (manual_seed)")
        escaped = [t for t in LAZY if id(t) not in lazy_before]
        if escaped:
            raise _Uncapturable(f"a lazy tensor of shape {escaped[0].shape} built in the step outlives it")
        draws = _draws(gen, rng_before, gen.bit_generator.state)
        self = cls()
        arg_of = {id(C.buffer_of(a._node)): i for i, a in enumerate(args) if isinstance(a, Tensor)}
        grad_of = {id(C.buffer_of(g._node)): t for t, g in grads_before.items()
                   if g is not None and C.is_computed(g._node)}
        produced, self.records, sig = {}, [], [len(draws)]
        for k, r in enumerate(rec.records):
            binds = []
            for b, is_seed in zip(r.inputs, r.seeds):
                i = id(b)
                if i in arg_of:
                    binds.append((ARG, arg_of[i]))
                elif i in produced:
                    binds.append((OUT,) + produced[i])
                elif is_seed and int(b.array) in draws:
                    binds.append((SEED, draws.index(int(b.array))))
                elif i in grad_of:
                    binds.append((GRAD, grad_of[i]))
                else:
                    binds.append((BUF, b))
            for j, b in enumerate(r.outputs):
                produced[id(b)] = (k, j)
            self.records.append((r.prog, binds))
            sig.append((id(r.prog), tuple(b if b[0] in (ARG, OUT, SEED) else (b[0], id(b[1])) for b in binds)))
        self.state = [(t, b) for r in rec.records for t, b in r.assigned]
        self.written = {id(b) for _, b in self.state}
        self.grads = []
        for t, g in grads_before.items():
            if t.grad is g:
                continue
            if t.grad is None:
                self.grads.append((t, None))
            elif id(C.buffer_of(t.grad._node)) in produced:
                self.grads.append((t, produced[id(C.buffer_of(t.grad._node))]))
            else:
                raise _Uncapturable("it sets a .grad to a tensor it did not compute")
        self.outs = []
        for t in outs:
            v = None if t is None else C.buffer_of(t._node)
            self.outs.append((None, None) if t is None else (OUT, produced[id(v)]) if id(v) in produced else
                             (ARG, arg_of[id(v)]) if id(v) in arg_of else (BUF, t))
        self.grad_inputs = [b[1] for _, binds in self.records for b in binds if b[0] == GRAD]
        self.single = single
        self.n_draws = len(draws)
        self.hooks = list(rec.hooks.values())
        self.mode = Modes.version
        sig += [tuple((id(t), id(b)) for t, b in self.state), tuple((id(t), w) for t, w in self.grads),
                tuple(o if o[0] != BUF else id(o[1]) for o in self.outs),
                tuple((id(o), k) for o, k in self.hooks), self.mode, single]
        self.signature = tuple(sig)
        return self

    def replay(self, args):
        if Modes.version != self.mode:
            return _MISS
        for owner, key in self.hooks:
            if not owner._refresh_for_replay(key):
                return _MISS
        buffer_of, array_of = C.buffer_of, C.array_of
        for t, b in self.state:
            if buffer_of(t._node) is not b:
                return _MISS
        if lazy.live_readers(self.written):
            return _MISS
        for t in self.grad_inputs:
            if t.grad is None or buffer_of(t.grad._node) is None:
                return _MISS
        if self.n_draws:
            gen = RNG.gen
            seeds = [np.array(gen.integers(0, _SEED_HIGH), dtype=np.int64) for _ in range(self.n_draws)]
        results = []
        stats = C.STATS
        t0 = time.perf_counter()
        for prog, binds in self.records:
            arrays = []
            for b in binds:
                kind = b[0]
                if kind == BUF:
                    arrays.append(b[1].array)
                elif kind == OUT:
                    arrays.append(results[b[1]][b[2]])
                elif kind == ARG:
                    arrays.append(array_of(args[b[1]]._node))
                elif kind == SEED:
                    arrays.append(seeds[b[1]])
                else:
                    arrays.append(array_of(b[1].grad._node))
            results.append([a if type(a) is np.ndarray else np.asarray(a) for a in prog.run(arrays)])
        stats["run_s"] += time.perf_counter() - t0
        stats["realizes"] += len(self.records)
        stats["cache_hits"] += len(self.records)
        leaf = C.leaf
        for t, b in self.state:
            t._set_node(leaf(b))
        for t, w in self.grads:
            t.grad = None if w is None else _wrap(results[w[0]][w[1]])
        outs = []
        for kind, w in self.outs:
            outs.append(_wrap(results[w[0]][w[1]]) if kind == OUT else args[w] if kind == ARG else w)
        if self.single is None:
            return None
        if self.single is True:
            return outs[0]
        return self.single(outs)


def _wrap(array) -> Tensor:
    return wrap(C.leaf(Buffer(array)))
