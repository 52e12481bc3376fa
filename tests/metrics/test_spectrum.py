"""Radial power spectrum and band energy on inputs whose answer is known."""
import math

import pytest
import torch
import torch.nn.functional as F

from freqaug.bands import BandSpec, decompose
from freqaug.metrics import band_energy, band_kurtosis, radial_power_spectrum


def _sinusoid(freq: float, size: int = 64) -> torch.Tensor:
    """Vertical stripes at ``freq`` (fraction of Nyquist), as (1, 1, size, size)."""
    x = torch.arange(size, dtype=torch.float64)
    wave = torch.cos(math.pi * freq * x)
    return wave.view(1, 1, 1, size).expand(1, 1, size, size).contiguous()


@pytest.mark.parametrize("freq", [0.25, 0.5, 0.75])
def test_sinusoid_peaks_at_its_frequency(freq):
    freqs, power = radial_power_spectrum(_sinusoid(freq), bins=32)
    assert power.shape == (1, 32)
    assert abs(freqs[power[0].argmax()].item() - freq) <= 1 / 32


@pytest.mark.parametrize("window", [True, False])
def test_white_noise_is_flat_at_its_variance(window):
    noise = torch.randn(32, 3, 64, 64, generator=torch.Generator().manual_seed(0)) * 2
    _, power = radial_power_spectrum(noise, bins=16, window=window)
    assert power.shape == (3, 16)
    # the lowest rings hold few frequencies, and the removed mean leaves a hole the window widens
    assert (power[:, 2:].max() / power[:, 2:].min()) < 1.3
    assert abs(power[:, 2:].mean().item() - 4.0) < 0.2


def test_blur_removes_high_frequencies():
    sharp = torch.rand(8, 3, 64, 64, generator=torch.Generator().manual_seed(1))
    blurred = F.avg_pool2d(F.pad(sharp, (1, 1, 1, 1), mode="replicate"), 3, stride=1)
    _, p_sharp = radial_power_spectrum(sharp)
    _, p_blur = radial_power_spectrum(blurred)
    assert (p_blur[:, -16:].sum() / p_sharp[:, -16:].sum()) < 0.1
    assert (p_blur[:, 1:4].sum() / p_sharp[:, 1:4].sum()) > 0.7


def test_band_energy_of_an_orthogonal_wavelet_is_conserved():
    x = torch.rand(2, 3, 32, 32, dtype=torch.float64)
    bands = decompose(x, BandSpec(wavelet="db2", levels=2, mode="periodization"))
    fractions = band_energy(bands)
    assert math.isclose(sum(fractions.values()), 1.0)
    total = sum(float(b.square().sum()) for b in bands.values())
    assert math.isclose(total, float(x.square().sum()), rel_tol=1e-10)
    assert max(fractions, key=fractions.get) == "LL2"


@pytest.mark.parametrize("bins", [0, -3, 2.5, True])
def test_bad_bins(bins):
    with pytest.raises(ValueError, match="bins: expected a positive integer"):
        radial_power_spectrum(torch.rand(1, 1, 8, 8), bins=bins)


def test_band_kurtosis_separates_gaussian_texture_from_sparse_edges():
    g = torch.Generator().manual_seed(0)
    gaussian = torch.randn(4, 3, 64, 64, generator=g, dtype=torch.float64)
    laplace = torch.distributions.Laplace(0.0, 1.0).sample((4, 3, 64, 64)).double()
    sparse = torch.zeros(4, 3, 64, 64, dtype=torch.float64)
    sparse[:, :, ::16, :] = 1.0  # a few edge rows, zero elsewhere
    k = band_kurtosis({"gaussian": gaussian, "laplace": laplace, "sparse": sparse})
    assert k["gaussian"] == pytest.approx(3.0, abs=0.1)
    assert k["laplace"] == pytest.approx(6.0, abs=0.5)
    p = 1 / 16
    assert k["sparse"] == pytest.approx((1 - 3 * p + 3 * p * p) / (p * (1 - p)))  # Bernoulli(p): 12.07
    assert math.isnan(band_kurtosis({"flat": torch.ones(1, 1, 4, 4)})["flat"])
