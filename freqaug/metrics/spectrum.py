"""Radially averaged power spectra and per-band energies: which frequencies an image set holds."""
from __future__ import annotations

from typing import Mapping

import torch
from torch import Tensor

from freqaug.bands._checks import check_image

__all__ = ["band_energy", "band_kurtosis", "radial_power_spectrum", "spectrum_distance"]


def radial_power_spectrum(x: Tensor, *, bins: int = 64, window: bool = True) -> tuple[Tensor, Tensor]:
    """Mean power per radial frequency bin, per channel, over a (N, C, H, W) batch.

    Returns ``(freqs, power)``: bin centres as a fraction of Nyquist (0..1, shape (bins,)) and the
    power (C, bins), averaged over images and over the frequencies in each ring (corners beyond
    Nyquist are left out). Each image's mean is removed first so that DC does not dominate, and
    by default a 2-D Hann window suppresses the broadband leakage of the image borders (the DFT
    sees them as edges); the power is rescaled so white noise keeps its level either way.
    """
    check_image(x)
    if isinstance(bins, bool) or not isinstance(bins, int) or bins < 1:
        raise ValueError(f"bins: expected a positive integer, got {bins!r}")
    h, w = x.shape[-2:]
    xf = x.to(torch.float64) if x.dtype == torch.float64 else x.float()
    xf = xf - xf.mean(dim=(-2, -1), keepdim=True)
    if window:
        win = torch.outer(torch.hann_window(h, periodic=False, dtype=xf.dtype, device=x.device),
                          torch.hann_window(w, periodic=False, dtype=xf.dtype, device=x.device))
        xf = xf * (win / win.square().mean().sqrt())
    power = torch.fft.rfft2(xf, norm="ortho").abs().square().mean(dim=0)  # (C, H, W//2+1)
    fy = torch.fft.fftfreq(h, device=x.device).abs() / 0.5
    fx = torch.fft.rfftfreq(w, device=x.device) / 0.5
    rho = torch.sqrt(fy[:, None] ** 2 + fx[None, :] ** 2)
    index = (rho * bins).long()
    inside = index < bins
    index = index[inside]
    counts = torch.bincount(index, minlength=bins).clamp_min(1).to(power.dtype)
    sums = torch.zeros(power.shape[0], bins, dtype=power.dtype, device=x.device)
    sums.index_add_(1, index, power[:, inside])
    freqs = (torch.arange(bins, dtype=power.dtype, device=x.device) + 0.5) / bins
    return freqs, sums / counts


def band_energy(bands: Mapping[str, Tensor]) -> dict[str, float]:
    """Fraction of the total energy (sum of squares) held by each band."""
    energy = {name: float(band.detach().double().square().sum()) for name, band in bands.items()}
    total = sum(energy.values()) or 1.0
    return {name: e / total for name, e in energy.items()}


def band_kurtosis(bands: Mapping[str, Tensor]) -> dict[str, float]:
    """Kurtosis E[(x - mean)^4] / var^2 of each band's coefficients (per channel, then averaged):
    3 for Gaussian noise, far more for the sparse, edge-driven detail bands of natural images, so
    a generator that draws dense texture instead of edges shows up here."""
    out = {}
    for name, band in bands.items():
        x = band.detach().double().transpose(0, 1).flatten(1)  # (C, everything else)
        x = x - x.mean(dim=1, keepdim=True)
        var = x.square().mean(dim=1)
        varying = var > 0  # a constant channel has no kurtosis
        kurt = x.pow(4).mean(dim=1)[varying] / var[varying].square()
        out[name] = float(kurt.mean()) if kurt.numel() else float("nan")
    return out


def spectrum_distance(real: Tensor, fake: Tensor, *, bins: int = 64) -> dict[str, float]:
    """Mean |log10 P_real - log10 P_fake| over radial frequency bins, per channel and averaged;
    also split into the low (< 0.25 Nyquist) and high (>= 0.25) halves of the spectrum."""
    freqs, p_real = radial_power_spectrum(real, bins=bins)
    _, p_fake = radial_power_spectrum(fake, bins=bins)
    if p_real.shape != p_fake.shape:
        raise ValueError(f"real and fake: expected the same channels, got {p_real.shape[0]} and {p_fake.shape[0]}")
    gap = (p_real.clamp_min(1e-20).log10() - p_fake.clamp_min(1e-20).log10()).abs()[:, 1:]  # bin 0 ~ DC
    freqs = freqs[1:]
    out = {f"channel{c}": float(gap[c].mean()) for c in range(gap.shape[0])}
    out.update(mean=float(gap.mean()), low=float(gap[:, freqs < 0.25].mean()), high=float(gap[:, freqs >= 0.25].mean()))
    return out
