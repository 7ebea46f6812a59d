"""The counted loop every generated kernel is made of: `for i in [lo, hi): body(i)`.

Written as a guarded do-while (test once before entering, then at the bottom), the shape LLVM's loop
vectorizer and unroller recognise best.
"""
from llvmlite import ir

from . import mathfns as M


def counted_loop(b: ir.IRBuilder, fn: ir.Function, lo, hi, body) -> None:
    pre = b.block
    header = fn.append_basic_block("loop")
    exit_ = fn.append_basic_block("loop_exit")
    b.cbranch(b.icmp_signed("<", lo, hi), header, exit_)
    b.position_at_end(header)
    i = b.phi(M.I64, name="i")
    i.add_incoming(lo, pre)
    body(i)
    nxt = b.add(i, ir.Constant(M.I64, 1))
    i.add_incoming(nxt, b.block)
    b.cbranch(b.icmp_signed("<", nxt, hi), header, exit_)
    b.position_at_end(exit_)
