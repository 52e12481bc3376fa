"""Pure augmentation kernels on batched images: no RNG, no state, no bundle.

Every kernel takes float ``(B, C, H, W)`` tensors in [0, 1] and returns one of the real images'
size, dtype and device, clamped to [0, 1]. The generated images may have any size: they are first
resized to the real images' size (bilinear, antialiased). The band kernels are scale-aware: a
generated image ``r`` times smaller than the real one only has content up to its own Nyquist
frequency, so each of its bands is mixed into the real band *of the same resolution* (a DWT with
``round(log2 r)`` extra levels, a low/high cutoff divided by ``r``, the Fourier amplitude inside
the generated image's band limit) and the real image keeps its finer detail. Per-sample parameters
(strength, weight) have a leading batch dimension; the samplers in :mod:`freqaug.augment.params`
draw them.
"""
from __future__ import annotations

from typing import Sequence

import dataclasses
import math

import torch
import torch.nn.functional as F
from torch import Tensor

from freqaug.bands import BandSpec, compose, decompose
from freqaug.bands._checks import check_image

__all__ = [
    "COARSE_CUTOFF",
    "amplitude_mix",
    "band_mix",
    "coarse_mix",
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


COARSE_CUTOFF = 1 / 16
"""``coarse_mix``'s edge as a fraction of the Nyquist frequency: what a DWT's ``LL4`` holds (6x8 px of a
96x128 image): illumination, colour and global contrast, not the scene's layout."""


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


def resize_images(images: Tensor, size: tuple[int, ...]) -> Tensor:
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


def size_ratio(real: Tensor, generated: Tensor) -> float:
    """How many times larger the real images are than the generated ones (the smaller of the two axes)."""
    return min(real.shape[-2] / generated.shape[-2], real.shape[-1] / generated.shape[-1])


def extra_levels(ratio: float) -> int:
    """DWT levels to add so that a generated band meets the real band of the same resolution: round(log2 r), >= 0."""
    return max(0, round(math.log2(ratio))) if ratio > 0 else 0


def _band_strengths(strength: Tensor | float, real: Tensor, count: int) -> Tensor:
    """``strength`` of shape (B,) (one per sample) or (B, count) (one per sample and band) as (count, B, 1, 1, 1)."""
    batch = real.shape[0]
    values = torch.as_tensor(strength, dtype=real.dtype, device=real.device)
    if tuple(values.shape) == (batch,):
        values = values[:, None].expand(batch, count)
    if tuple(values.shape) != (batch, count):
        raise ValueError(f"strength: expected shape ({batch},) (one value per sample) or ({batch}, {count}) "
                         f"(one per sample and band), got {tuple(values.shape)}")
    return values.t().reshape(count, batch, 1, 1, 1)


def _shifted(name: str, extra: int) -> str:
    """DWT band ``name`` (``LL2``, ``HH1``, ...) ``extra`` levels coarser."""
    return f"{name[:2]}{int(name[2:]) + extra}"


def _low_pass(x: Tensor, spec: BandSpec, cutoff: float) -> Tensor:
    """The spatial image of ``x``'s ``low`` band under ``spec`` with its cutoff (and edge) set to ``cutoff``."""
    scaled = dataclasses.replace(spec, cutoff=cutoff, transition=spec.transition * cutoff / spec.cutoff)
    bands = decompose(x, scaled)
    return compose({"low": bands["low"], "high": torch.zeros_like(bands["high"])}, scaled, size=tuple(x.shape[-2:]))


def band_mix(real: Tensor, generated: Tensor, spec: BandSpec, *, bands: Sequence[str], strength: Tensor) -> Tensor:
    """Take ``bands`` from the generated images: ``(1 - s) * real_band + s * generated_band`` per sample.

    ``strength`` s has shape (B,), or (B, len(bands)) for a strength per band. The other bands stay
    the real image's; the result is composed back to the real images' size and clamped to [0, 1].
    Scale-aware (see the module docstring): a generated image r >= 1.5 times smaller than the real
    one has its DWT band ``LH1`` mixed into the real ``LH{1 + round(log2 r)}``, and so on (the real
    image's finer levels are kept); under a low/high split its ``low`` band is the real image's
    below ``cutoff / r`` and its ``high`` band the real one between ``cutoff / r`` and ``1 / r``.
    """
    names = check_band_names(bands, spec)
    ratio = size_ratio(check_image(real, "real"), check_image(generated, "generated"))
    generated = _matched(real, generated)
    s = _band_strengths(strength, real, len(names))
    if spec.kind == "dwt":
        extra = extra_levels(ratio)
        wide = dataclasses.replace(spec, levels=spec.levels + extra)
        _check_fits(real, wide)
        mixed = decompose(real, wide)
        source = decompose(generated, wide)
        for i, name in enumerate(names):
            wide_name = _shifted(name, extra)
            mixed[wide_name] = torch.lerp(mixed[wide_name], source[wide_name], s[i])
        return compose(mixed, wide, size=tuple(real.shape[-2:])).clamp_(0, 1)
    _check_fits(real, spec)
    if ratio < 1.5:
        mixed = decompose(real, spec)
        source = decompose(generated, spec)
        for i, name in enumerate(names):
            mixed[name] = torch.lerp(mixed[name], source[name], s[i])
        return compose(mixed, spec, size=tuple(real.shape[-2:])).clamp_(0, 1)
    diff = generated - real  # the split is linear: mixing a band adds s times its share of the difference
    low = _low_pass(diff, spec, spec.cutoff / ratio)
    parts = {"low": low, "high": (_low_pass(diff, spec, 1 / ratio) if 1 / ratio < 1 else diff) - low}
    out = real.clone()
    for i, name in enumerate(names):
        out += s[i] * parts[name]
    return out.clamp_(0, 1)


def coarse_mix(real: Tensor, generated: Tensor, strength: Tensor, *, cutoff: float = COARSE_CUTOFF) -> Tensor:
    """The generated images' illumination, colour and global contrast under the real images' detail:
    ``real + s * lowpass(generated - real)`` with a radial raised-cosine low-pass (edge ``cutoff`` of
    the Nyquist frequency, as wide again: no ringing, no blocks), ``strength`` s of shape (B,).

    The cutoff is relative to the real image, so the mix means the same at any size; a generated
    image up to ``1 / cutoff`` times smaller than the real one still has all the content it takes.
    """
    check_image(real, "real")
    generated = _matched(real, generated)
    s = _per_sample(strength, real, "strength")
    low = BandSpec(kind="fourier", cutoff=cutoff, transition=cutoff)
    return (real + s * _low_pass(generated - real, low, cutoff)).clamp_(0, 1)


def amplitude_mix(real: Tensor, generated: Tensor, strength: Tensor) -> Tensor:
    """The real images' Fourier phase with ``(1 - s) * |F real| + s * |F generated|`` as amplitude, per channel.

    With a real partner and s = 1 this is APR-P's amplitude-phase recombination (Chen et al., ICCV
    2021). ``strength`` s: (B,). Scale-aware: frequencies above the generated image's own band limit
    (a generated image r times smaller than the real one has none) keep the real amplitude.
    """
    check_image(real, "real")
    ratio_h, ratio_w = real.shape[-2] / check_image(generated, "generated").shape[-2], real.shape[-1] / generated.shape[-1]
    generated = _matched(real, generated)
    s = _per_sample(strength, real, "strength")
    height, width = real.shape[-2:]
    spectrum = torch.fft.rfft2(real.float())
    partner = torch.fft.rfft2(generated.float()).abs()
    fy = torch.fft.fftfreq(height, device=real.device).abs()[:, None] * 2  # fraction of the Nyquist frequency
    fx = torch.fft.rfftfreq(width, device=real.device)[None, :] * 2
    inside = ((fy <= 1 / max(ratio_h, 1.0)) & (fx <= 1 / max(ratio_w, 1.0))).to(spectrum.real.dtype)
    amplitude = torch.lerp(spectrum.abs(), partner, s.float() * inside)
    out = torch.fft.irfft2(torch.polar(amplitude, spectrum.angle()), s=(height, width))
    return out.to(real.dtype).clamp_(0, 1)


def blend_images(real: Tensor, generated: Tensor, weight: Tensor) -> Tensor:
    """``w * generated + (1 - w) * real`` with ``weight`` w of shape (B,), (B, 1) or (B, C), clamped to [0, 1].

    Scale-aware: a generated image r >= 1.5 times smaller than the real one has nothing above its own
    band limit, so there the real image is kept whole (``real + w * (generated - lowpass_{1/r}(real))``).
    """
    ratio = size_ratio(check_image(real, "real"), check_image(generated, "generated"))
    generated = _matched(real, generated)
    w = _per_sample(weight, real, "weight", per_channel=True)
    if ratio < 1.5:
        return torch.lerp(real, generated, w).clamp_(0, 1)
    limit = BandSpec(kind="fourier", cutoff=1 / ratio, transition=min(1 / ratio, 1 - 1 / ratio) * 0.5)
    return (real + w * (generated - _low_pass(real, limit, 1 / ratio))).clamp_(0, 1)


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
