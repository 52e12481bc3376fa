"""One safetensors file of trained generators: :func:`save_bundle`, :func:`load_bundle` and :class:`Bundle`.

Loading never unpickles: tensors and the JSON manifest are read with safetensors, the model is
rebuilt from the manifest's config, and every tensor, hash and derived field is checked before
the weights are used. Every failure is a :class:`BundleError` naming the file and the field.
"""
from __future__ import annotations

import datetime
import json
import os
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np
import torch
from safetensors.torch import safe_open
from torch import Tensor

from freqaug._files import sha256_bytes, write_tensors
from freqaug._json import parse_json
from freqaug._version import __version__
from freqaug.bands import BandSpec
from freqaug.data import ClassSet
from freqaug.bundle.manifest import (
    FORMAT,
    FORMAT_VERSION,
    MANIFEST_KEY,
    MANIFEST_SHA256_KEY,
    WEIGHTS_DTYPE,
    BundleError,
    ManifestReader,
    band_stats_dict,
    build_manifest,
    classes_list,
    noise_dict,
    parameter_counts,
    weights_sha256,
)
from freqaug.models import FreqGAN, FreqGANConfig
from freqaug._checks import check_device, check_int

__all__ = ["ALIGN", "Bundle", "load_bundle", "save_bundle"]

ALIGN = 8  # generate() runs the model on batches of a multiple of this many rows (see Bundle.generate)
_MASK64 = (1 << 64) - 1
_NOISE_TOLERANCE = 1e-5  # a rebuilt projection may differ in the last bits on another BLAS / LAPACK


# ---- the loaded bundle -------------------------------------------------------------------------

def _splitmix64(x: int) -> int:
    """One step of the splitmix64 mixer: a well-spread 64-bit value from any 64-bit input."""
    x = (x + 0x9E3779B97F4A7C15) & _MASK64
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & _MASK64
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & _MASK64
    return x ^ (x >> 31)


def index_seed(seed: int, index: int) -> int:
    """The 64-bit seed of target vector ``index`` of ``seed``: depends on (seed, index) only."""
    return _splitmix64(_splitmix64(seed) ^ index)


