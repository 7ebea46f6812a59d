"""TinyTorch: a small, complete deep-learning framework whose core is a graph compiler.

Tensors are lazy: every operation records a node; `.realize()` compiles the
graph and runs it. `Tensor` is in tensor.py, its math in elementwise.py,
reduce.py and movement.py; this file gathers the public names.
"""
from . import runtime, compiler  # noqa: F401  (tinytorch -> compiler -> runtime)
from .runtime import config as _config

for _variable in _config.SETTINGS:  # a bad TINYTORCH_* value fails here, at the import, naming the variable
    _config.get(_variable)
del _variable

from .dtypes import (float16, half, float32, float64, double, int32, int64, long, uint8,  # noqa: F401
                     bool, int8, int16, short, uint16, uint32, uint64)
from .dtypes import float as float, int as int  # noqa: F401,E501  torch.float / torch.int
from .tensor import Tensor
from .elementwise import (add, sub, mul, div, pow, maximum, minimum, where, exp, log, sqrt, rsqrt, sin, cos,  # noqa
                          tanh, sigmoid, relu, gelu, silu, softplus, clamp, clip, abs, sign, floor, ceil, erf,
                          logical_not, logical_and, logical_or, logical_xor, eq, ne, lt, le, gt, ge, square,
                          reciprocal, floor_divide, remainder, lerp)
from .reduce import sum, mean, max, min, var, std, argmax, argmin, logsumexp, softmax, log_softmax, prod  # noqa
from .reduce import all, any, amax, amin  # noqa
from .movement import (reshape, flatten, permute, transpose, unsqueeze, squeeze, cat, stack, matmul,  # noqa
                       gather, index_select, split, chunk, flip, movedim, narrow)
from .creation import (tensor, as_tensor, from_numpy, zeros, ones, full, empty, zeros_like, ones_like,  # noqa
                       full_like, arange, linspace, eye, rand, randn, randint, randperm, rand_like,
                       randn_like, manual_seed, normal, uniform, get_rng_state, set_rng_state)
from .autograd import no_grad, enable_grad, is_grad_enabled, grad  # noqa
from .elementwise import (round, bitwise_and, bitwise_or, bitwise_xor, bitwise_not, bitwise_left_shift,  # noqa
                          bitwise_right_shift, neg, neg as negative, div as divide, mul as multiply, sub as subtract)
from .math_ops import (isnan, isinf, isposinf, isneginf, isfinite, isreal, nan_to_num, isclose, allclose,  # noqa
                       signbit, copysign, trunc, fix, frac, fmod, log1p, expm1, log2, log10, exp2, logaddexp,
                       logaddexp2, atan, asin, acos, atan2, arctan, arcsin, arccos, arctan2, sinh, cosh, asinh,
                       acosh, atanh, arcsinh, arccosh, arctanh)
from .indexing_ops import (nonzero, argwhere, masked_select, masked_fill, scatter, scatter_reduce,  # noqa
                           index_add, take_along_dim, scatter_add)
from .scan import cumsum, cumprod, cummax, cummin, logcumsumexp  # noqa
from .sorting import sort, argsort, msort, topk  # noqa
from .sampling import multinomial  # noqa
from .shape_ops import (diagonal, diag, diag_embed, trace, tril, triu, roll, repeat_interleave, meshgrid, unbind,  # noqa
                        tensor_split, hstack, vstack, dstack, column_stack, row_stack, broadcast_tensors)
from .einsum import einsum  # noqa
from .devices import device, Generator, inference_mode, set_grad_enabled, is_tensor, numel, cuda  # noqa
from .creation import logspace  # noqa
from .lazy import realize, eager, is_eager, stats, reset_stats, clear_cache  # noqa
from .dynamic import mark_dynamic  # noqa: F401
from .inspect import plan, explain, set_passes, disable_passes, PASS_NAMES  # noqa
from .backend import set_backend, get_backend, using_backend  # noqa
from . import viz, data, nn, optim, text  # noqa: F401
from .serialization import save, load, CheckpointError  # noqa: F401
from .weights import load_weights, save_weights  # noqa: F401
from .capture import compile, capture  # noqa: F401  (step capture and replay)
from .profiler import profile  # noqa: F401  (where time goes)
from .roofline_model import roofline  # noqa: F401
from .checkpointing import memory_budget, checkpoint, BudgetTooSmall  # noqa: F401  (gradient checkpointing)
from .amp.autocast import autocast, is_autocast_enabled, get_autocast_dtype  # noqa: F401  (mixed precision)
from .amp.grad_scaler import GradScaler  # noqa: F401

concat = concatenate = cat
__version__ = "0.1.0"
