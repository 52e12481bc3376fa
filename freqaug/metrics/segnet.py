"""A fixed small segmentation network: downstream scores (mIoU, pixel accuracy) and domain features.

:class:`SegNet` is a compact U-Net (3x3 conv + BatchNorm + ReLU pairs, three 2x downsamplings,
bilinear upsampling with skip connections; ~1.1M parameters at the default width of 24 for the 11
CamVid classes), or with ``arch="dilated"`` a network of another family: a stride-4 stem, residual
dilated 3x3 convolutions (dilations 1, 2, 4, 8) and a bilinear 4x upsampling, no skip connections
(the DeepLab recipe in small). The second architecture is for judges: a network that scores
generated scenes should not share its inductive biases with a network a generator trained against
(``freqaug train --semantic``). It is the fixed model of the downstream benchmark
(:func:`train_segnet` from scratch, :func:`evaluate_segmentation`) and, trained on the user's own
data, the feature extractor of the domain-specific Fréchet distance and precision/recall
(:func:`segnet_features`): those numbers need no downloaded weights but are comparable only between runs with the same segnet file.
Saved as one safetensors file whose metadata holds the JSON config (no pickle).
"""
from __future__ import annotations

import json
import math
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Callable, Iterator, Mapping

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from freqaug._files import write_tensors
from freqaug._json import parse_json
from freqaug.bands._checks import check_image, check_int, check_positive_int

__all__ = [
    "ARCHS",
    "Augment",
    "SegNet",
    "SegNetConfig",
    "SegNetFileError",
    "confusion_matrix",
    "evaluate_segmentation",
    "load_segnet",
    "median_frequency_weights",
    "predict_labels",
    "save_segnet",
    "scores_from_confusion",
    "segnet_features",
    "train_segnet",
]

FORMAT = "freqaug-segnet"
VERSION = 1
_DOWNSAMPLINGS = 3
_MULTIPLE = 2**_DOWNSAMPLINGS
_DILATED_STRIDE = 4
_DILATIONS = (1, 2, 4, 8)
ARCHS = ("unet", "dilated")

Augment = Callable[[Tensor, Tensor, torch.Generator], tuple[Tensor, Tensor]]
"""Per-batch augmentation: ``(images (B, 3, H, W) in [0, 1], labels (B, H, W), generator) -> (images, labels)``."""


class SegNetFileError(ValueError):
    """A segnet file is missing, damaged or not a freqaug segnet; the message names the file."""


