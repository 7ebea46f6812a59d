"""Threads: one compiled Program runs from many threads at once, each with its own arena and pointer table.

The threading model (docs/DESIGN.md): a Program is compiled once and shared; its runner (arena, pointer
table, scratch of blocked NumPy kernels) is per thread; grad mode is per thread, as in PyTorch. Eager mode,
the backend and the pass switches are process-wide settings, and the random generator is one stream.
"""
import threading

import numpy as np
import pytest

import tinytorch as tt
import tinytorch.nn.functional as F
from tinytorch import nn, optim

BACKENDS = ["numpy", "llvm"]
THREADS, RUNS = 4, 150


def in_threads(work, n=THREADS):
    """Run work(i) in n threads started together; re-raise the first failure."""
    results, errors = [None] * n, []
    start = threading.Barrier(n)

    def body(i):
        try:
            start.wait()
            results[i] = work(i)
        except BaseException as e:  # noqa: BLE001 - reported to the test below
            errors.append(e)
    threads = [threading.Thread(target=body, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise errors[0]
    return results


def graph(a):
    x = tt.tensor(a)
    return ((x @ x).relu() * 2).softmax(-1).sum(0)


@pytest.mark.parametrize("backend", BACKENDS)
def test_threads_share_one_program_and_get_their_own_results(backend):
    inputs = [np.random.default_rng(i).random((64, 64), dtype=np.float32) for i in range(THREADS)]
    big = [np.random.default_rng(9 + i).standard_normal((512, 300)).astype(np.float32) for i in range(THREADS)]
    blocked = lambda a: ((tt.tensor(a) * 0.5).tanh() * tt.tensor(a) + 1).exp().sum(1)  # numpy runs it in blocks
    with tt.using_backend(backend):
        alone = [graph(a).numpy() for a in inputs]
        alone_big = [blocked(b).numpy() for b in big]
        compiles = tt.stats()["compiles"]

        def work(i):
            wrong = 0
            for _ in range(RUNS):
                wrong += not np.array_equal(graph(inputs[i]).numpy(), alone[i])
                wrong += not np.array_equal(blocked(big[i]).numpy(), alone_big[i])
            return wrong
        assert in_threads(work) == [0] * THREADS
        assert tt.stats()["compiles"] == compiles  # compiled once, before the threads


def _setup(seed):
    """A model and its data, made in the calling thread (the random stream is one per process)."""
    tt.manual_seed(seed)
    rng = np.random.default_rng(seed)
    x = tt.tensor(rng.standard_normal((32, 20)).astype(np.float32))
    y = tt.tensor(rng.integers(0, 5, 32))
    return nn.Sequential(nn.Linear(20, 32), nn.ReLU(), nn.Linear(32, 5)), x, y


def _train(model, x, y, steps=25):
    opt = optim.Adam(model.parameters(), lr=1e-2)
    for _ in range(steps):
        opt.zero_grad()
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
    return [p.numpy().copy() for p in model.parameters()] + [loss.numpy()]


@pytest.mark.parametrize("backend", BACKENDS)
def test_two_training_loops_side_by_side_match_each_run_alone(backend):
    with tt.using_backend(backend):
        alone = [_train(*_setup(s)) for s in (1, 2)]
        for _ in range(3):
            runs = [_setup(s) for s in (1, 2)]
            together = in_threads(lambda i: _train(*runs[i]), n=2)
            for got, want in zip(together, alone):
                for g, w in zip(got, want):
                    assert np.isfinite(g).all()
                    np.testing.assert_array_equal(g, w)


def test_grad_mode_is_per_thread():
    seen = []
    inside, leave = threading.Event(), threading.Event()

    def other():
        with tt.no_grad():
            inside.set()
            leave.wait(5)
    t = threading.Thread(target=other)
    t.start()
    inside.wait(5)
    w = tt.tensor(np.ones(3, np.float32), requires_grad=True)
    seen.append((w * 2).requires_grad)
    leave.set()
    t.join()
    assert seen == [True]


def test_the_program_cache_is_bounded_and_eviction_frees_native_code(monkeypatch):
    import gc

    from tinytorch.runtime import native_loader
    monkeypatch.setenv("TINYTORCH_CACHE_PROGRAMS", "3")
    tt.clear_cache()
    with tt.using_backend("llvm"):
        for n in range(1, 9):
            (tt.tensor(np.ones((n, 4), np.float32)) * 3 + 1).numpy()
        gc.collect()
        s = tt.stats()
        assert s["programs"] == 3 and s["program_bytes"] > 0 and s["evictions"] >= 5
        assert len(native_loader._LOADED) <= 3
        tt.clear_cache()
        gc.collect()
        assert tt.stats()["programs"] == 0 and len(native_loader._LOADED) == 0
