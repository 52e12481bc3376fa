"""Convolutional discriminators with spectral norm: one per band, one for the composed image
(a real/fake logit per sample, or per-pixel class logits with OASIS's segmentation discriminator)."""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.nn.utils.parametrizations import spectral_norm

from freqaug.models.config import NetConfig
from freqaug.models.layers import channel_plan, resize_to, upsampling_plan

__all__ = ["ConvDiscriminator", "SegmentationDiscriminator"]


class ConvDiscriminator(nn.Module):
    """(N, in_channels, *in_size) [+ condition maps] -> (N,) logits.

    3x3 spectral-norm convs with LeakyReLU and 2x average-pool downsampling to a ~min_size grid,
    then a spectral-norm linear layer. Condition maps (cascade sources) are resized to the input
    and concatenated, making the discriminator judge a band *given* its sources. A conditional
    discriminator (``layout_channels`` > 0) also gets the one-hot layout, area-pooled to the input
    and concatenated: it judges an image or band *given* its layout. (For the full image,
    :class:`SegmentationDiscriminator` is the OASIS alternative, ``LayoutConfig.image_discriminator``.)
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


class SegmentationDiscriminator(nn.Module):
    """OASIS (Schoenfeld et al. 2021): (N, in_channels, H, W) -> (N, num_classes + 1, H, W) per-pixel
    logits, the K semantic classes then "fake" (index K).

    A compact U-Net: the encoder is :class:`ConvDiscriminator`'s (spectral-norm 3x3 convs, LeakyReLU,
    2x average pooling to a ~min_size grid, channels from ``net``); per finer grid the decoder maps
    its channels to that grid's by a spectral-norm 1x1 conv, doubles the grid by nearest upsampling
    (cropped to the skip's size, so odd sizes align), adds the encoder map of that grid (an additive
    skip: a third of a concatenating U-Net's cost at full resolution) and applies a spectral-norm
    3x3 conv; a plain 1x1 conv (as in OASIS) gives the logits. The layout is not an input: it is the
    target of the losses (``train.losses``).
    """

    def __init__(self, in_channels: int, in_size: tuple[int, int], num_classes: int, *,
                 net: NetConfig = NetConfig()) -> None:
        super().__init__()
        if isinstance(num_classes, bool) or not isinstance(num_classes, int) or num_classes < 1:
            raise ValueError(f"num_classes: expected an integer >= 1, got {num_classes!r}")
        self.in_size, self.num_classes = tuple(in_size), num_classes
        steps, _ = upsampling_plan(self.in_size, net.min_size)
        channels = channel_plan(steps, net.base_channels, net.max_channels)[::-1]  # fine -> coarse
        self.encoder = nn.ModuleList(
            [spectral_norm(nn.Conv2d(in_channels, channels[0], 3, padding=1))]
            + [spectral_norm(nn.Conv2d(channels[k], channels[k + 1], 3, padding=1)) for k in range(steps)]
        )
        self.lateral = nn.ModuleList(  # coarse -> fine: 1x1 to the finer grid's channels, before upsampling
            spectral_norm(nn.Conv2d(channels[k + 1], channels[k], 1)) for k in reversed(range(steps))
        )
        self.decoder = nn.ModuleList(
            spectral_norm(nn.Conv2d(channels[k], channels[k], 3, padding=1)) for k in reversed(range(steps))
        )
        self.head = nn.Conv2d(channels[0], num_classes + 1, 1)

    def forward(self, x: Tensor) -> Tensor:
        skips = []
        for k, conv in enumerate(self.encoder):
            x = F.leaky_relu(conv(x if k == 0 else F.avg_pool2d(x, 2, ceil_mode=True)), 0.2)
            skips.append(x)
        for lateral, conv, skip in zip(self.lateral, self.decoder, reversed(skips[:-1])):
            up = F.interpolate(lateral(x), scale_factor=2, mode="nearest")[..., : skip.shape[-2], : skip.shape[-1]]
            x = F.leaky_relu(conv(up + skip), 0.2)
        return self.head(x)
