"""Convolutional discriminators with spectral norm: one per band, one for the composed image."""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.nn.utils.parametrizations import spectral_norm

from freqaug.models.config import NetConfig
from freqaug.models.layers import channel_plan, resize_to, upsampling_plan

__all__ = ["ConvDiscriminator"]


class ConvDiscriminator(nn.Module):
    """(N, in_channels, *in_size) [+ condition maps] -> (N,) logits.

    3x3 spectral-norm convs with LeakyReLU and 2x average-pool downsampling to a ~min_size grid,
    then a spectral-norm linear layer. Condition maps (cascade sources) are resized to the input
    and concatenated, making the discriminator judge a band *given* its sources. A conditional
    discriminator (``layout_channels`` > 0) also gets the one-hot layout, area-pooled to the input
    and concatenated: it judges an image or band *given* its layout. (OASIS's per-pixel (K+1)-class
    segmentation discriminator is the stronger choice for the full image; not implemented yet.)
    """

    def __init__(
        self, in_channels: int, in_size: tuple[int, int], *, cond_channels: int = 0, net: NetConfig = NetConfig(),
        layout_channels: int = 0,
    ) -> None:
        super().__init__()
        self.in_size, self.cond_channels, self.layout_channels = tuple(in_size), cond_channels, layout_channels
        steps, _ = upsampling_plan(self.in_size, net.min_size)
        channels = channel_plan(steps, net.base_channels, net.max_channels)[::-1]  # fine -> coarse
        inputs = in_channels + cond_channels + layout_channels
        layers: list[nn.Module] = [spectral_norm(nn.Conv2d(inputs, channels[0], 3, padding=1))]
        for k in range(steps):
            layers.append(spectral_norm(nn.Conv2d(channels[k], channels[k + 1], 3, padding=1)))
        self.convs = nn.ModuleList(layers)
        self.head = spectral_norm(nn.Linear(channels[-1], 1))

    def forward(self, x: Tensor, cond: Tensor | None = None, layout: Tensor | None = None) -> Tensor:
        if cond is not None:
            x = torch.cat([x, resize_to(cond, x.shape[-2:])], dim=1)
        elif self.cond_channels:
            raise ValueError(f"cond: this discriminator takes {self.cond_channels} condition channel(s), got none")
        if (layout is None) != (self.layout_channels == 0):
            got = "none" if layout is None else tuple(layout.shape)
            raise ValueError(f"layout: this discriminator takes a {self.layout_channels}-channel layout, got {got}")
        if layout is not None:
            x = torch.cat([x, resize_to(layout, x.shape[-2:])], dim=1)
        for k, conv in enumerate(self.convs):
            x = F.leaky_relu(conv(x), 0.2)
            if k < len(self.convs) - 1:
                x = F.avg_pool2d(x, 2, ceil_mode=True)
        return self.head(x.mean(dim=(-2, -1))).squeeze(1)
