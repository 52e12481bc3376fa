"""The blend of claim 7: alpha * band_image + (1 - alpha) * baseline_image, alpha learned."""
from __future__ import annotations

import math

import torch
from torch import Tensor, nn

__all__ = ["AlphaBlend", "blend"]


def blend(band_image: Tensor, baseline_image: Tensor, alpha: Tensor) -> Tensor:
    """Superimpose two (N, C, H, W) images; ``alpha`` is a scalar or (C,) weight in [0, 1]."""
    alpha = alpha.reshape(1, -1, 1, 1).to(band_image.dtype)
    return alpha * band_image + (1 - alpha) * baseline_image


class AlphaBlend(nn.Module):
    """Holds alpha = sigmoid(logit) as a learned parameter, one value or one per channel."""

    def __init__(self, channels: int, *, per_channel: bool = False, init: float = 0.5) -> None:
        super().__init__()
        if not 0 < init < 1:
            raise ValueError(f"init: expected alpha in (0, 1), got {init!r}")
        self.logit = nn.Parameter(torch.full((channels if per_channel else 1,), math.log(init / (1 - init))))

    @property
    def alpha(self) -> Tensor:
        """Current alpha, strictly inside (0, 1)."""
        return torch.sigmoid(self.logit)

    def forward(self, band_image: Tensor, baseline_image: Tensor) -> Tensor:
        return blend(band_image, baseline_image, self.alpha)
