"""tinytorch.optim: optimizers that build their update lazily and realize it as one Program per step."""
from .optimizer import Optimizer  # noqa: F401
from .sgd import SGD  # noqa: F401
from .adam import Adam, AdamW  # noqa: F401
from .rmsprop import RMSprop  # noqa: F401
from .adagrad import Adagrad  # noqa: F401
from .adamax import Adamax  # noqa: F401
from .nadam import NAdam  # noqa: F401
from .radam import RAdam  # noqa: F401
from . import lr_scheduler  # noqa: F401
from .clip import clip_grad_norm_, clip_grad_value_  # noqa: F401
