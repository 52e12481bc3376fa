"""Batched, differentiable 2-D discrete wavelet transform matching pywt.wavedec2 / waverec2.

Band naming follows the patent: for each level Q, ``LL`` (low vertical, low horizontal), ``LH``
(low vertical, high horizontal), ``HL`` (high vertical, low horizontal) and ``HH``. pywt's
``(cH, cV, cD)`` detail tuple is ``(HL, LH, HH)`` in this naming: pywt's "horizontal detail" cH is
high-pass along the vertical axis (it responds to horizontal edges).

All functions take (N, C, H, W) float tensors on any device, fold N*C into the batch, and run one
strided convolution per level and direction (no Python loop over images or channels).
"""
from __future__ import annotations

import functools
import math

import numpy as np
import pywt
import torch
import torch.nn.functional as F
from torch import Tensor

from freqaug.bands._checks import check_choice, check_image
from freqaug.bands.types import MODES, Detail

__all__ = [
    "Detail",
    "coeff_length",
    "dwt2",
    "dwt_max_level",
    "idwt2",
    "wavedec2",
    "waverec2",
    "wavelet_filters",
]

Coeffs2D = list  # [LL_K, Detail_K, ..., Detail_1], the layout of pywt.wavedec2


# ----------------------------------------------------------------------------------------------
# Filters and sizes


