"""The rand stage: NumPy's `default_rng(seed).random(n)` bit for bit, so both backends draw the same numbers.

The seed (a one-element operand, data rather than a constant so a new seed does not recompile) goes
through NumPy's SeedSequence (hashmix / mix over a pool of four 32-bit words) to PCG64's initial state and
increment; each draw is one PCG64 step (128-bit LCG, XSL-RR output) and random()'s 53-bit double, then a
cast to the output dtype. One serial loop: each draw depends on the last.
"""
from __future__ import annotations

import math

import numpy as np
from llvmlite import ir

from .. import ops
from . import mathfns as M
from .emitter import StageEmitter

I128 = ir.IntType(128)
PCG_MULT = 0x2360ED051FC65DA44385DF649FCCF645  # NumPy's PCG64 (XSL-RR) multiplier
SEEDSEQ = dict(init_a=0x43b0d7e5, mult_a=0x931e8875, init_b=0x8b51f9dd, mult_b=0x58f38ded,
               mix_l=0xca01f9dd, mix_r=0x4973f715)


class RandStage(StageEmitter):
    def emit_body(self) -> None:
        o = self.k.ops[self.st.root]
        b, info = self.b, o.info
        seed = self.values.ref(o.srcs[0], [])
        if seed.type != M.I64:
            seed = b.sext(seed, M.I64)
        st = self.st
        n = math.prod(info.shape)

        def body(_):
            state, inc = pcg64_seeded(b, seed)
            slot = self.fn.entry.alloca(I128, name="pcg")
            b.store(state, slot)

            def draw(i):
                d = pcg64_random(b, slot, inc)
                self.mem.store(st.dst, i, ops.OPS["cast"].llvm(b, [d], np.dtype("float64"), info.dtype))
            self.loops.loop(ir.Constant(M.I64, 0), ir.Constant(M.I64, n), draw)
        st.extent = self.loops.parallel([], (), body)
        st.work = n


def pcg64_random(b: ir.IRBuilder, slot, inc):
    """One PCG64 step on the state in `slot`, as random()'s double in [0, 1)."""
    s = b.add(b.mul(b.load(slot), ir.Constant(I128, PCG_MULT)), inc)
    b.store(s, slot)
    hi = b.trunc(b.lshr(s, ir.Constant(I128, 64)), M.I64)
    x = b.xor(hi, b.trunc(s, M.I64))
    r = b.lshr(hi, ir.Constant(M.I64, 58))
    left = b.and_(b.sub(ir.Constant(M.I64, 64), r), ir.Constant(M.I64, 63))
    out = b.or_(b.lshr(x, r), b.shl(x, left))
    return b.fmul(b.uitofp(b.lshr(out, ir.Constant(M.I64, 11)), M.F64), M.c(M.F64, 2.0 ** -53))


def pcg64_seeded(b: ir.IRBuilder, seed):
    """PCG64's (state, increment) after NumPy seeds it from SeedSequence(seed), for an i64 `seed`."""
    c = SEEDSEQ
    u32 = M.I32

    def k32(v):
        return ir.Constant(u32, v & 0xFFFFFFFF)
    words = [b.trunc(seed, u32), b.trunc(b.lshr(seed, ir.Constant(M.I64, 32)), u32), k32(0), k32(0)]
    h = [c["init_a"]]

    def hashmix(v):
        v = b.xor(v, k32(h[0]))
        h[0] = (h[0] * c["mult_a"]) & 0xFFFFFFFF
        v = b.mul(v, k32(h[0]))
        return b.xor(v, b.lshr(v, k32(16)))

    def mix(x, y):
        r = b.sub(b.mul(k32(c["mix_l"]), x), b.mul(k32(c["mix_r"]), y))
        return b.xor(r, b.lshr(r, k32(16)))
    pool = [hashmix(w) for w in words]
    for s in range(4):
        for d in range(4):
            if s != d:
                pool[d] = mix(pool[d], hashmix(pool[s]))
    hb, state = c["init_b"], []
    for i in range(8):
        v = b.xor(pool[i % 4], k32(hb))
        hb = (hb * c["mult_b"]) & 0xFFFFFFFF
        v = b.mul(v, k32(hb))
        state.append(b.zext(b.xor(v, b.lshr(v, k32(16))), I128))

    def u64(i):
        return b.or_(state[2 * i], b.shl(state[2 * i + 1], ir.Constant(I128, 32)))

    def u128(i):
        return b.or_(b.shl(u64(i), ir.Constant(I128, 64)), u64(i + 1))
    initstate, initseq = u128(0), u128(2)
    inc = b.or_(b.shl(initseq, ir.Constant(I128, 1)), ir.Constant(I128, 1))
    mult = ir.Constant(I128, PCG_MULT)
    s = b.add(b.mul(ir.Constant(I128, 0), mult), inc)
    s = b.add(s, initstate)
    s = b.add(b.mul(s, mult), inc)
    return s, inc
