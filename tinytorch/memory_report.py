"""The memory report of a training step: where its bytes go, planned from its Programs and measured with psutil.

`memory_report(step, model, optimizer)` runs `step()` (one forward, backward and optimizer step, returning
the loss) `warmup` times, then once more while it records the Programs that step runs (through the hook
step capture uses, `lazy.TRACE`) and measures the process's resident set (`RssSampler`: psutil, and
Linux's high-water mark). From each Program's slots and memory plan it sorts the bytes into:

- parameters, gradients (the `.grad` arrays the step made), optimizer state (its state tensors, each once),
  the batch and other inputs, other outputs (the loss), old gradients read while new ones are written
  (accumulation);
- the arena (the planned peak of the temporaries, one per Program, kept between steps), split into the
  activations kept for backward (arena values a forward kernel writes and a backward kernel reads) and the
  workspace (the rest of the arena, and the scratch a runner keeps besides it).

Kernels are forward when the loss needs them, backward when a gradient needs them beyond that, update
otherwise (the rule of `tinytorch.viz.roles`, applied to a Program's slots). A value belongs to the layer
whose parameter its kernel reads, else to the one its producers agree on (a ReLU's output is its Linear's),
else to the one its consumers agree on (a convolution's window matrix), else it is "unattributed".
The moment of the peak is the kernel running when the most arena bytes are live. A step that runs several
Programs (accumulated micro-batches) keeps each one's arena, so arenas add up; activations, which one Program
holds from its forward to its backward, count the Program holding the most.
"""
from __future__ import annotations

import math
import threading
from dataclasses import dataclass, field

import numpy as np
import psutil

from . import lazy
from .compiler.realizer import cached_programs
from .tensor import Tensor

UNATTRIBUTED = "unattributed"
SAMPLE_S = 0.0005  # RSS sampling period while the step runs, where the kernel keeps no high-water mark
MB = 2**20


class RssSampler:
    """`with RssSampler() as rss:` measures this process's resident set size: `rss.before`, `rss.peak` and
    `rss.after` (psutil). The peak is Linux's high-water mark (VmHWM, reset on entry through
    /proc/self/clear_refs) where the kernel offers it, so a short-lived array that holds the GIL is seen too;
    elsewhere it is the most a thread sampling every `period` seconds saw."""

    def __init__(self, period: float = SAMPLE_S):
        self.period = period
        self.proc = psutil.Process()
        self.before = self.peak = self.after = 0
        self._stop = threading.Event()
        self._thread = None
        self._hwm = False

    def _loop(self):
        while not self._stop.wait(self.period):
            self.peak = max(self.peak, self.proc.memory_info().rss)

    def __enter__(self) -> "RssSampler":
        self.before = self.peak = self.proc.memory_info().rss
        self._hwm = _reset_high_water_mark()
        if not self._hwm:
            self._thread = threading.Thread(target=self._loop, daemon=True)
            self._thread.start()
        return self

    def __exit__(self, *exc):
        if self._thread is not None:
            self._stop.set()
            self._thread.join()
        self.after = self.proc.memory_info().rss
        self.peak = max(self.peak, self.after, _high_water_mark() if self._hwm else 0)
        return False


def _reset_high_water_mark() -> bool:
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return _high_water_mark() > 0
    except OSError:
        return False


def _high_water_mark() -> int:
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return 0


class _Recorder:
    """Stands in for step capture's recorder on `lazy.TRACE`: keeps what each realize ran, and which of its
    targets were gradients of `params` then (a micro-batch's gradients are replaced by the next one's)."""

    def __init__(self, params):
        self.params = params
        self.records = []

    def realized(self, prog, inputs, targets, order, todo):
        grads = {id(p.grad._node) for p in self.params if p.grad is not None}
        self.records.append((prog, inputs, targets, {id(t) for t in targets if id(t) in grads}))

    def on_replay(self, owner):
        pass


@dataclass
class LayerRow:
    layer: str
    parameters: int = 0
    gradients: int = 0
    optimizer_state: int = 0
    activations: int = 0


@dataclass
class Peak:
    program: int
    kernel: int
    description: str
    role: str
    layer: str
    live_bytes: int


