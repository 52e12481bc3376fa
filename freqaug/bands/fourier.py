"""Fourier low/high split and amplitude/phase view of (N, C, H, W) images, via torch.fft.

The low band keeps the frequencies inside a radial or rectangular cutoff (a fraction of Nyquist),
hard or with a raised-cosine edge; the high band is ``x - low``. Masks live on the ``rfft2`` grid
and are cached per size, dtype and device; spectrum columns the mask zeroes are dropped before the
inverse FFT (it zero-pads them back), so small cutoffs cost less. float32 / float64 run natively,
float16 / bfloat16 are computed in float32 and cast back. Everything is differentiable.
"""
from __future__ import annotations

import functools

import torch
from torch import Tensor

from freqaug.bands._checks import (
    check_image,
    check_pair,
    check_positive_int,
    check_window,
    upcast_half,
)
from freqaug.bands._masks import lowpass_window, normalized_radius
from freqaug.bands.types import Split

__all__ = ["Split", "amplitude_phase", "fourier_mask", "fourier_merge", "fourier_split", "from_amplitude_phase"]




def _mask64(h: int, w: int, cutoff: float, shape: str, transition: float) -> Tensor:
    """The rfft2-grid low-pass mask in float64."""
    fy = torch.fft.fftfreq(h, dtype=torch.float64) / 0.5
    fx = torch.fft.rfftfreq(w, dtype=torch.float64) / 0.5
    return lowpass_window(normalized_radius(fy[:, None], fx[None, :], shape), cutoff, transition)


@functools.lru_cache(maxsize=64)
def _lowpass(
    h: int, w: int, cutoff: float, shape: str, transition: float, dtype: torch.dtype, device: torch.device
) -> Tensor:
    """The rfft2-grid low-pass mask without its trailing all-zero columns."""
    with torch.inference_mode(False):  # a cached inference tensor could not be saved for backward
        mask = _mask64(h, w, cutoff, shape, transition)
        cols = int((mask[0] > 0).sum())  # row 0 (fy = 0) reaches furthest along fx
        return mask[:, :cols].to(dtype=dtype, device=device).contiguous()


def fourier_mask(
    h: int,
    w: int,
    cutoff: float,
    *,
    shape: str = "radial",
    transition: float = 0.0,
    dtype: torch.dtype = torch.float32,
    device=None,
) -> Tensor:
    """(h, w // 2 + 1) low-pass weights on the rfft2 grid (frequencies as fractions of Nyquist)."""
    check_positive_int(h, "h")
    check_positive_int(w, "w")
    cutoff, shape, transition = check_window(cutoff, shape, transition)
    return _mask64(h, w, cutoff, shape, transition).to(dtype=dtype, device=device)


def fourier_split(x: Tensor, *, cutoff: float, shape: str = "radial", transition: float = 0.0) -> Split:
    """Split ``x`` into a Fourier low-pass band and its complement ``x - low``."""
    check_image(x)
    cutoff, shape, transition = check_window(cutoff, shape, transition)
    xw = upcast_half(x)
    h, w = x.shape[-2:]
    mask = _lowpass(h, w, cutoff, shape, transition, xw.dtype, xw.device)
    cols = mask.shape[-1]
    if 2 * cols <= w // 2 + 1:  # few columns kept: transform only those along the height
        spectrum = torch.fft.fft(torch.fft.rfft(xw)[..., :cols], dim=-2)
    else:
        spectrum = torch.fft.rfft2(xw)[..., :cols]
    # Two 1-D inverses: torch's irfft2 would first zero-pad the dropped columns back.
    low = torch.fft.irfft(torch.fft.ifft(spectrum * mask, dim=-2), n=w).to(x.dtype)
    return Split(low, x - low)


def fourier_merge(bands: Split | tuple[Tensor, Tensor]) -> Tensor:
    """Inverse of :func:`fourier_split`: ``low + high``."""
    low, high = check_pair(bands)
    return low + high


def amplitude_phase(x: Tensor) -> tuple[Tensor, Tensor]:
    """Amplitude and phase of ``rfft2(x, norm="ortho")``, a spectral view for style mixing."""
    check_image(x)
    spectrum = torch.fft.rfft2(upcast_half(x), norm="ortho")
    return spectrum.abs().to(x.dtype), spectrum.angle().to(x.dtype)


def from_amplitude_phase(amplitude: Tensor, phase: Tensor, size: tuple[int, int]) -> Tensor:
    """Inverse of :func:`amplitude_phase`: the (H, W) = ``size`` image with that spectrum."""
    check_image(amplitude, "amplitude")
    check_image(phase, "phase")
    if not (isinstance(size, (tuple, list)) and len(size) == 2):
        raise ValueError(f"size: expected (height, width), got {size!r}")
    h, w = check_positive_int(size[0], "size[0]"), check_positive_int(size[1], "size[1]")
    expected = (h, w // 2 + 1)
    for name, t in (("amplitude", amplitude), ("phase", phase)):
        if tuple(t.shape[-2:]) != expected:
            got = tuple(t.shape[-2:])
            raise ValueError(f"{name}: expected last dims {expected} for size {(h, w)}, got {got}")
    if amplitude.shape != phase.shape:
        got = tuple(phase.shape)
        raise ValueError(f"phase: expected the shape of amplitude {tuple(amplitude.shape)}, got {got}")
    amplitude_w = upcast_half(amplitude)
    spectrum = torch.polar(amplitude_w, phase.to(amplitude_w.dtype))
    return torch.fft.irfft2(spectrum, s=(h, w), norm="ortho").to(amplitude.dtype)
