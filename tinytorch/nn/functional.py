"""nn.functional: the stateless forms of the layers, composed from tensor ops.

Everything here is built from primitives, so autograd and every compiler pass
handle it with no special cases. Values that change from call to call (the
dropout mask's seed) are data, never constants baked into the graph.
Convolution, pooling, padding, resizing and im2col live in their own files (`convolution.py`,
`conv1d.py`, `conv3d.py`, `conv_transpose.py`, `pooling.py`, `pool3d.py`, `padding.py`, `resize.py`,
`im2col.py`), losses in `losses.py`; all are re-exported here so `F.conv2d` and `F.cross_entropy` work.
"""
from __future__ import annotations

import math

from .. import dtypes
from ..creation import arange
from ..elementwise import as_tensor, where
from ..elementwise import gelu as _gelu, relu as _relu, sigmoid, tanh, silu, leaky_relu  # noqa: F401
from ..reduce import log_softmax as _log_softmax, softmax as _softmax, logsumexp  # noqa: F401
from ..tensor import Tensor
from .convolution import conv2d, unfold_patches  # noqa: F401
from .conv1d import conv1d  # noqa: F401
from .conv3d import conv3d  # noqa: F401
from .conv_transpose import conv_transpose2d  # noqa: F401
from .im2col import unfold, fold  # noqa: F401
from .padding import pad  # noqa: F401
from .pooling import (max_pool2d, avg_pool2d, max_unpool2d, adaptive_avg_pool2d,  # noqa: F401
                      adaptive_max_pool2d)
from .pool3d import avg_pool3d  # noqa: F401
from .resize import interpolate  # noqa: F401
from .losses import check_class_indices
from .losses import (cross_entropy, nll_loss, mse_loss, l1_loss, binary_cross_entropy,  # noqa: F401
                     binary_cross_entropy_with_logits)
from .activations import (softplus, logsigmoid, hardtanh, relu6, hardsigmoid, hardswish, elu, celu, selu,  # noqa
                          mish, softsign, softmin, glu, prelu, normalize)
from .group_norm import group_norm, instance_norm  # noqa: F401
from .shape import pixel_shuffle, pixel_unshuffle  # noqa: F401
from .channel_dropout import dropout2d  # noqa: F401
from .attention import scaled_dot_product_attention  # noqa: F401
from .dropout import dropout  # noqa: F401
from ..amp.autocast import autocast_op


def relu(input: Tensor, inplace: bool = False) -> Tensor:
    return _relu(input)


def gelu(input: Tensor, approximate: str = "none") -> Tensor:
    return _gelu(input, approximate)


def softmax(input: Tensor, dim: int = -1, dtype=None) -> Tensor:
    return _softmax(input, dim, dtype)


def log_softmax(input: Tensor, dim: int = -1, dtype=None) -> Tensor:
    return _log_softmax(input, dim, dtype)