@dataclass
class MemoryReport:
    parameters: int
    gradients: int
    optimizer_state: int
    inputs: int
    outputs: int
    arena: int
    activations: int
    workspace: int
    layers: list  # LayerRow
    peak: Peak | None
    programs: int  # distinct Programs the step ran
    realizes: int = 0  # Programs run (a Program run per micro-batch counts each time)
    scratch: int = 0
    accumulating: int = 0  # the most gradient bytes a realize reads while it writes new ones (accumulation)
    other_programs: int = 0  # what the other cached Programs hold (`program_bytes`): a first step's, say
    constants: int = 0  # the memory behind the step's Programs' embedded constants
    rss_before: int = 0
    rss_peak: int = 0
    rss_after: int = 0
    baseline_rss: int | None = None  # given by the caller: the process before the model was built
    notes: list = field(default_factory=list)

    @property
    def planned(self) -> int:
        """Everything the step's arrays take: parameters, gradients, state, inputs, outputs, arenas, scratch."""
        return (self.parameters + self.gradients + self.optimizer_state + self.inputs + self.outputs + self.arena
                + self.scratch + self.accumulating + self.constants)

    def rows(self) -> list:
        """(what, bytes) for the table, in order."""
        return [("parameters", self.parameters), ("gradients", self.gradients),
                ("optimizer state", self.optimizer_state), ("batch and other inputs", self.inputs),
                ("other outputs (loss)", self.outputs),
                ("gradients read while accumulating", self.accumulating),
                ("activations kept for backward", self.activations),
                ("workspace (rest of the arena, scratch)", self.workspace),
                ("constants embedded in the Programs", self.constants), ("planned total", self.planned)]

    def table(self) -> str:
        lines = [f"{'what':<40} {'bytes':>12} {'MB':>9}"]
        lines += [f"{name:<40} {n:>12} {n / MB:>9.3f}" for name, n in self.rows()]
        lines += ["", f"{'layer':<20} {'params':>10} {'grads':>10} {'opt state':>10} {'activations':>12}"]
        lines += [f"{r.layer:<20} {r.parameters:>10} {r.gradients:>10} {r.optimizer_state:>10} {r.activations:>12}"
                  for r in self.layers]
        if self.peak is not None:
            p = self.peak
            lines += ["", f"arena {self.arena} B over {self.programs} program(s); the most live, {p.live_bytes} B, "
                          f"while {p.description} runs ({p.role}, layer {p.layer})"]
        grown = self.rss_peak - self.rss_before
        lines.append(f"measured (psutil RSS): {self.rss_before / MB:.1f} MB before the step, peak "
                     f"{self.rss_peak / MB:.1f} MB during it (+{grown / MB:.2f} MB), "
                     f"{self.rss_after / MB:.1f} MB after")
        if self.other_programs:
            lines.append(f"besides: {self.other_programs / MB:.2f} MB held by other cached Programs (arenas, code, "
                         f"constants; e.g. an optimizer's first step compiles a Program of its own)")
        if self.baseline_rss is not None:
            lines.append(f"planned {self.planned / MB:.2f} MB (+ {self.other_programs / MB:.2f} MB other Programs) "
                         f"against {(self.rss_peak - self.baseline_rss) / MB:.2f} MB measured above the process "
                         f"before the model was built")
        lines += self.notes
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.table()


def parameter_layers(model=None, optimizer=None) -> dict:
    """id(Buffer) -> (parameter tensor, layer): the path and class of the module holding each parameter
    ("fc1 Linear"), or for an optimizer's parameter outside `model`, its index."""
    out = {}
    if model is not None:
        kinds = {path: type(mod).__name__ for path, mod in model.named_modules()}
        for name, p in model.named_parameters():
            path = name.rpartition(".")[0]
            out[id(p._node._value)] = (p, f"{path} {kinds[path]}" if path else kinds[path])
    if optimizer is not None:
        for g in optimizer.param_groups:
            for i, p in enumerate(g["params"]):
                out.setdefault(id(p._node._value), (p, f"param{i}"))
    return out


def state_tensors(optimizer) -> list:
    """(parameter, name, tensor) of the optimizer's state tensors, each tensor once (Adam shares its counter)."""
    seen, out = set(), []
    if optimizer is None:
        return out
    for p, state in optimizer.state.items():
        for name, t in state.items():
            if isinstance(t, Tensor) and id(t) not in seen:
                seen.add(id(t))
                out.append((p, name, t))
    return out


def nbytes(t: Tensor) -> int:
    return t.numel() * t.dtype.itemsize