@dataclass(frozen=True)
class SegNetConfig:
    """Everything needed to rebuild a :class:`SegNet`: classes, input channels, base width, architecture.

    ``arch="unet"``: the encoder has ``width``, 2x, 4x and (bottleneck) 8x ``width`` channels; features
    are 8 * width. ``arch="dilated"``: the stem has ``width`` and 2x ``width`` channels, the dilated
    context blocks 4x ``width``; features are 4 * width.
    """

    num_classes: int
    width: int = 24
    in_channels: int = 3
    arch: str = "unet"

    def __post_init__(self) -> None:
        """Validate every field."""
        check_int(self.num_classes, "SegNetConfig.num_classes", 2)
        check_int(self.width, "SegNetConfig.width", 1)
        check_int(self.in_channels, "SegNetConfig.in_channels", 1)
        if self.arch not in ARCHS:
            raise ValueError(f"SegNetConfig.arch: expected one of {ARCHS}, got {self.arch!r}")

    @property
    def feature_dim(self) -> int:
        """Length of :func:`segnet_features` vectors (the bottleneck or context channels)."""
        return self.width * (_MULTIPLE if self.arch == "unet" else _DILATED_STRIDE)

    def to_dict(self) -> dict[str, int]:
        """JSON-friendly dict, the inverse of :meth:`from_dict`."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> SegNetConfig:
        """Rebuild from :meth:`to_dict` output; unknown keys are an error."""
        unknown = set(data) - {"num_classes", "width", "in_channels", "arch"}
        if unknown:
            raise ValueError(f"SegNetConfig: unknown keys {sorted(unknown)}")
        return cls(**data)


def _conv_bn_relu(cin: int, cout: int, *, stride: int = 1, dilation: int = 1) -> list[nn.Module]:
    """One 3x3 conv (same padding for stride 1) + BatchNorm + ReLU."""
    return [nn.Conv2d(cin, cout, 3, stride=stride, padding=dilation, dilation=dilation, bias=False),
            nn.BatchNorm2d(cout), nn.ReLU(inplace=True)]


def _conv_pair(cin: int, cout: int) -> nn.Sequential:
    """Two 3x3 conv + BatchNorm + ReLU layers."""
    return nn.Sequential(*_conv_bn_relu(cin, cout), *_conv_bn_relu(cout, cout))


class _Residual(nn.Sequential):
    """``x + block(x)``."""

    def forward(self, x: Tensor) -> Tensor:  # noqa: D102
        return x + super().forward(x)


class SegNet(nn.Module):
    """Compact U-Net: (N, C, H, W) in [0, 1] -> (N, num_classes, H, W) logits, for any H, W
    (inputs are replicate-padded to multiples of 8 and the logits cropped back)."""

    def __init__(self, config: SegNetConfig) -> None:
        """Build the layers of ``config`` with PyTorch's default initialisation."""
        super().__init__()
        if not isinstance(config, SegNetConfig):
            raise TypeError(f"config: expected a SegNetConfig, got {type(config).__name__}")
        self.config = config
        w = config.width
        if config.arch == "dilated":
            self.stem = nn.Sequential(*_conv_bn_relu(config.in_channels, w, stride=2), *_conv_bn_relu(w, w),
                                      *_conv_bn_relu(w, 2 * w, stride=2), *_conv_bn_relu(2 * w, 4 * w))
            self.context = nn.Sequential(*(_Residual(*_conv_bn_relu(4 * w, 4 * w, dilation=d)) for d in _DILATIONS))
            self.head = nn.Conv2d(4 * w, config.num_classes, 1)
            return
        chans = [w * 2**i for i in range(_DOWNSAMPLINGS + 1)]  # w, 2w, 4w, 8w
        self.down = nn.ModuleList(_conv_pair(a, b) for a, b in zip([config.in_channels, *chans[:-2]], chans[:-1]))
        self.bottleneck = _conv_pair(chans[-2], chans[-1])
        self.up = nn.ModuleList(_conv_pair(chans[i + 1] + chans[i], chans[i]) for i in reversed(range(_DOWNSAMPLINGS)))
        self.head = nn.Conv2d(chans[0], config.num_classes, 1)

    def _encode(self, x: Tensor) -> tuple[Tensor, list[Tensor]]:
        """Bottleneck (U-Net) or context (dilated) activations and the U-Net's skip tensors, finest
        first, of a padded input."""
        if self.config.arch == "dilated":
            return self.context(self.stem(x)), []
        skips = []
        for block in self.down:
            x = block(x)
            skips.append(x)
            x = F.max_pool2d(x, 2)
        return self.bottleneck(x), skips

    def _pad(self, x: Tensor) -> Tensor:
        """Check the input and replicate-pad its bottom and right to multiples of 8."""
        check_image(x, "images")
        if x.shape[1] != self.config.in_channels:
            raise ValueError(f"images: expected {self.config.in_channels} channels, got shape {tuple(x.shape)}")
        h, w = x.shape[-2:]
        return F.pad(x, (0, -w % _MULTIPLE, 0, -h % _MULTIPLE), mode="replicate")

    def forward(self, images: Tensor) -> Tensor:
        """(N, C, H, W) in [0, 1] -> (N, num_classes, H, W) logits."""
        h, w = images.shape[-2:]
        padded = self._pad(images)
        x, skips = self._encode(padded)
        if self.config.arch == "dilated":
            logits = F.interpolate(self.head(x), size=padded.shape[-2:], mode="bilinear", align_corners=False)
            return logits[..., :h, :w]
        for block, skip in zip(self.up, reversed(skips)):
            x = F.interpolate(x, size=skip.shape[-2:], mode="bilinear", align_corners=False)
            x = block(torch.cat([x, skip], dim=1))
        return self.head(x)[..., :h, :w]

    def features(self, images: Tensor) -> Tensor:
        """(N, feature_dim) global-average-pooled bottleneck (U-Net) or context (dilated) activations."""
        return self._encode(self._pad(images))[0].mean(dim=(-2, -1))


