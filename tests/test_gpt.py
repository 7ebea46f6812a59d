"""The transformer path against PyTorch: nn.MultiheadAttention and the GPT block (values and gradients), nn.GPT
with weights saved from a nanoGPT-architecture PyTorch model (logits, loss, greedy tokens), generate() with and
without the KV cache, the decode step's compile count, sampling, the weight files, and a few training steps on
Tiny Shakespeare."""
import math
import os

import numpy as np
import pytest

import tinytorch as tt
from tinytorch import nn, optim
from tinytorch.generation import sample

from conftest import data_dir

torch = pytest.importorskip("torch")
tnn = torch.nn


# ---------------------------------------------------------------- a nanoGPT-architecture reference in PyTorch

class TorchAttention(tnn.Module):
    def __init__(self, c, h, bias):
        super().__init__()
        self.n_head = h
        self.c_attn, self.c_proj = tnn.Linear(c, 3 * c, bias=bias), tnn.Linear(c, c, bias=bias)

    def forward(self, x):
        b, t, c = x.shape
        q, k, v = (y.view(b, t, self.n_head, c // self.n_head).transpose(1, 2) for y in self.c_attn(x).split(c, 2))
        y = torch.nn.functional.scaled_dot_product_attention(q, k, v, is_causal=True)
        return self.c_proj(y.transpose(1, 2).reshape(b, t, c))


class TorchMLP(tnn.Module):
    def __init__(self, c, bias):
        super().__init__()
        self.c_fc, self.gelu, self.c_proj = tnn.Linear(c, 4 * c, bias=bias), tnn.GELU(), tnn.Linear(4 * c, c, bias=bias)

    def forward(self, x):
        return self.c_proj(self.gelu(self.c_fc(x)))


class TorchBlock(tnn.Module):
    def __init__(self, c, h, bias):
        super().__init__()
        self.ln_1, self.attn = tnn.LayerNorm(c, bias=bias), TorchAttention(c, h, bias)
        self.ln_2, self.mlp = tnn.LayerNorm(c, bias=bias), TorchMLP(c, bias)

    def forward(self, x):
        x = x + self.attn(self.ln_1(x))
        return x + self.mlp(self.ln_2(x))


class TorchGPT(tnn.Module):
    def __init__(self, vocab, block, n_layer, h, c, bias=True):
        super().__init__()
        self.block_size = block
        self.transformer = tnn.ModuleDict(dict(
            wte=tnn.Embedding(vocab, c), wpe=tnn.Embedding(block, c),
            h=tnn.ModuleList([TorchBlock(c, h, bias) for _ in range(n_layer)]), ln_f=tnn.LayerNorm(c, bias=bias)))
        self.lm_head = tnn.Linear(c, vocab, bias=False)
        self.transformer.wte.weight = self.lm_head.weight
        for p in self.parameters():  # random, not zero, biases and norms: every weight must land in its place
            torch.nn.init.normal_(p, 0.0, 0.2)

    def forward(self, idx, targets=None):
        pos = torch.arange(idx.shape[1])
        x = self.transformer.wte(idx) + self.transformer.wpe(pos)
        for block in self.transformer.h:
            x = block(x)
        logits = self.lm_head(self.transformer.ln_f(x))
        loss = None if targets is None else torch.nn.functional.cross_entropy(
            logits.view(-1, logits.shape[-1]), targets.view(-1), ignore_index=-1)
        return logits, loss

    @torch.no_grad()
    def greedy(self, idx, n):
        for _ in range(n):
            logits, _ = self(idx[:, -self.block_size:])
            idx = torch.cat([idx, logits[:, -1].argmax(-1, keepdim=True)], 1)
        return idx


CFG = dict(vocab=23, block=16, n_layer=2, h=2, c=16)


def _pair(tmp_path, bias=True, ext=".safetensors"):
    """A random TorchGPT, saved with torch-free tools, and our GPT loaded from the file."""
    torch.manual_seed(0)
    ref = TorchGPT(CFG["vocab"], CFG["block"], CFG["n_layer"], CFG["h"], CFG["c"], bias=bias)
    path = str(tmp_path / f"ref{ext}")
    sd = {k: v.detach().numpy().copy() for k, v in ref.state_dict().items()}
    if ext == ".safetensors":
        from safetensors.numpy import save_file
        save_file(sd, path)
    else:
        np.savez(path, **sd)
    ours = nn.GPT(CFG["vocab"], CFG["block"], CFG["n_layer"], CFG["h"], CFG["c"], bias=bias)
    ours.load_state_dict(tt.load_weights(path))
    return ref, ours.eval()


def _tokens(b, t, seed=0):
    return np.random.default_rng(seed).integers(0, CFG["vocab"], size=(b, t)).astype(np.int64)


# ---------------------------------------------------------------- MultiheadAttention

def _mha_pair(batch_first, kdim=None, vdim=None, bias=True):
    torch.manual_seed(1)
    ref = tnn.MultiheadAttention(16, 4, bias=bias, batch_first=batch_first, kdim=kdim, vdim=vdim)
    ours = nn.MultiheadAttention(16, 4, bias=bias, batch_first=batch_first, kdim=kdim, vdim=vdim)
    ours.load_state_dict({k: v.detach().numpy() for k, v in ref.state_dict().items()})
    return ref, ours


def _masks(kind, n, L, S):
    rng = np.random.default_rng(3)
    if kind == "causal_bool":
        return dict(attn_mask=np.triu(np.ones((L, S), bool), 1))
    if kind == "float":
        return dict(attn_mask=rng.standard_normal((L, S)).astype(np.float32))
    if kind == "padding":
        kpm = np.zeros((n, S), bool)
        kpm[0, -2:] = True
        return dict(key_padding_mask=kpm)
    if kind == "per_head":
        return dict(attn_mask=rng.standard_normal((n * 4, L, S)).astype(np.float32))
    return {}


@pytest.mark.parametrize("batch_first", [True, False])
@pytest.mark.parametrize("mask", ["none", "causal_bool", "float", "padding", "per_head"])
@pytest.mark.parametrize("need_weights", [True, False])
def test_multihead_attention_matches_torch(batch_first, mask, need_weights):
    ref, ours = _mha_pair(batch_first)
    n, L, S = 2, 5, 6 if mask not in ("causal_bool",) else 5
    rng = np.random.default_rng(0)
    shape_q, shape_k = ((n, L, 16), (n, S, 16)) if batch_first else ((L, n, 16), (S, n, 16))
    q, k, v = (rng.standard_normal(s).astype(np.float32) for s in (shape_q, shape_k, shape_k))
    masks = _masks(mask, n, L, S)
    tq, tk, tv = (torch.tensor(a, requires_grad=True) for a in (q, k, v))
    ty, tw = ref(tq, tk, tv, need_weights=need_weights, **{m: torch.tensor(a) for m, a in masks.items()})
    xq, xk, xv = (tt.tensor(a, requires_grad=True) for a in (q, k, v))
    y, w = ours(xq, xk, xv, need_weights=need_weights, **{m: tt.tensor(a) for m, a in masks.items()})
    np.testing.assert_allclose(y.numpy(), ty.detach().numpy(), rtol=1e-5, atol=1e-5)
    assert (w is None) == (tw is None)
    if w is not None:
        np.testing.assert_allclose(w.numpy(), tw.detach().numpy(), rtol=1e-5, atol=1e-6)
    g = rng.standard_normal(ty.shape).astype(np.float32)
    ty.backward(torch.tensor(g))
    (y * tt.tensor(g)).sum().backward()
    for a, b in ((xq, tq), (xk, tk), (xv, tv)):
        np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(ours.in_proj_weight.grad.numpy(), ref.in_proj_weight.grad.numpy(),
                               rtol=1e-4, atol=1e-5)


def test_multihead_attention_kdim_vdim_and_per_head_weights():
    ref, ours = _mha_pair(True, kdim=8, vdim=12, bias=False)
    assert "in_proj_weight" not in dict(ours.named_parameters())
    rng = np.random.default_rng(0)
    q, k, v = (rng.standard_normal(s).astype(np.float32) for s in ((2, 3, 16), (2, 4, 8), (2, 4, 12)))
    ty, tw = ref(*map(torch.tensor, (q, k, v)), average_attn_weights=False)
    y, w = ours(*map(tt.tensor, (q, k, v)), average_attn_weights=False)
    np.testing.assert_allclose(y.numpy(), ty.detach().numpy(), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(w.numpy(), tw.detach().numpy(), rtol=1e-5, atol=1e-6)
    assert w.shape == (2, 4, 3, 4)


def test_multihead_attention_bad_mask_names_the_shapes():
    _, ours = _mha_pair(True)
    x = tt.randn(2, 5, 16)
    with pytest.raises(ValueError, match=r"attn_mask must be \(L, S\) = \(5, 5\), got \(4, 4\)"):
        ours(x, x, x, attn_mask=tt.zeros(4, 4))
    with pytest.raises(RuntimeError, match="is_causal=True is only a hint"):
        ours(x, x, x, is_causal=True)


# ---------------------------------------------------------------- the block and the GPT

def test_block_matches_torch_values_and_grads():
    torch.manual_seed(0)
    ref = TorchBlock(16, 4, True)
    for p in ref.parameters():
        torch.nn.init.normal_(p, 0.0, 0.3)
    ours = nn.TransformerBlock(16, 4)
    ours.load_state_dict({k: v.detach().numpy() for k, v in ref.state_dict().items()})
    x = np.random.default_rng(0).standard_normal((2, 7, 16)).astype(np.float32)
    tx, xx = torch.tensor(x, requires_grad=True), tt.tensor(x, requires_grad=True)
    ty, y = ref(tx), ours(xx)
    np.testing.assert_allclose(y.numpy(), ty.detach().numpy(), rtol=1e-5, atol=1e-5)
    (ty ** 2).sum().backward()
    (y ** 2).sum().backward()
    np.testing.assert_allclose(xx.grad.numpy(), tx.grad.numpy(), rtol=1e-4, atol=1e-4)
    tgrads = {k: p.grad.numpy() for k, p in ref.named_parameters()}
    for k, p in ours.named_parameters():
        np.testing.assert_allclose(p.grad.numpy(), tgrads[k], rtol=1e-4, atol=1e-4, err_msg=k)


@pytest.mark.parametrize("ext,bias", [(".safetensors", True), (".npz", False)])
def test_gpt_loads_pytorch_weights_logits_loss_and_grads(tmp_path, ext, bias):
    ref, ours = _pair(tmp_path, bias, ext)
    idx, tgt = _tokens(3, CFG["block"]), _tokens(3, CFG["block"], seed=1)
    tgt[0, :3] = -1  # ignored, as nanoGPT
    tl, tloss = ref(torch.tensor(idx), torch.tensor(tgt))
    logits, loss = ours(tt.tensor(idx), tt.tensor(tgt))
    np.testing.assert_allclose(logits.numpy(), tl.detach().numpy(), rtol=1e-5, atol=1e-5)
    assert abs(loss.item() - tloss.item()) < 1e-5
    last, none = ours(tt.tensor(idx))
    assert none is None and last.shape == (3, 1, CFG["vocab"])
    np.testing.assert_allclose(last.numpy(), tl[:, -1:].detach().numpy(), rtol=1e-5, atol=1e-5)
    tloss.backward()
    loss.backward()
    tgrads = {k: p.grad.numpy() for k, p in ref.named_parameters()}
    for k, p in ours.named_parameters():
        np.testing.assert_allclose(p.grad.numpy(), tgrads[k], rtol=1e-3, atol=1e-5, err_msg=k)


def test_gpt_ties_head_to_embedding_and_names_like_nanogpt():
    m = nn.GPT(11, 8, 2, 2, 8)
    assert m.lm_head.weight is m.transformer.wte.weight
    names = set(m.state_dict())
    for n in ("transformer.wte.weight", "transformer.wpe.weight", "transformer.h.1.attn.c_attn.weight",
              "transformer.h.0.mlp.c_proj.bias", "transformer.ln_f.weight", "lm_head.weight"):
        assert n in names
    assert nn.GPT(11, 8, 2, 2, 8, tie_weights=False).lm_head.weight is not None
    with pytest.raises(ValueError, match="longer than block_size 8"):
        m(tt.tensor(np.zeros((1, 9), np.int64)))


def test_greedy_generation_matches_pytorch_with_and_without_cache(tmp_path):
    ref, ours = _pair(tmp_path)
    idx = _tokens(2, 4)
    want = ref.greedy(torch.tensor(idx), 20).numpy()  # runs past block_size 16: the cropped context
    cached = ours.generate(tt.tensor(idx), 20, temperature=0.0).numpy()
    plain = ours.generate(tt.tensor(idx), 20, temperature=0.0, use_cache=False).numpy()
    np.testing.assert_array_equal(plain, want)
    np.testing.assert_array_equal(cached, want)


def test_generate_sees_weights_loaded_after_a_captured_decode(tmp_path):
    ref, ours = _pair(tmp_path)
    tt.manual_seed(5)
    other = nn.GPT(CFG["vocab"], CFG["block"], CFG["n_layer"], CFG["h"], CFG["c"]).eval()
    idx = tt.tensor(_tokens(1, 3))
    other.generate(idx, 6, temperature=0.0)  # its decode step is captured, on its own weights
    other.load_state_dict(ours.state_dict())
    np.testing.assert_array_equal(other.generate(idx, 6, temperature=0.0).numpy(),
                                  ref.greedy(torch.tensor(idx.numpy()), 6).numpy())


def test_decode_compiles_once_for_any_number_of_tokens():
    tt.manual_seed(0)
    m = nn.GPT(CFG["vocab"], 64, 2, 2, 16).eval()
    idx = tt.tensor(_tokens(1, 3))
    m.generate(idx, 2, temperature=0.0)  # the prefill for 3 tokens and the decode step
    before = tt.stats()["compiles"]
    m.generate(idx, 5, temperature=0.0)
    five = tt.stats()["compiles"] - before
    m.generate(idx, 50, temperature=0.0)
    fifty = tt.stats()["compiles"] - before - five
    assert five == fifty == 0
    step = m._decoder.steps[("decode", 1, 0.0, None, None)]
    assert step.why_not_captured() == [] and step.replays > 40  # replayed: no graph rebuilt per token


def test_sampling_is_seeded_data_and_recompiles_never():
    tt.manual_seed(0)
    m = nn.GPT(CFG["vocab"], 32, 1, 2, 16).eval()
    idx = tt.tensor(_tokens(2, 3))
    a = m.generate(idx, 12, temperature=0.8, top_k=5, generator=tt.Generator().manual_seed(7)).numpy()
    before = tt.stats()["compiles"]
    b = m.generate(idx, 12, temperature=0.8, top_k=5, generator=tt.Generator().manual_seed(7)).numpy()
    c = m.generate(idx, 12, temperature=0.8, top_k=5, generator=tt.Generator().manual_seed(8)).numpy()
    assert tt.stats()["compiles"] == before
    np.testing.assert_array_equal(a, b)
    assert (a != c).any()
    greedy = m.generate(idx, 12, temperature=0.0).numpy()
    np.testing.assert_array_equal(m.generate(idx, 12, top_k=1).numpy(), greedy)
    np.testing.assert_array_equal(m.generate(idx, 12, top_p=1e-6).numpy(), greedy)


def _frequencies(logits, n, **how):
    rows = tt.tensor(np.tile(logits, (n, 1)))
    drawn = sample(rows, seed=tt.tensor(np.array(5, np.int64)), **how).numpy().ravel()
    return np.bincount(drawn, minlength=len(logits)) / n


def test_sampling_draws_softmax_of_the_masked_logits():
    logits = np.array([2.0, 1.0, 0.5, 0.0, -1.0, -3.0], np.float32)
    n = 40000

    def softmax(z):
        e = np.exp(z - z.max())
        return e / e.sum()

    tol = 4 * np.sqrt(0.25 / n)  # four standard deviations of a frequency, at worst
    np.testing.assert_allclose(_frequencies(logits, n, temperature=0.7), softmax(logits / 0.7), atol=tol)
    top3 = softmax(np.where(np.arange(6) < 3, logits, -np.inf))
    np.testing.assert_allclose(_frequencies(logits, n, top_k=3), top3, atol=tol)
    p = softmax(logits)  # top_p=0.8 keeps the fewest leading tokens whose probability reaches 0.8
    keep = np.arange(6) <= np.searchsorted(np.cumsum(p), 0.8)
    np.testing.assert_allclose(_frequencies(logits, n, top_p=0.8), softmax(np.where(keep, logits, -np.inf)),
                               atol=tol)


# ---------------------------------------------------------------- weight files

@pytest.mark.parametrize("ext", [".safetensors", ".npz"])
def test_weights_round_trip(tmp_path, ext):
    tt.manual_seed(0)
    a, b = nn.GPT(13, 8, 1, 2, 8), nn.GPT(13, 8, 1, 2, 8)
    path = tmp_path / f"w{ext}"
    tt.save_weights(a.state_dict(), path)
    assert sorted(os.listdir(tmp_path)) == [f"w{ext}"]  # no temp file left
    b.load_state_dict(tt.load_weights(path))
    for (k, p), (_, q) in zip(a.state_dict().items(), b.state_dict().items()):
        np.testing.assert_array_equal(p.numpy(), q.numpy(), err_msg=k)
    with pytest.raises(ValueError, match="neither extension"):
        tt.save_weights(a.state_dict(), tmp_path / "w.bin")


# ---------------------------------------------------------------- training on the real text

def test_a_few_steps_on_tiny_shakespeare_lower_the_loss():
    from tinytorch.text import TextDataset
    ds = TextDataset(data_dir() / "tinyshakespeare.txt", block_size=32)
    tt.manual_seed(0)
    m = nn.GPT(ds.vocab_size, 32, 1, 2, 32)
    opt = optim.AdamW(m.parameters(), lr=3e-3)

    step = m.train_step(opt, grad_clip=1.0)
    losses = [step(*ds.get_batch("train", 16, seed=i)).item() for i in range(30)]
    assert losses[0] > math.log(ds.vocab_size) - 0.5  # starts near uniform
    assert np.mean(losses[-5:]) < losses[0] - 0.5
    assert step.why_not_captured() == [] and step.replays > 20  # the causal mask is no new buffer per call
