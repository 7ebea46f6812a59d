"""Which dtype each frontend op runs in under `tinytorch.autocast`: the one table of op -> policy.

After PyTorch's autocast op lists (docs "Autocast Op Reference"): products (matmul, linear, convolutions,
attention) run in the lower dtype, where float16 storage halves the bytes and the kernels still accumulate in
float32 (runtime/widen.py); ops that need float32's range or precision (reductions that add many terms,
softmax, log_softmax, the norms, the losses) run in float32, as CUDA's float32 list has them. Every other op
is not listed and runs in the dtype of its inputs, so elementwise work between two products stays float16,
and an op mixing float16 with float32 promotes to float32 as usual.

The frontend function of each name carries `@autocast_op(name)` (`autocast.py`); `tests/test_autocast.py`
checks that every name here is applied somewhere.
"""
from __future__ import annotations

LOWER = "lower"      # float32 inputs are cast to the autocast dtype
FLOAT32 = "float32"  # inputs in the autocast dtype are cast to float32

POLICY = {
    # products: float16 storage, float32 accumulation in the kernels
    "matmul": LOWER, "linear": LOWER, "conv1d": LOWER, "conv2d": LOWER, "conv_transpose2d": LOWER,
    "scaled_dot_product_attention": LOWER,
    # reductions over many terms
    "sum": FLOAT32, "mean": FLOAT32, "prod": FLOAT32, "var": FLOAT32, "std": FLOAT32, "logsumexp": FLOAT32,
    "cumsum": FLOAT32, "cumprod": FLOAT32,
    "softmax": FLOAT32, "log_softmax": FLOAT32,
    # norms
    "layer_norm": FLOAT32, "batch_norm": FLOAT32, "group_norm": FLOAT32, "instance_norm": FLOAT32,
    # losses
    "cross_entropy": FLOAT32, "nll_loss": FLOAT32, "mse_loss": FLOAT32, "l1_loss": FLOAT32,
    "binary_cross_entropy": FLOAT32, "binary_cross_entropy_with_logits": FLOAT32,
}
