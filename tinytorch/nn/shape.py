"""Modules that only move elements: Unflatten, PixelShuffle / PixelUnshuffle and ZeroPad2d, with the
functional pixel_shuffle and pixel_unshuffle. Each is a reshape/permute/pad of the input, so it costs no
kernel of its own where the compiler can fold the movement into its reader."""
from __future__ import annotations

from ..movement import pad
from ..tensor import Tensor
from .module import Module


def _factor(op: str, name: str, r) -> int:
    if isinstance(r, bool) or not isinstance(r, int) or r < 1:
        raise ValueError(f"{op}: {name} must be an int >= 1, got {r!r}")
    return r


def pixel_shuffle(input: Tensor, upscale_factor: int) -> Tensor:
    """(*, C * r * r, H, W) -> (*, C, H * r, W * r)."""
    r = _factor("pixel_shuffle", "upscale_factor", upscale_factor)
    if input.ndim < 3 or input.shape[-3] % (r * r):
        raise ValueError(f"pixel_shuffle: expected an input (*, C * {r * r}, H, W) whose channels (dim -3) "
                         f"divide by upscale_factor**2 = {r * r}, got {input.shape}")
    *lead, c, h, w = input.shape
    lead, oc = tuple(lead), c // (r * r)
    k = len(lead)
    x = input.reshape(lead + (oc, r, r, h, w))
    x = x.permute(*range(k), k, k + 3, k + 1, k + 4, k + 2)
    return x.reshape(lead + (oc, h * r, w * r))


def pixel_unshuffle(input: Tensor, downscale_factor: int) -> Tensor:
    """(*, C, H * r, W * r) -> (*, C * r * r, H, W), the inverse of pixel_shuffle."""
    r = _factor("pixel_unshuffle", "downscale_factor", downscale_factor)
    if input.ndim < 3 or input.shape[-1] % r or input.shape[-2] % r:
        raise ValueError(f"pixel_unshuffle: expected an input (*, C, H, W) whose H and W divide by "
                         f"downscale_factor = {r}, got {input.shape}")
    *lead, c, h, w = input.shape
    lead = tuple(lead)
    k = len(lead)
    x = input.reshape(lead + (c, h // r, r, w // r, r))
    x = x.permute(*range(k), k, k + 2, k + 4, k + 1, k + 3)
    return x.reshape(lead + (c * r * r, h // r, w // r))


class PixelShuffle(Module):
    def __init__(self, upscale_factor: int):
        super().__init__()
        self.upscale_factor = _factor("PixelShuffle", "upscale_factor", upscale_factor)

    def forward(self, input):
        return pixel_shuffle(input, self.upscale_factor)

    def extra_repr(self):
        return f"upscale_factor={self.upscale_factor}"


class PixelUnshuffle(Module):
    def __init__(self, downscale_factor: int):
        super().__init__()
        self.downscale_factor = _factor("PixelUnshuffle", "downscale_factor", downscale_factor)

    def forward(self, input):
        return pixel_unshuffle(input, self.downscale_factor)

    def extra_repr(self):
        return f"downscale_factor={self.downscale_factor}"


class Unflatten(Module):
    """Expand dim `dim` into `unflattened_size` (one entry may be -1)."""

    def __init__(self, dim: int, unflattened_size):
        super().__init__()
        if not isinstance(unflattened_size, (tuple, list)):
            raise TypeError(f"Unflatten: unflattened_size must be a tuple or list of ints, got "
                            f"{type(unflattened_size).__name__}")
        self.dim, self.unflattened_size = dim, tuple(unflattened_size)

    def forward(self, input):
        return input.unflatten(self.dim, self.unflattened_size)

    def extra_repr(self):
        return f"dim={self.dim}, unflattened_size={self.unflattened_size}"


class ZeroPad2d(Module):
    """Pad the last two dims with zeros: an int for all four sides, or (left, right, top, bottom)."""

    def __init__(self, padding):
        super().__init__()
        sides = (padding,) * 4 if isinstance(padding, int) else tuple(padding)
        if len(sides) != 4 or not all(isinstance(s, int) for s in sides):
            raise ValueError(f"ZeroPad2d: padding must be an int or 4 ints (left, right, top, bottom), got "
                             f"{padding!r}")
        self.padding = sides

    def forward(self, input):
        if input.ndim < 2:
            raise ValueError(f"ZeroPad2d: expected an input with at least 2 dims (H, W), got {input.shape}")
        return pad(input, self.padding, 0.0)

    def extra_repr(self):
        return f"{self.padding}"
