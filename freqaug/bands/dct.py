"""Orthonormal 2-D DCT-II (equal to ``scipy.fft.dctn(norm="ortho")``) and the DCT low/high split.

How it is computed, for speed on any device and without a Python loop over images or channels:

* along the width (the last, contiguous axis) the DCT is one real FFT of the Makhoul-reordered rows
  (even samples, then the odd ones reversed) and a twiddle: O(W log W) per row;
* along the height it is one matrix product with the cached orthonormal DCT matrix, cut to the
  rows a low-pass mask reaches, so a split only computes the coefficients it keeps; when that is
  many rows (tall images, large cutoffs) the width route is run on the transposed block instead.

Every function takes (N, C, H, W) tensors; float32 / float64 run natively, float16 / bfloat16 are
computed in float32 and cast back. Everything is differentiable.
"""
from __future__ import annotations

import functools
import math
from typing import NamedTuple

import torch
from torch import Tensor

from freqaug.bands._checks import (
    check_choice,
    check_image,
    check_pair,
    check_positive_int,
    check_window,
    upcast_half,
)
from freqaug.bands._masks import lowpass_window, normalized_radius
from freqaug.bands.types import DOMAINS, Split

__all__ = ["Split", "dct2", "dct_mask", "dct_matrix", "dct_merge", "dct_split", "idct2"]


# ----------------------------------------------------------------------------------------------
# Cached constants (built in float64 on the CPU, then cast and moved once per dtype and device)


@functools.lru_cache(maxsize=64)
def _matrix(n: int, dtype: torch.dtype, device: torch.device) -> Tensor:
    """Orthonormal DCT-II matrix, row k = frequency k."""
    with torch.inference_mode(False):  # a cached inference tensor could not be saved for backward
        k = torch.arange(n, dtype=torch.float64)
        m = torch.cos(torch.outer(k, 2 * k + 1) * (math.pi / (2 * n))) * math.sqrt(2 / n)
        m[0] /= math.sqrt(2)
        return m.to(dtype=dtype, device=device)


class _WidthPlan(NamedTuple):
    """Makhoul permutation and the twiddles of a length-n DCT done by a real FFT."""

    perm: Tensor  # v = x[perm]: even samples, then odd samples reversed
    tw: Tensor  # z = tw * rfft(v): DCT[k] = Re z[k], DCT[n - k] = -Im z[k]
    tw_inv: Tensor  # rfft(v)[k] = tw_inv[k] * (DCT[k] - i DCT[n - k]) for irfft(norm="forward");
    # for an even n the last bin, DCT[n/2] * (1 - i), has its (1 - i) folded into tw_inv