# ---------------------------------------------------------------------------------------------
# Confusion matrix and scores: pure functions


def _check_ids(ids: Tensor, name: str, num_classes: int, ignore_index: int | None) -> None:
    """Raise naming ``name`` and the bad ids unless every id is a class or ``ignore_index``."""
    bad = (ids < 0) | (ids >= num_classes)
    if ignore_index is not None:
        bad &= ids != ignore_index
    if bool(bad.any()):
        ignore = "" if ignore_index is None else f" and are not the ignore id {ignore_index}"
        raise ValueError(f"{name}: ids {ids[bad].unique()[:10].tolist()} are outside 0..{num_classes - 1}{ignore}")


def confusion_matrix(pred: Tensor, target: Tensor, num_classes: int, ignore_index: int | None = None) -> Tensor:
    """(num_classes, num_classes) int64 counts, rows = true class, columns = predicted class.

    Pixels whose target is ``ignore_index`` are left out; any other id outside 0..num_classes-1 in
    ``target`` or ``pred`` raises ValueError.
    """
    check_int(num_classes, "num_classes", 1)
    for name, t in (("pred", pred), ("target", target)):
        if not isinstance(t, Tensor) or t.is_floating_point() or t.is_complex() or t.dtype == torch.bool:
            raise TypeError(f"{name}: expected an integer torch.Tensor, got {getattr(t, 'dtype', type(t).__name__)}")
    if pred.shape != target.shape:
        raise ValueError(f"pred and target: expected equal shapes, got {tuple(pred.shape)} and {tuple(target.shape)}")
    pred, target = pred.reshape(-1).long(), target.reshape(-1).long()
    if ignore_index is not None:
        keep = target != ignore_index
        pred, target = pred[keep], target[keep]
    _check_ids(target, "target", num_classes, ignore_index)
    _check_ids(pred, "pred", num_classes, None)
    counts = torch.bincount(target * num_classes + pred, minlength=num_classes**2)
    return counts.view(num_classes, num_classes).cpu()


def scores_from_confusion(confusion: Tensor) -> dict[str, Any]:
    """Per-class IoU, mIoU and pixel accuracy of a confusion matrix (rows true, columns predicted).

    IoU_c = TP / (TP + FP + FN). A class is *present* when the labels hold it (TP + FN > 0); absent
    classes get IoU None and are left out of the mIoU (their false positives still count against the
    true classes of those pixels). mIoU over no present class, and accuracy of no pixel, are NaN.
    """
    cm = confusion.double()
    tp = cm.diagonal()
    labelled = cm.sum(dim=1)
    union = labelled + cm.sum(dim=0) - tp
    present = labelled > 0
    iou = tp / union.clamp_min(1)
    total = cm.sum()
    return {
        "miou": float(iou[present].mean()) if bool(present.any()) else math.nan,
        "pixel_accuracy": float(tp.sum() / total) if total > 0 else math.nan,
        "iou": [float(v) if p else None for v, p in zip(iou, present)],
        "present": present.tolist(),
        "confusion": confusion.long().tolist(),
    }


def median_frequency_weights(labels: Tensor, num_classes: int, ignore_index: int | None = None) -> Tensor:
    """Class weights median(freq) / freq_c (Eigen & Fergus 2015; SegNet's CamVid weighting), float32.

    freq_c is the pixel count of class c divided by the pixels of the images that contain c; classes
    that never occur get weight 0.
    """
    check_int(num_classes, "num_classes", 1)
    flat = labels.reshape(labels.shape[0], -1).long()
    valid = (flat >= 0) & (flat < num_classes)
    if ignore_index is not None:
        valid &= flat != ignore_index
    per_image = torch.zeros(flat.shape[0], num_classes, dtype=torch.float64, device=flat.device)
    per_image.scatter_add_(1, torch.where(valid, flat, 0), valid.double())
    pixels_of_images = ((per_image > 0) * flat.shape[1]).sum(dim=0)
    freq = per_image.sum(dim=0) / pixels_of_images.clamp_min(1)
    seen = freq > 0
    weights = torch.zeros(num_classes, dtype=torch.float64, device=flat.device)
    weights[seen] = freq[seen].median() / freq[seen]
    return weights.float().cpu()


