"""Argument validation shared by the band transforms: errors name the argument and what was expected."""
from __future__ import annotations

import torch
from torch import Tensor

from freqaug._checks import check_choice, check_int, check_positive_int  # noqa: F401 (re-exported)


def check_image(x: object, name: str = "x", *, check_finite: bool = False) -> Tensor:
    """Return ``x`` if it is a floating (N, C, H, W) tensor, else raise naming ``name``."""
    if not isinstance(x, Tensor):
        raise TypeError(f"{name}: expected a torch.Tensor of shape (N, C, H, W), got {type(x).__name__}")
    if x.ndim != 4:
        raise ValueError(f"{name}: expected a 4-D tensor (N, C, H, W), got shape {tuple(x.shape)}")
    if not x.is_floating_point():
        raise TypeError(f"{name}: expected a floating dtype (float16/bfloat16/float32/float64), got {x.dtype}")
    if check_finite and not bool(torch.isfinite(x).all()):
        raise ValueError(f"{name}: contains NaN or Inf values; expected finite values")
    return x


def check_unit_range(x: Tensor, name: str, tolerance: float = 1e-3) -> Tensor:
    """Return float ``x`` if its values lie in [0, 1] (to ``tolerance``), else raise naming ``name`` and the range
    found: a float image in 0..255 would otherwise come back clamped to white."""
    if x.is_floating_point() and x.numel():
        lo, hi = torch.stack(torch.aminmax(x.detach())).float().tolist()  # one pass, one device sync
        if hi > 1 + tolerance or lo < -tolerance:
            raise ValueError(f"{name}: expected float values in [0, 1], got {lo:.4g}..{hi:.4g}; a float image in "
                             "0..255 would come back white: divide it by 255 first (or pass uint8)")
    return x


def check_cutoff(cutoff: float, name: str = "cutoff") -> float:
    """Return ``cutoff`` if it is a number strictly inside (0, 1)."""
    if isinstance(cutoff, bool) or not isinstance(cutoff, (int, float)) or not 0.0 < float(cutoff) < 1.0:
        raise ValueError(f"{name}: expected a number in the open interval (0, 1), got {cutoff!r}")
    return float(cutoff)


def check_transition(transition: float, cutoff: float) -> float:
    """Return ``transition`` if it is a width in [0, 2*min(cutoff, 1-cutoff)]."""
    if isinstance(transition, bool) or not isinstance(transition, (int, float)) or transition < 0:
        raise ValueError(f"transition: expected a number >= 0, got {transition!r}")
    limit = 2 * min(cutoff, 1 - cutoff)
    if transition > limit + 1e-12:
        raise ValueError(
            f"transition: expected at most 2*min(cutoff, 1-cutoff) = {limit:g} for cutoff={cutoff:g}, "
            f"got {transition!r}"
        )
    return float(transition)


def check_window(cutoff: float, shape: str, transition: float) -> tuple[float, str, float]:
    """Validate the low-pass window of a DCT or Fourier split: (cutoff, shape, transition)."""
    cutoff = check_cutoff(cutoff)
    check_choice(shape, "shape", ("radial", "rect"))
    return cutoff, shape, check_transition(transition, cutoff)


def check_pair(bands: object) -> tuple[Tensor, Tensor]:
    """The (low, high) tensors of a two-band split if they are matching images, else raise."""
    if not isinstance(bands, (tuple, list)) or len(bands) != 2:
        raise TypeError(f"bands: expected a Split(low, high) or a (low, high) pair, got {type(bands).__name__}")
    low, high = check_image(bands[0], "bands.low"), check_image(bands[1], "bands.high")
    if low.shape != high.shape or low.dtype != high.dtype or low.device != high.device:
        raise ValueError(
            f"bands: expected low and high of equal shape, dtype and device, got {tuple(low.shape)} "
            f"{low.dtype} {low.device} and {tuple(high.shape)} {high.dtype} {high.device}"
        )
    return low, high


def upcast_half(x: Tensor) -> Tensor:
    """``x`` in a dtype FFTs and GEMMs run well in: float16 / bfloat16 go to float32."""
    return x.float() if x.dtype in (torch.float16, torch.bfloat16) else x
