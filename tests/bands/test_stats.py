"""Band statistics against numpy, the streaming accumulator, and normalise/denormalise."""
import numpy as np
import pytest
import torch

from freqaug.bands import BandSpec, decompose
from freqaug.bands.stats import MAD_TO_STD, BandStats, BandStatsAccumulator, band_stats, denormalize, normalize


def _heavy_tailed(shape, seed=0):
    """Gaussian scale mixture: most values small, a few large (like a wavelet detail band)."""
    g = torch.Generator().manual_seed(seed)
    return torch.randn(shape, generator=g) * torch.rand(shape, generator=g).pow(3) * 10


def test_band_stats_match_numpy():
    band = _heavy_tailed((4, 3, 10, 12))
    stats = band_stats(band)
    ref = band.transpose(0, 1).reshape(3, -1).double().numpy()
    np.testing.assert_allclose(stats.mean, ref.mean(1), rtol=1e-12)
    np.testing.assert_allclose(stats.std, ref.std(1), rtol=1e-12)
    median = np.median(ref, axis=1)
    # torch's median of an even count is the lower middle value; numpy averages the two
    lower = np.sort(ref, axis=1)[:, (ref.shape[1] - 1) // 2]
    np.testing.assert_allclose(stats.median, lower, rtol=1e-12)
    assert np.all(np.abs(stats.median.numpy() - median) < 0.05 * ref.std(1))
    mad = np.median(np.abs(ref - lower[:, None]), axis=1)
    np.testing.assert_allclose(stats.robust_scale, MAD_TO_STD * mad, rtol=0.02)


def test_robust_scale_of_gaussian_is_its_std():
    band = torch.randn(8, 2, 64, 64, generator=torch.Generator().manual_seed(1)) * torch.tensor([0.5, 3.0]).view(1, 2, 1, 1)
    stats = band_stats(band)
    np.testing.assert_allclose(stats.robust_scale, [0.5, 3.0], rtol=0.02)
    np.testing.assert_allclose(stats.std, [0.5, 3.0], rtol=0.02)


def test_robust_scale_ignores_outliers_std_does_not():
    band = torch.randn(4, 1, 32, 32, generator=torch.Generator().manual_seed(2))
    band[0, 0, 0, :8] = 1e4
    stats = band_stats(band)
    assert stats.std.item() > 50
    assert 0.9 < stats.robust_scale.item() < 1.1


def test_accumulator_matches_one_shot_stats():
    spec = BandSpec(wavelet="db2", levels=2, mode="periodization")
    images = torch.rand(12, 3, 32, 32, generator=torch.Generator().manual_seed(3))
    acc = BandStatsAccumulator()
    for batch in images.split(5):
        acc.update(decompose(batch, spec))
    streamed = acc.result()
    whole = {name: band_stats(band) for name, band in decompose(images, spec).items()}
    assert set(streamed) == set(spec.band_names)
    for name in spec.band_names:
        torch.testing.assert_close(streamed[name].mean, whole[name].mean)
        torch.testing.assert_close(streamed[name].std, whole[name].std)
        torch.testing.assert_close(streamed[name].median, whole[name].median)
        torch.testing.assert_close(streamed[name].robust_scale, whole[name].robust_scale)
        torch.testing.assert_close(streamed[name].correlation, whole[name].correlation)


def test_correlation_matches_numpy_and_is_safe_for_constant_channels():
    gen = torch.Generator().manual_seed(6)
    base = torch.randn(4, 1, 16, 16, dtype=torch.float64, generator=gen)
    band = torch.cat([base, 0.5 * base + 0.1 * torch.randn(4, 1, 16, 16, dtype=torch.float64, generator=gen),
                      torch.full_like(base, 3.0)], dim=1)
    corr = band_stats(band).correlation
    ref = np.corrcoef(band.transpose(0, 1).reshape(3, -1)[:2].numpy())
    np.testing.assert_allclose(corr[:2, :2].numpy(), ref, rtol=1e-10)
    assert corr[2, 2] == 1 and corr[2, :2].abs().max() == 0  # a constant channel is uncorrelated, not NaN


@pytest.mark.parametrize("method", ["std", "robust"])
def test_decorrelated_normalize_whitens_colours_and_round_trips(method):
    gen = torch.Generator().manual_seed(7)
    gray = torch.randn(6, 1, 32, 32, dtype=torch.float64, generator=gen)
    images = gray + 0.2 * torch.randn(6, 3, 32, 32, dtype=torch.float64, generator=gen)  # correlated RGB
    bands = decompose(images, BandSpec(wavelet="haar", levels=1))
    stats = {name: band_stats(b) for name, b in bands.items()}
    assert stats["LL1"].correlation[0, 1] > 0.9
    normed = normalize(bands, stats, method=method, decorrelate=True)
    for name, band in normed.items():
        off_diagonal = band_stats(band).correlation - torch.eye(3, dtype=torch.float64)
        assert off_diagonal.abs().max() < 0.05, name
    back = denormalize(normed, stats, method=method, decorrelate=True)
    for name in bands:
        torch.testing.assert_close(back[name], bands[name])


def test_accumulator_subsamples_large_data_but_stays_close():
    acc = BandStatsAccumulator(sample_size=4096)
    gen = torch.Generator().manual_seed(4)
    for _ in range(4):
        acc.update({"b": torch.randn(8, 1, 64, 64, generator=gen) * 2 + 1})
    stats = acc.result()["b"]
    assert abs(stats.median.item() - 1) < 0.1 and abs(stats.robust_scale.item() - 2) < 0.15


def test_accumulator_needs_data():
    with pytest.raises(ValueError, match="no batch was added"):
        BandStatsAccumulator().result()


@pytest.mark.parametrize("method", ["std", "robust"])
def test_normalize_round_trip_and_unit_scale(method):
    spec = BandSpec(wavelet="haar", levels=2)
    bands = decompose(torch.rand(6, 3, 32, 32, dtype=torch.float64) * 5, spec)
    stats = {name: band_stats(b) for name, b in bands.items()}
    normed = normalize(bands, stats, method=method)
    for name, band in normed.items():
        renormed = band_stats(band)
        center = renormed.mean if method == "std" else renormed.median
        scale = renormed.std if method == "std" else renormed.robust_scale
        torch.testing.assert_close(center, torch.zeros(3, dtype=torch.float64), atol=1e-9, rtol=0)
        torch.testing.assert_close(scale, torch.ones(3, dtype=torch.float64), atol=1e-9, rtol=1e-9)
    back = denormalize(normed, stats, method=method)
    for name in bands:
        torch.testing.assert_close(back[name], bands[name])


def test_constant_band_does_not_divide_by_zero():
    bands = {"b": torch.ones(2, 1, 4, 4)}
    stats = {"b": band_stats(bands["b"])}
    assert torch.isfinite(normalize(bands, stats)["b"]).all()


def test_stats_serialise():
    stats = band_stats(torch.rand(2, 3, 8, 8))
    back = BandStats.from_dict(stats.to_dict())
    for a, b in zip(stats, back):
        torch.testing.assert_close(a, b)


@pytest.mark.parametrize(
    "bands, stats, match",
    [
        ({"b": torch.ones(1, 2, 4, 4)}, {}, r"no statistics for band 'b'"),
        ({"b": torch.ones(1, 2, 4, 4)}, {"b": band_stats(torch.ones(1, 3, 4, 4))}, r"stats\['b'\]: has 3 channel"),
    ],
)
def test_normalize_rejects_mismatched_stats(bands, stats, match):
    with pytest.raises(ValueError, match=match):
        normalize(bands, stats)


def test_unknown_method():
    bands = {"b": torch.ones(1, 1, 4, 4)}
    with pytest.raises(ValueError, match=r"method: expected one of 'std', 'robust'"):
        normalize(bands, {"b": band_stats(bands["b"])}, method="minmax")
