"""The FID Inception-v3 network, with weights from a local file only, and the FID / KID built on it.

FID numbers are comparable to published ones only with the standard weights file
``pt_inception-2015-12-05-6726825d.pth`` (the TensorFlow FID Inception of Heusel et al. 2017,
ported by pytorch-fid). freqaug never downloads it: pass its path, or set the environment variable
``FREQAUG_INCEPTION_WEIGHTS``. The network is torchvision's Inception-v3 (1008 classes, no
auxiliary head) with the blocks that differ in the TensorFlow graph replaced, as pytorch-fid does:
the average pools of Mixed_5b..5d, 6b..6e and 7b ignore the zero padding, and Mixed_7c max-pools.
Images (N, 3, H, W) in [0, 1] are resized to 299x299 (bilinear, no antialiasing) and scaled to
[-1, 1]; the features are the 2048-d global average pool before the classifier.
"""
from __future__ import annotations

import os
from functools import partial
from pathlib import Path
from typing import Literal

import torch
import torch.nn.functional as F
from torch import Tensor
from torchvision.models.inception import (
    BasicConv2d,
    Inception3,
    InceptionA,
    InceptionAux,
    InceptionB,
    InceptionC,
    InceptionD,
    InceptionE,
)

from freqaug.bands._checks import check_image, check_positive_int
from freqaug.metrics.frechet import KID, feature_stats, frechet_distance
from freqaug.metrics.frechet import kid as kid_from_features

__all__ = [
    "ENV_VAR",
    "FIDInceptionV3",
    "InceptionWeightsError",
    "InceptionWeightsNotFoundError",
    "WEIGHTS_FILE",
    "WEIGHTS_URL",
    "fid",
    "inception_features",
    "kid",
    "load_fid_inception",
    "resolve_weights_path",
]

WEIGHTS_FILE = "pt_inception-2015-12-05-6726825d.pth"
"""File name of the standard FID Inception weights (pytorch-fid's port of the TensorFlow graph)."""
WEIGHTS_URL = f"https://github.com/mseitzer/pytorch-fid/releases/download/fid_weights/{WEIGHTS_FILE}"
"""Where to get :data:`WEIGHTS_FILE` by hand; freqaug itself never downloads."""
ENV_VAR = "FREQAUG_INCEPTION_WEIGHTS"
"""Environment variable naming the weights file when no path is passed."""

FEATURE_DIM = 2048
_INPUT_SIZE = (299, 299)
_FEATURE_LAYERS = (
    "Conv2d_1a_3x3", "Conv2d_2a_3x3", "Conv2d_2b_3x3", "maxpool1", "Conv2d_3b_1x1", "Conv2d_4a_3x3", "maxpool2",
    "Mixed_5b", "Mixed_5c", "Mixed_5d", "Mixed_6a", "Mixed_6b", "Mixed_6c", "Mixed_6d", "Mixed_6e",
    "Mixed_7a", "Mixed_7b", "Mixed_7c", "avgpool",
)


class InceptionWeightsNotFoundError(FileNotFoundError):
    """The FID Inception weights file was not given or does not exist; the message says what to get."""


class InceptionWeightsError(ValueError):
    """The weights file exists but cannot be read or does not fit the network; the message names the key."""


def _tf_avg_pool(x: Tensor) -> Tensor:
    """3x3 stride-1 average pool that, like TensorFlow's, leaves the zero padding out of the mean."""
    return F.avg_pool2d(x, kernel_size=3, stride=1, padding=1, count_include_pad=False)


def _chain(block: torch.nn.Module, names: tuple[str, ...], x: Tensor) -> Tensor:
    """Apply the sub-modules ``names`` of ``block`` one after the other."""
    for name in names:
        x = getattr(block, name)(x)
    return x


class _FIDInceptionA(InceptionA):
    """InceptionA whose pool branch averages without the padding."""

    def _forward(self, x: Tensor) -> list[Tensor]:
        """The four branches, to be concatenated along channels by ``forward``."""
        return [
            self.branch1x1(x),
            _chain(self, ("branch5x5_1", "branch5x5_2"), x),
            _chain(self, ("branch3x3dbl_1", "branch3x3dbl_2", "branch3x3dbl_3"), x),
            self.branch_pool(_tf_avg_pool(x)),
        ]


class _FIDInceptionC(InceptionC):
    """InceptionC whose pool branch averages without the padding."""

    def _forward(self, x: Tensor) -> list[Tensor]:
        """The four branches, to be concatenated along channels by ``forward``."""
        return [
            self.branch1x1(x),
            _chain(self, ("branch7x7_1", "branch7x7_2", "branch7x7_3"), x),
            _chain(self, tuple(f"branch7x7dbl_{i}" for i in range(1, 6)), x),
            self.branch_pool(_tf_avg_pool(x)),
        ]


