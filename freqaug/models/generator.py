"""Convolutional generators: one per band (in normalised band space) and the baseline full-image one.

DCGAN-style with modern details: a linear layer to a small grid, then (x2 nearest upsampling,
3x3 conv, LeakyReLU, pixel norm) blocks, then a 3x3 conv to the output channels, cropped to the
exact output size (band sizes can be odd). Cascade inputs (patent [0011]) are resized to every
block's grid and concatenated as extra channels; with ``net.source_width`` a small full-resolution
conv net maps them straight to the output too (the source path), which the coarse-to-fine blocks
alone hardly learn: without it detail bands come out as dense texture unrelated to their sources'
edges (docs/experiments.md, ``diagnose_detail_bands``). A conditional generator also takes a one-hot
layout, applied after every block's pixel norm by spatially-adaptive modulation (SPADE).
"""
from __future__ import annotations

from typing import Sequence, cast

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from freqaug.models.config import NetConfig
from freqaug.models.layers import (
    EqualConv2d,
    EqualLinear,
    PixelNorm,
    SpatialModulation,
    channel_plan,
    layout_pyramid,
    resize_to,
    upsampling_plan,
)

__all__ = ["ConvGenerator", "count_parameters"]


class _UpBlock(nn.Module):
    def __init__(
        self, in_channels: int, cond_channels: int, out_channels: int, upsample: bool, layout: tuple[int, int] | None
    ) -> None:
        super().__init__()
        self.upsample = upsample
        self.conv = EqualConv2d(in_channels + cond_channels, out_channels, 3)
        self.norm = PixelNorm()
        self.spade = SpatialModulation(layout[0], out_channels, layout[1]) if layout else None

    def forward(self, x: Tensor, cond: Tensor | None, layout: Tensor | None = None) -> Tensor:
        if self.upsample:
            x = F.interpolate(x, scale_factor=2, mode="nearest")
        if cond is not None:
            x = torch.cat([x, resize_to(cond, x.shape[-2:])], dim=1)
        x = self.norm(F.leaky_relu(self.conv(x), 0.2))
        return x if self.spade is None else self.spade(x, layout)


class _SourcePath(nn.Module):
    """Cascade sources at the output size -> an additive output term (three 3x3 convs).

    Plain convolutions, not equalized-learning-rate ones: under Adam they move ~10x faster relative
    to their size, and an equalized path learned too slowly to matter within a CPU-sized run
    (alignment 0.19 vs 0.53 after 200 steps; docs/experiments.md, ``diagnose_detail_bands``)."""

    def __init__(self, in_channels: int, out_channels: int, width: int) -> None:
        super().__init__()
        self.convs = nn.ModuleList(
            [nn.Conv2d(in_channels, width, 3, padding=1), nn.Conv2d(width, width, 3, padding=1),
             nn.Conv2d(width, out_channels, 3, padding=1)]
        )

    def forward(self, sources: Tensor) -> Tensor:
        x = sources
        for k, conv in enumerate(self.convs):
            x = conv(x) if k == len(self.convs) - 1 else F.leaky_relu(conv(x), 0.2)
        return x


class ConvGenerator(nn.Module):
    """z (N, z_dim) [+ condition maps (N, cond_channels, h, w)] [+ one-hot layout (N, layout_channels,
    H, W) at any size] -> (N, out_channels, *out_size).

    ``output="linear"`` for bands in normalised space (heavy-tailed, unbounded), ``"tanh"`` for
    images in [-1, 1] (the baseline generator). ``layout_channels`` > 0 adds SPADE modulation with
    ``layout_hidden`` channels to every block.
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
        layout_channels: int = 0,
        layout_hidden: int = 32,
    ) -> None:
        super().__init__()
        if output not in ("linear", "tanh"):
            raise ValueError(f"output: expected 'linear' or 'tanh', got {output!r}")
        self.z_dim, self.out_size, self.cond_channels, self.output = z_dim, tuple(out_size), cond_channels, output
        self.layout_channels = layout_channels
        steps, self.start = upsampling_plan(self.out_size, net.min_size)
        self.grids = [(self.start[0] * 2**k, self.start[1] * 2**k) for k in range(steps + 1)]
        channels = channel_plan(steps, net.base_channels, net.max_channels)
        self.fc = EqualLinear(z_dim, channels[0] * self.start[0] * self.start[1])
        spade = (layout_channels, layout_hidden) if layout_channels else None
        self.blocks = nn.ModuleList(
            _UpBlock(channels[max(k - 1, 0)], cond_channels, channels[k], upsample=k > 0, layout=spade)
            for k in range(steps + 1)
        )
        self.to_out = EqualConv2d(channels[-1], out_channels, 3)
        use_path = cond_channels > 0 and net.source_width > 0
        self.source_path = _SourcePath(cond_channels, out_channels, net.source_width) if use_path else None

    def forward(self, z: Tensor, cond: Tensor | None = None, layout: Tensor | None = None) -> Tensor:
        if (cond is None) != (self.cond_channels == 0):
            raise ValueError(
                f"cond: this generator takes {self.cond_channels} condition channel(s), got "
                f"{'none' if cond is None else tuple(cond.shape)}"
            )
        if cond is not None and cond.shape[1] != self.cond_channels:
            raise ValueError(f"cond: expected {self.cond_channels} channels, got {cond.shape[1]}")
        layouts = self._layouts(layout)
        x = F.leaky_relu(self.fc(z), 0.2).view(z.shape[0], -1, *self.start)
        for block, grid_layout in zip(self.blocks, layouts):
            x = block(x, cond, grid_layout)
        out = self.to_out(x)[..., : self.out_size[0], : self.out_size[1]]
        if self.source_path is not None:
            assert cond is not None  # a source path exists only with cond_channels > 0, checked above
            out = out + self.source_path(resize_to(cond, self.out_size))
        return torch.tanh(out) if self.output == "tanh" else out

    @torch.no_grad()
    def zero_output_(self) -> ConvGenerator:
        """Zero the last layers (output conv and source path), so the generator starts at exactly 0:
        a residual generator then starts as the identity (ReZero / ControlNet's zero convs)."""
        last: list[EqualConv2d | nn.Conv2d] = [self.to_out] + (
            [cast(nn.Conv2d, self.source_path.convs[-1])] if self.source_path is not None else []
        )
        for layer in last:
            layer.weight.zero_()
            assert layer.bias is not None  # every output conv here is built with a bias
            layer.bias.zero_()
        return self

    def _layouts(self, layout: Tensor | None) -> Sequence[Tensor | None]:
        """The one-hot layout at every block's grid (Nones for an unconditional generator)."""
        if (layout is None) != (self.layout_channels == 0):
            got = "none" if layout is None else tuple(layout.shape)
            raise ValueError(f"layout: this generator takes a {self.layout_channels}-channel layout, got {got}")
        if layout is None:
            return [None] * len(self.blocks)
        if layout.ndim != 4 or layout.shape[1] != self.layout_channels:
            raise ValueError(f"layout: expected (N, {self.layout_channels}, H, W), got {tuple(layout.shape)}")
        return layout_pyramid(layout, self.out_size, self.grids)


def count_parameters(module: nn.Module) -> int:
    """Number of trainable parameters."""
    return sum(p.numel() for p in module.parameters() if p.requires_grad)