def memory_report(step, model=None, optimizer=None, warmup: int = 2, baseline_rss: int | None = None
                  ) -> MemoryReport:
    """Run `step()` `warmup` times, then once recorded, and report where that step's bytes go (see the module
    docstring). `step` returns the loss tensor; `model` names the layers; `optimizer` gives the state."""
    if lazy.TRACE is not None:
        raise RuntimeError("memory_report cannot run inside a step that tinytorch.compile is tracing; call it "
                           "outside the captured step")
    for _ in range(warmup):
        step()
    layers_of = parameter_layers(model, optimizer)
    params = [p for p, _ in layers_of.values()]
    rec = _Recorder(params)
    lazy.TRACE = rec
    try:
        with RssSampler() as rss:
            step()
    finally:
        lazy.TRACE = None
    if not rec.records:
        raise RuntimeError("memory_report: the step ran no Program (was it captured with tinytorch.compile, or "
                           "does it realize nothing?); pass a plain step function")
    state = state_tensors(optimizer)
    report = MemoryReport(
        parameters=sum(nbytes(p) for p in params), gradients=sum(nbytes(p.grad) for p in params if p.grad is not None),
        optimizer_state=sum(nbytes(t) for _, _, t in state), inputs=0, outputs=0, arena=0, activations=0,
        workspace=0, layers=[], peak=None, programs=len({id(r[0]) for r in rec.records}),
        realizes=len(rec.records), rss_before=rss.before, rss_peak=rss.peak, rss_after=rss.after,
        baseline_rss=baseline_rss)
    rows = {}
    row = lambda layer: rows.setdefault(layer, LayerRow(layer))  # noqa: E731
    for p, layer in layers_of.values():
        row(layer).parameters += nbytes(p)
        row(layer).gradients += nbytes(p.grad) if p.grad is not None else 0
    layer_of_param = {id(p): layer for p, layer in layers_of.values()}
    for p, _, t in state:
        row(layer_of_param.get(id(p), UNATTRIBUTED)).optimizer_state += nbytes(t)
    known = {id(p._node._value) for p in params} | {id(t._node._value) for _, _, t in state}
    _add_programs(report, rec.records, layers_of, known, row)
    report.layers = sorted(rows.values(), key=lambda r: (r.layer == UNATTRIBUTED, r.layer))
    if report.programs > 1:
        report.notes.append(f"note: the step ran {report.programs} distinct Programs in {report.realizes} realizes; "
                            f"each Program keeps its own arena, so their arenas add up")
    return report


def _add_programs(report, records, layers_of, known, row) -> None:
    """Add what the recorded Programs hold to `report` and the per-layer rows (`row(layer)`): inputs that are
    not parameters or state (`known`), outputs, old gradients read while accumulating, and per distinct
    Program its arena, scratch, activations kept for backward and busiest step."""
    seen, grad_buffers = set(), set()
    for pi, (prog, in_nodes, targets, grads) in enumerate(records):
        old_grads = 0
        for n in in_nodes:
            if id(n._value) in grad_buffers:
                old_grads += n.nbytes if grads else 0
            elif id(n._value) not in known:
                known.add(id(n._value))
                report.inputs += n.nbytes
        report.accumulating = max(report.accumulating, old_grads)
        grad_buffers |= {id(t._value) for t in targets if id(t) in grads}
        report.outputs += sum(t.nbytes for t in targets if id(t) not in grads and t.op != "assign")
        if id(prog) in seen:
            continue
        seen.add(id(prog))
        roles, layers = kernel_roles(prog, targets, grads), kernel_layers(prog, in_nodes, layers_of)
        report.arena += prog.memory_plan.peak_bytes
        report.scratch += scratch_bytes(prog)
        report.constants += sum(owned_bytes(a) for k in prog.kernels for a in k.consts)
        kept = kept_for_backward(prog, roles)
        per_layer = {}
        for k, _ in kept:
            per_layer[layers[k.index]] = per_layer.get(layers[k.index], 0) + k.nbytes
        for layer, b in per_layer.items():
            row(layer).activations = max(row(layer).activations, b)
        report.activations = max(report.activations, sum(k.nbytes for k, _ in kept))
        report.workspace += max(0, prog.memory_plan.peak_bytes - sum(b.size for _, b in kept))
        t, live = busiest_step(prog.memory_plan)
        if live and (report.peak is None or live > report.peak.live_bytes):
            k = prog.kernels[t]
            report.peak = Peak(pi, t, k.describe(), roles[t], layers[t], live)
    report.workspace += report.scratch
    report.other_programs = sum(program_bytes(p) for p in cached_programs() if id(p) not in seen)


