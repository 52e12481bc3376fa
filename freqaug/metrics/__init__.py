"""Quality measures for generated images: power spectra and their distance, Laplacian-pyramid SWD,
Fréchet distance / KID / precision-recall of feature sets, the FID Inception network (local weights
only) and a small segmentation network for domain-specific features and downstream scores.

The Inception names are imported on first use (they pull in torchvision); the image-level
``fid`` / ``kid`` helpers live in :mod:`freqaug.metrics.inception`, while ``kid`` here takes features.
"""
from importlib import import_module

from freqaug.metrics.frechet import KID, PrecisionRecall, feature_stats, frechet_distance, kid, precision_recall
from freqaug.metrics.segnet import (
    SegNet,
    SegNetConfig,
    SegNetFileError,
    confusion_matrix,
    evaluate_segmentation,
    load_segnet,
    median_frequency_weights,
    predict_labels,
    save_segnet,
    scores_from_confusion,
    segnet_features,
    train_segnet,
)
from freqaug.metrics.spectrum import band_energy, band_kurtosis, radial_power_spectrum, spectrum_distance
from freqaug.metrics.swd import laplacian_pyramid, sliced_wasserstein, swd

_INCEPTION = ("FIDInceptionV3", "InceptionWeightsError", "InceptionWeightsNotFoundError", "inception_features",
              "load_fid_inception")

__all__ = [
    "KID",
    "PrecisionRecall",
    "SegNet",
    "SegNetConfig",
    "SegNetFileError",
    "band_energy",
    "band_kurtosis",
    "confusion_matrix",
    "evaluate_segmentation",
    "feature_stats",
    "frechet_distance",
    "kid",
    "laplacian_pyramid",
    "load_segnet",
    "median_frequency_weights",
    "precision_recall",
    "predict_labels",
    "radial_power_spectrum",
    "save_segnet",
    "scores_from_confusion",
    "segnet_features",
    "sliced_wasserstein",
    "spectrum_distance",
    "swd",
    "train_segnet",
    *_INCEPTION,
]


def __getattr__(name: str):
    """The Inception names, imported from :mod:`freqaug.metrics.inception` on first use."""
    if name in _INCEPTION:
        return getattr(import_module("freqaug.metrics.inception"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