@autocast_op("linear")
def linear(input: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """input @ weight.T + bias, with weight of shape (out_features, in_features)."""
    # BEGIN EXERCISE m04.linear
    if input.shape[-1:] != weight.shape[-1:]:
        raise ValueError(f"linear: input {input.shape} has {input.shape[-1] if input.ndim else 0} features but "
                         f"the weight {weight.shape} expects {weight.shape[-1]} (in_features); reshape the input "
                         f"or fix the layer's in_features")
    out = input @ weight.T
    return out + bias if bias is not None else out
    # END EXERCISE m04.linear


def embedding(input: Tensor, weight: Tensor, padding_idx: int | None = None) -> Tensor:
    """Rows of weight picked by an integer tensor: shape input.shape + (embedding_dim,)."""
    input = as_tensor(input)
    if input.dtype.kind not in "iu":
        raise TypeError(f"embedding: indices must be an integer tensor, got {input.dtype.name}; use .long()")
    out = weight.index_select(0, input)
    if padding_idx is not None:
        pad = padding_idx % weight.shape[0]
        out = where((input == pad).unsqueeze(-1), out.detach(), out)  # no gradient into the padding row
    return out


def one_hot(tensor: Tensor, num_classes: int = -1) -> Tensor:
    """int64 one-hot rows; num_classes=-1 reads max+1 from the data (this realizes the indices).

    An index outside [0, num_classes) would give a row of zeros; it raises IndexError instead when the
    indices are data (realized), as PyTorch does (see `check_class_indices`)."""
    tensor = as_tensor(tensor)
    if tensor.dtype.kind not in "iu":
        raise TypeError(f"one_hot: expects an integer tensor of class indices, got {tensor.dtype.name}")
    if isinstance(num_classes, bool) or not isinstance(num_classes, int) or num_classes < -1:
        raise ValueError(f"one_hot: num_classes must be a positive int, or -1 to read it from the data, got "
                         f"{num_classes!r}")
    if num_classes == -1:
        num_classes = int(tensor.numpy().max()) + 1 if tensor.numel() else 0
    check_class_indices(tensor, num_classes, "one_hot")
    classes = arange(num_classes).reshape((1,) * tensor.ndim + (num_classes,))
    return (tensor.unsqueeze(-1) == classes).to(dtypes.int64)


def _norm_dims(input, normalized_shape, op):
    shape = (normalized_shape,) if isinstance(normalized_shape, int) else tuple(normalized_shape)
    if input.shape[input.ndim - len(shape):] != shape:
        raise ValueError(f"{op}: normalized_shape {shape} does not match the last dims of the input {input.shape}")
    return tuple(range(input.ndim - len(shape), input.ndim))


@autocast_op("layer_norm")
def layer_norm(input: Tensor, normalized_shape, weight=None, bias=None, eps: float = 1e-5) -> Tensor:
    dims = _norm_dims(input, normalized_shape, "layer_norm")
    # BEGIN EXERCISE m04.layer_norm
    mean = input.mean(dims, keepdim=True)
    centered = input - mean
    var = (centered * centered).mean(dims, keepdim=True)
    out = centered * (var + eps).rsqrt()
    if weight is not None:
        out = out * weight
    if bias is not None:
        out = out + bias
    return out
    # END EXERCISE m04.layer_norm


@autocast_op("batch_norm")
def batch_norm(input: Tensor, running_mean, running_var, weight=None, bias=None, training: bool = False,
               momentum: float | Tensor | None = 0.1, eps: float = 1e-5) -> Tensor:
    """Normalize over every dim but 1 (channels). Training updates running stats with `assign`.

    `momentum` may be a float or a scalar tensor (data, e.g. BatchNorm's cumulative 1/num_batches).
    Training is two passes over the input, and its gradient two more: the statistics are the sums of d and
    d*d for d = x - shift (two reductions of one elementwise input), then y = d * scale + (b - mean_d * scale)
    is one elementwise pass with per-channel scale and offset, so the backward needs only sum(dy) and
    sum(dy * d) (the offset's and the scale's gradients) and one elementwise pass for dx. The shift is the
    first sample of each channel, detached (the result does not depend on it, and neither does the exact
    gradient): it keeps d near zero mean, so var = E[d^2] - E[d]^2 does not cancel catastrophically in float32
    for inputs whose mean dwarfs their spread, as it would for d = x.
    """
    if input.ndim < 2:
        raise ValueError(f"batch_norm: expects (N, C, ...) input, got {input.shape}")
    c = input.shape[1]
    dims = (0,) + tuple(range(2, input.ndim))
    shape = (1, c) + (1,) * (input.ndim - 2)
    if training:
        count = math.prod(input.shape[d] for d in dims)
        if count <= 1:
            raise ValueError(f"batch_norm: expected more than 1 value per channel when training, got input "
                             f"{input.shape}; use a bigger batch or call .eval()")
        shift = input.detach()[(slice(0, 1), slice(None)) + (slice(0, 1),) * (input.ndim - 2)]
        d = input - shift
        mean_d = d.sum(dims, keepdim=True) * (1.0 / count)
        var = _relu((d * d).sum(dims, keepdim=True) * (1.0 / count) - mean_d * mean_d)
        if running_mean is not None:
            m = momentum
            bm = (mean_d + shift).detach().reshape(c)
            bv = var.detach().reshape(c) * (count / (count - 1))
            running_mean.assign(running_mean * (1 - m) + bm * m if not isinstance(m, Tensor)
                                else running_mean + (bm - running_mean) * m)
            running_var.assign(running_var * (1 - m) + bv * m if not isinstance(m, Tensor)
                               else running_var + (bv - running_var) * m)
    else:
        if running_mean is None:
            raise ValueError("batch_norm: eval mode needs running_mean and running_var (track_running_stats=True)")
        d, mean_d, var = input - running_mean.reshape(shape), None, running_var.reshape(shape)
    scale = (var + eps).rsqrt()
    if weight is not None:
        scale = scale * weight.reshape(shape)
    offset = -(mean_d * scale) if mean_d is not None else None
    if bias is not None:
        offset = bias.reshape(shape) if offset is None else offset + bias.reshape(shape)
    return d * scale + offset if offset is not None else d * scale


def flatten(input: Tensor, start_dim: int = 0, end_dim: int = -1) -> Tensor:
    return input.flatten(start_dim, end_dim)

