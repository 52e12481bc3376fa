"""Per-band, per-channel statistics and normalisation, so band GANs work in a unit-scale space.

High-frequency bands are tiny and heavy-tailed: besides mean/std there is a robust centre and
scale (median and 1.4826 * median absolute deviation), and a streaming accumulator that gathers
them over a whole data set batch by batch.
"""
from __future__ import annotations

from typing import Literal, Mapping, NamedTuple

import torch
from torch import Tensor

from freqaug.bands._checks import check_choice, check_image

__all__ = [
    "BandStats", "BandStatsAccumulator", "band_stats", "denormalize", "normalize", "standardize", "unstandardize",
]

Method = Literal["std", "robust"]
MAD_TO_STD = 1.482602218505602  # 1 / Phi^-1(3/4): makes the MAD a std estimate for Gaussians
_EPS = 1e-8
_CORRELATION_FLOOR = 1e-3  # eigenvalue floor: keeps the inverse colour transform well conditioned


class BandStats(NamedTuple):
    """Per-channel statistics of one band, each a (C,) float tensor, and the (C, C) correlation
    between channels (colour channels of natural images are strongly correlated)."""

    mean: Tensor
    std: Tensor
    median: Tensor
    robust_scale: Tensor
    correlation: Tensor

    def center_scale(self, method: Method) -> tuple[Tensor, Tensor]:
        """(centre, scale) used by :func:`normalize` for ``method``; the scale is never below eps."""
        check_choice(method, "method", ("std", "robust"))
        center, scale = (self.mean, self.std) if method == "std" else (self.median, self.robust_scale)
        return center, scale.clamp_min(_EPS)

    def to_dict(self) -> dict[str, list[float]]:
        """JSON-ready lists."""
        return {k: v.tolist() for k, v in self._asdict().items()}

    @classmethod
    def from_dict(cls, data: Mapping[str, list[float]]) -> BandStats:
        """Inverse of :meth:`to_dict`."""
        missing = [k for k in cls._fields if k not in data]
        if missing:
            raise ValueError(f"BandStats: missing field(s) {missing}")
        return cls(*(torch.tensor(data[k], dtype=torch.float64) for k in cls._fields))

    def color_transform(self) -> Tensor:
        """(C, C) symmetric square root of the channel correlation (ZCA): maps decorrelated
        unit-scale channels to channels with this band's correlation; identity for one channel."""
        values, vectors = torch.linalg.eigh(self.correlation.to(torch.float64))
        return (vectors * values.clamp_min(_CORRELATION_FLOOR).sqrt()) @ vectors.T


def _channels_flat(band: Tensor) -> Tensor:
    """(N, C, H, W) -> (C, N*H*W) in float64."""
    return band.detach().transpose(0, 1).reshape(band.shape[1], -1).to(torch.float64)


def _robust(values: Tensor) -> tuple[Tensor, Tensor]:
    """Per-row median and 1.4826 * MAD of a (C, K) tensor."""
    median = values.median(dim=1).values
    mad = (values - median[:, None]).abs().median(dim=1).values
    return median, mad * MAD_TO_STD


def band_stats(band: Tensor) -> BandStats:
    """Statistics of a (N, C, H, W) band over N, H, W, per channel (float64)."""
    check_image(band, "band")
    flat = _channels_flat(band)
    median, robust_scale = _robust(flat)
    mean = flat.mean(1)
    centered = flat - mean[:, None]
    covariance = centered @ centered.T / flat.shape[1]
    return BandStats(mean, flat.std(1, correction=0), median, robust_scale, _correlation(covariance))


def _correlation(covariance: Tensor) -> Tensor:
    """Correlation matrix from a covariance matrix; channels without variance get 0 off-diagonal."""
    std = covariance.diagonal().clamp_min(0).sqrt()
    denom = std[:, None] * std[None, :]
    corr = torch.where(denom > 0, covariance / denom.clamp_min(1e-300), torch.zeros_like(covariance))
    corr.fill_diagonal_(1.0)
    return corr.clamp(-1, 1)


