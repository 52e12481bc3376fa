"""Low-pass windows shared by the DCT and Fourier splits.

Frequencies are fractions of the Nyquist frequency (0 = DC, 1 = Nyquist). A window is 1 inside the
cutoff and 0 outside, either hard or with a raised-cosine edge of width ``transition`` centred on
the cutoff; the matching high-pass window is always exactly ``1 - low``.
"""
from __future__ import annotations

import math

import torch
from torch import Tensor

__all__ = ["lowpass_window", "normalized_radius"]


def lowpass_window(rho: Tensor, cutoff: float, transition: float) -> Tensor:
    """Low-pass weights in [0, 1] at normalized radii ``rho``: hard, or a raised-cosine edge."""
    if transition == 0:
        return (rho <= cutoff).to(rho.dtype)
    t = ((rho - (cutoff - transition / 2)) / transition).clamp(0.0, 1.0)
    return 0.5 + 0.5 * torch.cos(math.pi * t)


def normalized_radius(fy: Tensor, fx: Tensor, shape: str) -> Tensor:
    """Distance from DC of frequencies (``fy``, ``fx``, broadcast together): euclidean or max-norm."""
    if shape == "radial":
        return torch.sqrt(fy * fy + fx * fx)
    if shape == "rect":
        return torch.maximum(fy.abs(), fx.abs())
    raise ValueError(f"shape: expected one of 'radial', 'rect', got {shape!r}")
