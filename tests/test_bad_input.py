"""Bad arguments to the public API: one clear error at the user's line, naming the op, the argument and the shape.

Each row of BAD builds one bad call on lazy inputs; the test checks the exception type, that the message names
what it should, that nothing was realized on the way and that no frame is inside realize (the error is raised
when the op is built). Rows marked in TORCH_REFUSES are checked against PyTorch too: it refuses them as well.
"""
from __future__ import annotations

import re

import numpy as np
import pytest
import torch

import tinytorch as tt
import tinytorch.nn as nn
import tinytorch.nn.functional as F
# lazy: an unrealized tensor, so an error can only come from building; the check: exception type and message,
# nothing realized, no frame inside realize
from test_errors import lazy, test_error_at_build_time as check_error_at_build_time


IMG, W = (1, 2, 5, 5), (3, 2, 3, 3)
IMG_S = re.escape(str(IMG))

BAD = [  # (name, build, exception, regex the message must match)
    # window ops: stride and dilation >= 1, padding >= 0, a kernel of at least one pixel
    ("conv2d padding -1", lambda: F.conv2d(lazy(*IMG), lazy(*W), padding=-1), ValueError,
     r"conv2d: padding must be >= 0, got \(-1, -1\).*" + IMG_S),
    ("conv2d dilation 0", lambda: F.conv2d(lazy(*IMG), lazy(*W), dilation=0), ValueError,
     r"conv2d: dilation must be >= 1.*" + IMG_S),
    ("conv2d stride 0", lambda: F.conv2d(lazy(*IMG), lazy(*W), stride=0), ValueError,
     r"conv2d: stride must be >= 1.*" + IMG_S),
    ("conv2d stride (1, -1)", lambda: F.conv2d(lazy(*IMG), lazy(*W), stride=(1, -1)), ValueError,
     r"conv2d: stride must be >= 1, got \(1, -1\)"),
    ("conv2d padding str", lambda: F.conv2d(lazy(*IMG), lazy(*W), padding="full"), ValueError,
     r"conv2d: padding must be.*'valid' or 'same', got 'full'"),
    ("Conv2d stride 0", lambda: nn.Conv2d(2, 3, 3, stride=0), ValueError, r"Conv2d: stride must be >= 1"),
    ("Conv2d padding -2", lambda: nn.Conv2d(2, 3, 3, padding=-2), ValueError, r"Conv2d: padding must be >= 0"),
    ("Conv2d padding str", lambda: nn.Conv2d(2, 3, 3, padding="full"), ValueError, r"Conv2d: padding.*'full'"),
    ("max_pool2d stride 0", lambda: F.max_pool2d(lazy(*IMG), 2, stride=0), ValueError,
     r"max_pool2d: stride must be >= 1.*" + IMG_S),
    ("max_pool2d kernel 0", lambda: F.max_pool2d(lazy(*IMG), 0), ValueError, r"max_pool2d: kernel_size must be >= 1"),
    ("max_pool2d padding -1", lambda: F.max_pool2d(lazy(*IMG), 2, padding=-1), ValueError,
     r"max_pool2d: padding must be >= 0"),
    ("max_pool2d dilation 0", lambda: F.max_pool2d(lazy(*IMG), 2, dilation=0), ValueError,
     r"max_pool2d: dilation must be >= 1"),
    ("avg_pool2d stride 0", lambda: F.avg_pool2d(lazy(*IMG), 2, stride=0), ValueError,
     r"avg_pool2d: stride must be >= 1.*" + IMG_S),
    ("MaxPool2d stride 0", lambda: nn.MaxPool2d(2, stride=0), ValueError, r"MaxPool2d: stride must be >= 1"),
    ("AvgPool2d padding -1", lambda: nn.AvgPool2d(2, padding=-1), ValueError, r"AvgPool2d: padding must be >= 0"),
    ("unfold_patches stride 0", lambda: F.unfold_patches(lazy(*IMG), 2, stride=0), ValueError,
     r"unfold: stride must be >= 1"),
    # chunk and split
    ("chunk 0", lambda: lazy(6).chunk(0), ValueError, r"chunk: chunks must be an int >= 1, got 0.*\(6,\)"),
    ("chunk -1", lambda: lazy(6).chunk(-1), ValueError, r"chunk: chunks must be an int >= 1, got -1"),
    ("split 0", lambda: lazy(6).split(0), ValueError, r"split: split_size must be >= 1.*got 0.*\(6,\)"),
    ("split -2", lambda: lazy(6).split(-2), ValueError, r"split: split_size must be >= 1.*got -2"),
    ("split sections negative", lambda: lazy(6).split([3, -1, 4]), ValueError,
     r"split: section sizes must be >= 0, got \[3, -1, 4\].*\(6,\)"),
    # creation: an empty range, integers that do not fit, negative sizes
    ("randint low == high", lambda: tt.randint(5, 5, (3,)), ValueError, r"randint: low must be less than high.*5"),
    ("randint low > high", lambda: tt.randint(5, 2, (3,)), ValueError, r"randint: low must be less than high"),
    ("randint high 0", lambda: tt.randint(0, (3,)), ValueError, r"randint: low must be less than high"),
    ("tensor 2**63", lambda: tt.tensor([2**63]), OverflowError, r"tensor: the integer 9223372036854775808.*int64"),
    ("tensor -2**63-1", lambda: tt.tensor([[1], [-2**63 - 1]]), OverflowError, r"tensor:.*-9223372036854775809"),
    ("tensor 2**64", lambda: tt.tensor([1, 2**64]), OverflowError, r"tensor: the integer 18446744073709551616"),
    ("tensor scalar 2**63", lambda: tt.tensor(2**63), OverflowError, r"tensor:.*int64"),
    ("tensor int32 2**40", lambda: tt.tensor([2**40], dtype=tt.int32), OverflowError, r"tensor:.*int32"),
    ("zeros negative", lambda: tt.zeros(2, -3), ValueError, r"zeros: sizes must be non-negative, got \(2, -3\)"),
    ("ones negative", lambda: tt.ones((-1,)), ValueError, r"ones: sizes must be non-negative"),
    ("empty negative", lambda: tt.empty(-1, 2), ValueError, r"empty: sizes must be non-negative"),
    ("full negative", lambda: tt.full((2, -1), 3.0), ValueError, r"full: sizes must be non-negative"),
    ("rand negative", lambda: tt.rand(2, -3), ValueError, r"rand: sizes must be non-negative"),
    ("randn negative", lambda: tt.randn(-2), ValueError, r"randn: sizes must be non-negative"),
    ("randint negative", lambda: tt.randint(0, 5, (-2,)), ValueError, r"randint: sizes must be non-negative"),
    # class indices held as data are range-checked (a lazy index tensor is not realized to check it)
    ("one_hot index 5", lambda: F.one_hot(tt.tensor([0, 5]), 3), IndexError,
     r"one_hot: class index 5 is out of range for 3 classes \(indices \(2,\)"),
    ("one_hot index -1", lambda: F.one_hot(tt.tensor([0, -1]), 3), IndexError, r"one_hot: class index -1"),
    ("one_hot num_classes -2", lambda: F.one_hot(tt.tensor([0, 1]), -2), ValueError, r"one_hot: num_classes.*-2"),
    ("cross_entropy target 3", lambda: F.cross_entropy(lazy(2, 3), tt.tensor([0, 3])), IndexError,
     r"cross_entropy: class index 3 is out of range for 3 classes"),
    ("cross_entropy target -1", lambda: F.cross_entropy(lazy(2, 3), tt.tensor([0, -1])), IndexError,
     r"cross_entropy: class index -1"),
    # dims out of range name the tensor's shape, not only its rank
    ("sum dim", lambda: lazy(3, 4).sum(2), IndexError, r"sum: dim 2 is out of range for a tensor of shape \(3, 4\)"),
    ("softmax dim", lambda: lazy(3, 4).softmax(-3), IndexError, r"softmax: dim -3.*shape \(3, 4\)"),
    ("unsqueeze dim", lambda: lazy(3, 4).unsqueeze(3), IndexError, r"unsqueeze: dim 3.*shape \(3, 4\) with 2 dims"),
    ("stack dim", lambda: tt.stack([lazy(3), lazy(3)], 3), IndexError, r"stack: dim 3.*shape \(3,\)"),
    ("transpose dim", lambda: lazy(2, 5).transpose(0, 2), IndexError, r"transpose: dim 2.*shape \(2, 5\)"),
    ("cat dim", lambda: tt.cat([lazy(3), lazy(3)], 1), IndexError, r"cat: dim 1.*shape \(3,\)"),
    ("size dim", lambda: lazy(3, 4).size(5), IndexError, r"size: dim 5.*shape \(3, 4\)"),
    ("nll_loss target 4", lambda: F.nll_loss(lazy(2, 3, 5), tt.tensor([[0] * 5, [4] * 5])), IndexError,
     r"nll_loss: class index 4 is out of range for 3 classes"),
]