@functools.lru_cache(maxsize=None)
def _filter_bank(wavelet: str) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(dec_lo, dec_hi, rec_lo, rec_hi) of a pywt discrete wavelet, as float64 arrays."""
    if not isinstance(wavelet, str) or wavelet not in pywt.wavelist(kind="discrete"):
        raise ValueError(
            f"wavelet: expected the name of a discrete wavelet known to pywavelets "
            f"(e.g. 'haar', 'db4', 'sym4', 'coif1', 'bior2.2'), got {wavelet!r}"
        )
    w = pywt.Wavelet(wavelet)
    return tuple(np.asarray(f, dtype=np.float64) for f in w.filter_bank)  # type: ignore[return-value]


def wavelet_filters(wavelet: str, *, dtype: torch.dtype = torch.float32, device=None) -> tuple[Tensor, ...]:
    """The (dec_lo, dec_hi, rec_lo, rec_hi) filters of ``wavelet`` as 1-D tensors, taken from pywt."""
    return tuple(torch.as_tensor(f, dtype=dtype, device=device) for f in _filter_bank(wavelet))


def filter_length(wavelet: str) -> int:
    """Length of the (even, zero-padded) filters of ``wavelet``."""
    return len(_filter_bank(wavelet)[0])


def dwt_max_level(size: int, wavelet: str) -> int:
    """Deepest useful level for a signal of ``size`` samples (pywt.dwt_max_level)."""
    length = filter_length(wavelet)
    if size < length - 1:
        return 0
    return int(math.floor(math.log2(size / (length - 1))))


def coeff_length(size: int, wavelet: str, mode: str) -> int:
    """Number of coefficients one DWT level produces from ``size`` samples (pywt.dwt_coeff_len)."""
    if mode == "periodization":
        return (size + 1) // 2
    return (size + filter_length(wavelet) - 1) // 2


# ----------------------------------------------------------------------------------------------
# Boundary extension


def _extension_index(n: int, left: int, right: int, mode: str, device) -> tuple[Tensor, Tensor | None]:
    """Source index for each extended position, and a +-1 sign where the mode flips values."""
    k = torch.arange(-left, n + right, device=device)
    sign = None
    if mode in ("constant", "smooth", "zero") or (n == 1 and mode != "antisymmetric"):
        idx = k.clamp(0, n - 1)
    elif mode in ("periodic", "periodization"):
        idx = k.remainder(n)
    elif mode in ("symmetric", "antisymmetric"):
        period = k.div(n, rounding_mode="floor")
        r = k.remainder(n)
        odd = period.remainder(2) == 1
        idx = torch.where(odd, n - 1 - r, r)
        if mode == "antisymmetric":
            sign = torch.where(odd, -1, 1)
    elif mode == "reflect":
        r = k.remainder(2 * n - 2)
        idx = torch.where(r >= n, 2 * n - 2 - r, r)
    else:  # pragma: no cover - modes are validated by the callers
        raise ValueError(f"mode: unsupported {mode!r}")
    return idx, sign


def extend(x: Tensor, left: int, right: int, mode: str, dim: int) -> Tensor:
    """Extend ``x`` along ``dim`` by ``left``/``right`` samples with a pywt boundary mode."""
    n = x.shape[dim]
    if left == 0 and right == 0:
        return x
    idx, sign = _extension_index(n, left, right, mode, x.device)
    out = x.index_select(dim, idx)
    shape = [1] * x.ndim
    shape[dim] = -1
    if sign is not None:
        out = out * sign.to(x.dtype).view(shape)
    if mode == "zero":
        k = torch.arange(-left, n + right, device=x.device)
        out = out * ((k >= 0) & (k < n)).to(x.dtype).view(shape)
    elif mode == "smooth" and n > 1:
        k = torch.arange(-left, n + right, device=x.device, dtype=x.dtype).view(shape)
        first, second = x.narrow(dim, 0, 1), x.narrow(dim, 1, 1)
        last, before_last = x.narrow(dim, n - 1, 1), x.narrow(dim, n - 2, 1)
        out = torch.where(k < 0, first + k * (second - first), out)
        out = torch.where(k > n - 1, last + (k - (n - 1)) * (last - before_last), out)
    return out


# ----------------------------------------------------------------------------------------------
# One level, in polyphase form
#
# A level is computed on the 2x2 polyphase components of the (extended) image, stored channels-last
# as (B, h, w, 4): one gather builds them (boundary extension included), one stride-1 convolution
# with (4, 4, L/2, L/2) kernels maps them to the bands LL, LH, HL, HH, and the inverse is the
# mirror image (convolution, then one gather that interleaves the phases and crops).


_TENSOR_CACHE: dict = {}


def _axis_taps(wavelet: str, which: str) -> np.ndarray:
    """(2, 2, m) polyphase taps of one axis: [out, in, tap].

    Analysis ("dec"): band v from phase p, tap a = g_v[2a + p] (g = reversed dec filters).
    Synthesis ("rec"): phase p from band v, tap a = r_v[2(m - 1 - a) + p].
    """
    dec_lo, dec_hi, rec_lo, rec_hi = _filter_bank(wavelet)
    m = len(dec_lo) // 2
    if which == "dec":
        g = np.stack([dec_lo[::-1], dec_hi[::-1]]).reshape(2, m, 2)  # [band, a, phase]
        return g.transpose(0, 2, 1)
    r = np.stack([rec_lo, rec_hi]).reshape(2, m, 2)[:, ::-1]  # [band, m-1-a, phase]
    return r.transpose(2, 0, 1)


def _kernels(wavelet: str, which: str, dtype: torch.dtype, device) -> tuple[Tensor, ...]:
    """Channel-mixing kernels of one level, applied in order by :func:`_mix`.

    The 2-D kernel is the outer product of the vertical and horizontal taps, (4, 4, m, m). For
    m >= 3 it is cheaper as a (1, m) pass that mixes the horizontal phase, then an (m, 1) pass
    that mixes the vertical one (8m instead of 4m^2 multiply-adds per output).
    """
    key = (which, wavelet, dtype, str(device))
    cached = _TENSOR_CACHE.get(key)
    if cached is not None:
        return cached
    taps = _axis_taps(wavelet, which)
    m = taps.shape[-1]
    eye = np.eye(2)
    if m <= 2:
        arrays = [np.einsum("ija,klb->ikjlab", taps, taps).reshape(4, 4, m, m)]
    else:
        rows = np.einsum("ij,klb->ikjlb", eye, taps).reshape(4, 4, 1, m)  # (pv, ch) from (pv, ph)
        cols = np.einsum("ija,kl->ikjla", taps, eye).reshape(4, 4, m, 1)  # (cv, ch) from (pv, ch)
        arrays = [rows, cols]
    with torch.inference_mode(False):  # a cached inference tensor could not be saved for backward
        cached = tuple(torch.as_tensor(np.ascontiguousarray(k), dtype=dtype, device=device) for k in arrays)
    _TENSOR_CACHE[key] = cached
    return cached



def _source_index(n: int, left: int, length: int, mode: str) -> Tensor:
    """Index into a length-``n`` axis for each of ``length`` extended samples starting at ``-left``."""
    if mode == "periodization" and n % 2:
        # pywt first repeats the last sample, then extends the even-length signal periodically.
        idx, _ = _extension_index(n + 1, left, length - left - (n + 1), "periodic", "cpu")
        return idx.clamp_max(n - 1)
    idx, _ = _extension_index(n, left, length - left - n, mode, "cpu")
    return idx


_GATHER_MODES = ("periodization", "periodic", "symmetric", "reflect", "constant")


@functools.lru_cache(maxsize=64)
@torch.inference_mode(False)
def _polyphase_index(
    h: int, w: int, length: int, mode: str, planar: bool, device: torch.device
) -> tuple[Tensor, int, int]:
    """Flat gather index building the polyphase components of the extended image.

    ``planar`` orders them (4, h2, w2) (for the 1x1 mix, a batched matmul), else (h2, w2, 4)
    (channels-last, the layout oneDNN convolves fast).
    """
    m = length // 2
    ph, pw = _polyphase_size(h, length, mode), _polyphase_size(w, length, mode)
    left = m - 1 if mode == "periodization" else length - 2
    iy = _source_index(h, left, 2 * ph, mode).view(ph, 2)
    ix = _source_index(w, left, 2 * pw, mode).view(pw, 2)
    if planar:  # [pv, ph, i, j]
        idx = iy.T[:, None, :, None] * w + ix.T[None, :, None, :]
    else:  # [i, j, pv, ph]
        idx = iy[:, None, :, None] * w + ix[None, :, None, :]
    return idx.reshape(-1).to(device), ph, pw


def _polyphase_size(n: int, length: int, mode: str) -> int:
    """Polyphase length of the extended axis: output length + taps - 1."""
    m = length // 2
    return (n + 1) // 2 + m - 1 if mode == "periodization" else (n + length - 1) // 2 + m - 1


def _to_polyphase(x: Tensor, length: int, mode: str) -> Tensor:
    """(B, H, W) -> extended polyphase components (B, 4, h2, w2) in the layout :func:`_mix` wants."""
    b, h, w = x.shape
    planar = length == 2
    if mode in _GATHER_MODES:
        idx, ph, pw = _polyphase_index(h, w, length, mode, planar, x.device)
        flat = x.reshape(b, h * w)
    else:  # modes with arithmetic (zero, smooth, antisymmetric): extend, then split the phases
        left = length - 2
        ph, pw = _polyphase_size(h, length, mode), _polyphase_size(w, length, mode)
        xp = extend(extend(x, left, 2 * ph - left - h, mode, -2), left, 2 * pw - left - w, mode, -1)
        idx, _, _ = _polyphase_index(2 * ph, 2 * pw, 2, "periodic", planar, x.device)
        flat = xp.reshape(b, 4 * ph * pw)
    poly = flat.index_select(1, idx)
    if planar:
        return poly.view(b, 4, ph, pw)
    return poly.view(b, ph, pw, 4).permute(0, 3, 1, 2)


def _mix(poly: Tensor, kernels: tuple[Tensor, ...]) -> Tensor:
    """Valid stride-1 correlation of (B, 4, h, w) phases with the kernels of :func:`_kernels`."""
    if kernels[0].shape[-2:] == (1, 1):  # a 4x4 matrix: one batched matmul on planar phases
        b, _, h, w = poly.shape
        return torch.matmul(kernels[0].view(4, 4), poly.reshape(b, 4, h * w)).view(b, 4, h, w)
    out = poly.contiguous(memory_format=torch.channels_last)
    for kernel in kernels:
        out = F.conv2d(out, kernel)
    return out


@functools.lru_cache(maxsize=64)
@torch.inference_mode(False)
def _interleave_index(
    strides: tuple[int, int, int], out_h: int, out_w: int, offset: int, device: torch.device
) -> Tensor:
    """Flat gather index from phases (strides of phase, row, col) to the image, from ``offset``."""
    s_phase, s_row, s_col = strides
    y = torch.arange(out_h) + offset
    x = torch.arange(out_w) + offset
    row = ((y // 2) * s_row + (y % 2) * 2 * s_phase).view(-1, 1)
    col = ((x // 2) * s_col + (x % 2) * s_phase).view(1, -1)
    return (row + col).reshape(-1).to(device)


def _from_polyphase(y: Tensor, out_h: int, out_w: int, offset: int) -> Tensor:
    """(B, 4, h, w) phases (planar or channels-last) -> (B, out_h, out_w) image from ``offset``."""
    b, _, h, w = y.shape
    if offset == 0 and (out_h, out_w) == (2 * h, 2 * w) and y.is_contiguous():
        out = y.new_empty(b, out_h, out_w)  # plain interleave: four strided copies beat a gather
        for phase in range(4):
            out[:, phase // 2::2, phase % 2::2] = y[:, phase]
        return out
    if y.is_contiguous():
        flat, strides = y.reshape(b, -1), (h * w, w, 1)
    else:
        flat, strides = y.permute(0, 2, 3, 1).reshape(b, -1), (1, 4 * w, 4)
    idx = _interleave_index(strides, out_h, out_w, offset, y.device)
    return flat.index_select(1, idx).view(b, out_h, out_w)


def _check_mode(mode: str) -> str:
    return check_choice(mode, "mode", MODES)


def dwt2(x: Tensor, wavelet: str, *, mode: str = "symmetric") -> tuple[Tensor, Detail]:
    """One 2-D DWT level: ``(LL, Detail(LH, HL, HH))``, equal to ``pywt.dwt2`` on axes (-2, -1)."""
    check_image(x)
    _check_mode(mode)
    ll, detail = _analysis_level(x.to(_working_dtype(mode, x.dtype)), wavelet, mode)
    return ll.to(x.dtype), Detail(*(t.to(x.dtype) for t in detail))


def _analysis_level(x: Tensor, wavelet: str, mode: str) -> tuple[Tensor, Detail]:
    """One level on validated input, in the input's dtype."""
    n, c, h, w = x.shape
    poly = _to_polyphase(x.reshape(n * c, h, w), filter_length(wavelet), mode)
    bands = _mix(poly, _kernels(wavelet, "dec", x.dtype, x.device))
    bands = bands.view(n, c, 4, *bands.shape[-2:])
    return bands[:, :, 0], Detail(bands[:, :, 1], bands[:, :, 2], bands[:, :, 3])


