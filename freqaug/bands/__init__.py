"""Pure, differentiable frequency transforms on (N, C, H, W) tensors: DWT, DCT and Fourier splits.

Later layers use :class:`BandSpec` with :func:`decompose` / :func:`compose`; the functional
transforms below are public for direct use and testing.
"""
from freqaug.bands.dct import dct2, dct_merge, dct_split, idct2
from freqaug.bands.dwt import dwt2, dwt_max_level, idwt2, wavedec2, waverec2
from freqaug.bands.fourier import amplitude_phase, fourier_merge, fourier_split, from_amplitude_phase
from freqaug.bands.spec import COARSE, BandSpec, compose, decompose
from freqaug.bands.stats import (
    BandStats, BandStatsAccumulator, band_stats, denormalize, normalize, standardize, unstandardize,
)
from freqaug.bands.types import Detail, Split

__all__ = [
    "COARSE",
    "BandSpec",
    "BandStats",
    "BandStatsAccumulator",
    "Detail",
    "Split",
    "amplitude_phase",
    "band_stats",
    "standardize",
    "unstandardize",
    "compose",
    "dct2",
    "dct_merge",
    "dct_split",
    "decompose",
    "denormalize",
    "dwt2",
    "dwt_max_level",
    "fourier_merge",
    "fourier_split",
    "from_amplitude_phase",
    "idct2",
    "idwt2",
    "normalize",
    "wavedec2",
    "waverec2",
]
