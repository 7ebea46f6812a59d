"""The compiler hands over an immutable Program; the runtime runs it, owns its arena and times its kernels."""
import dataclasses

import numpy as np
import pytest

import tinytorch as tt
from tinytorch.runtime import KernelError, NativeExecutable, NumpyExecutable, timing

BACKENDS = ["numpy", "llvm"]


def graph():
    x = tt.tensor(np.arange(12, dtype=np.float32).reshape(3, 4))
    return ((x * 2).exp().sum(1, keepdim=True) + x.mean()).log()


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_program_and_its_kernels_are_immutable(backend):
    with tt.using_backend(backend):
        prog = tt.plan(graph())
    with pytest.raises(dataclasses.FrozenInstanceError):
        prog.kernels = ()
    with pytest.raises(dataclasses.FrozenInstanceError):
        prog.kernels[0].out_kind = "arena"
    assert isinstance(prog.executable, NativeExecutable if backend == "llvm" else NumpyExecutable)
    assert [low.backend for low in prog.lowered] == [backend] * len(prog.kernels)


@pytest.mark.parametrize("backend", BACKENDS)
def test_the_runner_owns_the_arena_and_reuses_it(backend):
    with tt.using_backend(backend):
        y = graph()
        prog = tt.plan(y)
        want = y.numpy()
        arena = prog.runner.arena
        assert arena is not None and arena.nbytes == prog.memory_plan.peak_bytes
        again = graph()
        np.testing.assert_array_equal(again.numpy(), want)
        assert tt.plan(graph()) is prog and prog.runner.arena is arena


@pytest.mark.parametrize("backend", BACKENDS)
def test_kernel_timing_hooks_see_every_kernel_of_every_run(backend):
    with tt.using_backend(backend):
        graph().numpy()  # compiled outside the block
        with timing.kernel_times() as runs:
            y = graph()
            y.numpy()
        prog = tt.plan(graph())
    assert len(runs) == 1
    runner, seconds = runs[0]
    assert runner is prog.runner and len(seconds) == len(prog.kernels) and all(s > 0 for s in seconds)
    assert runner.kernel_s == seconds


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_failing_kernel_is_named(backend):
    x = tt.tensor(np.ones((2, 3), np.float32))
    idx = tt.tensor(np.array([[0, 5, 1], [1, 0, 2]]))
    with tt.using_backend(backend), pytest.raises(KernelError, match=r"kernel \d+ \(gather.*out of range"):
        x.gather(0, idx).numpy()
