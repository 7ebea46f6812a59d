"""Turn fusion groups into Kernel objects over Program slots (backend-independent).

Slots: the Program's inputs take 0..n-1, then each kernel's output one slot in
schedule order. An operand of a fused op is resolved through its movement ops
to a base: an op of the same kernel, an embedded constant, or a slot. A
materialized view may be stored in another order (layout.py): its slot holds
the permuted array, and every reader's chain starts by permuting it back.
"""
from __future__ import annotations

import math


from . import ir
from .kernel import KInput, KOp, Kernel, Ref, chain_view
from .layout import choose_layouts, from_stored, info_of, stored, swap_last, to_stored
from .ops import GROUPS, OPS
from .passes.fusion import base_of, contig_roots


def kernelize(groups, g, order, slot_of: dict, outputs: set) -> list:
    """`order`: schedule (indices into groups); `slot_of`: id(input node) -> slot, extended here with kernel
    outputs; `outputs`: ids of nodes the user receives. Returns the kernels in schedule order."""
    n_in = len(slot_of)
    for step, gi in enumerate(order):
        gr = groups[gi]
        if gr.kind != "copy":
            slot_of[id(gr.root)] = n_in + step
    stops = contig_roots(groups)
    layouts = choose_layouts(groups, g, stops, outputs)
    kernels = []
    for step, gi in enumerate(order):
        kernels.append(_kernel(groups[gi], g, step, n_in + step, slot_of, outputs, stops, layouts))
    return kernels


def _kernel(gr, g, step, out_slot, slot_of, outputs, stops, layouts) -> Kernel:
    inputs, consts, in_index, local = [], [], {}, {}
    node_at = {}  # an op's index in the kernel -> the node it computes (where it is one node)

    def ref(s, through=()) -> Ref:
        b, chain = base_of(s, g, stops)
        infos = tuple(ir.Info(c) for c in chain) + through
        base = ir.Info(b)
        if id(b) in layouts:
            infos = (from_stored(b, layouts[id(b)]),) + infos
            base = stored(b, layouts[id(b)])
        if id(b) in local:
            return Ref("t", local[id(b)], infos)
        if b.op in GROUPS.embedded and not g.is_input(b):
            consts.append(OPS[b.op].numpy(b))
            return Ref("c", len(consts) - 1, infos)
        slot = slot_of[id(b)]
        if slot not in in_index:
            in_index[slot] = len(inputs)
            inputs.append(KInput(slot, base, infos, chain_view(base.shape, infos)))
        return Ref("in", in_index[slot], infos)

    ops = []
    if gr.kind == "copy":
        ops.append(KOp(info_of("copy", gr.root.shape, gr.root.dtype), (ref(gr.root),)))
        out_kind = "output"
    elif gr.kind == "contig":  # the view itself is the base its readers see: copy through it
        v = gr.root
        perm = layouts.get(id(v))
        through = (ir.Info(v),) + ((to_stored(v, perm),) if perm else ())
        ops.append(KOp(stored(v, perm or range(len(v.shape))), (ref(v.srcs[0], through),)))
        out_kind = "output" if id(v) in outputs else "arena"
    elif id(gr.root) in layouts:  # a plain matmul stored transposed: (a @ b).T = b.T @ a.T
        m = gr.root
        a, b = (ref(s, (info_of("permute", _swapped(s.shape), s.dtype, swap_last(len(s.shape))),))
                for s in m.srcs)
        ops.append(KOp(info_of("matmul", _swapped(m.shape), m.dtype), (b, a)))
        out_kind = "arena"
    else:
        for n in gr.nodes:
            ops.append(KOp(ir.Info(n), tuple(ref(s) for s in n.srcs)))
            local[id(n)] = len(ops) - 1
            node_at[len(ops) - 1] = n
        out_kind = "target" if gr.root.op == "assign" else "output" if id(gr.root) in outputs else "arena"
    root = ops[-1].info
    return Kernel(step, tuple(ops), tuple(inputs), tuple(consts), out_slot, out_kind,
                  flops=sum(_flops(o, gr, node_at.get(i)) for i, o in enumerate(ops)),
                  bytes_read=sum(min(math.prod(i.base.shape), math.prod(i.view.shape) if i.view else 1 << 62)
                                 * i.base.dtype.itemsize for i in inputs),
                  bytes_written=math.prod(root.shape) * root.dtype.itemsize, row_axes=gr.row_axes)


def _swapped(shape) -> tuple:
    return tuple(shape[:-2]) + (shape[-1], shape[-2])


def _flops(o: KOp, gr, node=None) -> int:
    """The FLOPs of one op of a kernel: the op's own count where it declares one (a convolution, attention; it
    needs the op's node), else one per output element, a matmul's 2k, a reduction's fan-in."""
    info = o.info
    size = math.prod(info.shape)
    if node is not None and OPS[node.op].flops is not None:
        return OPS[node.op].flops(node)
    if info.op in GROUPS.matmul:
        return 2 * size * _matmul_k(o, gr)
    if info.op in GROUPS.reduce:
        return size * _reduce_fan(info, o, gr)
    return size if info.op in GROUPS.elementwise else 0


def _matmul_k(o, gr) -> int:
    node = gr.core if gr.core is not None and gr.core.op == "matmul" else None
    return node.srcs[0].shape[-1] if node is not None else 1


def _reduce_fan(info, o, gr) -> int:
    node = gr.core if gr.core is not None and gr.core.op in GROUPS.reduce else None
    return node.srcs[0].size // max(math.prod(info.shape), 1) if node is not None else 1