def owned_bytes(a: np.ndarray) -> int:
    """The memory behind `a`: a broadcast scalar (zero strides) owns the bytes of its one element, not of its
    shape (`Program.nbytes` counts its shape)."""
    while a.base is not None and isinstance(a.base, np.ndarray):
        a = a.base
    return a.nbytes


def program_bytes(prog) -> int:
    """What a cached Program holds: its arena, scratch, object code and the memory behind its constants."""
    code = len(getattr(prog.executable, "object_code", b""))
    return (prog.memory_plan.peak_bytes + scratch_bytes(prog) + code
            + sum(owned_bytes(a) for k in prog.kernels for a in k.consts))


def scratch_bytes(prog) -> int:
    """Working memory a runner keeps besides the arena: native scratch entries, or the most any blocked NumPy
    kernel uses."""
    native = getattr(prog.executable, "scratch", ())
    return sum(math.prod(shape) * np.dtype(dtype).itemsize for _, shape, dtype in native) or \
        max((low.scratch_bytes for low in prog.lowered), default=0)


def _producers(prog, k) -> list:
    """Indices of the kernels whose outputs kernel `k` reads."""
    return [i.slot - prog.n_inputs for i in k.inputs if i.slot >= prog.n_inputs]


def _ancestors(prog, roots) -> set:
    """Kernel indices that the kernels `roots` need, themselves included."""
    seen, todo = set(), list(roots)
    while todo:
        k = todo.pop()
        if k not in seen:
            seen.add(k)
            todo += _producers(prog, prog.kernels[k])
    return seen


def kernel_roles(prog, targets, grads) -> list:
    """Per kernel "forward" (what the non-update outputs need: the loss), "backward" (what the gradients, the
    targets whose ids are in `grads`, need beyond that) or "update" (the rest: assigns and what feeds them)."""
    slots = [slot for slot, _ in prog.executable.outputs]
    n_in = prog.n_inputs
    fwd_roots = [s - n_in for s, t in zip(slots, targets) if s >= n_in and t.op != "assign" and id(t) not in grads]
    grad_roots = [s - n_in for s, t in zip(slots, targets) if s >= n_in and id(t) in grads]
    fwd = _ancestors(prog, fwd_roots)
    bwd = _ancestors(prog, grad_roots) - fwd
    return ["forward" if i in fwd else "backward" if i in bwd else "update" for i in range(len(prog.kernels))]


def kernel_layers(prog, in_nodes, layers_of) -> list:
    """Per kernel its layer: that of the parameters it reads, else the one its producers agree on, else the one
    its consumers agree on (a convolution's window matrix is its layer's), else UNATTRIBUTED."""
    out = []
    for k in prog.kernels:
        direct = {layers_of[id(in_nodes[i.slot]._value)][1] for i in k.inputs
                  if i.slot < prog.n_inputs and id(in_nodes[i.slot]._value) in layers_of}
        out.append("+".join(sorted(direct)) if direct else _agreed(out[j] for j in _producers(prog, k)))
    consumers = [[] for _ in prog.kernels]
    for k in prog.kernels:
        for j in _producers(prog, k):
            consumers[j].append(k.index)
    for i in reversed(range(len(out))):
        if out[i] == UNATTRIBUTED:
            out[i] = _agreed(out[j] for j in consumers[i])
    return out


def _agreed(layers) -> str:
    found = set(layers) - {UNATTRIBUTED}
    return found.pop() if len(found) == 1 else UNATTRIBUTED


def kept_for_backward(prog, roles) -> list:
    """(kernel, its PlanBuffer) for each arena value a forward kernel writes and a backward kernel reads."""
    read_by_backward = {s for k, r in zip(prog.kernels, roles) if r == "backward" for s in (i.slot for i in k.inputs)}
    buffers = {b.name: b for b in prog.memory_plan.buffers}
    return [(k, buffers[f"k{k.index}"]) for k, r in zip(prog.kernels, roles)
            if r == "forward" and k.out_kind == "arena" and k.out_slot in read_by_backward]


def busiest_step(plan) -> tuple:
    """(schedule step, arena bytes live then) at the step with the most live bytes (an in-place pair once)."""
    best = (0, 0)
    for t in range(plan.steps):
        blocks = {}
        for b in plan.buffers:
            if b.first <= t <= b.last:
                blocks[b.alias_of or b.name] = max(blocks.get(b.alias_of or b.name, 0), b.size)
        best = max(best, (sum(blocks.values()), -t))
    return -best[1], best[0]
