"""Convolutional generators: one per band (in normalised band space) and the baseline full-image one.

DCGAN-style with modern details: a linear layer to a small grid, then (x2 nearest upsampling,
3x3 conv, LeakyReLU, pixel norm) blocks, then a 3x3 conv to the output channels, cropped to the
exact output size (band sizes can be odd). Cascade inputs (patent [0011]) are resized to every
block's grid and concatenated as extra channels.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from freqaug.models.config import NetConfig
from freqaug.models.layers import EqualConv2d, EqualLinear, PixelNorm, channel_plan, resize_to, upsampling_plan

__all__ = ["ConvGenerator", "count_parameters"]


class _UpBlock(nn.Module):
    def __init__(self, in_channels: int, cond_channels: int, out_channels: int, upsample: bool) -> None:
        super().__init__()
        self.upsample = upsample
        self.conv = EqualConv2d(in_channels + cond_channels, out_channels, 3)
        self.norm = PixelNorm()

    def forward(self, x: Tensor, cond: Tensor | None) -> Tensor:
        if self.upsample:
            x = F.interpolate(x, scale_factor=2, mode="nearest")
        if cond is not None:
            x = torch.cat([x, resize_to(cond, x.shape[-2:])], dim=1)
        return self.norm(F.leaky_relu(self.conv(x), 0.2))


class ConvGenerator(nn.Module):
    """z (N, z_dim) [+ condition maps (N, cond_channels, h, w)] -> (N, out_channels, *out_size).

    ``output="linear"`` for bands in normalised space (heavy-tailed, unbounded), ``"tanh"`` for
    images in [-1, 1] (the baseline generator).
    """

    def __init__(
        self,
        z_dim: int,
        out_channels: int,
        out_size: tuple[int, int],
        *,
        cond_channels: int = 0,
        net: NetConfig = NetConfig(),
        output: str = "linear",
    ) -> None:
        super().__init__()
        if output not in ("linear", "tanh"):
            raise ValueError(f"output: expected 'linear' or 'tanh', got {output!r}")
        self.z_dim, self.out_size, self.cond_channels, self.output = z_dim, tuple(out_size), cond_channels, output
        steps, self.start = upsampling_plan(self.out_size, net.min_size)
        channels = channel_plan(steps, net.base_channels, net.max_channels)
        self.fc = EqualLinear(z_dim, channels[0] * self.start[0] * self.start[1])
        self.blocks = nn.ModuleList(
            _UpBlock(channels[max(k - 1, 0)], cond_channels, channels[k], upsample=k > 0) for k in range(steps + 1)
        )
        self.to_out = EqualConv2d(channels[-1], out_channels, 3)

    def forward(self, z: Tensor, cond: Tensor | None = None) -> Tensor:
        if (cond is None) != (self.cond_channels == 0):
            raise ValueError(
                f"cond: this generator takes {self.cond_channels} condition channel(s), got "
                f"{'none' if cond is None else tuple(cond.shape)}"
            )
        if cond is not None and cond.shape[1] != self.cond_channels:
            raise ValueError(f"cond: expected {self.cond_channels} channels, got {cond.shape[1]}")
        x = F.leaky_relu(self.fc(z), 0.2).view(z.shape[0], -1, *self.start)
        for block in self.blocks:
            x = block(x, cond)
        out = self.to_out(x)[..., : self.out_size[0], : self.out_size[1]]
        return torch.tanh(out) if self.output == "tanh" else out


def count_parameters(module: nn.Module) -> int:
    """Number of trainable parameters."""
    return sum(p.numel() for p in module.parameters() if p.requires_grad)