def _twiddles64(n: int) -> tuple[Tensor, Tensor]:
    """Forward and raw inverse twiddles of a length-n DCT by real FFT, complex128, n // 2 + 1 bins."""
    k = torch.arange(n // 2 + 1, dtype=torch.float64)
    scale = torch.full_like(k, math.sqrt(2 / n))
    scale[0] = math.sqrt(1 / n)
    phase = k * (math.pi / (2 * n))
    return scale * torch.exp(-1j * phase), torch.exp(1j * phase) / (scale * n)


def _complex(dtype: torch.dtype) -> torch.dtype:
    """The complex dtype matching a real one."""
    return torch.complex128 if dtype == torch.float64 else torch.complex64


@functools.lru_cache(maxsize=64)
def _width_plan(n: int, dtype: torch.dtype, device: torch.device) -> _WidthPlan:
    """Everything a length-n DCT along the rows needs, cast to ``dtype`` on ``device``."""
    with torch.inference_mode(False):
        perm = torch.cat([torch.arange(0, n, 2), torch.arange(1, n, 2).flip(0)])
        tw, tw_inv = _twiddles64(n)
        if n % 2 == 0:
            tw_inv[-1] *= 1 - 1j
        cdtype = _complex(dtype)
        return _WidthPlan(perm.to(device), tw.to(device, cdtype), tw_inv.to(device, cdtype))


@functools.lru_cache(maxsize=64)
def _beyond_middle(
    n: int, k: int, dtype: torch.dtype, device: torch.device
) -> tuple[Tensor, Tensor, Tensor]:
    """Gather indices (forward, inverse) and inverse twiddle for k > n // 2 + 1 coefficients."""
    with torch.inference_mode(False):
        half = n // 2 + 1
        # forward: DCT[j] is Re z[j] (column 2j of z's real view) for j < half, else -Im z[n - j]
        forward = [2 * j for j in range(half)] + [2 * (n - j) + 1 for j in range(half, k)]
        # inverse: bin b is tw_inv[b] * (DCT[b] - i DCT[n - b]) = conj(DCT[b] + i DCT[partner]) *
        # tw_inv[b]; without a partner (b = 0 or n - b >= k) pair DCT[b] with itself and divide
        # the twiddle by (1 - i) to undo it; the middle bin of an even n is its own partner
        lone = [b == 0 or n - b >= k for b in range(half)]
        inverse = [i for b in range(half) for i in (b, b if lone[b] else n - b)]
        tw_inv = _twiddles64(n)[1]
        tw_inv[torch.tensor(lone)] /= 1 - 1j
        return (
            torch.tensor(forward, device=device),
            torch.tensor(inverse, device=device),
            tw_inv.to(device, _complex(dtype)),
        )


@functools.lru_cache(maxsize=64)
def _lowpass(
    h: int, w: int, cutoff: float, shape: str, transition: float, dtype: torch.dtype, device: torch.device
) -> tuple[Tensor, Tensor]:
    """The (h, w) DCT low-pass mask, and its nonzero leading block laid out as :func:`_dct2`'s."""
    with torch.inference_mode(False):
        mask = _mask64(h, w, cutoff, shape, transition)
        kh, kw = int((mask[:, 0] > 0).sum()), int((mask[0] > 0).sum())  # the mask falls off from DC
        block = mask[:kh, :kw]
        block = block.T.contiguous().T if _fft_along_height(h, kh) else block.contiguous()
        return mask.to(dtype=dtype, device=device), block.to(dtype=dtype, device=device)


def _mask64(h: int, w: int, cutoff: float, shape: str, transition: float) -> Tensor:
    """The DCT low-pass mask in float64: index k of n is frequency k / n of Nyquist."""
    fy = torch.arange(h, dtype=torch.float64) / h
    fx = torch.arange(w, dtype=torch.float64) / w
    return lowpass_window(normalized_radius(fy[:, None], fx[None, :], shape), cutoff, transition)


# ----------------------------------------------------------------------------------------------
# Kernels (no validation; ``x`` already float32 / float64)


def _dct_rows(x: Tensor, k: int) -> Tensor:
    """The first ``k`` orthonormal DCT-II coefficients of every row of the 2-D tensor ``x``."""
    n = x.shape[-1]
    half, bins = n // 2 + 1, min(k, n // 2 + 1)
    plan = _width_plan(n, x.dtype, x.device)
    z = torch.fft.rfft(x.index_select(1, plan.perm))[:, :bins] * plan.tw[:bins]
    if k <= half:
        return z.real.contiguous()  # a matmul on the strided view can be very slow with threads
    pick = _beyond_middle(n, k, x.dtype, x.device)[0]
    out = torch.view_as_real(z).flatten(1).index_select(1, pick)
    out[:, half:].neg_()
    return out


def _idct_rows(c: Tensor, n: int) -> Tensor:
    """Rows of length ``n`` whose orthonormal DCT-II starts with ``c`` (2-D) and is zero after it."""
    k, half = c.shape[-1], n // 2 + 1
    plan = _width_plan(n, c.dtype, c.device)
    if k <= half:  # only coefficients up to the middle: a real spectrum times the twiddle
        spec = c * plan.tw_inv[:k]
    else:  # bin b also holds DCT[n - b]: gather (DCT[b], DCT[n - b]) pairs as complex numbers
        _, pairs, tw_inv = _beyond_middle(n, k, c.dtype, c.device)
        spec = torch.view_as_complex(c.index_select(1, pairs).view(-1, half, 2)).conj() * tw_inv
    v = torch.fft.irfft(spec, n=n, norm="forward")
    return torch.empty_like(v).scatter_(1, plan.perm.expand_as(v), v)  # x[perm] = v; beats a gather


def _fft_along_height(h: int, kh: int) -> bool:
    """Whether the height transform is cheaper by FFT (cost ~ log h) than by matmul (cost ~ kh).

    The matmul costs 4 * kh flops per value, the FFT path (two transposes, FFTs, gathers) a
    near-constant amount; they cross near kh = 192 on CPUs (measured on AVX-512, one thread).
    """
    return kh > 192


def _dct2(x: Tensor, kh: int, kw: int) -> Tensor:
    """The leading (kh, kw) block of the orthonormal 2-D DCT-II of (N, C, H, W) ``x``.

    With the FFT along the height the block is a transposed view (memory order N, C, kw, kh).
    """
    n, c, h, w = x.shape
    rows = _dct_rows(x.reshape(-1, w), kw).view(n, c, h, kw)
    if not _fft_along_height(h, kh):
        return torch.matmul(_matrix(h, x.dtype, x.device)[:kh], rows)
    cols = _dct_rows(rows.transpose(-1, -2).reshape(-1, h), kh)
    return cols.view(n, c, kw, kh).transpose(-1, -2)


def _idct2(coeff: Tensor, h: int, w: int) -> Tensor:
    """The (h, w) image whose 2-D DCT-II starts with the block ``coeff`` and is zero elsewhere."""
    n, c, kh, kw = coeff.shape
    if not _fft_along_height(h, kh):
        cols = torch.matmul(_matrix(h, coeff.dtype, coeff.device)[:kh].T, coeff)
    else:
        cols = _idct_rows(coeff.transpose(-1, -2).reshape(-1, kh), h).view(n, c, kw, h).transpose(-1, -2)
    return _idct_rows(cols.reshape(-1, kw), w).view(n, c, h, w)





# ----------------------------------------------------------------------------------------------
# Public API


def dct_matrix(n: int, *, dtype: torch.dtype = torch.float32, device=None) -> Tensor:
    """Orthonormal DCT-II matrix C (n x n, ``C @ v`` transforms v), cached: do not modify it."""
    check_positive_int(n, "n")
    return _matrix(n, dtype, torch.empty(0, device=device).device)


def dct2(x: Tensor) -> Tensor:
    """Orthonormal 2-D DCT-II over the last two dims, equal to scipy.fft.dctn(norm="ortho")."""
    check_image(x)
    h, w = x.shape[-2:]
    return _dct2(upcast_half(x), h, w).contiguous().to(x.dtype)


def idct2(c: Tensor) -> Tensor:
    """Inverse of :func:`dct2` (orthonormal 2-D DCT-III), equal to scipy.fft.idctn(norm="ortho")."""
    check_image(c, "c")
    h, w = c.shape[-2:]
    return _idct2(upcast_half(c), h, w).to(c.dtype)


def dct_mask(
    h: int,
    w: int,
    cutoff: float,
    *,
    shape: str = "radial",
    transition: float = 0.0,
    dtype: torch.dtype = torch.float32,
    device=None,
) -> Tensor:
    """(h, w) low-pass weights on the DCT grid, where index k of n is frequency k/n of Nyquist."""
    check_positive_int(h, "h")
    check_positive_int(w, "w")
    cutoff, shape, transition = check_window(cutoff, shape, transition)
    return _mask64(h, w, cutoff, shape, transition).to(dtype=dtype, device=device)


def dct_split(
    x: Tensor, *, cutoff: float, shape: str = "radial", transition: float = 0.0, domain: str = "image"
) -> Split:
    """Split ``x`` into DCT low / high bands: images summing to ``x``, or masked coefficients."""
    check_image(x)
    cutoff, shape, transition = check_window(cutoff, shape, transition)
    check_choice(domain, "domain", DOMAINS)
    xw = upcast_half(x)
    h, w = x.shape[-2:]
    mask, block = _lowpass(h, w, cutoff, shape, transition, xw.dtype, xw.device)
    if domain == "coeff":
        coeff = _dct2(xw, h, w).contiguous()
        return Split((coeff * mask).to(x.dtype), (coeff * (1 - mask)).to(x.dtype))
    kept = _dct2(xw, *block.shape).mul_(block)  # only the coefficients the mask reaches
    low = _idct2(kept, h, w).to(x.dtype)
    return Split(low, x - low)


def dct_merge(bands: Split | tuple[Tensor, Tensor], *, domain: str = "image") -> Tensor:
    """Inverse of :func:`dct_split`: the image the two bands came from."""
    low, high = check_pair(bands)
    check_choice(domain, "domain", DOMAINS)
    if domain == "image":
        return low + high
    coeff = upcast_half(low) + upcast_half(high)
    return _idct2(coeff, *coeff.shape[-2:]).to(low.dtype)
