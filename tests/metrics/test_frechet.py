"""Fréchet distance, KID and precision/recall on feature sets whose answer is known."""
import math

import numpy as np
import pytest
import torch

from freqaug.metrics import feature_stats, frechet_distance, kid, precision_recall


def _gaussian(n, mean, std, seed):
    """(n, D) samples of N(mean, diag(std^2))."""
    g = torch.Generator().manual_seed(seed)
    mean, std = torch.as_tensor(mean, dtype=torch.float64), torch.as_tensor(std, dtype=torch.float64)
    return mean + std * torch.randn(n, mean.shape[0], generator=g, dtype=torch.float64)


def _rotation(d, seed):
    q, _ = torch.linalg.qr(torch.randn(d, d, generator=torch.Generator().manual_seed(seed), dtype=torch.float64))
    return q


def _diagonal_fd(mu1, s1, mu2, s2):
    """Closed form for commuting covariances with eigenvalues s1, s2."""
    return float(((mu1 - mu2) ** 2).sum() + (s1 + s2 - 2 * (s1 * s2).sqrt()).sum())


def test_feature_stats_match_numpy():
    x = _gaussian(50, [0.0, 1.0, 2.0], [1.0, 2.0, 0.5], seed=0)
    mu, sigma = feature_stats(x.numpy())
    np.testing.assert_allclose(mu.numpy(), x.numpy().mean(0), rtol=1e-12)
    np.testing.assert_allclose(sigma.numpy(), np.cov(x.numpy(), rowvar=False), rtol=1e-12)


def test_identical_gaussians_are_at_distance_zero():
    mu, sigma = feature_stats(_gaussian(200, torch.zeros(16), torch.linspace(0.1, 3, 16), seed=1))
    assert abs(frechet_distance(mu, sigma, mu, sigma)) < 1e-9


@pytest.mark.parametrize("rotate", [False, True], ids=["diagonal", "rotated"])
def test_commuting_covariances_match_the_closed_form(rotate):
    d = 12
    g = torch.Generator().manual_seed(2)
    mu1, mu2 = torch.randn(d, generator=g, dtype=torch.float64), torch.randn(d, generator=g, dtype=torch.float64)
    s1 = torch.rand(d, generator=g, dtype=torch.float64) * 4 + 0.01
    s2 = torch.rand(d, generator=g, dtype=torch.float64) * 4 + 0.01
    q = _rotation(d, 3) if rotate else torch.eye(d, dtype=torch.float64)
    sigma1, sigma2 = q @ torch.diag(s1) @ q.T, q @ torch.diag(s2) @ q.T
    got = frechet_distance(mu1, sigma1, mu2, sigma2)
    assert math.isclose(got, _diagonal_fd(mu1, s1, mu2, s2), rel_tol=1e-6)


def test_general_covariances_match_scipy_sqrtm():
    from scipy import linalg

    rng = np.random.default_rng(4)
    a, b = rng.normal(size=(30, 20)), rng.normal(size=(30, 20)) * 2 + 0.5
    mu1, sigma1 = a.mean(0), np.cov(a, rowvar=False)
    mu2, sigma2 = b.mean(0), np.cov(b, rowvar=False)
    covmean = linalg.sqrtm(sigma1 @ sigma2).real
    ref = ((mu1 - mu2) ** 2).sum() + np.trace(sigma1) + np.trace(sigma2) - 2 * np.trace(covmean)
    assert math.isclose(frechet_distance(mu1, sigma1, mu2, sigma2), ref, rel_tol=1e-6)


def test_singular_covariances_fewer_samples_than_dimensions():
    a = _gaussian(5, torch.zeros(64), torch.ones(64), seed=5)  # rank-4 covariance in 64-D
    mu, sigma = feature_stats(a)
    assert abs(frechet_distance(mu, sigma, mu, sigma)) < 1e-9
    # diagonal with exact zeros: the closed form still holds
    s1, s2 = torch.tensor([0.0, 1.0, 4.0], dtype=torch.float64), torch.tensor([2.0, 0.0, 1.0], dtype=torch.float64)
    zero = torch.zeros(3, dtype=torch.float64)
    got = frechet_distance(zero, torch.diag(s1), zero, torch.diag(s2))
    assert math.isclose(got, _diagonal_fd(zero, s1, zero, s2), rel_tol=1e-9)


def test_eps_regularises_both_covariances():
    s = torch.diag(torch.tensor([0.0, 1.0], dtype=torch.float64))
    mu = torch.zeros(2, dtype=torch.float64)
    assert abs(frechet_distance(mu, s, mu, s, eps=1e-6)) < 1e-12
    with pytest.raises(ValueError, match="eps: expected a number >= 0"):
        frechet_distance(mu, s, mu, s, eps=-1.0)


