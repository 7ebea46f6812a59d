"""RNN, LSTM and GRU, as torch.nn's: the same parameters (names, shapes, gate order, init), inputs and outputs.

The time loop is unrolled into the graph: each layer and direction does one matmul of the whole sequence with
weight_ih, then per step one matmul with weight_hh and the gates. One call is therefore one graph whose
structure depends only on the shapes, so the Program compiles once per sequence length and batch size and is
reused after (a different length is a different graph). Gate order in the stacked weights is torch's: LSTM
(input, forget, cell, output), GRU (reset, update, new). An LSTM with proj_size > 0 projects each h_t with
weight_hr (proj_size, hidden_size), as torch's: h_0, h_n and the output have proj_size features, c keeps
hidden_size.
"""
from __future__ import annotations

import math
import warnings

import numpy as np

from ..creation import zeros
from ..elementwise import relu, sigmoid, tanh
from ..movement import cat, stack
from ..tensor import Tensor
from . import init
from .functional import dropout
from .module import Module
from .parameter import Parameter

GATES = {"RNN_TANH": 1, "RNN_RELU": 1, "LSTM": 4, "GRU": 3}


def _rnn_cell(act):
    def cell(gi, state, w_hh, b_hh):
        (h,) = state
        pre = gi + h @ w_hh.T
        return (act(pre + b_hh if b_hh is not None else pre),)
    return cell


def _lstm_cell(gi, state, w_hh, b_hh):
    h, c = state
    gates = gi + h @ w_hh.T
    if b_hh is not None:
        gates = gates + b_hh
    i, f, _, o = sigmoid(gates).chunk(4, -1)  # one sigmoid over all gates: fewer, larger kernels
    g = tanh(gates.chunk(4, -1)[2])
    c = f * c + i * g
    return o * tanh(c), c


def _gru_cell(gi, state, w_hh, b_hh):
    (h,) = state
    gh = h @ w_hh.T
    if b_hh is not None:
        gh = gh + b_hh
    hidden = h.shape[-1]
    r, z = sigmoid(gi[..., :2 * hidden] + gh[..., :2 * hidden]).chunk(2, -1)  # one sigmoid for both gates
    n = tanh(gi[..., 2 * hidden:] + r * gh[..., 2 * hidden:])
    return (n + z * (h - n),)  # (1 - z) * n + z * h


CELLS = {"RNN_TANH": _rnn_cell(tanh), "RNN_RELU": _rnn_cell(relu), "LSTM": _lstm_cell, "GRU": _gru_cell}


def _check_size(name: str, what: str, value) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ValueError(f"{name}: {what} must be a positive int, got {value!r}")
    return value


