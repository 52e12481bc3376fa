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

__all__ = ["BandStats", "BandStatsAccumulator", "band_stats", "denormalize", "normalize"]

Method = Literal["std", "robust"]
MAD_TO_STD = 1.482602218505602  # 1 / Phi^-1(3/4): makes the MAD a std estimate for Gaussians
_EPS = 1e-8


class BandStats(NamedTuple):
    """Per-channel statistics of one band, each a (C,) float tensor."""

    mean: Tensor
    std: Tensor
    median: Tensor
    robust_scale: Tensor

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
    return BandStats(flat.mean(1), flat.std(1, correction=0), median, robust_scale)


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
            sums = torch.stack([flat.sum(1), (flat * flat).sum(1)])
            if name in self._sums:
                if sums.shape != self._sums[name].shape:
                    raise ValueError(f"bands[{name!r}]: channel count changed from {self._sums[name].shape[1]} "
                                     f"to {sums.shape[1]} between batches")
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
            mean = sums[0] / n
            var = (sums[1] / n - mean * mean).clamp_min(0)
            sample = torch.cat(self._samples[name], dim=1)
            if sample.shape[1] > self.sample_size:
                sample = sample[:, :: -(-sample.shape[1] // self.sample_size)]
            median, robust_scale = _robust(sample)
            out[name] = BandStats(mean.cpu(), var.sqrt().cpu(), median, robust_scale)
        return out


def _apply(bands: Mapping[str, Tensor], stats: Mapping[str, BandStats], method: Method, inverse: bool):
    out = {}
    for name, band in bands.items():
        if name not in stats:
            raise ValueError(f"stats: no statistics for band {name!r}; have {sorted(stats)}")
        center, scale = stats[name].center_scale(method)
        if center.numel() != band.shape[1]:
            raise ValueError(
                f"stats[{name!r}]: has {center.numel()} channel(s), band has {band.shape[1]}"
            )
        center = center.to(band.device, band.dtype).view(1, -1, 1, 1)
        scale = scale.to(band.device, band.dtype).view(1, -1, 1, 1)
        out[name] = band * scale + center if inverse else (band - center) / scale
    return out


def normalize(
    bands: Mapping[str, Tensor], stats: Mapping[str, BandStats], *, method: Method = "robust"
) -> dict[str, Tensor]:
    """Map each band to zero centre and unit scale with its per-channel statistics."""
    return _apply(bands, stats, method, inverse=False)


def denormalize(
    bands: Mapping[str, Tensor], stats: Mapping[str, BandStats], *, method: Method = "robust"
) -> dict[str, Tensor]:
    """Inverse of :func:`normalize`."""
    return _apply(bands, stats, method, inverse=True)
