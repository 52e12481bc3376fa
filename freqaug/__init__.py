"""freqaug: frequency-decomposed GAN scene generation as augmentation for driving perception."""
import os

os.environ.setdefault("NO_ALBUMENTATIONS_UPDATE", "1")  # albumentations checks the network otherwise

from freqaug._version import __version__  # noqa: E402
from freqaug.bands import BandSpec, compose, decompose  # noqa: E402
from freqaug.bundle import Bundle, BundleError, load_bundle, save_bundle  # noqa: E402
from freqaug.train.export import export_run  # noqa: E402

__all__ = [
    "BandSpec",
    "Bundle",
    "BundleError",
    "__version__",
    "compose",
    "decompose",
    "export_run",
    "load_bundle",
    "save_bundle",
]