def test_frechet_distance_rejects_mismatched_shapes():
    with pytest.raises(ValueError, match=r"sigma2: expected shape \(3, 3\)"):
        frechet_distance(torch.zeros(3), torch.eye(3), torch.zeros(3), torch.eye(2))
    with pytest.raises(ValueError, match="sigma1: contains NaN"):
        frechet_distance(torch.zeros(2), torch.full((2, 2), float("nan")), torch.zeros(2), torch.eye(2))
    with pytest.raises(TypeError, match="mu1: expected a torch.Tensor or numpy array"):
        frechet_distance([0.0], torch.eye(1), torch.zeros(1), torch.eye(1))


def _kid_reference(x, y):
    """Unbiased MMD^2 with the cubic kernel, written out with numpy."""
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    m, d = x.shape
    kxx, kyy, kxy = ((x @ x.T / d + 1) ** 3, (y @ y.T / d + 1) ** 3, (x @ y.T / d + 1) ** 3)
    return ((kxx.sum() - np.trace(kxx)) + (kyy.sum() - np.trace(kyy))) / (m * (m - 1)) - 2 * kxy.mean()


def test_kid_equals_the_formula_on_whole_sets():
    x, y = _gaussian(40, torch.zeros(8), torch.ones(8), 6), _gaussian(40, torch.full((8,), 0.3), torch.ones(8), 7)
    result = kid(x, y, subsets=3, subset_size=40)
    assert math.isclose(result.mean, _kid_reference(x, y), rel_tol=1e-10)
    assert result.std < 1e-12  # every subset is the whole set


def test_kid_is_near_zero_for_the_same_distribution_and_grows_with_a_shift():
    x = _gaussian(400, torch.zeros(16), torch.ones(16), 8)
    y = _gaussian(400, torch.zeros(16), torch.ones(16), 9)
    shifted = [kid(x, y + shift, subsets=10, subset_size=100).mean for shift in (0.25, 0.5, 1.0)]
    assert 0 < shifted[0] < shifted[1] < shifted[2]
    independent = kid(x, y, subsets=10, subset_size=100)
    assert abs(independent.mean) < 0.25 * shifted[0] and independent.std > 0
    # a set against itself: subsets share vectors, which biases the estimate down by O(1/N)
    assert abs(kid(x, x, subsets=10, subset_size=100).mean) < 0.25 * shifted[0]
    assert kid(x, y, subsets=3, subset_size=50, seed=1) == kid(x, y, subsets=3, subset_size=50, seed=1)


def test_kid_rejects_bad_arguments():
    x = torch.zeros(5, 3)
    with pytest.raises(ValueError, match="features_real and features_fake: expected features of the same dimension"):
        kid(x, torch.zeros(5, 4))
    with pytest.raises(ValueError, match="subset_size: expected an integer >= 2, got 1"):
        kid(x, x, subset_size=1)
    with pytest.raises(ValueError, match="subsets: expected an integer >= 1"):
        kid(x, x, subsets=0)


def _clusters(centres, per_cluster, seed, spread=0.1):
    g = torch.Generator().manual_seed(seed)
    centres = torch.as_tensor(centres, dtype=torch.float64)
    points = centres.repeat_interleave(per_cluster, dim=0)
    return points + spread * torch.randn(points.shape, generator=g, dtype=torch.float64)


def test_precision_recall_of_identical_sets_is_one():
    x = _gaussian(300, torch.zeros(8), torch.ones(8), 9)
    assert precision_recall(x, x.clone()) == (1.0, 1.0)


def test_precision_recall_of_far_apart_sets_is_zero():
    x = _gaussian(100, torch.zeros(8), torch.ones(8), 10)
    assert precision_recall(x, x + 100.0) == (0.0, 0.0)


def test_recall_drops_when_half_the_modes_are_missing():
    modes = [[0.0, 0.0], [10.0, 0.0], [0.0, 10.0], [10.0, 10.0]]
    real = _clusters(modes, 100, seed=11)
    fake = _clusters(modes[:2], 200, seed=12)
    precision, recall = precision_recall(real, fake, k=3)
    assert precision > 0.9
    assert 0.4 < recall < 0.6


def test_precision_recall_blocks_give_the_same_answer(monkeypatch):
    import freqaug.metrics.frechet as frechet

    real, fake = _gaussian(70, torch.zeros(4), torch.ones(4), 13), _gaussian(50, torch.zeros(4), torch.ones(4) * 2, 14)
    whole = precision_recall(real, fake)
    monkeypatch.setattr(frechet, "_BLOCK", 16)
    assert precision_recall(real, fake) == whole


@pytest.mark.parametrize("k", [0, 5, 2.0, True])
def test_precision_recall_rejects_bad_k(k):
    with pytest.raises(ValueError, match="k: expected an int in 1..4"):
        precision_recall(torch.zeros(5, 2), torch.zeros(6, 2), k=k)
