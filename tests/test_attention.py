"""Fused attention (compiler/ops/attention.py) and the attention pass (compiler/passes/attention.py).

The streaming op against PyTorch's SDPA (forward and the three gradients, float64 and float32, every mask
kind, L != S, sizes that are not a multiple of the tile, broadcast batch dims); the pass recognizing
hand-written attention (examples/gpt_block.py, the composed SDPA form) and, switched off, expanding the op
back into the naive graph with the same values; the planned memory of both forms.
"""
import importlib
import math
import sys

import numpy as np
import pytest
import torch

import tinytorch as tt
import tinytorch.nn.functional as F
from tinytorch.compiler.ops import OPS, build, leaf

FRONTEND = importlib.import_module("tinytorch.nn.attention")
PASS = importlib.import_module("tinytorch.compiler.passes.attention")
OPS_MODULE = importlib.import_module("tinytorch.compiler.ops.attention")
TILE = 4  # a small tile, so every test crosses tile edges (and the diagonal) with sizes that are not multiples


@pytest.fixture(autouse=True)
def stream_every_size(monkeypatch):
    """The tests' sizes are small; by default such attention stays composed (FUSE_MIN_SCORE_BYTES)."""
    monkeypatch.setattr(OPS_MODULE, "FUSE_MIN_SCORE_BYTES", 0)


@pytest.fixture
def small_tiles(monkeypatch):
    monkeypatch.setattr(FRONTEND, "BLOCK", TILE)
    monkeypatch.setattr(PASS, "BLOCK", TILE)


def _ops_in(*tensors) -> list:
    return [name for k in tt.plan(*tensors).kernels for name in k.op_names]


def _mask(kind, L, S, rng):
    if kind == "bool":
        keep = rng.random((L, S)) > 0.4
        keep[:, 0] = True
        return keep
    if kind == "float":
        return rng.standard_normal((3, L, S))  # broadcast over the batch dim only
    return None


def _sdpa_both(q, k, v, mask, causal, dtype, scale=None):
    """(ours, torch's): output, then the gradients of q, k, v for the same random output weights."""
    rng = np.random.default_rng(9)
    ours = [tt.tensor(a.astype(dtype), requires_grad=True) for a in (q, k, v)]
    ref = [torch.tensor(a.astype(dtype), requires_grad=True) for a in (q, k, v)]
    kw = dict(is_causal=causal, scale=scale)
    y = F.scaled_dot_product_attention(*ours, attn_mask=None if mask is None else tt.tensor(mask.astype(
        bool if mask.dtype == bool else dtype)), **kw)
    r = torch.nn.functional.scaled_dot_product_attention(*ref, attn_mask=None if mask is None else torch.tensor(
        mask.astype(bool if mask.dtype == bool else dtype)), **kw)
    assert "attention" in _ops_in(y)
    w = rng.standard_normal(r.shape).astype(dtype)
    (y * tt.tensor(w)).sum().backward()
    (r * torch.tensor(w)).sum().backward()
    return [y.numpy()] + [t.grad.numpy() for t in ours], [r.detach().numpy()] + [t.grad.numpy() for t in ref]


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("mask", ["none", "bool", "float", "causal"])
@pytest.mark.parametrize("L,S", [(7, 11), (13, 5)])
def test_fused_matches_torch_sdpa(small_tiles, dtype, mask, L, S):
    rng = np.random.default_rng(1)
    q, k, v = rng.standard_normal((2, 3, L, 5)), rng.standard_normal((1, 3, S, 5)), rng.standard_normal((2, 1, S, 6))
    ours, ref = _sdpa_both(q, k, v, _mask(mask, L, S, rng), mask == "causal", dtype, 0.6 if mask == "bool" else None)
    tol = 1e-10 if dtype == np.float64 else 2e-5
    for a, b, what in zip(ours, ref, ("out", "dq", "dk", "dv")):
        np.testing.assert_allclose(a, b, rtol=tol, atol=tol, err_msg=what)


