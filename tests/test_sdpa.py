"""tril/triu and F.scaled_dot_product_attention against PyTorch: values and gradients, masks of each kind."""
import numpy as np
import pytest
import torch

import tinytorch as tt
import tinytorch.nn.functional as F


@pytest.mark.parametrize("k", [-2, 0, 1, 6])
@pytest.mark.parametrize("name", ["tril", "triu"])
def test_tril_triu_match_torch(name, k):
    x = np.random.default_rng(1).standard_normal((2, 4, 5))
    xt = tt.tensor(x, requires_grad=True)
    y = getattr(xt, name)(k)
    (y * tt.tensor(x)).sum().backward()
    ref = torch.tensor(x, requires_grad=True)
    r = getattr(torch, name)(ref, k)
    (r * torch.tensor(x)).sum().backward()
    np.testing.assert_array_equal(y.numpy(), r.detach().numpy())
    np.testing.assert_array_equal(xt.grad.numpy(), ref.grad.numpy())


def test_tril_needs_two_dims():
    with pytest.raises(ValueError, match="tril: needs a tensor of at least 2 dims"):
        tt.tril(tt.ones(3))


def _masks(L, S):
    rng = np.random.default_rng(2)
    keep = rng.random((L, S)) > 0.3
    keep[:, 0] = True  # no row fully masked
    return {"none": None, "bool": keep, "float": rng.standard_normal((1, L, S)), "causal": "causal"}


@pytest.mark.parametrize("mask", ["none", "bool", "float", "causal"])
@pytest.mark.parametrize("L,S", [(5, 5), (3, 7)])
def test_sdpa_matches_torch(mask, L, S):
    rng = np.random.default_rng(3)
    q, k, v = rng.standard_normal((2, 3, L, 4)), rng.standard_normal((2, 3, S, 4)), rng.standard_normal((2, 3, S, 6))
    m = _masks(L, S)[mask]
    causal = isinstance(m, str)
    kw = dict(attn_mask=None if causal or m is None else m, is_causal=causal, scale=0.7 if mask == "float" else None)
    ours = [tt.tensor(a, requires_grad=True) for a in (q, k, v)]
    ref = [torch.tensor(a, requires_grad=True) for a in (q, k, v)]
    y = F.scaled_dot_product_attention(*ours, **{**kw, "attn_mask": None if kw["attn_mask"] is None
                                                 else tt.tensor(kw["attn_mask"])})
    r = torch.nn.functional.scaled_dot_product_attention(*ref, **{**kw, "attn_mask": None if kw["attn_mask"] is None
                                                                  else torch.tensor(kw["attn_mask"])})
    w = rng.standard_normal(r.shape)
    (y * tt.tensor(w)).sum().backward()
    (r * torch.tensor(w)).sum().backward()
    np.testing.assert_allclose(y.numpy(), r.detach().numpy(), rtol=1e-10, atol=1e-10)
    for a, b in zip(ours, ref):
        np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), rtol=1e-9, atol=1e-10)


def test_sdpa_errors_name_the_shapes():
    q = tt.ones(2, 5, 4)
    with pytest.raises(ValueError, match="share the last dim"):
        F.scaled_dot_product_attention(q, tt.ones(2, 5, 3), tt.ones(2, 5, 3))
    with pytest.raises(ValueError, match="not both"):
        F.scaled_dot_product_attention(q, q, q, attn_mask=tt.ones(5, 5, dtype=tt.bool), is_causal=True)
