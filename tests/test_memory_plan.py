"""Memory plans: verify() on every plan, greedy-by-size placement by hand, in-place reuse, the arena as
the truth (tracemalloc agrees with the plan), outputs never in the arena."""
import tracemalloc

import numpy as np
import pytest

import tinytorch as tt
from tinytorch.compiler.passes.memplan import PlanBuffer, plan_memory, ALIGN

SLACK_BYTES = 256 * 1024  # Python objects, NumPy views and small temporaries around a run


def bufs(*specs):
    return [PlanBuffer(name, size, first, last) for name, size, first, last in specs]


def test_greedy_by_size_best_fit_by_hand():
    # a: steps 0-1, b: 1-2, c: 2-3, d: 3-4;  sizes 4K, 1K, 2K, 1K
    plan = plan_memory(bufs(("a", 4096, 0, 1), ("b", 1024, 1, 2), ("c", 2048, 2, 3), ("d", 1024, 3, 4)), 5)
    off = {b.name: b.offset for b in plan.buffers}
    assert off == {"a": 0, "b": 4096, "c": 0, "d": 2048}
    assert plan.peak_bytes == 5120 and plan.no_reuse_bytes == 8192 and plan.lower_bound_bytes == 5120
    assert plan.verify()


def test_verify_catches_an_overlap():
    plan = plan_memory(bufs(("a", 128, 0, 2), ("b", 128, 1, 3)), 4)
    assert plan.verify()
    plan.buffers[1].offset = 64
    with pytest.raises(AssertionError, match="overlaps"):
        plan.verify()


def test_sizes_are_aligned_and_memplan_off_means_no_reuse():
    plan = plan_memory(bufs(("a", 10, 0, 0), ("b", 10, 1, 1)), 2, reuse=False)
    assert all(b.size == ALIGN for b in plan.buffers)
    assert plan.peak_bytes == plan.no_reuse_bytes == 2 * ALIGN


def chain(x, depth=4):
    h = x
    for _ in range(depth):
        h = (h - tt.amax(h, 1, keepdim=True)).exp()
    return h  # every kernel reduces over axis 1 or is elementwise: all run in blocks, no big temporaries


ROWS_OFF = "rowfuse"  # row fusion makes `chain` one kernel: these tests need the temporaries between kernels


def test_plan_of_a_real_program_verifies_and_reuses():
    x = tt.tensor(np.random.default_rng(0).standard_normal((64, 64)).astype(np.float32))
    with tt.disable_passes(ROWS_OFF):
        prog = tt.plan(chain(x))
    mp = prog.memory_plan
    assert mp.verify()
    assert mp.lower_bound_bytes <= mp.peak_bytes < mp.no_reuse_bytes
    roles = {role for _, _, role in mp.outside}
    assert roles == {"input", "output"}
    arena_names = {b.name for b in mp.buffers}
    assert all(name not in arena_names for name, _, _ in mp.outside)


def test_inplace_reuses_an_input_that_dies():
    x = tt.tensor(np.ones((32, 32), np.float32))
    e = x.exp()
    y = (e + e.sum(1, keepdim=True)).tanh()  # the add+tanh kernel reads e, which dies there
    z = y - y.sum(1, keepdim=True)
    with tt.disable_passes(ROWS_OFF):
        prog = tt.plan(z)
    assert [k.op_names for k in prog.kernels] == [["exp"], ["sum"], ["add", "tanh"], ["sum"], ["sub"]]
    assert prog.kernels[2].inplace_of >= 0
    aliased = {b.name: b.alias_of for b in prog.memory_plan.buffers if b.alias_of}
    assert aliased == {"k2": "k0"} and prog.memory_plan.verify()
    v = np.tanh(np.e + 32 * np.e)
    np.testing.assert_allclose(z.numpy(), np.full((32, 32), v - 32 * v), rtol=1e-5)


def test_outputs_never_live_in_the_arena_and_survive_later_runs():
    rng = np.random.default_rng(0)
    first = [tt.tensor(rng.standard_normal((16, 16)).astype(np.float32)) for _ in range(2)]
    a = (first[0].exp() - tt.amax(first[0].exp(), 1, keepdim=True)) * first[1]
    a.realize()
    kept = a.numpy().copy()
    prog = tt.plan(*[(f.exp() - tt.amax(f.exp(), 1, keepdim=True)) * f for f in first])
    for _ in range(3):  # the same Program runs again over the same arena
        b = (first[1].exp() - tt.amax(first[1].exp(), 1, keepdim=True)) * first[0]
        b.realize()
        assert not np.shares_memory(b.numpy(), a.numpy())
    np.testing.assert_array_equal(a.numpy(), kept)
    arena = prog.runner.arena
    assert arena is None or not np.shares_memory(arena.memory, a.numpy())


@pytest.mark.parametrize("disabled", [(), ("memplan", "inplace")])
def test_measured_memory_agrees_with_the_plan(disabled):
    x = tt.tensor(np.random.default_rng(0).standard_normal((512, 512)).astype(np.float32))
    with tt.disable_passes(ROWS_OFF, *disabled):
        prog = tt.plan(chain(x))
        predicted = prog.memory_plan.peak_bytes + sum(k.nbytes for k in prog.kernels if k.out_kind == "output")
        predicted += sum(low.scratch_bytes for low in prog.lowered if low.chunk_rows)  # blocks allocated once
        assert all(low.chunk_rows or low.scratch_bytes == 0 for low in prog.lowered)
        slack = SLACK_BYTES
        out = chain(x)
        tracemalloc.start()
        try:
            before = tracemalloc.get_traced_memory()[0]
            out.realize()
            peak = tracemalloc.get_traced_memory()[1] - before
        finally:
            tracemalloc.stop()
    assert prog.runner.arena is not None and prog.runner.arena.nbytes == prog.memory_plan.peak_bytes
    assert abs(peak - predicted) <= slack, (peak, predicted, slack)
    if disabled:
        assert prog.memory_plan.peak_bytes == prog.memory_plan.no_reuse_bytes
    else:
        assert prog.memory_plan.peak_bytes < prog.memory_plan.no_reuse_bytes
