"""Bundles: the file format of trained generators, one safetensors file (EMA FreqGAN + JSON
manifest): save, load and verify. See docs/bundle.md.

Layer: above ``freqaug.models``; below ``freqaug.train`` (which exports run folders as bundles),
``freqaug.offline`` (generate, expand), the augmentation front-ends and the CLI.
"""
from freqaug.bundle.core import ALIGN, Bundle, load_bundle, save_bundle
from freqaug.bundle.manifest import FORMAT, FORMAT_VERSION, MANIFEST_KEY, BundleError, weights_sha256

__all__ = [
    "ALIGN",
    "FORMAT",
    "FORMAT_VERSION",
    "MANIFEST_KEY",
    "Bundle",
    "BundleError",
    "load_bundle",
    "save_bundle",
    "weights_sha256",
]
