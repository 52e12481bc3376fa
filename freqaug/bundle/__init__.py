"""Bundles: one safetensors file of trained generators (EMA FreqGAN + JSON manifest), and the
offline writers built on it (``freqaug generate`` / ``expand``). See docs/bundle.md.

Layer: above ``freqaug.train`` (it reads run folders), below the augmentation front-ends and the CLI.
"""
from freqaug.bundle.core import ALIGN, Bundle, load_bundle, save_bundle
from freqaug.bundle.export import BUNDLE_NAME, data_summary, export_run
from freqaug.bundle.manifest import FORMAT, FORMAT_VERSION, MANIFEST_KEY, BundleError, weights_sha256

__all__ = [
    "ALIGN",
    "BUNDLE_NAME",
    "FORMAT",
    "FORMAT_VERSION",
    "MANIFEST_KEY",
    "Bundle",
    "BundleError",
    "data_summary",
    "export_run",
    "load_bundle",
    "save_bundle",
    "weights_sha256",
]