def _round_up(value: int, multiple: int) -> int:
    """The smallest multiple of ``multiple`` that is >= ``value``."""
    return -(-value // multiple) * multiple


class Bundle:
    """A loaded bundle: the EMA FreqGAN in eval mode (frozen) and its manifest, ready to generate."""

    def __init__(self, path: Path, manifest: dict[str, Any], model: FreqGAN, device: torch.device) -> None:
        self.path = path
        self.manifest = manifest
        self.model = model
        self.config: FreqGANConfig = model.config
        self.spec: BandSpec = model.config.spec
        self.image_size: tuple[int, int] = tuple(model.config.image_size)  # type: ignore[assignment]
        self.channels: int = model.config.channels
        self.device = device

    @property
    def alpha(self) -> Tensor:
        """The blend weight alpha (one value, or one per channel)."""
        return self.model.blend.alpha.detach()

    @property
    def z_dim(self) -> int:
        """Size of a target vector."""
        return self.config.z_dim

    @property
    def classes(self) -> ClassSet | None:
        """The label space (names, palette, ignore id) of a layout-conditional bundle, else None."""
        return None if self.config.layout is None else self.config.layout.classes

    def to(self, device: str | torch.device) -> Bundle:
        """Move the generator to ``device`` ('cpu', 'cuda', 'cuda:N' or a torch.device); returns the bundle."""
        self.device = torch.device(check_device(device))
        self.model.to(self.device)
        return self

    def z_for(self, seed: int, indices: Sequence[int] | Tensor) -> Tensor:
        """Target vectors (len(indices), z_dim) on the bundle's device; vector i depends only on (seed, i)."""
        seed = check_int(seed, "seed", 0, 2**63 - 1)
        if isinstance(indices, Tensor):
            indices = indices.flatten().tolist()
        rows = [self._target_vector(seed, check_int(i, "index", 0, 2**63 - 1)) for i in indices]
        z = torch.stack(rows) if rows else torch.empty(0, self.z_dim)
        return z.to(self.device)

    def _target_vector(self, seed: int, index: int) -> Tensor:
        """z_dim standard normals from a CPU generator seeded by (seed, index) alone."""
        return torch.randn(self.z_dim, generator=torch.Generator().manual_seed(index_seed(seed, index)))

    @torch.no_grad()
    def images_from_z(self, z: Tensor, layouts: Tensor | None = None) -> Tensor:
        """The model's blended images for target vectors ``z`` (N, z_dim) [and, for a conditional
        bundle, label maps ``layouts`` (N, H, W)]: (N, C, H, W) in [0, 1]."""
        return self.model(z.to(self.device), layouts).image.mul(0.5).add_(0.5).clamp_(0, 1)

    @torch.no_grad()
    def bands_from_z(self, z: Tensor, layouts: Tensor | None = None) -> dict[str, Tensor]:
        """The generated bands for ``z`` (N, z_dim) [and layouts], in the space of ``bands.decompose``."""
        return self.model(z.to(self.device), layouts).bands

    def _aligned_images(self, z: Tensor, layouts: Tensor | None = None) -> Tensor:
        """:meth:`images_from_z` on ``z`` (and layouts) padded with zero rows to a multiple of :data:`ALIGN`."""
        pad = _round_up(len(z), ALIGN) - len(z)
        if pad:
            z = torch.cat([z, z.new_zeros(pad, z.shape[1])])
            if layouts is not None:
                layouts = torch.cat([layouts, layouts.new_zeros(pad, *layouts.shape[1:])])
        return self.images_from_z(z, layouts)[: len(z) - pad]

    def _check_layouts(self, n_or_layouts: Any) -> tuple[int, Tensor | None]:
        """(count, checked int64 label maps or None) from :meth:`generate`'s first argument."""
        given = isinstance(n_or_layouts, (Tensor, np.ndarray))
        if self.classes is None:
            if given:
                raise ValueError("layouts: this bundle is unconditional (manifest 'classes' is null); call "
                                 "generate(n, seed=...) with a number of images")
            return check_int(n_or_layouts, "n", 0, 2**63 - 1), None
        if not given:
            raise ValueError(
                f"layouts: this bundle is conditional on {self.classes.num_classes}-class layouts "
                f"({', '.join(self.classes.names)}); call generate(layouts, seed=...) with label maps (N, H, W) of "
                f"class ids, got {n_or_layouts!r}"
            )
        layouts = self.model.check_labels(torch.as_tensor(n_or_layouts), "layouts")
        assert layouts is not None  # a conditional model returns the checked ids or raises
        return len(layouts), layouts

    def generate(
        self, n: int | Tensor | np.ndarray, *, seed: int = 0, start: int = 0, batch_size: int = 64,
        device: str | torch.device | None = None, exact: bool = True,
    ) -> Tensor:
        """Images start..start+n-1 of ``seed``: (n, C, H, W) in [0, 1] on the bundle's device.

        Image i comes from :meth:`z_for` (seed, i). A layout-conditional bundle takes label maps
        ``layouts`` (N, H, W) of class ids (tensor or array) instead of ``n``: image i is drawn
        from ``layouts[i]`` with the target vector of index start + i, so one layout given twice
        yields two different scenes. The same seed and ``batch_size`` give the same images bit for
        bit; other batch sizes agree to float32 rounding (1e-5: libraries pick kernels by batch size,
        docs/bundle.md). With ``exact`` (the default) the model runs on batches of a multiple of
        :data:`ALIGN` rows (``batch_size`` rounded up, a short batch zero-padded); ``exact=False`` skips
        the padding (a single image costs one row, not eight). ``device`` moves the bundle there first.
        """
        if device is not None:
            self.to(device)
        n, layouts = self._check_layouts(n)
        check_int(start, "start", 0, 2**63 - 1)
        step = check_int(batch_size, "batch_size", 1, 2**63 - 1)
        step = _round_up(step, ALIGN) if exact else step
        run = self._aligned_images if exact else self.images_from_z
        batches = [run(self.z_for(seed, range(start + first, start + min(first + step, n))),
                       None if layouts is None else layouts[first: first + step])
                   for first in range(0, n, step)]
        if not batches:
            return torch.empty(0, self.channels, *self.image_size, device=self.device)
        return torch.cat(batches)

    def __repr__(self) -> str:
        h, w = self.image_size
        return f"Bundle({str(self.path)!r}, {h}x{w}, {self.spec.describe()}, device={self.device})"


# ---- writing -----------------------------------------------------------------------------------

def _float32_state(model: FreqGAN) -> dict[str, Tensor]:
    """The model's state dict as contiguous float32 CPU tensors (safetensors wants unshared storage)."""
    return {k: v.detach().to("cpu", torch.float32).contiguous().clone() for k, v in model.state_dict().items()}


def _full_provenance(provenance: Mapping[str, Any]) -> dict[str, Any]:
    """``provenance`` with the date and torch version added where the caller gave none."""
    if not isinstance(provenance, Mapping) or not all(isinstance(k, str) for k in provenance):
        raise TypeError(f"provenance: expected a dict with string keys, got {provenance!r}")
    now = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0).isoformat()
    return {"created": now, "torch": torch.__version__, **provenance}


