"""Loss functions with PyTorch's semantics (reduction, ignore_index, class weights, label smoothing).

How many targets count toward a mean (ignored ones do not) is computed in the
graph, as data, so a batch with a different number of ignored targets reuses
the same compiled Program.
"""
from __future__ import annotations

import numpy as np

from .. import compiler as C
from .. import dtypes
from ..elementwise import as_tensor, maximum, where
from ..tensor import Tensor
from ..amp.autocast import autocast_op

_REDUCTIONS = ("mean", "sum", "none")


def check_class_indices(index: Tensor, num_classes: int, op: str, ignore_index=None) -> None:
    """Raise IndexError (as PyTorch) for a class index outside [0, num_classes), except `ignore_index`.

    Only indices already held as data (a realized tensor, e.g. a batch of labels) are checked: reading
    them costs nothing. Lazy indices are not realized here (that would split the user's graph into two
    Programs); an index past the end then fails in the gather at realize, and a negative one is not caught."""
    if not C.is_computed(index.node) or index.numel() == 0:
        return
    vals = index.numpy()
    if ignore_index is not None:
        vals = vals[vals != ignore_index]
    bad = vals[(vals < 0) | (vals >= num_classes)]
    if bad.size:
        raise IndexError(f"{op}: class index {int(bad.flat[0])} is out of range for {num_classes} classes "
                         f"(indices {index.shape}: {int(np.count_nonzero((vals < 0) | (vals >= num_classes)))} "
                         f"bad); class indices must be in [0, {num_classes})")


def _reduce(loss: Tensor, reduction: str, op: str) -> Tensor:
    if reduction == "mean":
        return loss.mean()
    if reduction == "sum":
        return loss.sum()
    if reduction == "none":
        return loss
    raise ValueError(f"{op}: reduction must be one of {_REDUCTIONS}, got {reduction!r}")


def _check_reduction(reduction, op):
    if reduction not in _REDUCTIONS:
        raise ValueError(f"{op}: reduction must be one of {_REDUCTIONS}, got {reduction!r}")


def _class_last(input: Tensor, target: Tensor, op: str):
    """(N, C, d...) -> (N, d..., C) and target (N, d...); (C,) with a 0-d target is one sample."""
    if input.ndim == 1:
        input, target = input.unsqueeze(0), target.reshape(1)
    if input.ndim < 2:
        raise ValueError(f"{op}: expects input (N, C) or (N, C, d1, ...), got {input.shape}")
    want = (input.shape[0],) + input.shape[2:]
    if target.shape != want:
        raise ValueError(f"{op}: target {target.shape} does not match input {input.shape}: class-index targets "
                         f"need shape {want} (input without its class dim 1)")
    return input.movedim(1, -1) if input.ndim > 2 else input, target


@autocast_op("nll_loss")
def nll_loss(input: Tensor, target: Tensor, weight: Tensor | None = None, ignore_index: int = -100,
             reduction: str = "mean") -> Tensor:
    """-input[n, target[n]] (input holds log-probabilities), weighted; a mean divides by the weights summed."""
    _check_reduction(reduction, "nll_loss")
    target = as_tensor(target)
    if target.dtype.kind not in "iu":
        raise TypeError(f"nll_loss: target must hold class indices (int64), got {target.dtype.name}; use .long()")
    squeeze = input.ndim == 1
    logp, target = _class_last(input, target, "nll_loss")
    check_class_indices(target, logp.shape[-1], "nll_loss", ignore_index)
    target = target.to(dtypes.int64)
    valid = target != ignore_index
    safe = where(valid, target, 0)
    picked = logp.gather(-1, safe.unsqueeze(-1)).squeeze(-1)
    w = weight.index_select(0, safe) if weight is not None else valid.to(logp.dtype)
    w = where(valid, w, 0.0) if weight is not None else w
    losses = -picked * w
    if reduction == "none":
        return losses.reshape(()) if squeeze else losses
    if reduction == "sum":
        return losses.sum()
    return losses.sum() / w.sum()