class BandStatsAccumulator:
    """Gathers :class:`BandStats` for every band over a data set, batch by batch.

    Mean and std are exact (float64 sums); the median and MAD come from an evenly strided sample
    of at most ``sample_size`` values per channel and band.
    """

    def __init__(self, sample_size: int = 1 << 18) -> None:
        self.sample_size = sample_size
        self._sums: dict[str, Tensor] = {}
        self._samples: dict[str, list[Tensor]] = {}
        self._count: dict[str, int] = {}

    def update(self, bands: Mapping[str, Tensor]) -> None:
        """Add one batch of bands (a dict as returned by ``decompose``)."""
        for name, band in bands.items():
            check_image(band, f"bands[{name!r}]")
            flat = _channels_flat(band)
            sums = torch.cat([flat.sum(1, keepdim=True), flat @ flat.T], dim=1)  # (C, 1 + C): sums, products
            if name in self._sums:
                if sums.shape != self._sums[name].shape:
                    raise ValueError(f"bands[{name!r}]: channel count changed from {self._sums[name].shape[0]} "
                                     f"to {sums.shape[0]} between batches")
                self._sums[name] += sums
            else:
                self._sums[name], self._samples[name], self._count[name] = sums, [], 0
            self._count[name] += flat.shape[1]
            stride = max(1, flat.shape[1] * 8 // self.sample_size)  # keep ~sample_size/8 per batch
            self._samples[name].append(flat[:, ::stride].cpu())

    def result(self) -> dict[str, BandStats]:
        """Statistics of everything seen so far, one :class:`BandStats` per band."""
        if not self._sums:
            raise ValueError("BandStatsAccumulator: no batch was added; call update() first")
        out = {}
        for name, sums in self._sums.items():
            n = self._count[name]
            mean = sums[:, 0] / n
            covariance = sums[:, 1:] / n - mean[:, None] * mean[None, :]
            var = covariance.diagonal().clamp_min(0)
            sample = torch.cat(self._samples[name], dim=1)
            if sample.shape[1] > self.sample_size:
                sample = sample[:, :: -(-sample.shape[1] // self.sample_size)]
            median, robust_scale = _robust(sample)
            out[name] = BandStats(mean.cpu(), var.sqrt().cpu(), median, robust_scale, _correlation(covariance).cpu())
        return out


def standardize(band: Tensor, center: Tensor, scale: Tensor, color: Tensor | None = None) -> Tensor:
    """(band - centre) / scale per channel, then decorrelated by ``color`` (C, C) when given:
    maps a band to the unit space its generator works in."""
    v = (band - center.to(band).view(1, -1, 1, 1)) / scale.to(band).view(1, -1, 1, 1)
    if color is None:
        return v
    return torch.einsum("ij,njhw->nihw", torch.linalg.inv(color.to(torch.float64)).to(band), v)


def unstandardize(u: Tensor, center: Tensor, scale: Tensor, color: Tensor | None = None) -> Tensor:
    """Inverse of :func:`standardize`."""
    if color is not None:
        u = torch.einsum("ij,njhw->nihw", color.to(u), u)
    return u * scale.to(u).view(1, -1, 1, 1) + center.to(u).view(1, -1, 1, 1)


def _apply(bands: Mapping[str, Tensor], stats: Mapping[str, BandStats], method: Method, inverse: bool,
           decorrelate: bool) -> dict[str, Tensor]:
    out = {}
    for name, band in bands.items():
        if name not in stats:
            raise ValueError(f"stats: no statistics for band {name!r}; have {sorted(stats)}")
        center, scale = stats[name].center_scale(method)
        if center.numel() != band.shape[1]:
            raise ValueError(
                f"stats[{name!r}]: has {center.numel()} channel(s), band has {band.shape[1]}"
            )
        color = stats[name].color_transform() if decorrelate else None
        out[name] = (unstandardize if inverse else standardize)(band, center, scale, color)
    return out


def normalize(
    bands: Mapping[str, Tensor], stats: Mapping[str, BandStats], *, method: Method = "robust",
    decorrelate: bool = False,
) -> dict[str, Tensor]:
    """Map each band to zero centre and unit scale with its per-channel statistics; with
    ``decorrelate`` the channels are also decorrelated (ZCA on the channel correlation)."""
    return _apply(bands, stats, method, inverse=False, decorrelate=decorrelate)


def denormalize(
    bands: Mapping[str, Tensor], stats: Mapping[str, BandStats], *, method: Method = "robust",
    decorrelate: bool = False,
) -> dict[str, Tensor]:
    """Inverse of :func:`normalize`."""
    return _apply(bands, stats, method, inverse=True, decorrelate=decorrelate)
