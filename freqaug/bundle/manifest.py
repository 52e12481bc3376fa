"""The bundle manifest: what it holds, how it is built from a model, and typed reads that name the field.

The manifest is JSON text stored in the safetensors metadata under :data:`MANIFEST_KEY`; the
tensors are the EMA FreqGAN's ``state_dict`` in float32. ``docs/bundle.md`` lists every field.
"""
from __future__ import annotations

import hashlib
import re
from pathlib import Path
from typing import Any, Callable, Mapping

import torch
from torch import Tensor

from freqaug._checks import is_number
from freqaug._version import __version__
from freqaug.models import FreqGAN
from freqaug.models.config import BASELINE

__all__ = [
    "FORMAT",
    "FORMAT_VERSION",
    "MANIFEST_KEY",
    "MANIFEST_SHA256_KEY",
    "BundleError",
    "ManifestReader",
    "build_manifest",
    "parameter_counts",
    "weights_sha256",
]

FORMAT = "freqaug-bundle"
FORMAT_VERSION = 1  # a reader accepts every format_version <= its own
MANIFEST_KEY = "freqaug.manifest"
MANIFEST_SHA256_KEY = "freqaug.manifest.sha256"
"""Metadata key of the sha256 of the manifest's exact text: one changed byte anywhere in the manifest
(a wavelet name, an image size) is refused at load instead of silently changing every image."""
WEIGHTS_DTYPE = "float32"
NOISE_ALGORITHM = "freqaug.models.noise.orthogonal_matrix: QR of a seeded float64 Gaussian, R-diagonal signs, float32 rows"
HASH_METHOD = "sha256 over tensors sorted by name: name, dtype, shape, byte count (NUL-separated), then little-endian bytes"


class BundleError(ValueError):
    """A bundle file is missing, damaged, of an unknown version, or does not fit the request.

    The message names the file, the field or tensor, and what was expected.
    """


def weights_sha256(tensors: Mapping[str, Tensor]) -> str:
    """sha256 of a state dict in a canonical serialisation, independent of the file layout."""
    digest = hashlib.sha256()
    for name in sorted(tensors):
        tensor = tensors[name].detach().cpu().contiguous()
        data = tensor.numpy().tobytes()  # callers check the dtype (float32) first
        dtype = str(tensor.dtype).replace("torch.", "")
        digest.update(f"{name}\0{dtype}\0{list(tensor.shape)}\0{len(data)}\0".encode())
        digest.update(data)
    return digest.hexdigest()


def _numel(module: torch.nn.Module) -> int:
    """All parameters of ``module``, trainable or frozen (an EMA copy is frozen)."""
    return sum(p.numel() for p in module.parameters())


def parameter_counts(model: FreqGAN) -> dict[str, int]:
    """Parameters of every band generator, the baseline generator, the blend, and their total."""
    counts = {name: _numel(gen) for name, gen in model.generators.items()}
    counts[BASELINE] = _numel(model.baseline)
    counts["blend"] = _numel(model.blend)
    counts["total"] = sum(counts.values())
    return counts


def band_stats_dict(model: FreqGAN) -> dict[str, dict[str, Any]]:
    """The band normalisation buffers (``band_center``, ``band_scale``, ...) per band, e.g.
    {"LL2": {"center": [per channel], "scale": [per channel]}}, for people reading the manifest."""
    buffers = {name[len("band_"):]: value.detach().cpu() for name, value in model.named_buffers()
               if name.startswith("band_")}
    return {band: {key: value[i].tolist() for key, value in buffers.items()} for i, band in enumerate(model.band_names)}


def noise_dict(model: FreqGAN) -> dict[str, Any]:
    """How the orthogonal noise projection is made, and the sha256 of its float32 bytes."""
    noise = model.noise
    return {
        "algorithm": NOISE_ALGORITHM, "seed": noise.seed, "dim": noise.dim, "block_dim": noise.block_dim,
        "generators": list(noise.names), "sha256": noise.checksum(),
    }


def classes_list(model: FreqGAN) -> list[str] | None:
    """Class names of a layout-conditional model (ids 0..K-1), None for an unconditional one; the
    palette and ignore id are in the manifest's ``model.layout.classes``."""
    layout = model.config.layout
    return None if layout is None else list(layout.classes.names)


def build_manifest(model: FreqGAN, tensors: Mapping[str, Tensor], provenance: Mapping[str, Any]) -> dict[str, Any]:
    """Every manifest field for ``model`` whose float32 ``tensors`` are written beside it."""
    config = model.config
    return {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "freqaug_version": __version__,
        "model": config.to_dict(),
        "band_shapes": {name: list(shape) for name, shape in model.band_shapes.items()},
        "band_stats": band_stats_dict(model),
        "noise": noise_dict(model),
        "alpha": model.blend.alpha.detach().cpu().tolist(),
        "parameters": parameter_counts(model),
        "classes": classes_list(model),
        "weights": {"sha256": weights_sha256(tensors), "dtype": WEIGHTS_DTYPE, "count": len(tensors), "hash": HASH_METHOD},
        "provenance": dict(provenance),
    }


# ---- typed reads ---------------------------------------------------------------------------------

def _is_int(value: Any) -> bool:
    """An int that is not a bool."""
    return isinstance(value, int) and not isinstance(value, bool)


KINDS: dict[str, Callable[[Any], bool]] = {
    "an integer": _is_int,
    "a string": lambda v: isinstance(v, str),
    "an object": lambda v: isinstance(v, dict),
    "a list of numbers": lambda v: isinstance(v, list) and all(is_number(x) for x in v),
    "a list of strings": lambda v: isinstance(v, list) and all(isinstance(x, str) for x in v),
    "a [height, width] pair of integers": lambda v: isinstance(v, list) and len(v) == 2 and all(map(_is_int, v)),
    "a sha256 hex digest": lambda v: isinstance(v, str) and re.fullmatch(r"[0-9a-f]{64}", v) is not None,
    "null or a list of strings": lambda v: v is None or (isinstance(v, list) and all(isinstance(x, str) for x in v)),
}


def _short(value: Any, limit: int = 80) -> str:
    """repr(value), cut to ``limit`` characters for error messages."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


class ManifestReader:
    """Reads manifest fields by dotted name, checking each one's type; errors name file and field."""

    def __init__(self, path: Path, manifest: Mapping[str, Any]) -> None:
        self.path, self.manifest = path, manifest

    def error(self, field: str, message: str) -> BundleError:
        """A BundleError about manifest field ``field``."""
        return BundleError(f"{self.path}: manifest field {field!r}: {message}")

    def get(self, field: str, kind: str) -> Any:
        """The value at dotted ``field``, which must be of ``kind`` (a key of :data:`KINDS`)."""
        value: Any = self.manifest
        parts = field.split(".")
        for depth, part in enumerate(parts):
            if not isinstance(value, dict):
                raise self.error(".".join(parts[:depth]), f"expected an object, got {_short(value)}")
            if part not in value:
                name, what = ".".join(parts[: depth + 1]), kind if depth == len(parts) - 1 else "an object"
                raise BundleError(f"{self.path}: manifest field {name!r} is missing; expected {what}")
            value = value[part]
        if not KINDS[kind](value):
            raise self.error(field, f"expected {kind}, got {_short(value)}")
        return value

    def expect_equal(self, field: str, kind: str, expected: Any, what: str) -> None:
        """Read ``field`` and require it to equal ``expected`` (``what`` says where that comes from)."""
        value = self.get(field, kind)
        if value != expected:
            raise self.error(field, f"expected {_short(expected)} ({what}), got {_short(value)}")
