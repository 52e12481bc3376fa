"""Distances between two sets of feature vectors: Fréchet distance, KID and k-NN precision/recall.

The features come from any fixed network: the FID Inception network (:mod:`freqaug.metrics.inception`)
gives FID / KID comparable to published numbers; a segmentation network trained on the user's own
data (:mod:`freqaug.metrics.segnet`) gives domain-specific scores that are only comparable to each
other. Everything here is computed in float64 and takes tensors or numpy arrays.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np
import torch
from torch import Tensor

from freqaug.bands._checks import check_int

__all__ = ["KID", "PrecisionRecall", "feature_stats", "frechet_distance", "kid", "precision_recall"]

ArrayLike = Tensor | np.ndarray

_BLOCK = 1024  # rows of a pairwise-distance block: bounds memory at _BLOCK * N float64 values


class KID(NamedTuple):
    """Kernel Inception Distance: mean and standard deviation of MMD^2 over random subsets."""

    mean: float
    std: float


class PrecisionRecall(NamedTuple):
    """Fraction of fake samples on the real manifold (precision) and of real ones on the fake (recall)."""

    precision: float
    recall: float


def _as_float64(x: ArrayLike, name: str, ndim: int) -> Tensor:
    """``x`` as a float64 CPU tensor with ``ndim`` dimensions, else raise naming ``name``."""
    if not isinstance(x, (Tensor, np.ndarray)):
        raise TypeError(f"{name}: expected a torch.Tensor or numpy array, got {type(x).__name__}")
    t = torch.as_tensor(x).detach().to("cpu", torch.float64)
    if t.ndim != ndim:
        raise ValueError(f"{name}: expected {ndim} dimensions, got shape {tuple(t.shape)}")
    if not bool(torch.isfinite(t).all()):
        raise ValueError(f"{name}: contains NaN or Inf values; expected finite values")
    return t


def _features(x: ArrayLike, name: str, min_rows: int) -> Tensor:
    """A (N, D) float64 feature matrix with at least ``min_rows`` rows."""
    t = _as_float64(x, name, 2)
    if t.shape[0] < min_rows:
        raise ValueError(f"{name}: expected at least {min_rows} feature vectors, got {t.shape[0]}")
    return t


def _same_width(a: Tensor, b: Tensor, names: str) -> None:
    """Raise unless the two feature matrices have the same number of columns."""
    if a.shape[1] != b.shape[1]:
        raise ValueError(f"{names}: expected features of the same dimension, got {a.shape[1]} and {b.shape[1]}")


def feature_stats(features: ArrayLike) -> tuple[Tensor, Tensor]:
    """Mean (D,) and unbiased covariance (D, D) of (N, D) features, in float64."""
    f = _features(features, "features", 2)
    mu = f.mean(dim=0)
    centred = f - mu
    return mu, centred.T @ centred / (f.shape[0] - 1)


def _psd_eigvals(w: Tensor) -> Tensor:
    """Eigenvalues of a symmetric PSD matrix with rounding noise set to 0: those below
    D * machine eps * the largest (numpy's ``matrix_rank`` tolerance), negative ones included."""
    tol = w.shape[0] * torch.finfo(w.dtype).eps * w.abs().max()
    return torch.where(w > tol, w, torch.zeros_like(w))


def _psd_sqrt(sigma: Tensor) -> Tensor:
    """Symmetric square root of a symmetric PSD matrix."""
    w, v = torch.linalg.eigh(sigma)
    return (v * _psd_eigvals(w).sqrt()) @ v.T


def frechet_distance(
    mu1: ArrayLike, sigma1: ArrayLike, mu2: ArrayLike, sigma2: ArrayLike, *, eps: float = 0.0,
) -> float:
    """Fréchet distance ||mu1 - mu2||^2 + Tr(S1 + S2 - 2 (S1 S2)^(1/2)) between two Gaussians.

    The trace of the matrix square root is computed in float64 as Tr((S1^(1/2) S2 S1^(1/2))^(1/2))
    (the same eigenvalues as S1 S2, but of a symmetric PSD matrix, so ``eigh`` applies): no complex
    parts, and singular covariances, e.g. from fewer samples than dimensions, need no special case:
    eigenvalues below D * machine eps * the largest one are rounding noise and taken as 0 (their
    square roots, ~1e-8 each in float64, would otherwise add up). ``eps`` > 0 adds ``eps * I`` to
    both covariances first (pytorch-fid's fallback for near-singular products); it changes the
    result by about ``eps * D`` terms and is rarely needed here, so the default is 0.
    """
    m1, m2 = _as_float64(mu1, "mu1", 1), _as_float64(mu2, "mu2", 1)
    s1, s2 = _as_float64(sigma1, "sigma1", 2), _as_float64(sigma2, "sigma2", 2)
    d = m1.shape[0]
    for name, shape in (("mu2", m2.shape), ("sigma1", s1.shape), ("sigma2", s2.shape)):
        expected = (d,) if name == "mu2" else (d, d)
        if tuple(shape) != expected:
            raise ValueError(f"{name}: expected shape {expected} to match mu1 of length {d}, got {tuple(shape)}")
    if isinstance(eps, bool) or not isinstance(eps, (int, float)) or not eps >= 0:
        raise ValueError(f"eps: expected a number >= 0, got {eps!r}")
    s1, s2 = (s1 + s1.T) / 2, (s2 + s2.T) / 2
    if eps:
        s1 = s1 + eps * torch.eye(d, dtype=s1.dtype)
        s2 = s2 + eps * torch.eye(d, dtype=s2.dtype)
    root1 = _psd_sqrt(s1)
    middle = root1 @ s2 @ root1
    tr_covmean = _psd_eigvals(torch.linalg.eigvalsh((middle + middle.T) / 2)).sqrt().sum()
    diff = m1 - m2
    return float(diff @ diff + s1.trace() + s2.trace() - 2 * tr_covmean)


def _polynomial_kernel(a: Tensor, b: Tensor) -> Tensor:
    """k(x, y) = (x.y / D + 1)^3, the cubic kernel of KID."""
    return (a @ b.T / a.shape[1] + 1) ** 3


def _mmd2_unbiased(x: Tensor, y: Tensor) -> Tensor:
    """Unbiased MMD^2 of two equally sized samples under the cubic polynomial kernel."""
    m = x.shape[0]
    kxx, kyy = _polynomial_kernel(x, x), _polynomial_kernel(y, y)
    within = (kxx.sum() - kxx.diagonal().sum() + kyy.sum() - kyy.diagonal().sum()) / (m * (m - 1))
    return within - 2 * _polynomial_kernel(x, y).mean()


def kid(
    features_real: ArrayLike, features_fake: ArrayLike, *, subsets: int = 100, subset_size: int = 1000, seed: int = 0,
) -> KID:
    """Kernel Inception Distance (Binkowski et al. 2018): unbiased MMD^2 with k(x, y) = (x.y/D + 1)^3.

    ``subsets`` times, ``subset_size`` vectors are drawn without replacement from each set and their
    MMD^2 computed; the mean and standard deviation over subsets are returned. ``subset_size`` is
    capped at the size of the smaller set (as in clean-fid). The estimator is unbiased, so it can be
    slightly negative when the two sets come from the same distribution; a set against itself is
    biased down by O(1/N) (subsets share vectors, whose self-similarity is high).
    """
    real = _features(features_real, "features_real", 2)
    fake = _features(features_fake, "features_fake", 2)
    _same_width(real, fake, "features_real and features_fake")
    check_int(subsets, "subsets", 1)
    m = min(check_int(subset_size, "subset_size", 2), real.shape[0], fake.shape[0])
    generator = torch.Generator().manual_seed(check_int(seed, "seed", 0))
    values = torch.stack([
        _mmd2_unbiased(real[torch.randperm(real.shape[0], generator=generator)[:m]],
                       fake[torch.randperm(fake.shape[0], generator=generator)[:m]])
        for _ in range(subsets)
    ])
    std = values.std() if subsets > 1 else values.new_zeros(())
    return KID(float(values.mean()), float(std))


def _kth_neighbour_radii(feats: Tensor, k: int) -> Tensor:
    """Distance of every row to its k-th nearest other row (the row itself is its 0-th neighbour)."""
    return torch.cat([torch.cdist(block, feats).kthvalue(k + 1, dim=1).values for block in feats.split(_BLOCK)])


def _inside_manifold(queries: Tensor, support: Tensor, radii: Tensor) -> Tensor:
    """Fraction of ``queries`` within ``radii[j]`` of some ``support[j]``."""
    hits = [(torch.cdist(block, support) <= radii).any(dim=1) for block in queries.split(_BLOCK)]
    return torch.cat(hits).double().mean()


def precision_recall(real_feats: ArrayLike, fake_feats: ArrayLike, *, k: int = 3) -> PrecisionRecall:
    """Improved precision and recall (Kynkäänniemi et al. 2019) with k-NN manifolds.

    Each set's manifold is the union of balls around its vectors with radius the distance to the
    k-th nearest neighbour in the same set. Precision is the fraction of fake vectors inside the real
    manifold (are samples realistic?), recall the fraction of real vectors inside the fake manifold
    (is the real variety covered?). Pairwise distances are computed in blocks of 1024 rows.
    """
    real = _features(real_feats, "real_feats", 2)
    fake = _features(fake_feats, "fake_feats", 2)
    _same_width(real, fake, "real_feats and fake_feats")
    limit = min(real.shape[0], fake.shape[0]) - 1
    if isinstance(k, bool) or not isinstance(k, int) or not 1 <= k <= limit:
        raise ValueError(f"k: expected an int in 1..{limit} (one less than the smaller set), got {k!r}")
    precision = _inside_manifold(fake, real, _kth_neighbour_radii(real, k))
    recall = _inside_manifold(real, fake, _kth_neighbour_radii(fake, k))
    return PrecisionRecall(float(precision), float(recall))