def test_a_fully_masked_row_gives_zero_as_torch(small_tiles):
    rng = np.random.default_rng(2)
    q, k, v = rng.standard_normal((2, 6, 4)), rng.standard_normal((2, 9, 4)), rng.standard_normal((2, 9, 3))
    keep = rng.random((6, 9)) > 0.3
    keep[4] = False
    ours, ref = _sdpa_both(q, k, v, keep, False, np.float64)
    assert np.all(ours[0][:, 4] == 0) and np.all(ours[1][:, 4] == 0)
    for a, b in zip(ours, ref):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)


def _qkv(shape_q, shape_k, shape_v, requires_grad=False, dtype=np.float64):
    rng = np.random.default_rng(3)
    return [tt.tensor(rng.standard_normal(s).astype(dtype), requires_grad=requires_grad)
            for s in (shape_q, shape_k, shape_v)]


@pytest.mark.parametrize("causal", [False, True])
def test_switched_off_the_pass_expands_the_op_with_the_same_values_and_gradients(small_tiles, causal):
    def run():
        q, k, v = _qkv((2, 9, 4), (2, 10, 4), (2, 10, 3), requires_grad=True)
        y = F.scaled_dot_product_attention(q, k, v, is_causal=causal)
        (y * y).sum().backward()
        return [y, q.grad, k.grad, v.grad]
    fused = run()
    assert {"attention", "attention_grad"} <= set(_ops_in(*fused))
    fused = [t.numpy() for t in fused]
    with tt.disable_passes("attention"):
        naive = run()
        names = _ops_in(*naive)
        assert "attention" not in names and "attention_grad" not in names and "exp" in names
        naive = [t.numpy() for t in naive]
    for a, b in zip(fused, naive):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)


def _gpt_block():
    sys.path.insert(0, str(__import__("pathlib").Path(__file__).resolve().parents[1] / "examples"))
    try:
        from gpt_block import Block, causal_mask
    finally:
        sys.path.pop(0)
    return Block, causal_mask


def test_the_pass_recognizes_gpt_block_attention_in_eval():
    Block, causal_mask = _gpt_block()
    block = Block(32, 4).eval()
    x = tt.tensor(np.random.default_rng(4).standard_normal((2, 12, 32)).astype(np.float32))
    mask = tt.tensor(causal_mask(12))
    with tt.no_grad():
        y = block(x, mask)
        assert _ops_in(y).count("attention") == 1
        fused = y.numpy()
        with tt.disable_passes("attention"):
            y = block(x, mask)
            assert "attention" not in _ops_in(y)
            naive = y.numpy()
    np.testing.assert_allclose(fused, naive, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("form", ["mul+where", "div+add", "masked_fill", "plain"])
def test_the_pass_recognizes_the_composed_forms(small_tiles, form):
    q, k, v = _qkv((2, 3, 7, 4), (2, 3, 9, 4), (2, 3, 9, 5))
    rng = np.random.default_rng(5)
    keep = rng.random((7, 9)) > 0.3
    keep[:, 0] = True
    bias = rng.standard_normal((7, 9))
    with tt.no_grad():
        s = q @ k.transpose(-2, -1)
        if form == "mul+where":
            s = tt.where(tt.tensor(keep), s * 0.5, -math.inf)
        elif form == "div+add":
            s = s / 2.0 + tt.tensor(bias)
        elif form == "masked_fill":  # minGPT's att.masked_fill(bias == 0, -inf)
            s = (s * 0.5).masked_fill(tt.tensor(keep) == False, -math.inf)  # noqa: E712
        y = s.softmax(-1) @ v
        assert _ops_in(y).count("attention") == 1
        got = y.numpy()
    qt, kt, vt = (torch.tensor(t.numpy()) for t in (q, k, v))
    mask = {"mul+where": torch.tensor(keep), "masked_fill": torch.tensor(keep), "div+add": torch.tensor(bias),
            "plain": None}[form]
    scale = {"mul+where": 0.5, "masked_fill": 0.5, "div+add": 0.5, "plain": 1.0}[form]
    want = torch.nn.functional.scaled_dot_product_attention(qt, kt, vt, attn_mask=mask, scale=scale).numpy()
    np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12)