class RNNBase(Module):
    """The shared body of RNN, LSTM and GRU; `mode` picks the cell."""

    def __init__(self, mode: str, input_size: int, hidden_size: int, num_layers: int = 1, bias: bool = True,
                 batch_first: bool = False, dropout: float = 0.0, bidirectional: bool = False, proj_size: int = 0,
                 dtype=None):
        super().__init__()
        name = type(self).__name__
        if isinstance(dropout, bool) or not isinstance(dropout, (int, float)) or not 0 <= dropout <= 1:
            raise ValueError(f"{name}: dropout should be a number in range [0, 1] representing the probability "
                             f"of an element being zeroed, got {dropout!r}")
        if isinstance(proj_size, bool) or not isinstance(proj_size, int) or proj_size < 0:
            raise ValueError(f"{name}: proj_size must be an int >= 0, got {proj_size!r}")
        if proj_size and proj_size >= hidden_size:
            raise ValueError(f"{name}: proj_size ({proj_size}) has to be smaller than hidden_size ({hidden_size})")
        if dropout > 0 and num_layers == 1:
            warnings.warn(f"{name}: dropout={dropout} and num_layers=1: dropout acts between layers, so it has "
                          f"no effect with one layer", stacklevel=3)
        self.mode = mode
        self.input_size = _check_size(name, "input_size", input_size)
        self.hidden_size = _check_size(name, "hidden_size", hidden_size)
        self.num_layers = _check_size(name, "num_layers", num_layers)
        self.bias, self.batch_first, self.dropout = bias, batch_first, float(dropout)
        self.bidirectional, self.proj_size = bidirectional, proj_size
        d = np.dtype(dtype or np.float32)
        gate_size = GATES[mode] * hidden_size
        directions = 2 if bidirectional else 1
        out_size = proj_size or hidden_size  # h_t's size: an LSTM with proj_size projects h_t down to it
        self._weight_names = []
        for layer in range(num_layers):
            layer_in = input_size if layer == 0 else out_size * directions
            for suffix in ("", "_reverse")[:directions]:
                shapes = [("weight_ih", (gate_size, layer_in)), ("weight_hh", (gate_size, out_size))]
                if bias:
                    shapes += [("bias_ih", (gate_size,)), ("bias_hh", (gate_size,))]
                if proj_size:
                    shapes.append(("weight_hr", (proj_size, hidden_size)))
                names = []
                for kind, shape in shapes:
                    pname = f"{kind}_l{layer}{suffix}"
                    setattr(self, pname, Parameter(np.zeros(shape, d)))
                    names.append(pname)
                self._weight_names.append(names)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Every weight and bias uniform on +-1/sqrt(hidden_size), as torch."""
        bound = 1.0 / math.sqrt(self.hidden_size)
        for p in self.parameters():
            init.uniform_(p, -bound, bound)

    def flatten_parameters(self) -> None:
        """torch packs weights for cuDNN here; there is nothing to pack."""

    @property
    def all_weights(self):
        return [[getattr(self, n) for n in names] for names in self._weight_names]

    # ------------------------------------------------------------ checks

    def _check_input(self, input) -> bool:
        name = type(self).__name__
        if input.ndim not in (2, 3):
            raise ValueError(f"{name}: expected input to be 2-d (L, H_in) or 3-d "
                             f"{'(N, L, H_in)' if self.batch_first else '(L, N, H_in)'}, got a {input.ndim}-d "
                             f"tensor of shape {input.shape}")
        if input.shape[-1] != self.input_size:
            raise ValueError(f"{name}: input {input.shape} has {input.shape[-1]} features in its last dim but "
                             f"input_size is {self.input_size}; reshape the input or fix input_size")
        return input.ndim == 3

    def _check_hidden(self, h, expected, batched: bool, what: str):
        name = type(self).__name__
        h = h if isinstance(h, Tensor) else Tensor(h)
        if not batched and h.ndim != 2:
            raise ValueError(f"{name}: for unbatched 2-d input, {what} must be 2-d "
                             f"(num_layers * num_directions, hidden_size), got shape {h.shape}")
        shape = tuple(h.shape) if batched else (h.shape[0], 1) + tuple(h.shape[1:])
        if shape != expected:
            want = expected if batched else (expected[0], expected[2])
            size = "proj_size" if what == "h_0" and self.proj_size else "hidden_size"
            raise ValueError(f"{name}: expected {what} of shape {want} (num_layers * num_directions, "
                             f"{'batch, ' if batched else ''}{size}), got {h.shape}")
        return h if batched else h.unsqueeze(1)

    def _initial_state(self, hx, batch: int, batched: bool, dtype):
        directions = 2 if self.bidirectional else 1
        expected = (self.num_layers * directions, batch, self.proj_size or self.hidden_size)
        if self.mode == "LSTM":
            expected_c = expected[:2] + (self.hidden_size,)
            if hx is None:
                return [zeros(*expected, dtype=dtype), zeros(*expected_c, dtype=dtype)]
            if not isinstance(hx, (tuple, list)) or len(hx) != 2:
                raise ValueError(f"LSTM: hx must be a tuple (h_0, c_0), got {type(hx).__name__}")
            return [self._check_hidden(t, want, batched, what)
                    for t, want, what in zip(hx, (expected, expected_c), ("h_0", "c_0"))]
        if hx is None:
            return [zeros(*expected, dtype=dtype)]
        if isinstance(hx, (tuple, list)):
            raise ValueError(f"{type(self).__name__}: hx must be one tensor h_0, got a {type(hx).__name__}")
        return [self._check_hidden(hx, expected, batched, "h_0")]

    # ------------------------------------------------------------ forward

    def _direction(self, xs, state, names, reverse: bool):
        """Run one layer in one direction over xs (L, N, in): the outputs (L, N, H) and the final state."""
        weights = {n.rsplit("_l", 1)[0]: getattr(self, n) for n in names}
        w_ih, w_hh, b_ih, b_hh = (weights.get(k) for k in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"))
        w_hr = weights.get("weight_hr")
        gi = xs @ w_ih.T
        if b_ih is not None:
            gi = gi + b_ih
        cell = CELLS[self.mode]
        outs = [None] * xs.shape[0]
        for t in (reversed(range(xs.shape[0])) if reverse else range(xs.shape[0])):
            state = cell(gi[t], state, w_hh, b_hh)
            if w_hr is not None:
                state = (state[0] @ w_hr.T,) + tuple(state[1:])
            outs[t] = state[0]
        return stack(outs, 0), state

    def forward(self, input, hx=None):
        batched = self._check_input(input)
        x = input if batched else input.unsqueeze(1)
        if batched and self.batch_first:
            x = x.transpose(0, 1)
        directions = 2 if self.bidirectional else 1
        init_state = self._initial_state(hx, x.shape[1], batched, x.dtype)
        finals = [[] for _ in init_state]
        for layer in range(self.num_layers):
            outs = []
            for d in range(directions):
                k = layer * directions + d
                out, state = self._direction(x, [s[k] for s in init_state], self._weight_names[k], d == 1)
                outs.append(out)
                for f, s in zip(finals, state):
                    f.append(s)
            x = outs[0] if directions == 1 else cat(outs, -1)
            if self.dropout and self.training and layer < self.num_layers - 1:
                x = dropout(x, self.dropout, True)
        if batched and self.batch_first:
            x = x.transpose(0, 1)
        final = [stack(f, 0) for f in finals]
        if not batched:
            x, final = x.squeeze(1), [f.squeeze(1) for f in final]
        return x, (tuple(final) if self.mode == "LSTM" else final[0])

    def extra_repr(self):
        s = f"{self.input_size}, {self.hidden_size}"
        if self.proj_size != 0:
            s += f", proj_size={self.proj_size}"
        if self.num_layers != 1:
            s += f", num_layers={self.num_layers}"
        if self.bias is not True:
            s += f", bias={self.bias}"
        if self.batch_first is not False:
            s += f", batch_first={self.batch_first}"
        if self.dropout != 0:
            s += f", dropout={self.dropout}"
        if self.bidirectional is not False:
            s += f", bidirectional={self.bidirectional}"
        return s


class RNN(RNNBase):
    """Elman RNN: h_t = act(x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh), act tanh or relu."""

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, nonlinearity: str = "tanh",
                 bias: bool = True, batch_first: bool = False, dropout: float = 0.0, bidirectional: bool = False,
                 dtype=None):
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"RNN: unknown nonlinearity {nonlinearity!r}; select from 'tanh' or 'relu'")
        self.nonlinearity = nonlinearity
        super().__init__(f"RNN_{nonlinearity.upper()}", input_size, hidden_size, num_layers, bias, batch_first,
                         dropout, bidirectional, 0, dtype)


class LSTM(RNNBase):
    """Returns (output, (h_n, c_n)); hx, when given, is the tuple (h_0, c_0)."""

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, bias: bool = True,
                 batch_first: bool = False, dropout: float = 0.0, bidirectional: bool = False, proj_size: int = 0,
                 dtype=None):
        super().__init__("LSTM", input_size, hidden_size, num_layers, bias, batch_first, dropout, bidirectional,
                         proj_size, dtype)


class GRU(RNNBase):
    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, bias: bool = True,
                 batch_first: bool = False, dropout: float = 0.0, bidirectional: bool = False, dtype=None):
        super().__init__("GRU", input_size, hidden_size, num_layers, bias, batch_first, dropout, bidirectional,
                         0, dtype)
