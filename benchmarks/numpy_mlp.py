"""A hand-written NumPy training step for the 784-256-256-10 MLP (cross-entropy, Adam): the baseline a
NumPy user would write, for the benchmark's `numpy` column. Weights are copied from the TinyTorch model
(torch layout: W (out, in)); the Adam update follows torch.optim.Adam's order of operations.
"""
from __future__ import annotations

import numpy as np


class NumpyMLP:
    def __init__(self, model, x, y, lr=1e-3, betas=(0.9, 0.999), eps=1e-8):
        self.params = [np.array(p.numpy(), dtype=np.float32) for p in model.parameters()]  # W1 b1 W2 b2 W3 b3
        self.m = [np.zeros_like(p) for p in self.params]
        self.v = [np.zeros_like(p) for p in self.params]
        self.t = 0
        self.x, self.y = x, y
        self.onehot = np.eye(10, dtype=np.float32)[y]
        self.lr, (self.b1, self.b2), self.eps = lr, betas, eps

    def step(self):
        w1, b1, w2, b2, w3, b3 = self.params
        x, n = self.x, self.x.shape[0]
        a1 = x @ w1.T + b1
        h1 = np.maximum(a1, 0)
        a2 = h1 @ w2.T + b2
        h2 = np.maximum(a2, 0)
        z = h2 @ w3.T + b3
        z = z - z.max(1, keepdims=True)
        e = np.exp(z)
        s = e.sum(1, keepdims=True)
        loss = float(np.mean(np.log(s[:, 0]) - z[np.arange(n), self.y]))
        dz = (e / s - self.onehot) / n
        dh2 = dz @ w3
        da2 = dh2 * (a2 > 0)
        dh1 = da2 @ w2
        da1 = dh1 * (a1 > 0)
        grads = [da1.T @ x, da1.sum(0), da2.T @ h1, da2.sum(0), dz.T @ h2, dz.sum(0)]
        self.t += 1
        step_size = self.lr / (1 - self.b1 ** self.t)
        bias2_sqrt = np.float32(np.sqrt(1 - self.b2 ** self.t))
        for p, g, m, v in zip(self.params, grads, self.m, self.v):
            m += (g - m) * np.float32(1 - self.b1)
            v *= np.float32(self.b2)
            v += g * g * np.float32(1 - self.b2)
            p -= np.float32(step_size) * m / (np.sqrt(v) / bias2_sqrt + np.float32(self.eps))
        return [np.float32(loss), self.params[-1]]