def _working_dtype(mode: str, dtype: torch.dtype) -> torch.dtype:
    """'smooth' extrapolates linearly, so coefficients grow by orders of magnitude per level and
    cancel on reconstruction: compute it one precision up to keep float32 within 1e-5."""
    if mode != "smooth" or dtype == torch.float64:
        return dtype
    return torch.float64 if dtype == torch.float32 else torch.float32


def idwt2(ll: Tensor, detail: Detail | tuple, wavelet: str, *, mode: str = "symmetric") -> Tensor:
    """Inverse of one 2-D DWT level, equal to ``pywt.idwt2`` (detail given as LH, HL, HH)."""
    _check_mode(mode)
    bands = _check_level_bands(ll, detail)
    work = _working_dtype(mode, ll.dtype)
    return _synthesis_level([t.to(work) for t in bands], wavelet, mode).to(ll.dtype)


def _check_level_bands(ll: Tensor, detail: Detail | tuple) -> list[Tensor]:
    """[LL, LH, HL, HH] if they are floating 4-D tensors of one shape, else raise naming the band."""
    if not isinstance(detail, tuple) or len(detail) != 3:
        raise ValueError("detail: expected a (LH, HL, HH) tuple of tensors")
    bands = [check_image(t, name) for t, name in zip((ll, *detail), ("LL", "LH", "HL", "HH"))]
    for t, name in zip(bands[1:], ("LH", "HL", "HH")):
        if t.shape != ll.shape:
            raise ValueError(f"{name}: expected shape {tuple(ll.shape)} (the shape of LL), got {tuple(t.shape)}")
    return bands


