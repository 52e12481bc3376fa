"""Sliced Wasserstein distance on a Laplacian pyramid (ProGAN, Karras et al. 2018, appendix D).

Per pyramid level, random 7x7 neighbourhoods of both image sets are normalised by the real set's
per-channel mean and std and compared with the sliced Wasserstein distance (random unit
directions, sorted projections). Small distances at a level mean the generator matches the real
statistics at that scale; fine levels measure texture and edges, coarse levels layout and colour.
Reported x1e3, like ProGAN.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from freqaug.bands._checks import check_image

__all__ = ["laplacian_pyramid", "sliced_wasserstein", "swd"]

_GAUSS = torch.tensor([1.0, 4.0, 6.0, 4.0, 1.0]) / 16


def _blur(x: Tensor) -> Tensor:
    k = _GAUSS.to(x)
    c = x.shape[1]
    x = F.pad(x, (2, 2, 2, 2), mode="reflect")
    x = F.conv2d(x, k.view(1, 1, 1, 5).expand(c, 1, 1, 5), groups=c)
    return F.conv2d(x, k.view(1, 1, 5, 1).expand(c, 1, 5, 1), groups=c)


def laplacian_pyramid(x: Tensor, levels: int) -> list[Tensor]:
    """Band-pass images, finest first, then the coarsest low-pass image (``levels`` in all)."""
    pyramid = []
    for _ in range(levels - 1):
        low = _blur(x)[..., ::2, ::2]
        up = F.interpolate(low, size=x.shape[-2:], mode="bilinear", align_corners=False)
        pyramid.append(x - up)
        x = low
    pyramid.append(x)
    return pyramid


def _patch_positions(shape, count: int, size: int, generator: torch.Generator) -> tuple[Tensor, Tensor]:
    """Top-left corners of ``count`` random size x size neighbourhoods per image."""
    n, _, h, w = shape
    if h < size or w < size:
        raise ValueError(f"images: a pyramid level of {h}x{w} is smaller than the {size}x{size} patch; use fewer levels")
    return (torch.randint(0, h - size + 1, (n, count), generator=generator),
            torch.randint(0, w - size + 1, (n, count), generator=generator))


def _patches(level: Tensor, ys: Tensor, xs: Tensor, size: int) -> Tensor:
    """The neighbourhoods at (ys, xs), flattened: (N * count, C * size^2)."""
    n, c, h, w = level.shape
    count = ys.shape[1]
    offsets = torch.arange(size)
    rows = (ys[..., None] + offsets)[..., :, None]  # (n, count, size, 1)
    cols = (xs[..., None] + offsets)[..., None, :]  # (n, count, 1, size)
    flat = (rows * w + cols).view(n, 1, -1).expand(n, c, -1).to(level.device)
    picked = level.flatten(2).gather(2, flat).view(n, c, count, size * size)
    return picked.permute(0, 2, 1, 3).reshape(n * count, c * size * size)


def sliced_wasserstein(a: Tensor, b: Tensor, *, directions: int = 512, generator: torch.Generator) -> Tensor:
    """Mean 1-D Wasserstein-1 distance of two equally sized point sets over random directions."""
    if a.shape != b.shape:
        raise ValueError(f"a and b: expected equal shapes, got {tuple(a.shape)} and {tuple(b.shape)}")
    dirs = torch.randn(a.shape[1], directions, generator=generator).to(a)
    dirs = dirs / dirs.norm(dim=0, keepdim=True)
    proj_a, _ = (a @ dirs).sort(dim=0)
    proj_b, _ = (b @ dirs).sort(dim=0)
    return (proj_a - proj_b).abs().mean()


def swd(
    real: Tensor, fake: Tensor, *, levels: int = 4, patches_per_image: int = 128, patch_size: int = 7,
    directions: int = 512, seed: int = 0,
) -> dict[str, float]:
    """SWD x1e3 per pyramid level (``"level0"`` finest) and their ``"mean"``, for two equally
    sized (N, C, H, W) sets in the same value range."""
    check_image(real, "real")
    check_image(fake, "fake")
    if real.shape != fake.shape:
        raise ValueError(f"real and fake: expected equal shapes, got {tuple(real.shape)} and {tuple(fake.shape)}")
    generator = torch.Generator().manual_seed(seed)
    out: dict[str, float] = {}
    pyr_real = laplacian_pyramid(real.double(), levels)
    pyr_fake = laplacian_pyramid(fake.double(), levels)
    for i, (lr, lf) in enumerate(zip(pyr_real, pyr_fake)):
        ys, xs = _patch_positions(lr.shape, patches_per_image, patch_size, generator)  # same for both sets
        pa, pb = _patches(lr, ys, xs, patch_size), _patches(lf, ys, xs, patch_size)
        mean, std = pa.mean(0, keepdim=True), pa.std(0, keepdim=True).clamp_min(1e-8)
        out[f"level{i}"] = 1e3 * float(sliced_wasserstein((pa - mean) / std, (pb - mean) / std,
                                                          directions=directions, generator=generator))
    out["mean"] = sum(out.values()) / levels
    return out
