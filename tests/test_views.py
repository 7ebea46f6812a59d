"""Views alias their base, as PyTorch's: in-place writes and index assignment through views, against torch."""
import numpy as np
import pytest
import torch

import tinytorch as tt


def both(fn, shape=(3, 4, 5), dtype=np.float32, seed=0):
    """Run `fn(lib, x)` on the same array in tinytorch and torch; return both x's and fn's results as arrays."""
    data = np.random.default_rng(seed).standard_normal(shape).astype(dtype)
    ours, theirs = tt.tensor(data.copy()), torch.tensor(data.copy())
    r_ours, r_theirs = fn(tt, ours), fn(torch, theirs)
    return ours.numpy(), theirs.numpy(), r_ours, r_theirs


WRITES = {
    "int index zero_": lambda lib, x: x[0].zero_(),
    "slice fill_": lambda lib, x: x[:, 1:3].fill_(2.5),
    "strided slice mul_": lambda lib, x: x[..., ::2].mul_(-1),
    "view add_": lambda lib, x: x.view(-1).add_(1),
    "reshape of view": lambda lib, x: x[1].reshape(-1)[3:7].zero_(),
    "transpose row": lambda lib, x: x.transpose(0, 2)[1].fill_(9),
    "permute then index": lambda lib, x: x.permute(2, 0, 1)[:, 1].clamp_(-0.1, 0.1),
    "t of a matrix": lambda lib, x: x[0].t()[2].copy_(lib.arange(4.0)),
    "narrow": lambda lib, x: x.narrow(1, 1, 2).sub_(3),
    "unsqueeze squeeze": lambda lib, x: x.unsqueeze(0).squeeze(0)[2, 2].fill_(4),
    "chunk part": lambda lib, x: x.chunk(2, dim=2)[1].zero_(),
    "split part": lambda lib, x: x.split([1, 2], dim=0)[1].fill_(1),
    "unbind part": lambda lib, x: x.unbind(1)[3].mul_(10),
    "diagonal": lambda lib, x: x.diagonal(0, 1, 2).fill_(7),
    "flatten": lambda lib, x: x.flatten(1)[:, ::3].zero_(),
    "movedim": lambda lib, x: x.movedim(2, 0)[4].fill_(-2),
    "masked_fill_ on view": lambda lib, x: x[1].masked_fill_(x[1] > 0, 0.0),
    "two writes chained": lambda lib, x: x[2].zero_().add_(5),
}