def _synthesis_level(bands: list[Tensor], wavelet: str, mode: str) -> Tensor:
    """Inverse of one level from validated [LL, LH, HL, HH], in their dtype."""
    length = filter_length(wavelet)
    m = length // 2
    n, c, h, w = bands[0].shape
    device = bands[0].device
    if m == 1:
        poly = torch.stack(bands, dim=2).view(n * c, 4, h, w)
    else:
        poly = torch.stack(bands, dim=-1).view(n * c, h, w, 4)
        if mode == "periodization":
            idx, ph, pw = _polyphase_index_periodic(h, w, m, device)
            poly = poly.reshape(n * c, h * w, 4).index_select(1, idx).view(n * c, ph, pw, 4)
        poly = poly.permute(0, 3, 1, 2)
    if mode == "periodization":
        out_h, out_w, offset = 2 * h, 2 * w, m - 1
    else:
        if min(h, w) < m:
            raise ValueError(
                f"LL: coefficient size {(h, w)} is too small for wavelet {wavelet!r} (needs at least {m})"
            )
        out_h, out_w, offset = 2 * h - length + 2, 2 * w - length + 2, 0
    phases = _mix(poly, _kernels(wavelet, "rec", bands[0].dtype, device))
    out = _from_polyphase(phases, out_h, out_w, offset)
    return out.view(n, c, out_h, out_w)


