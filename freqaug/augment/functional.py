"""Pure augmentation kernels on batched images: no RNG, no state, no bundle.

Every kernel takes float ``(B, C, H, W)`` tensors in [0, 1] and returns one of the real images'
size, dtype and device, clamped to [0, 1]. The generated images may have any size: they are first
resized to the real images' size (bilinear, antialiased). Per-sample parameters (strength,
weight) have a leading batch dimension; the samplers in :mod:`freqaug.augment.params` draw them.
"""
from __future__ import annotations

from typing import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor

from freqaug.bands import BandSpec, compose, decompose
from freqaug.bands._checks import check_image

__all__ = [
    "band_mix",
    "blend_images",
    "check_band_names",
    "default_bands",
    "ignore_labels",
    "replace_images",
    "resize_images",
]


def default_bands(spec: BandSpec) -> tuple[str, ...]:
    """The high-frequency bands of ``spec``: every DWT detail band (LH, HL, HH of every level), or ``high``."""
    if spec.kind == "dwt":
        return tuple(name for name in spec.band_names if not name.startswith("LL"))
    return ("high",)


def check_band_names(bands: Sequence[str], spec: BandSpec) -> tuple[str, ...]:
    """``bands`` as a tuple if it is a non-empty list of distinct band names of ``spec``, else raise."""
    if isinstance(bands, str) or not isinstance(bands, (tuple, list)) or not bands:
        raise ValueError(f"bands: expected a non-empty list of band names of {list(spec.band_names)}, got {bands!r}")
    unknown = [name for name in bands if name not in spec.band_names]
    if unknown:
        raise ValueError(f"bands: unknown band(s) {unknown}; the bundle's {spec.describe()} has {list(spec.band_names)}")
    if len(set(bands)) != len(bands):
        raise ValueError(f"bands: expected distinct band names, got {list(bands)}")
    return tuple(bands)


def resize_images(images: Tensor, size: tuple[int, int]) -> Tensor:
    """``images`` (B, C, h, w) resized to ``size`` = (H, W) with antialiased bilinear interpolation."""
    if tuple(images.shape[-2:]) == tuple(size):
        return images
    resized = F.interpolate(images.float(), size=tuple(size), mode="bilinear", antialias=True, align_corners=False)
    return resized.to(images.dtype)


def _matched(real: Tensor, generated: Tensor) -> Tensor:
    """``generated`` checked against ``real`` and resized / cast to the real images' size and dtype."""
    check_image(real, "real")
    check_image(generated, "generated")
    if generated.shape[:2] != real.shape[:2]:
        raise ValueError(
            f"generated: expected batch and channels {tuple(real.shape[:2])} like real, got {tuple(generated.shape[:2])}"
        )
    if generated.device != real.device:
        raise ValueError(f"generated: expected device {real.device} like real, got {generated.device}")
    return resize_images(generated.to(real.dtype), real.shape[-2:])


def _per_sample(values: Tensor | float, real: Tensor, name: str, *, per_channel: bool = False) -> Tensor:
    """``values`` of shape (B,) (or (B, 1) / (B, C) with ``per_channel``) as a (B, 1|C, 1, 1) tensor like ``real``."""
    batch, channels = real.shape[:2]
    values = torch.as_tensor(values, dtype=real.dtype, device=real.device)
    allowed = [(batch,)] + ([(batch, 1), (batch, channels)] if per_channel else [])
    if tuple(values.shape) not in allowed:
        expected = " or ".join(str(shape) for shape in allowed)
        raise ValueError(f"{name}: expected shape {expected} (one value per sample), got {tuple(values.shape)}")
    return values.reshape(batch, -1, 1, 1)


def _check_fits(real: Tensor, spec: BandSpec) -> None:
    """Raise naming the image size if ``spec`` cannot decompose images of the real images' size."""
    height, width = real.shape[-2:]
    try:
        spec.band_shapes(int(height), int(width))
    except ValueError as err:
        raise ValueError(
            f"real: {height}x{width} (HxW) images are too small for the bundle's bands ({spec.describe()}): {err}"
        ) from None


def band_mix(real: Tensor, generated: Tensor, spec: BandSpec, *, bands: Sequence[str], strength: Tensor) -> Tensor:
    """Take ``bands`` from the generated images: ``(1 - s) * real_band + s * generated_band`` per sample.

    Both images are decomposed with ``spec``; ``strength`` s has shape (B,); the other bands stay the
    real image's, and the result is composed back to the real images' size and clamped to [0, 1].
    """
    generated = _matched(real, generated)
    _check_fits(real, spec)
    names = check_band_names(bands, spec)
    s = _per_sample(strength, real, "strength")
    mixed = decompose(real, spec)
    source = decompose(generated, spec)
    for name in names:
        mixed[name] = torch.lerp(mixed[name], source[name], s)
    return compose(mixed, spec, size=tuple(real.shape[-2:])).clamp_(0, 1)


def blend_images(real: Tensor, generated: Tensor, weight: Tensor) -> Tensor:
    """``w * generated + (1 - w) * real`` with ``weight`` w of shape (B,), (B, 1) or (B, C), clamped to [0, 1]."""
    generated = _matched(real, generated)
    w = _per_sample(weight, real, "weight", per_channel=True)
    return torch.lerp(real, generated, w).clamp_(0, 1)


def replace_images(real: Tensor, generated: Tensor) -> Tensor:
    """The generated images at the real images' size and dtype, clamped to [0, 1] (labels no longer apply)."""
    return _matched(real, generated).clamp(0, 1)


def ignore_labels(masks: Tensor, applied: Tensor, ignore_index: int) -> Tensor:
    """``masks`` (B, ...) with every value of the ``applied`` (B,) samples set to ``ignore_index``."""
    if not isinstance(masks, Tensor) or masks.ndim < 1 or masks.shape[:1] != applied.shape:
        got = tuple(masks.shape) if isinstance(masks, Tensor) else type(masks).__name__
        raise ValueError(f"masks: expected a tensor (B, ...) with B = {applied.shape[0]} (one mask per sample), got {got}")
    keep = ~applied.to(masks.device).reshape(-1, *([1] * (masks.ndim - 1)))
    return torch.where(keep, masks, torch.full_like(masks, ignore_index))