def test_the_pass_leaves_attention_whose_probabilities_are_read_elsewhere():
    q, k, v = _qkv((2, 5, 4), (2, 6, 4), (2, 6, 3))
    with tt.no_grad():
        p = (q @ k.transpose(-2, -1) * 0.5).softmax(-1)
        y = p @ v
        assert "attention" not in _ops_in(y, p)
    q, k, v = _qkv((2, 5, 4), (2, 6, 4), (2, 6, 3), requires_grad=True)
    y = (q @ k.transpose(-2, -1) * 0.5).softmax(-1) @ v
    y.sum().backward()  # the backward reads the probabilities: a training graph keeps them
    assert "attention" not in _ops_in(q.grad)


def _planned_peak(train: bool, T: int = 1024) -> int:
    q, k, v = _qkv((1, 4, T, 64), (1, 4, T, 64), (1, 4, T, 64), requires_grad=train, dtype=np.float32)
    if not train:
        with tt.no_grad():
            return tt.plan(F.scaled_dot_product_attention(q, k, v, is_causal=True)).memory_plan.peak_bytes
    F.scaled_dot_product_attention(q, k, v, is_causal=True).sum().backward()
    return tt.plan(q.grad, k.grad, v.grad).memory_plan.peak_bytes


@pytest.mark.parametrize("train", [False, True])
def test_fused_plans_far_less_memory_than_naive_at_t_1024(train):
    fused = _planned_peak(train)
    with tt.disable_passes("attention"):
        naive = _planned_peak(train)
    scores = 4 * 1024 * 1024 * 4  # one (H, T, T) float32 matrix
    assert naive >= scores > 2 * fused  # naive holds the score matrix; fused holds nothing of its size
    assert naive > (10 if not train else 5) * fused  # measured: 31x and 12x (training keeps q, k, v, out, grads)


def test_bad_operands_name_the_op_and_shapes():
    q, k = leaf(np.zeros((2, 5, 4), np.float32)), leaf(np.zeros((2, 6, 3), np.float32))
    with pytest.raises(ValueError, match=r"attention: cannot attend with q, k, v \(2, 5, 4\) and \(2, 6, 3\)"):
        build("attention", q, k, k, arg=(1.0, False, TILE))
    mask = leaf(np.zeros((5, 6), bool))
    with pytest.raises(ValueError, match=r"attention: the mask \(5, 6\) must be \(\*batch, L, S\)"):
        build("attention", q, leaf(np.zeros((2, 6, 4), np.float32)), k, mask, arg=(1.0, False, TILE))
    assert OPS["attention"].into is not None


def test_by_default_only_large_score_matrices_stream(monkeypatch):
    """Below FUSE_MIN_SCORE_BYTES of scores sdpa and the pass keep the composed form; at or above, one op."""
    monkeypatch.setattr(OPS_MODULE, "FUSE_MIN_SCORE_BYTES", 4 * 2 * 8 * 8)  # float32 (2, 8, 8) scores exactly
    for L, fused in ((8, True), (7, False)):
        q = tt.randn(2, L, 4)
        k, v = tt.randn(2, 8, 4), tt.randn(2, 8, 4)
        y = F.scaled_dot_product_attention(q, k, v)
        assert ("attention" in _ops_in(y)) == fused
        with tt.no_grad():
            z = (q @ k.transpose(-2, -1) * 0.5).softmax(-1) @ v  # hand-written: the pass decides the same way
            assert ("attention" in _ops_in(z)) == fused
