"""torch.nn.utils names: clip_grad_norm_ and clip_grad_value_ (they live in tinytorch.optim.clip)."""
from ..optim.clip import clip_grad_norm_, clip_grad_value_  # noqa: F401