TORCH_REFUSES = {
    "conv2d padding -1": lambda: torch.nn.functional.conv2d(torch.ones(IMG), torch.ones(W), padding=-1),
    "conv2d dilation 0": lambda: torch.nn.functional.conv2d(torch.ones(IMG), torch.ones(W), dilation=0),
    "conv2d stride 0": lambda: torch.nn.functional.conv2d(torch.ones(IMG), torch.ones(W), stride=0),
    "max_pool2d stride 0": lambda: torch.nn.functional.max_pool2d(torch.ones(IMG), 2, stride=0),
    "avg_pool2d stride 0": lambda: torch.nn.functional.avg_pool2d(torch.ones(IMG), 2, stride=0),
    "chunk 0": lambda: torch.ones(6).chunk(0),
    "split 0": lambda: torch.ones(6).split(0),
    "split -2": lambda: torch.ones(6).split(-2),
    "split sections negative": lambda: torch.ones(6).split([3, -1, 4]),
    "randint low == high": lambda: torch.randint(5, 5, (3,)),
    "randint low > high": lambda: torch.randint(5, 2, (3,)),
    "tensor 2**63": lambda: torch.tensor([2**63]),
    "tensor 2**64": lambda: torch.tensor([1, 2**64]),
    "tensor int32 2**40": lambda: torch.tensor([2**40], dtype=torch.int32),
    "zeros negative": lambda: torch.zeros(2, -3),
    "rand negative": lambda: torch.rand(2, -3),
    "randn negative": lambda: torch.randn(-2),
    "one_hot index 5": lambda: torch.nn.functional.one_hot(torch.tensor([0, 5]), 3),
    "one_hot index -1": lambda: torch.nn.functional.one_hot(torch.tensor([0, -1]), 3),
    "cross_entropy target 3": lambda: torch.nn.functional.cross_entropy(torch.ones(2, 3), torch.tensor([0, 3])),
    "cross_entropy target -1": lambda: torch.nn.functional.cross_entropy(torch.ones(2, 3), torch.tensor([0, -1])),
}