def save_bundle(model: FreqGAN, path: str | os.PathLike[str], *, provenance: Mapping[str, Any]) -> Path:
    """Write ``model`` (its float32 state dict) and its manifest to ``path`` atomically; returns the path."""
    if not isinstance(model, FreqGAN):
        raise TypeError(f"model: expected a FreqGAN, got {type(model).__name__}")
    path = Path(path)
    tensors = _float32_state(model)
    manifest = build_manifest(model, tensors, _full_provenance(provenance))
    try:
        text = json.dumps(manifest, sort_keys=True, allow_nan=False)
    except (TypeError, ValueError) as err:
        raise ValueError(f"provenance: expected JSON-ready values ({err})") from None
    return write_tensors(path, tensors, {MANIFEST_KEY: text, MANIFEST_SHA256_KEY: sha256_bytes(text.encode())})


# ---- reading -----------------------------------------------------------------------------------

def build_model(config: FreqGANConfig) -> FreqGAN:
    """A FreqGAN for ``config`` whose throw-away random init leaves the global RNG untouched."""
    with torch.random.fork_rng(devices=[]):
        return FreqGAN(config)


def _read_file(path: Path) -> tuple[dict[str, str], dict[str, Tensor]]:
    """(metadata, tensors) of a safetensors file; any parser failure becomes a BundleError."""
    if not path.is_file():
        what = ("is a directory, not a bundle file" if path.is_dir()
                else "is not a regular file" if path.exists() else "does not exist")
        raise BundleError(f"{path}: bundle file {what}; expected a .safetensors bundle (freqaug export)")
    try:
        with safe_open(str(path), framework="pt", device="cpu") as handle:
            metadata = handle.metadata() or {}
            tensors = {name: handle.get_tensor(name) for name in handle.keys()}
    except Exception as err:  # noqa: BLE001 - an untrusted file: every parser failure is a damaged file
        raise BundleError(
            f"{path}: not a readable safetensors file (truncated or corrupted header/data: {err}); "
            "expected a bundle written by freqaug export"
        ) from None
    return metadata, tensors


def _parse_manifest(path: Path, metadata: Mapping[str, str]) -> dict[str, Any]:
    """The manifest dict from the safetensors metadata."""
    if MANIFEST_KEY not in metadata:
        hint = " (this is a training checkpoint: run `freqaug export RUN_DIR OUT`)" if "freqaug" in metadata else ""
        raise BundleError(f"{path}: metadata key {MANIFEST_KEY!r} is missing; not a freqaug bundle{hint}")
    stored = metadata.get(MANIFEST_SHA256_KEY)  # bundles written before it have none: their fields are checked alone
    if stored is not None and sha256_bytes(metadata[MANIFEST_KEY].encode()) != stored:
        raise BundleError(f"{path}: the manifest does not match its sha256 (metadata {MANIFEST_SHA256_KEY!r}): it was "
                          "changed or damaged after export; export the bundle again (freqaug export RUN_DIR OUT)")
    try:
        manifest = parse_json(metadata[MANIFEST_KEY], f"{path}: metadata {MANIFEST_KEY!r}")
    except ValueError as err:
        raise BundleError(str(err)) from None
    if not isinstance(manifest, dict):
        raise BundleError(f"{path}: metadata {MANIFEST_KEY!r}: expected a JSON object, got {type(manifest).__name__}")
    return manifest