class _FIDInceptionE(InceptionE):
    """InceptionE with the TensorFlow graph's pool branch: padding-free average (7b) or max (7c)."""

    def __init__(self, in_channels: int, pool: Literal["avg", "max"]) -> None:
        """Build the block; ``pool`` picks the pool branch."""
        super().__init__(in_channels)
        self.pool = pool

    def _forward(self, x: Tensor) -> list[Tensor]:
        """The four branches, to be concatenated along channels by ``forward``."""
        mid = self.branch3x3_1(x)
        dbl = _chain(self, ("branch3x3dbl_1", "branch3x3dbl_2"), x)
        pooled = F.max_pool2d(x, kernel_size=3, stride=1, padding=1) if self.pool == "max" else _tf_avg_pool(x)
        return [
            self.branch1x1(x),
            torch.cat([self.branch3x3_2a(mid), self.branch3x3_2b(mid)], 1),
            torch.cat([self.branch3x3dbl_3a(dbl), self.branch3x3dbl_3b(dbl)], 1),
            self.branch_pool(pooled),
        ]


class FIDInceptionV3(Inception3):
    """The FID Inception-v3: ``forward`` maps (N, 3, H, W) images in [0, 1] to (N, 2048) pool features.

    Built with random weights: torchvision's ``inception_v3(weights=None, aux_logits=False,
    init_weights=False, num_classes=1008)`` with the FID blocks passed in as ``inception_blocks``
    (and Mixed_7c's max pool set after); its ``state_dict`` keys are those of the standard weights
    file. Use :func:`load_fid_inception` to get the real weights.
    """

    def __init__(self) -> None:
        """Build the network with random weights."""
        blocks = [BasicConv2d, _FIDInceptionA, InceptionB, _FIDInceptionC, InceptionD,
                  partial(_FIDInceptionE, pool="avg"), InceptionAux]
        super().__init__(num_classes=1008, aux_logits=False, init_weights=False, inception_blocks=blocks)
        self.Mixed_7c = _FIDInceptionE(2048, pool="max")

    def forward(self, images: Tensor) -> Tensor:
        """(N, 3, H, W) in [0, 1] -> (N, 2048): resize to 299x299, scale to [-1, 1], pool features."""
        x = F.interpolate(images, size=_INPUT_SIZE, mode="bilinear", align_corners=False) * 2 - 1
        return _chain(self, _FEATURE_LAYERS, x).flatten(1)


def resolve_weights_path(path: str | os.PathLike[str] | None = None) -> Path:
    """The weights file to read: ``path``, else ``$FREQAUG_INCEPTION_WEIGHTS``; a folder means the
    standard file name inside it. Raises :class:`InceptionWeightsNotFoundError` saying what to get."""
    if path is not None:
        given, source = Path(path), "the path passed in"
    elif os.environ.get(ENV_VAR):
        given, source = Path(os.environ[ENV_VAR]), f"${ENV_VAR}"
    else:
        raise InceptionWeightsNotFoundError(
            f"FID/KID need the Inception weights file {WEIGHTS_FILE}, and none was given: no path was passed "
            f"and ${ENV_VAR} is not set. freqaug never downloads; get the file from {WEIGHTS_URL} and pass its "
            f"path (or set {ENV_VAR}=/path/to/{WEIGHTS_FILE})."
        )
    candidates = [given]
    if given.is_dir():
        candidates = [given / WEIGHTS_FILE, given / Path(WEIGHTS_FILE).with_suffix(".safetensors").name]
    for candidate in candidates:
        if candidate.is_file():
            return candidate
    looked = " and ".join(str(c) for c in candidates)
    raise InceptionWeightsNotFoundError(
        f"FID/KID need the Inception weights file {WEIGHTS_FILE}: looked for {looked} (from {source}) and "
        f"found no file. freqaug never downloads; get it from {WEIGHTS_URL} and pass its path (or set "
        f"{ENV_VAR})."
    )


def _read_state_dict(path: Path) -> dict[str, Tensor]:
    """Tensors of a .safetensors file, or of a .pth read with ``weights_only=True`` (no arbitrary pickles)."""
    try:
        if path.suffix == ".safetensors":
            from safetensors.torch import load_file

            return load_file(str(path), device="cpu")
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # noqa: BLE001 - any failure to parse is reported with the file name
        raise InceptionWeightsError(f"{path}: cannot read Inception weights ({type(err).__name__}: {err})") from None
    if not isinstance(state, dict) or not all(isinstance(v, Tensor) for v in state.values()):
        raise InceptionWeightsError(f"{path}: expected a state_dict (a dict of tensors), got {type(state).__name__}")
    return state


def _first(keys: list[str], count: int = 5) -> str:
    """The first ``count`` keys, and how many more there are."""
    more = f" and {len(keys) - count} more" if len(keys) > count else ""
    return f"{keys[:count]}{more}"