@pytest.mark.parametrize("name", list(WRITES))
def test_inplace_write_through_a_view_reaches_the_base(name):
    ours, theirs, r_ours, r_theirs = both(WRITES[name])
    np.testing.assert_allclose(ours, theirs, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(r_ours.numpy(), r_theirs.numpy(), rtol=1e-6, atol=1e-6)


def _set(idx, value):
    def fn(lib, x):
        x[idx(lib, x) if callable(idx) else idx] = value(lib) if callable(value) else value
    return fn


SETITEMS = {
    "int": _set(1, 0.0),
    "slice row": _set((slice(None), 2), 3.0),
    "ellipsis and step": _set((Ellipsis, slice(None, None, 2)), -1.0),
    "None": _set((None, 0, slice(1, 3)), 8.0),
    "broadcast tensor": _set((slice(None), 0), lambda lib: lib.arange(5.0)),
    "int list": _set(([0, 2], slice(None), 1), 4.0),
    "tuple of ints": _set((slice(None), (0, 3)), 6.0),
    "int tensor": _set(lambda lib, x: lib.tensor([2, 0]), 1.5),
    "bool mask same shape": _set(lambda lib, x: x > 0.5, 0.0),
    "bool mask of rows": _set(lambda lib, x: lib.tensor([True, False, True]), -3.0),
    "bool mask with values": _set(lambda lib, x: x < -1.0, lambda lib: lib.tensor(float("nan"))),
}


@pytest.mark.parametrize("name", list(SETITEMS))
def test_index_assignment_matches_torch(name):
    ours, theirs, _, _ = both(SETITEMS[name])
    np.testing.assert_allclose(ours, theirs, rtol=1e-6, atol=1e-6)


def test_index_assignment_on_a_view_reaches_the_base_and_siblings():
    for lib in (tt, torch):
        x = lib.zeros(4, 6)
        row, col = x[1], x[:, 2]
        x.view(2, 12)[1, 4:8] = 1.0  # row 2, columns 4..7 of x
        row[:3] = 2.0
        col.add_(10)
        if lib is tt:
            ours = (x.numpy(), row.numpy(), col.numpy())
        else:
            theirs = (x.numpy(), row.numpy(), col.numpy())
    for a, b in zip(ours, theirs):
        np.testing.assert_array_equal(a, b)


def test_a_write_to_the_base_is_seen_by_its_views():
    x = tt.arange(12.0).reshape(3, 4)
    first, tail = x[0], x[0][1:]
    x.mul_(2)
    np.testing.assert_array_equal(first.numpy(), [0, 2, 4, 6])
    np.testing.assert_array_equal(tail.numpy(), [2, 4, 6])


def test_integer_index_assignment_casts_as_torch():
    for lib in (tt, torch):
        x = lib.zeros(5, dtype=lib.int64)
        x[1:3] = lib.tensor([2.7, -1.9])
        x[x == 0] = 7
        if lib is tt:
            ours = x.numpy()
        else:
            theirs = x.numpy()
    np.testing.assert_array_equal(ours, theirs)


def test_gradients_through_index_assignment_and_view_writes_match_torch():
    data = np.random.default_rng(1).standard_normal((3, 4)).astype(np.float64)
    grads = []
    for lib in (tt, torch):
        w = lib.tensor(data.copy(), requires_grad=True)
        u = lib.tensor(data[0].copy() * 0.5, requires_grad=True)
        y = w * 2
        y[:, 0] = 0
        y[1] = w[0] * u
        y[2].mul_(w[2].exp())
        y.t()[3].add_(1)
        (y * y).sum().backward()
        grads.append((w.grad.numpy(), u.grad.numpy()))
    for a, b in zip(*grads):
        np.testing.assert_allclose(a, b, rtol=1e-10)


def test_parameter_rows_are_written_under_no_grad_and_refused_outside():
    emb = tt.nn.Embedding(5, 3)
    with tt.no_grad():
        emb.weight[0].zero_()
        emb.weight[2] = 1.0
    w = emb.weight.numpy()
    np.testing.assert_array_equal(w[0], 0)
    np.testing.assert_array_equal(w[2], 1)
    with pytest.raises(RuntimeError, match="leaf tensor that requires grad"):
        emb.weight[1].zero_()


def test_advanced_indexing_still_copies_as_in_torch():
    for lib in (tt, torch):
        x = lib.zeros(3, 3)
        x[[0, 1]].fill_(1.0)  # a copy: x is unchanged
        x[x >= 0].fill_(1.0)
        assert float(x.sum()) == 0.0


def test_index_assignment_refuses_a_value_that_does_not_broadcast():
    x = tt.zeros(3, 4)
    with pytest.raises(ValueError, match=r"index assignment.*\(2,\).*\(3,\)"):
        x[:, 0] = tt.ones(2)


def test_overlapping_views_of_a_freed_view_see_each_others_writes():
    import gc
    import weakref
    x = tt.zeros(4, 6)
    a = x.view(-1)
    b, c = a[0:10], a[5:15]
    gone = weakref.ref(a)
    del a
    gc.collect()
    assert gone() is None  # a view holds no tensor alive (captured steps must not see stray lazy tensors)
    c.fill_(1.0)
    np.testing.assert_array_equal(b.numpy(), [0] * 5 + [1] * 5)
    np.testing.assert_array_equal(x.numpy().reshape(-1), [0] * 5 + [1] * 10 + [0] * 9)