def _check_format(fields: ManifestReader) -> None:
    """The file is a freqaug bundle of a format version this reader knows."""
    fields.expect_equal("format", "a string", FORMAT, "a freqaug bundle")
    version = fields.get("format_version", "an integer")
    writer = fields.get("freqaug_version", "a string")
    if version > FORMAT_VERSION:
        raise fields.error(
            "format_version", f"{version} is newer than this freqaug {__version__} reads (<= {FORMAT_VERSION}); "
            f"the bundle was written by freqaug {writer}: install freqaug >= {writer} to read it"
        )
    if version < 1:
        raise fields.error("format_version", f"expected an integer in 1..{FORMAT_VERSION}, got {version}")


def _config_from(fields: ManifestReader) -> FreqGANConfig:
    """The FreqGANConfig of the manifest's ``model`` field, validated."""
    data = fields.get("model", "an object")
    try:
        return FreqGANConfig.from_dict(data)
    except (TypeError, ValueError, KeyError) as err:
        raise fields.error("model", f"not a valid FreqGANConfig ({err})") from None


def _check_size(path: Path, config: FreqGANConfig, image_size: tuple[int, int] | None) -> None:
    """The bundle's image size is the one the caller asked for."""
    if image_size is None:
        return
    if not (isinstance(image_size, (tuple, list)) and len(image_size) == 2):
        raise ValueError(f"image_size: expected None or (height, width), got {image_size!r}")
    if tuple(image_size) != tuple(config.image_size):
        (h, w), (eh, ew) = config.image_size, image_size
        raise BundleError(f"{path}: the bundle generates {h}x{w} (HxW) images, but {eh}x{ew} was asked for")


def _expected_state(fields: ManifestReader, config: FreqGANConfig) -> dict[str, Tensor]:
    """Names and shapes of the config's state dict, from a model on the meta device (no memory)."""
    try:
        with torch.device("meta"):
            return FreqGAN(config).state_dict()
    except (ValueError, TypeError, RuntimeError) as err:
        raise fields.error("model", f"cannot build a FreqGAN from it ({err})") from None


def _check_tensors(fields: ManifestReader, tensors: Mapping[str, Tensor], expected: Mapping[str, Tensor]) -> None:
    """Tensor names, dtypes and shapes equal the rebuilt model's state dict; values are finite."""
    path = fields.path
    versions = f"(written by freqaug {fields.manifest['freqaug_version']}, read by {__version__})"
    missing = sorted(set(expected) - set(tensors))
    if missing:
        raise BundleError(f"{path}: tensor(s) {missing[:5]} missing; the manifest's model needs {len(expected)} "
                          f"tensors {versions}")
    extra = sorted(set(tensors) - set(expected))
    if extra:
        raise BundleError(f"{path}: unexpected tensor(s) {extra[:5]}; the manifest's model has no such weights {versions}")
    for name, ref in expected.items():
        got = tensors[name]
        if got.dtype != torch.float32:
            raise BundleError(f"{path}: tensor {name!r}: dtype {got.dtype}, expected torch.float32")
        if tuple(got.shape) != tuple(ref.shape):
            raise BundleError(f"{path}: tensor {name!r}: shape {tuple(got.shape)}, expected {tuple(ref.shape)}")
        if not bool(torch.isfinite(got).all()):
            raise BundleError(f"{path}: tensor {name!r} holds NaN or Inf values; expected finite weights")


def _check_weights(fields: ManifestReader, tensors: Mapping[str, Tensor]) -> None:
    """The weights' canonical sha256, count and dtype match the manifest."""
    fields.expect_equal("weights.dtype", "a string", WEIGHTS_DTYPE, "bundles store float32 weights")
    fields.expect_equal("weights.count", "an integer", len(tensors), "tensors in the file")
    fields.get("weights.hash", "a string")
    expected = fields.get("weights.sha256", "a sha256 hex digest")
    actual = weights_sha256(tensors)
    if actual != expected:
        raise BundleError(
            f"{fields.path}: weights sha256 {actual} does not match manifest field 'weights.sha256' {expected}; "
            "the tensors were changed or damaged"
        )