@pytest.mark.parametrize("name,build,exc,pattern", BAD, ids=[b[0] for b in BAD])
def test_bad_argument_fails_at_build(name, build, exc, pattern):
    check_error_at_build_time(name, build, exc, pattern)


@pytest.mark.parametrize("name", sorted(TORCH_REFUSES))
def test_torch_refuses_the_same(name):
    assert name in {b[0] for b in BAD}
    with pytest.raises((RuntimeError, ValueError, IndexError, TypeError, OverflowError)):
        TORCH_REFUSES[name]()


def test_chunk_and_split_edges_match_torch():
    for n, arg in [(6, 4), (7, 3), (0, 3), (5, 5), (5, 9)]:
        ours = [p.shape for p in tt.arange(n).chunk(arg)]
        theirs = [tuple(p.shape) for p in torch.arange(n).chunk(arg)]
        assert ours == theirs, (n, arg)
    assert [p.shape for p in tt.arange(6).split([6, 0])] == [(6,), (0,)]
    assert [p.shape for p in tt.arange(0).split(0)] == [tuple(p.shape) for p in torch.arange(0).split(0)]


def test_in_range_integers_are_kept_exactly():
    big = [2**63 - 1, -2**63]
    assert tt.tensor(big).numpy().tolist() == big
    assert tt.tensor(np.array([2**63], np.uint64), dtype=tt.float64).numpy().tolist() == [2.0**63]
    assert tt.randint(4, 5, (3,)).numpy().tolist() == [4, 4, 4]


def test_ignore_index_is_not_a_range_error():
    loss = F.cross_entropy(tt.zeros(2, 3), tt.tensor([1, -100]))
    assert np.isclose(loss.item(), np.log(3), atol=1e-6)
    assert F.one_hot(tt.tensor([2, 0]), -1).numpy().tolist() == [[0, 0, 1], [1, 0, 0]]


@pytest.mark.parametrize("shape,dim", [((2, 0), 1), ((2, 0), 0), ((0,), 0), ((0, 3), 1)])
@pytest.mark.parametrize("op", ["softmax", "log_softmax", "logsumexp"])
def test_softmax_over_empty_matches_torch(shape, dim, op):
    """PyTorch returns an empty tensor of the input's shape (logsumexp: -inf over an empty dim), not an error."""
    ours = getattr(tt.ones(*shape), op)(dim).numpy()
    theirs = getattr(torch.ones(*shape), op)(dim).numpy()
    assert ours.shape == theirs.shape
    np.testing.assert_array_equal(ours, theirs)
    assert getattr(F, op, getattr(tt, op))(tt.ones(*shape), dim).shape == theirs.shape
