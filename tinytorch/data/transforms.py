"""Batch transforms in NumPy: each takes a whole batch array and returns one.

Images are (N, C, H, W) after `ToTensor` (as torchvision's CHW); `Normalize`
works per channel on axis 1, the random ones on the last two axes. Random
transforms own a seeded NumPy Generator, so a run is reproducible.
"""
from __future__ import annotations

import numpy as np


class Compose:
    def __init__(self, transforms):
        self.transforms = list(transforms)

    def __call__(self, x):
        for t in self.transforms:
            x = t(x)
        return x

    def __repr__(self):
        return "Compose(" + ", ".join(map(repr, self.transforms)) + ")"


class ToTensor:
    """uint8 images (N, H, W, C) or (N, H, W) -> float32 (N, C, H, W) in [0, 1] (the name torchvision uses)."""

    def __call__(self, x):
        x = np.asarray(x)
        scale = 255.0 if x.dtype == np.uint8 else 1.0
        if x.ndim == 3:
            x = x[:, None]
        elif x.ndim == 4:
            x = x.transpose(0, 3, 1, 2)
        else:
            raise ValueError(f"ToTensor: expected images (N, H, W) or (N, H, W, C), got shape {x.shape}")
        return np.ascontiguousarray(x, dtype=np.float32) / np.float32(scale)

    def __repr__(self):
        return "ToTensor()"


class Scale:
    """Multiply by a constant (e.g. 1/16 for the 0..16 digits pixels), as float32."""

    def __init__(self, factor: float):
        self.factor = float(factor)

    def __call__(self, x):
        return np.asarray(x, dtype=np.float32) * np.float32(self.factor)

    def __repr__(self):
        return f"Scale({self.factor})"


class Normalize:
    """(x - mean) / std, per channel (axis 1) for a list of values, everywhere for one value."""

    def __init__(self, mean, std):
        self.mean = np.asarray(mean, dtype=np.float32)
        self.std = np.asarray(std, dtype=np.float32)
        if np.any(self.std == 0):
            raise ValueError(f"Normalize: std must be nonzero, got {self.std.tolist()}")

    def __call__(self, x):
        x = np.asarray(x, dtype=np.float32)
        mean, std = self.mean, self.std
        if mean.ndim == 1 and x.ndim >= 2:
            if x.shape[1] != mean.shape[0]:
                raise ValueError(f"Normalize: {mean.shape[0]} channel means for a batch with {x.shape[1]} "
                                 f"channels on axis 1 (shape {x.shape}); apply ToTensor first for HWC images")
            shape = (1, -1) + (1,) * (x.ndim - 2)
            mean, std = mean.reshape(shape), std.reshape(shape)
        return (x - mean) / std

    def __repr__(self):
        return f"Normalize(mean={self.mean.tolist()}, std={self.std.tolist()})"


class Flatten:
    """(N, ...) -> (N, prod(...)): what an MLP takes."""

    def __call__(self, x):
        x = np.asarray(x)
        return x.reshape(len(x), -1)

    def __repr__(self):
        return "Flatten()"


class RandomHorizontalFlip:
    """Mirror each image along the last axis with probability p."""

    def __init__(self, p: float = 0.5, seed: int = 0, generator=None):
        self.p = p
        self.rng = generator if generator is not None else np.random.default_rng(seed)

    def __call__(self, x):
        x = np.array(x, copy=True)
        flip = self.rng.random(len(x)) < self.p
        x[flip] = x[flip][..., ::-1]
        return x

    def __repr__(self):
        return f"RandomHorizontalFlip(p={self.p})"


class RandomCrop:
    """Pad the last two axes by `padding` (zeros) and cut a random size x size window from each image."""

    def __init__(self, size, padding: int = 0, fill=0, seed: int = 0, generator=None):
        self.size = (size, size) if isinstance(size, int) else tuple(size)
        self.padding = int(padding)
        self.fill = fill
        self.rng = generator if generator is not None else np.random.default_rng(seed)

    def __call__(self, x):
        x = np.asarray(x)
        p = self.padding
        if p:
            pad = [(0, 0)] * (x.ndim - 2) + [(p, p), (p, p)]
            x = np.pad(x, pad, constant_values=self.fill)
        (h, w), (ch, cw) = x.shape[-2:], self.size
        if ch > h or cw > w:
            raise ValueError(f"RandomCrop: crop {self.size} is larger than the padded image {(h, w)}")
        # BEGIN EXERCISE m08.random_crop
        # STUB: return np.ascontiguousarray(x[..., :ch, :cw])  # the same (top-left) window for every image
        n = len(x)
        dy = self.rng.integers(0, h - ch + 1, n)
        dx = self.rng.integers(0, w - cw + 1, n)
        windows = np.lib.stride_tricks.sliding_window_view(x, (ch, cw), axis=(-2, -1))
        lead = (slice(None),) * (x.ndim - 3)
        # windows is (N, ..., h-ch+1, w-cw+1, ch, cw); the sample index and the offsets are advanced indices
        # split by slices, so NumPy puts their broadcast axis (N) first: (N, ..., ch, cw)
        return np.ascontiguousarray(windows[(np.arange(n),) + lead + (dy, dx)])
        # END EXERCISE m08.random_crop

    def __repr__(self):
        return f"RandomCrop(size={self.size}, padding={self.padding})"