@functools.lru_cache(maxsize=64)
@torch.inference_mode(False)
def _polyphase_index_periodic(h: int, w: int, m: int, device: torch.device) -> tuple[Tensor, int, int]:
    """Flat index padding an (h, w) coefficient grid periodically by m-1 on every side."""
    iy, _ = _extension_index(h, m - 1, m - 1, "periodic", "cpu")
    ix, _ = _extension_index(w, m - 1, m - 1, "periodic", "cpu")
    return (iy.view(-1, 1) * w + ix.view(1, -1)).reshape(-1).to(device), h + 2 * m - 2, w + 2 * m - 2


# ----------------------------------------------------------------------------------------------
# Multi-level


def wavedec2(x: Tensor, wavelet: str, *, level: int | None = None, mode: str = "symmetric") -> Coeffs2D:
    """Multi-level 2-D DWT, ``[LL_K, Detail_K, ..., Detail_1]`` like ``pywt.wavedec2``."""
    check_image(x)
    _check_mode(mode)
    max_level = dwt_max_level(min(x.shape[-2:]), wavelet)
    if level is None:
        level = max_level
    check_level(level, max_level, x.shape[-2:], wavelet)
    work = _working_dtype(mode, x.dtype)
    details = []
    ll = x.to(work)
    for _ in range(level):
        ll, detail = _analysis_level(ll, wavelet, mode)
        details.append(Detail(*(t.to(x.dtype) for t in detail)))
    return [ll.to(x.dtype), *reversed(details)]


def check_level(level: int, max_level: int, size, wavelet: str) -> None:
    """Raise if ``level`` is not an int in 1..max_level for an image of ``size``."""
    if isinstance(level, bool) or not isinstance(level, int) or level < 1:
        raise ValueError(f"levels: expected an integer >= 1, got {level!r}")
    if level > max_level:
        raise ValueError(
            f"levels: {level} is more than an image of size {tuple(size)} allows with wavelet "
            f"{wavelet!r} (at most {max_level})"
        )


def waverec2(coeffs: Coeffs2D, wavelet: str, *, mode: str = "symmetric") -> Tensor:
    """Inverse of :func:`wavedec2`, equal to ``pywt.waverec2`` (odd sizes come back one larger)."""
    if not isinstance(coeffs, (list, tuple)) or len(coeffs) < 2:
        raise ValueError("coeffs: expected [LL, Detail, ...] with at least one detail level")
    _check_mode(mode)
    ll = check_image(coeffs[0], "LL")
    dtype = ll.dtype
    work = _working_dtype(mode, dtype)
    for detail in coeffs[1:]:
        if not isinstance(detail, tuple) or len(detail) != 3:
            raise ValueError("coeffs: each detail level must be a (LH, HL, HH) tuple")
        target = detail[0].shape[-2:]
        if ll.shape[-2:] != target:
            if ll.shape[-2] - target[0] not in (0, 1) or ll.shape[-1] - target[1] not in (0, 1):
                raise ValueError(
                    f"coeffs: approximation of size {tuple(ll.shape[-2:])} does not fit detail size {tuple(target)}"
                )
            ll = ll[..., : target[0], : target[1]]
        bands = _check_level_bands(ll, detail)
        ll = _synthesis_level([t.to(work) for t in bands], wavelet, mode)
    return ll.to(dtype)