# ---------------------------------------------------------------------------------------------
# Training, prediction, features


def _check_pair(images: Tensor, labels: Tensor) -> None:
    """Raise unless images (N, C, H, W) and labels (N, H, W) belong together."""
    check_image(images, "images")
    shape = (images.shape[0], *images.shape[2:])
    if not isinstance(labels, Tensor) or labels.is_floating_point() or labels.shape != shape:
        raise ValueError(
            f"labels: expected an integer tensor of shape {shape} to match images, got "
            f"{getattr(labels, 'dtype', type(labels).__name__)} {tuple(getattr(labels, 'shape', ()))}"
        )


def _index_batches(n: int, batch_size: int, generator: torch.Generator) -> Iterator[Tensor]:
    """Endless batches of indices: shuffled passes over 0..n-1, each index once per pass."""
    order = torch.empty(0, dtype=torch.long)
    while True:
        while order.numel() < batch_size:
            order = torch.cat([order, torch.randperm(n, generator=generator)])
        yield order[:batch_size]
        order = order[batch_size:]


def _model_device(model: nn.Module) -> torch.device:
    """Device of the model's parameters."""
    return next(model.parameters()).device


def train_segnet(
    images: Tensor,
    labels: Tensor,
    *,
    num_classes: int,
    ignore_index: int | None = None,
    steps: int = 1000,
    batch_size: int = 16,
    lr: float = 2e-3,
    weight_decay: float = 1e-4,
    seed: int = 0,
    width: int = 24,
    arch: str = "unet",
    class_weights: Tensor | None = None,
    augment: Augment | None = None,
    device: str | torch.device = "cpu",
    progress: bool = True,
) -> SegNet:
    """Train a new :class:`SegNet` from scratch for ``steps`` AdamW steps; returned in eval mode.

    Cross-entropy (optionally class-weighted) ignoring ``ignore_index``; the learning rate follows a
    cosine from ``lr`` down to ``lr / 100``. Batches are shuffled passes over ``images`` (N, 3, H, W)
    in [0, 1] and ``labels`` (N, H, W), taken on their own device; ``augment(images, labels,
    generator)``, if given, transforms each batch before it moves to ``device``. The initial weights
    and the batch order depend only on ``seed`` (the augmentation draws from its own generator), so
    arms of a benchmark with the same seed see the same images in the same order. A batch with no
    labelled pixel is skipped (it still counts as a step).
    """
    _check_pair(images, labels)
    for name, value, minimum in (("steps", steps, 0), ("batch_size", batch_size, 1), ("seed", seed, 0)):
        check_int(value, name, minimum)
    if not images.shape[0]:
        raise ValueError("images: expected at least one image, got 0")
    for name, number in (("lr", lr), ("weight_decay", weight_decay)):
        if isinstance(number, bool) or not isinstance(number, (int, float)) or not 0 <= number < math.inf:
            raise ValueError(f"{name}: expected a finite number >= 0, got {number!r}")
    if augment is not None and not callable(augment):
        raise TypeError(f"augment: expected a callable (images, labels, generator) -> (images, labels), got {augment}")
    config = SegNetConfig(num_classes=num_classes, width=width, in_channels=images.shape[1], arch=arch)
    _check_ids(labels, "labels", num_classes, ignore_index)
    weight = None if class_weights is None else torch.as_tensor(class_weights, dtype=torch.float32, device=device)
    if weight is not None and weight.shape != (num_classes,):
        raise ValueError(f"class_weights: expected shape ({num_classes},), got {tuple(weight.shape)}")
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = SegNet(config)
    model.to(device).train()
    optimizer = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=weight_decay)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=max(steps, 1), eta_min=lr / 100)
    batches = _index_batches(images.shape[0], batch_size, torch.Generator().manual_seed(seed))
    aug_generator = torch.Generator().manual_seed(seed + 1_000_003)
    ignored = -100 if ignore_index is None else ignore_index  # -100: F.cross_entropy's "nothing ignored"
    bar: Any = range(steps)  # a tqdm bar over it with ``progress``
    if progress:
        from freqaug._progress import progress_bar

        bar = progress_bar(bar, desc="train segnet", unit="step")
    for step in bar:
        index = next(batches).to(images.device)
        x, y = images[index], labels[index]
        if augment is not None:
            x, y = augment(x, y, aug_generator)
        x, y = x.to(device, torch.float32), y.to(device, torch.long)
        if ignore_index is None or bool((y != ignore_index).any()):
            loss = F.cross_entropy(model(x), y, weight=weight, ignore_index=ignored)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            if progress and step % 10 == 0:
                bar.set_postfix(loss=f"{loss.item():.3f}")
        schedule.step()
    return model.eval()