def _check_noise(fields: ManifestReader, model: FreqGAN, stored: Tensor) -> None:
    """The stored projection is the manifest's (checksum) and the one its seed rebuilds (``model``'s)."""
    reference = noise_dict(model)
    for key in ("seed", "dim", "block_dim"):
        fields.expect_equal(f"noise.{key}", "an integer", reference[key], "from the model config")
    fields.expect_equal("noise.generators", "a list of strings", reference["generators"], "from the model config")
    fields.get("noise.algorithm", "a string")
    expected = fields.get("noise.sha256", "a sha256 hex digest")
    rebuilt = model.noise.projection
    if reference["sha256"] != expected and not torch.allclose(rebuilt, stored, rtol=0, atol=_NOISE_TOLERANCE):
        raise BundleError(
            f"{fields.path}: the noise projection rebuilt from noise_seed {reference['seed']} (sha256 "
            f"{reference['sha256'][:16]}...) differs from manifest field 'noise.sha256' {expected[:16]}... and from "
            "the stored tensor 'noise.projection'"
        )
    model.noise.projection.copy_(stored)
    if model.noise.checksum() != expected:
        raise BundleError(
            f"{fields.path}: tensor 'noise.projection' has sha256 {model.noise.checksum()[:16]}..., expected "
            f"{expected[:16]}... (manifest field 'noise.sha256')"
        )


def _check_described(fields: ManifestReader, model: FreqGAN) -> None:
    """Fields written for humans (band shapes and stats, alpha, parameters, classes) agree with the model."""
    shapes = {name: list(shape) for name, shape in model.band_shapes.items()}
    fields.expect_equal("band_shapes", "an object", shapes, "from spec and image size")
    fields.expect_equal("band_stats", "an object", band_stats_dict(model), "tensors 'band_center'/'band_scale'")
    alpha = fields.get("alpha", "a list of numbers")
    actual = model.blend.alpha.detach().cpu()
    if len(alpha) != actual.numel() or not torch.allclose(torch.tensor(alpha, dtype=torch.float32), actual, atol=1e-6):
        raise fields.error("alpha", f"expected {actual.tolist()} (sigmoid of tensor 'blend.logit'), got {alpha}")
    fields.expect_equal("parameters", "an object", parameter_counts(model), "counted in the rebuilt model")
    fields.expect_equal("classes", "null or a list of strings", classes_list(model), "model.layout.classes.names")
    fields.get("provenance", "an object")


def load_bundle(
    path: str | os.PathLike[str], device: str | torch.device = "cpu", *, image_size: tuple[int, int] | None = None
) -> Bundle:
    """Read, verify and load a bundle: the EMA FreqGAN in eval mode on ``device``, gradients off,
    its convolution weights in the channels_last memory format.

    ``image_size`` (H, W), when given, must be the bundle's. Raises :class:`BundleError` naming the
    file and the field for a missing, damaged, tampered or too new file.
    """
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"path: expected a bundle file path (str or os.PathLike), got {type(path).__name__}")
    check_device(device)
    path = Path(path)
    metadata, tensors = _read_file(path)
    manifest = _parse_manifest(path, metadata)
    fields = ManifestReader(path, manifest)
    _check_format(fields)
    config = _config_from(fields)
    _check_size(path, config, image_size)
    _check_tensors(fields, tensors, _expected_state(fields, config))
    model = build_model(config)  # now known to be no larger than the file's tensors
    _check_weights(fields, tensors)
    _check_noise(fields, model, tensors["noise.projection"])
    model.load_state_dict(tensors, strict=True)
    _check_described(fields, model)
    model.eval().requires_grad_(False)
    model.to(memory_format=torch.channels_last)  # ~1.8x faster convolutions on the CPU; same determinism
    return Bundle(path, manifest, model, torch.device("cpu")).to(device)
