"""Small building blocks shared by the generators and discriminators."""
from __future__ import annotations

import math
from typing import cast

import torch
import torch.nn.functional as F
from torch import Tensor, nn

__all__ = [
    "EqualConv2d", "EqualLinear", "PixelNorm", "SpatialModulation", "channel_plan", "layout_pyramid", "resize_to",
    "upsampling_plan",
]


class PixelNorm(nn.Module):
    """Normalise each pixel's feature vector to unit RMS (ProGAN): batch-independent, so samples
    do not depend on what else is in the batch."""

    def forward(self, x: Tensor) -> Tensor:
        return x * torch.rsqrt(x.square().mean(dim=1, keepdim=True) + 1e-8)


class EqualConv2d(nn.Module):
    """3x3 (or k x k) convolution with equalized learning rate (ProGAN): N(0, 1) weights scaled by
    He's constant at run time, so Adam moves every layer at the same relative speed."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int = 3) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.randn(out_channels, in_channels, kernel_size, kernel_size))
        self.bias = nn.Parameter(torch.zeros(out_channels))
        self.scale = 1 / math.sqrt(in_channels * kernel_size * kernel_size)
        self.padding = kernel_size // 2

    def forward(self, x: Tensor) -> Tensor:
        return F.conv2d(x, self.weight * self.scale, self.bias, padding=self.padding)


class EqualLinear(nn.Module):
    """Linear layer with equalized learning rate (see :class:`EqualConv2d`)."""

    def __init__(self, in_features: int, out_features: int) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.randn(out_features, in_features))
        self.bias = nn.Parameter(torch.zeros(out_features))
        self.scale = 1 / math.sqrt(in_features)

    def forward(self, x: Tensor) -> Tensor:
        return F.linear(x, self.weight * self.scale, self.bias)


class SpatialModulation(nn.Module):
    """SPADE (Park et al. 2019) after a normalisation: x * (1 + gamma(layout)) + beta(layout).

    gamma and beta are per pixel and per channel, from a 3x3 conv (``hidden`` channels, ReLU) on the
    one-hot layout at x's grid and a 1x1 conv; the 1x1 (rather than SPADE's 3x3) keeps the cost near
    a tenth of the generator's convolutions.
    """

    def __init__(self, layout_channels: int, channels: int, hidden: int) -> None:
        super().__init__()
        self.shared = EqualConv2d(layout_channels, hidden, 3)
        self.to_scale_shift = EqualConv2d(hidden, 2 * channels, 1)

    def forward(self, x: Tensor, layout: Tensor) -> Tensor:
        gamma, beta = self.to_scale_shift(F.relu(self.shared(layout))).chunk(2, dim=1)
        return x * (1 + gamma) + beta


def layout_pyramid(layout: Tensor, out_size: tuple[int, ...], grids: list[tuple[int, int]]) -> list[Tensor]:
    """The layout (N, K, H, W) at every generator grid (coarse to fine, each twice the previous),
    aligned with the cropped output.

    The layout is area-pooled to ``out_size``, zero-padded at the bottom/right to the finest grid
    (the generator crops the same margin away) and halved by 2x2 average pooling per coarser grid,
    so grid cell (i, j) always covers output pixels (i, j) * 2**k.
    """
    finest = grids[-1]
    x = resize_to(layout, out_size)
    x = F.pad(x, (0, finest[1] - out_size[1], 0, finest[0] - out_size[0]))
    maps = [x]
    for _ in grids[:-1]:  # every grid is the next finer one halved
        maps.append(F.avg_pool2d(maps[-1], 2))
    return maps[::-1]


def upsampling_plan(size: tuple[int, ...], min_size: int) -> tuple[int, tuple[int, int]]:
    """(number of x2 steps, start grid) so that start * 2**steps covers ``size`` from ~min_size."""
    steps = max(0, int(math.floor(math.log2(max(min(size) / min_size, 1)))))
    start = (-(-size[0] // 2**steps), -(-size[1] // 2**steps))
    return steps, start


def channel_plan(steps: int, base: int, maximum: int) -> list[int]:
    """Channels from the coarsest grid (index 0) to the finest (index ``steps``): doubling per halving."""
    return [min(maximum, base * 2 ** (steps - k)) for k in range(steps + 1)]


def resize_to(x: Tensor, size: tuple[int, ...]) -> Tensor:
    """Resize maps to ``size``: area-weighted when shrinking, bilinear when growing."""
    if tuple(x.shape[-2:]) == tuple(size):
        return x
    shrinking = size[0] <= x.shape[-2] and size[1] <= x.shape[-1]
    if shrinking:
        return F.adaptive_avg_pool2d(x, cast("tuple[int, int]", size))  # size is (H, W)
    return F.interpolate(x, size=size, mode="bilinear", align_corners=False)
