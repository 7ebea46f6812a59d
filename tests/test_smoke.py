import numpy as np

import tinytorch as tt


def test_lazy_builds_nothing_until_realize():
    a = tt.tensor([[1.0, 2.0], [3.0, 4.0]])
    b = (a * 2 + 1).exp().sum(1)
    assert not b.is_realized
    np.testing.assert_allclose(b.numpy(), np.exp(a.numpy() * 2 + 1).sum(1), rtol=1e-6)
    assert b.is_realized


def test_cache_hit_on_same_structure():
    tt.reset_stats()
    for _ in range(3):
        x = tt.tensor(np.random.rand(4, 5).astype(np.float32))
        (x.relu() @ x.T).realize()
    s = tt.stats()
    assert s["compiles"] == 1 and s["cache_hits"] == 2 and s["realizes"] == 3
