"""Small building blocks shared by the generators and discriminators."""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn

__all__ = ["PixelNorm", "channel_plan", "resize_to", "upsampling_plan"]


class PixelNorm(nn.Module):
    """Normalise each pixel's feature vector to unit RMS (ProGAN): batch-independent, so samples
    do not depend on what else is in the batch."""

    def forward(self, x: Tensor) -> Tensor:
        return x * torch.rsqrt(x.square().mean(dim=1, keepdim=True) + 1e-8)


def upsampling_plan(size: tuple[int, int], min_size: int) -> tuple[int, tuple[int, int]]:
    """(number of x2 steps, start grid) so that start * 2**steps covers ``size`` from ~min_size."""
    steps = max(0, int(math.floor(math.log2(max(min(size) / min_size, 1)))))
    start = (-(-size[0] // 2**steps), -(-size[1] // 2**steps))
    return steps, start


def channel_plan(steps: int, base: int, maximum: int) -> list[int]:
    """Channels from the coarsest grid (index 0) to the finest (index ``steps``): doubling per halving."""
    return [min(maximum, base * 2 ** (steps - k)) for k in range(steps + 1)]


def resize_to(x: Tensor, size: tuple[int, int]) -> Tensor:
    """Resize maps to ``size``: area-weighted when shrinking, bilinear when growing."""
    if tuple(x.shape[-2:]) == tuple(size):
        return x
    shrinking = size[0] <= x.shape[-2] and size[1] <= x.shape[-1]
    if shrinking:
        return F.adaptive_avg_pool2d(x, size)
    return F.interpolate(x, size=size, mode="bilinear", align_corners=False)