def _check_state_dict(state: dict[str, Tensor], expected: dict[str, Tensor], path: Path) -> dict[str, Tensor]:
    """``state`` completed with BatchNorm counters, after checking keys and shapes against ``expected``."""
    optional = {k for k in expected if k.endswith("num_batches_tracked")}  # absent in files of old torch
    missing = sorted(set(expected) - set(state) - optional)
    unexpected = sorted(set(state) - set(expected))
    if missing or unexpected:
        found = (("missing", missing), ("unexpected", unexpected))
        parts = [f"{what} keys {_first(keys)}" for what, keys in found if keys]
        raise InceptionWeightsError(
            f"{path}: not the FID Inception-v3 weights ({'; '.join(parts)}); expected {WEIGHTS_FILE} from {WEIGHTS_URL}"
        )
    for key, value in state.items():
        if value.shape != expected[key].shape:
            raise InceptionWeightsError(
                f"{path}: tensor {key!r} has shape {tuple(value.shape)}, expected {tuple(expected[key].shape)}; "
                f"not the FID Inception-v3 weights ({WEIGHTS_FILE})"
            )
    return {**{k: expected[k] for k in optional - set(state)}, **state}


def load_fid_inception(
    path: str | os.PathLike[str] | None = None, *, device: str | torch.device = "cpu",
) -> FIDInceptionV3:
    """The FID Inception network in eval mode, without gradients, with weights from a local file.

    ``path`` is the .pth (read with ``weights_only=True``) or .safetensors file, or a folder holding
    it; None reads ``$FREQAUG_INCEPTION_WEIGHTS``. A missing file raises
    :class:`InceptionWeightsNotFoundError` (a FileNotFoundError) naming the file needed and where it
    was looked for; a file whose keys or shapes differ raises :class:`InceptionWeightsError` naming them.
    """
    file = resolve_weights_path(path)
    net = FIDInceptionV3()
    state = _check_state_dict(_read_state_dict(file), net.state_dict(), file)
    net.load_state_dict(state, strict=True)
    return net.requires_grad_(False).eval().to(device)


Weights = str | os.PathLike[str] | FIDInceptionV3 | None


def _network(weights: Weights, device: str | torch.device) -> FIDInceptionV3:
    """A loaded network as is (moved to ``device``), else load one from the path or $FREQAUG_INCEPTION_WEIGHTS."""
    if isinstance(weights, FIDInceptionV3):
        return weights.eval().to(device)
    return load_fid_inception(weights, device=device)


@torch.no_grad()
def inception_features(
    images: Tensor, weights: Weights = None, *, batch_size: int = 32, device: str | torch.device = "cpu",
    progress: bool = True,
) -> Tensor:
    """(N, 2048) float64 pool features of (N, 3, H, W) images in [0, 1], computed ``batch_size`` at a time.

    ``weights`` is a loaded :class:`FIDInceptionV3`, a weights path, or None for ``$FREQAUG_INCEPTION_WEIGHTS``.
    """
    check_image(images, "images")
    if images.shape[1] != 3:
        raise ValueError(f"images: expected 3 (RGB) channels, got shape {tuple(images.shape)}")
    if images.numel() and not (images.min() >= 0 and images.max() <= 1):
        raise ValueError(
            f"images: expected values in [0, 1], got [{float(images.min()):g}, {float(images.max()):g}]; "
            f"clamp or rescale first"
        )
    check_positive_int(batch_size, "batch_size")
    net = _network(weights, device)
    batches = images.split(batch_size)
    if progress:
        from freqaug._progress import progress_bar

        batches = progress_bar(batches, desc="inception features", unit="batch")
    out = [net(batch.to(device, torch.float32)).double().cpu() for batch in batches]
    return torch.cat(out) if out else torch.empty(0, FEATURE_DIM, dtype=torch.float64)


def fid(
    real_images: Tensor, fake_images: Tensor, *, weights: Weights = None, batch_size: int = 32,
    device: str | torch.device = "cpu", progress: bool = True,
) -> float:
    """Fréchet Inception Distance between two (N, 3, H, W) image sets in [0, 1] (see :func:`inception_features`)."""
    net = _network(weights, device)
    stats = [feature_stats(inception_features(x, net, batch_size=batch_size, device=device, progress=progress))
             for x in (real_images, fake_images)]
    return frechet_distance(*stats[0], *stats[1])


def kid(
    real_images: Tensor, fake_images: Tensor, *, weights: Weights = None, subsets: int = 100,
    subset_size: int = 1000, seed: int = 0, batch_size: int = 32, device: str | torch.device = "cpu",
    progress: bool = True,
) -> KID:
    """Kernel Inception Distance (mean, std over subsets) between two (N, 3, H, W) image sets in [0, 1]."""
    net = _network(weights, device)
    real, fake = (inception_features(x, net, batch_size=batch_size, device=device, progress=progress)
                  for x in (real_images, fake_images))
    return kid_from_features(real, fake, subsets=subsets, subset_size=subset_size, seed=seed)
