"""Conv3d and AvgPool3d modules over F.conv3d and F.avg_pool3d (a file of their own: conv3d.py is imported by
functional, so the modules, which need conv.py's `ConvNd` and so functional, cannot live there)."""
from __future__ import annotations

from . import functional as F
from .conv import AvgPool2d, ConvNd
from .conv3d import triple


class Conv3d(ConvNd):
    """Weight (out, in/groups, kd, kh, kw), initialized as Conv2d's (PyTorch's default for every conv)."""
    dims, conv = 3, staticmethod(F.conv3d)


class AvgPool3d(AvgPool2d):
    """AvgPool2d's fields and repr over F.avg_pool3d; kernel_size, stride and padding are ints or triples."""
    pool = staticmethod(F.avg_pool3d)

    def _check_args(self):
        for name in ("kernel_size", "stride", "padding"):
            triple(getattr(self, name), name, "AvgPool3d")