@torch.no_grad()
def _batched(fn: Callable[[Tensor], Tensor], model: nn.Module, images: Tensor, batch_size: int) -> Tensor:
    """``fn`` over ``images`` in eval mode, ``batch_size`` at a time on the model's device, results on the CPU."""
    check_image(images, "images")
    check_positive_int(batch_size, "batch_size")
    device = _model_device(model)
    was_training = model.training
    model.eval()
    try:
        return torch.cat([fn(batch.to(device, torch.float32)).cpu() for batch in images.split(batch_size)])
    finally:
        model.train(was_training)


def predict_labels(model: SegNet, images: Tensor, *, batch_size: int = 16) -> Tensor:
    """(N, H, W) int64 arg-max class of every pixel of (N, 3, H, W) images in [0, 1]."""
    return _batched(lambda x: model(x).argmax(dim=1), model, images, batch_size)


def segnet_features(model: SegNet, images: Tensor, *, batch_size: int = 32) -> Tensor:
    """(N, feature_dim) float64 global-average-pooled bottleneck features, for the domain-specific
    Fréchet distance and precision/recall (comparable only between runs with the same segnet)."""
    return _batched(model.features, model, images, batch_size).double()


def evaluate_segmentation(
    model: SegNet, images: Tensor, labels: Tensor, *, num_classes: int, ignore_index: int | None = None,
    batch_size: int = 16,
) -> dict[str, Any]:
    """Scores of ``model`` on labelled images: ``{"miou", "pixel_accuracy", "iou", "present", "confusion"}``.

    See :func:`scores_from_confusion` for the conventions (mIoU over classes present in ``labels``).
    """
    _check_pair(images, labels)
    if num_classes != model.config.num_classes:
        raise ValueError(f"num_classes: the model predicts {model.config.num_classes} classes, got {num_classes!r}")
    pred = predict_labels(model, images, batch_size=batch_size)
    return scores_from_confusion(confusion_matrix(pred, labels.cpu(), num_classes, ignore_index))


# ---------------------------------------------------------------------------------------------
# Files


def save_segnet(model: SegNet, path: str | os.PathLike[str]) -> Path:
    """Write the weights and the JSON config to one safetensors file (temp file + rename)."""
    tensors = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    meta = {"format": FORMAT, "version": VERSION, "config": model.config.to_dict()}
    return write_tensors(path, tensors, {"freqaug": json.dumps(meta)})


def load_segnet(path: str | os.PathLike[str], *, device: str | torch.device = "cpu") -> SegNet:
    """Rebuild a :class:`SegNet` from :func:`save_segnet`'s file, in eval mode."""
    from safetensors import SafetensorError, safe_open

    path = Path(path)
    if not path.is_file():
        raise SegNetFileError(f"{path}: no segnet file")
    try:
        with safe_open(str(path), framework="pt", device="cpu") as handle:
            raw = (handle.metadata() or {}).get("freqaug")
            tensors = {key: handle.get_tensor(key) for key in handle.keys()}
    except (SafetensorError, OSError) as err:
        raise SegNetFileError(f"{path}: not a readable safetensors file ({err})") from None
    meta = parse_json(raw, f"{path}: metadata") if raw is not None else {}
    if not isinstance(meta, dict) or meta.get("format") != FORMAT or meta.get("version") != VERSION:
        raise SegNetFileError(f"{path}: not a {FORMAT!r} version {VERSION} file (metadata 'freqaug' = {raw!r})")
    try:
        model = SegNet(SegNetConfig.from_dict(meta["config"]))
        model.load_state_dict(tensors, strict=True)
    except (KeyError, TypeError, ValueError, RuntimeError) as err:
        raise SegNetFileError(f"{path}: config and tensors do not make a SegNet ({err})") from None
    return model.to(device).eval()
