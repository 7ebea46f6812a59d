"""The running-statistics buffers of the norm layers (BatchNorm, InstanceNorm), registered in one place."""
from __future__ import annotations

import numpy as np


def register_running_stats(module, num_features: int, dtype, track: bool) -> None:
    """The running_mean / running_var / num_batches_tracked buffers PyTorch's norm layers have (None when not
    tracking, so state_dict keys match)."""
    if track:
        module.register_buffer("running_mean", np.zeros(num_features, dtype))
        module.register_buffer("running_var", np.ones(num_features, dtype))
        module.register_buffer("num_batches_tracked", np.zeros((), np.int64))
    else:
        for name in ("running_mean", "running_var", "num_batches_tracked"):
            module.register_buffer(name, None)
