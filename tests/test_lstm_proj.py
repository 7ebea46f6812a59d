"""LSTM(proj_size=...) against torch.nn.LSTM: parameter names and shapes, outputs, (h_n, c_n) and gradients
(float64, through test_nn_surface's `agree`), and the errors for a bad proj_size or a wrongly sized h_0."""
import numpy as np
import pytest
import torch

import tinytorch as tt
from tinytorch import nn
from test_nn_surface import BATCH, HID, IN, SEQ, _rnn_pair, _x, agree

PROJ_CONFIGS = [  # (kwargs, batched, with initial state)
    (dict(proj_size=3), True, True),
    (dict(proj_size=2, num_layers=2, bidirectional=True, batch_first=True), True, False),
    (dict(proj_size=3, bias=False, bidirectional=True), False, True),
]


@pytest.mark.parametrize("kw,batched,with_h0", PROJ_CONFIGS, ids=[str(i) for i in range(len(PROJ_CONFIGS))])
def test_lstm_with_projection_matches_torch(kw, batched, with_h0):
    m, tm = _rnn_pair("LSTM", kw)  # also checks the state_dict names, shapes and repr against torch's
    assert m.weight_hr_l0.shape == (kw["proj_size"], HID)
    dirs = 2 if kw.get("bidirectional") else 1
    layers = kw.get("num_layers", 1)
    shape = ((BATCH, SEQ) if kw.get("batch_first") else (SEQ, BATCH)) if batched else (SEQ,)
    ins = {"x": _x(*shape, IN, seed=1)}
    if with_h0:
        lead = (layers * dirs, BATCH) if batched else (layers * dirs,)
        ins["h0"], ins["c0"] = _x(*lead, kw["proj_size"], seed=2), _x(*lead, HID, seed=3)
    ours = {k: tt.tensor(v, requires_grad=True) for k, v in ins.items()}
    theirs = {k: torch.tensor(v, requires_grad=True) for k, v in ins.items()}
    hx = (ours["h0"], ours["c0"]) if with_h0 else None
    thx = (theirs["h0"], theirs["c0"]) if with_h0 else None
    out, (hn, cn) = m(ours["x"], hx)
    tout, (thn, tcn) = tm(theirs["x"], thx)
    assert out.shape[-1] == kw["proj_size"] * dirs and cn.shape[-1] == HID
    agree([out, hn, cn], [tout, thn, tcn], {**ours, **dict(m.named_parameters())},
          {**theirs, **dict(tm.named_parameters())}, 1e-9, 1e-11)


def test_proj_size_errors_are_clear():
    with pytest.raises(ValueError, match=r"proj_size \(5\) has to be smaller than hidden_size \(5\)"):
        nn.LSTM(4, 5, proj_size=5)
    with pytest.raises(ValueError, match="proj_size must be an int >= 0, got -1"):
        nn.LSTM(4, 5, proj_size=-1)
    m = nn.LSTM(4, 5, proj_size=2)
    x = tt.tensor(np.zeros((3, 2, 4), np.float32))
    with pytest.raises(ValueError, match=r"expected h_0 of shape \(1, 2, 2\) .*proj_size\), got \(1, 2, 5\)"):
        m(x, (tt.zeros(1, 2, 5), tt.zeros(1, 2, 5)))
