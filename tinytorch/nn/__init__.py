"""tinytorch.nn: Module, Parameter, layers, losses and the functional forms, shaped like torch.nn."""
from . import functional, init  # noqa: F401
from .module import Module  # noqa: F401
from .parameter import Parameter  # noqa: F401
from .container import Sequential, ModuleList, ModuleDict, ParameterList, ParameterDict  # noqa: F401
from .layers import (Identity, Linear, Embedding, Dropout, Flatten, ReLU, GELU, Tanh, Sigmoid, SiLU,  # noqa: F401
                     LeakyReLU, Softmax, LogSoftmax)
from .conv import Conv1d, Conv2d, ConvTranspose2d, MaxPool2d, AvgPool2d  # noqa: F401
from .layers3d import Conv3d, AvgPool3d  # noqa: F401
from .window_layers import (MaxUnpool2d, AdaptiveAvgPool2d, AdaptiveMaxPool2d, Upsample,  # noqa: F401
                            UpsamplingNearest2d, UpsamplingBilinear2d, Unfold, Fold)
from .normalization import BatchNorm1d, BatchNorm2d, LayerNorm  # noqa: F401
from .loss import CrossEntropyLoss, NLLLoss, MSELoss, L1Loss, BCELoss, BCEWithLogitsLoss  # noqa: F401
from .activations import (Hardsigmoid, Hardswish, ReLU6, Hardtanh, ELU, CELU, SELU, Mish, Softsign,  # noqa: F401
                          LogSigmoid, Softmin, GLU, PReLU, Softplus)
from .recurrent import RNNBase, RNN, LSTM, GRU  # noqa: F401
from .group_norm import GroupNorm, InstanceNorm2d  # noqa: F401
from .shape import Unflatten, PixelShuffle, PixelUnshuffle, ZeroPad2d  # noqa: F401
from .channel_dropout import Dropout2d  # noqa: F401
from . import utils  # noqa: F401,E402
from .multihead import MultiheadAttention  # noqa: F401,E402
from .transformer import GPT, Block as TransformerBlock, CausalSelfAttention  # noqa: F401,E402