@autocast_op("cross_entropy")
def cross_entropy(input: Tensor, target: Tensor, weight: Tensor | None = None, ignore_index: int = -100,
                  reduction: str = "mean", label_smoothing: float = 0.0) -> Tensor:
    """log_softmax over dim 1 then nll_loss; target may also be class probabilities (same shape as input)."""
    _check_reduction(reduction, "cross_entropy")
    if not 0.0 <= label_smoothing <= 1.0:
        raise ValueError(f"cross_entropy: label_smoothing must be in [0, 1], got {label_smoothing}")
    target = as_tensor(target)
    class_dim = 0 if input.ndim == 1 else 1
    n_classes = input.shape[class_dim]
    # BEGIN EXERCISE m05.cross_entropy
    logp = input.log_softmax(class_dim)
    wshape = tuple(n_classes if d == class_dim else 1 for d in range(input.ndim))
    if target.dtype.kind == "f":
        if target.shape != input.shape:
            raise ValueError(f"cross_entropy: probability targets must have the input's shape {input.shape}, "
                             f"got {target.shape}")
        if label_smoothing:
            target = target * (1 - label_smoothing) + label_smoothing / n_classes
        terms = logp * target if weight is None else logp * target * weight.reshape(wshape)
        losses = -terms.sum(class_dim)
        return _reduce(losses, reduction, "cross_entropy")
    check_class_indices(target, n_classes, "cross_entropy", ignore_index)
    nll = nll_loss(logp, target, weight, ignore_index, reduction)
    if not label_smoothing:
        return nll
    t = target.to(dtypes.int64)
    valid = t != ignore_index
    smooth = -(logp if weight is None else logp * weight.reshape(wshape)).sum(class_dim)
    smooth = where(valid, smooth, 0.0)
    if reduction == "sum":
        smooth = smooth.sum()
    elif reduction == "mean":
        if weight is None:
            smooth = smooth.sum() / valid.to(input.dtype).sum()
        else:
            smooth = smooth.sum() / where(valid, weight.index_select(0, where(valid, t, 0)), 0.0).sum()
    return nll * (1 - label_smoothing) + smooth * (label_smoothing / n_classes)
    # END EXERCISE m05.cross_entropy


@autocast_op("mse_loss")
def mse_loss(input: Tensor, target: Tensor, reduction: str = "mean") -> Tensor:
    _same_shape(input, target, "mse_loss")
    d = input - target
    return _reduce(d * d, reduction, "mse_loss")


@autocast_op("l1_loss")
def l1_loss(input: Tensor, target: Tensor, reduction: str = "mean") -> Tensor:
    _same_shape(input, target, "l1_loss")
    return _reduce((input - target).abs(), reduction, "l1_loss")


@autocast_op("binary_cross_entropy")
def binary_cross_entropy(input: Tensor, target: Tensor, weight: Tensor | None = None,
                         reduction: str = "mean") -> Tensor:
    """On probabilities; each log is clamped at -100 as in PyTorch so 0 and 1 give finite losses."""
    _same_shape(input, target, "binary_cross_entropy")
    target = as_tensor(target).to(input.dtype)
    loss = -(target * input.log().clamp(min=-100) + (1 - target) * (1 - input).log().clamp(min=-100))
    if weight is not None:
        loss = loss * weight
    return _reduce(loss, reduction, "binary_cross_entropy")


@autocast_op("binary_cross_entropy_with_logits")
def binary_cross_entropy_with_logits(input: Tensor, target: Tensor, weight: Tensor | None = None,
                                     reduction: str = "mean", pos_weight: Tensor | None = None) -> Tensor:
    """Numerically stable BCE on logits: max(-x, 0) + log(1 + exp(-|x|)) is log(1 + exp(-x))."""
    _same_shape(input, target, "binary_cross_entropy_with_logits")
    target = as_tensor(target).to(input.dtype)
    # BEGIN EXERCISE m05.bce_logits
    # STUB: log_sig_neg = ((-input).exp() + 1).log()  # -log(sigmoid(x)), naively: exp(-x) overflows past x < -88
    # STUB: loss = (1 - target) * input + log_sig_neg  # and pos_weight ignored
    # -log(sigmoid(x)); maximum splits a tie at x == 0 in half, so the gradient there is sigmoid(0) - t, as torch
    log_sig_neg = maximum(-input, 0) + ((-input.abs()).exp() + 1).log()
    if pos_weight is None:
        loss = (1 - target) * input + log_sig_neg
    else:
        loss = (1 - target) * input + (1 + (pos_weight - 1) * target) * log_sig_neg
    # END EXERCISE m05.bce_logits
    if weight is not None:
        loss = loss * weight
    return _reduce(loss, reduction, "binary_cross_entropy_with_logits")


def _same_shape(input, target, op):
    if tuple(as_tensor(target).shape) != tuple(input.shape):
        raise ValueError(f"{op}: input {input.shape} and target {as_tensor(target).shape} must have one shape")
