"""Label-map augmentation for layout-conditional bundles: new layouts from real ones, labels kept exact.

A conditional bundle draws a scene for any label map, so editing a real map before generating
gives new labelled pairs (generated image, edited map). Everything here works on integer
(B, H, W) class-id maps, never interpolates (ids stay ids), and follows the kernel / sampler
split of the rest of :mod:`freqaug.augment`: pure kernels (:func:`flip_labels`,
:func:`shift_labels`, :func:`paste_classes`, :func:`augment_labels`) and a sampler
(:func:`sample_label_params`) that draws every random choice from an explicit ``torch.Generator``.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Mapping

import torch
import torch.nn.functional as F
from torch import Tensor

from freqaug._json import known_fields
from freqaug._checks import check_unit

__all__ = [
    "LabelAugConfig",
    "augment_labels",
    "check_label_maps",
    "edit_labels",
    "flip_labels",
    "paste_classes",
    "resize_labels",
    "sample_label_params",
    "shift_labels",
]


def check_label_maps(labels: Tensor, name: str = "labels") -> Tensor:
    """``labels`` if it is an integer (B, H, W) tensor, else raise naming ``name``."""
    if not isinstance(labels, Tensor) or labels.ndim != 3 or labels.is_floating_point() or labels.dtype == torch.bool:
        got = f"{labels.dtype} tensor of shape {tuple(labels.shape)}" if isinstance(labels, Tensor) else type(labels).__name__
        raise ValueError(f"{name}: expected an integer (B, H, W) tensor of class ids, got a {got}")
    return labels


def resize_labels(labels: Tensor, size: tuple[int, int]) -> Tensor:
    """Integer (B, H, W) label maps resized to ``size`` (H, W) by nearest neighbour, same dtype."""
    check_label_maps(labels)
    if tuple(labels.shape[-2:]) == tuple(size):
        return labels
    resized = F.interpolate(labels[:, None].double(), size=tuple(size), mode="nearest-exact")
    return resized[:, 0].to(labels.dtype)


def flip_labels(labels: Tensor, flip: Tensor) -> Tensor:
    """``labels`` (B, H, W) with the samples where ``flip`` (B,) bool is set mirrored left-right."""
    check_label_maps(labels)
    keep = ~flip.to(labels.device, torch.bool).view(-1, 1, 1)
    return torch.where(keep, labels, labels.flip(-1))


def shift_labels(labels: Tensor, dx: Tensor, dy: Tensor) -> Tensor:
    """``labels`` (B, H, W) moved by integer (dx, dy) pixels (B,) each; the uncovered border repeats the edge
    row / column, which continues sky, road and walls instead of inventing an ignore band."""
    check_label_maps(labels)
    batch, height, width = labels.shape
    rows = (torch.arange(height, device=labels.device)[None, :] - dy.to(labels.device, torch.long)[:, None])
    cols = (torch.arange(width, device=labels.device)[None, :] - dx.to(labels.device, torch.long)[:, None])
    rows, cols = rows.clamp(0, height - 1), cols.clamp(0, width - 1)
    picked = labels.gather(1, rows[:, :, None].expand(batch, height, width))
    return picked.gather(2, cols[:, None, :].expand(batch, height, width))


def paste_classes(labels: Tensor, donors: Tensor, classes: Tensor) -> Tensor:
    """Class-preserving copy-paste: every pixel of class ``classes[i]`` in ``donors[i]`` is written, with that
    class, onto ``labels[i]`` at the same place (a class id < 0 pastes nothing). (B, H, W) in, (B, H, W) out."""
    check_label_maps(labels)
    check_label_maps(donors, "donors")
    if donors.shape != labels.shape:
        raise ValueError(f"donors: expected the labels' shape {tuple(labels.shape)}, got {tuple(donors.shape)}")
    ids = classes.to(labels.device, torch.long).view(-1, 1, 1)
    paste = (donors.to(labels.device).long() == ids) & (ids >= 0)
    return torch.where(paste, ids.clamp(min=0).to(labels.dtype).expand_as(labels), labels)


@dataclass(frozen=True)
class LabelAugConfig:
    """How layouts are edited before generating. flip: chance of a left-right mirror; shift: chance of a
    move, by up to ``max_shift`` of the width / height in each direction; paste: chance of pasting one
    class of another layout (the donor) onto this one; paste_classes: the ids that may be pasted
    (default the CamVid objects: pole 2, sign_symbol 6, fence 7, car 8, pedestrian 9, bicyclist 10; only
    classes the donor holds are pasted)."""

    flip: float = 0.5
    shift: float = 0.5
    max_shift: float = 0.1
    paste: float = 0.5
    paste_classes: tuple[int, ...] = (2, 6, 7, 8, 9, 10)

    def __post_init__(self) -> None:
        for name in ("flip", "shift", "max_shift", "paste"):
            object.__setattr__(self, name, check_unit(getattr(self, name), f"LabelAugConfig.{name}"))
        ids = self.paste_classes
        if isinstance(ids, (str, bytes)) or not isinstance(ids, (tuple, list)) or not all(
            isinstance(i, int) and not isinstance(i, bool) and i >= 0 for i in ids
        ):
            raise ValueError(f"LabelAugConfig.paste_classes: expected a list of class ids >= 0, got {ids!r}")
        if self.paste > 0 and not ids:
            raise ValueError("LabelAugConfig.paste_classes: empty, but paste > 0 asks to paste a class")
        object.__setattr__(self, "paste_classes", tuple(ids))

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready dict of every field."""
        return {**dataclasses.asdict(self), "paste_classes": list(self.paste_classes)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> LabelAugConfig:
        """Build and validate from a dict (e.g. ``json.loads`` of ``to_dict``); unknown fields are named."""
        return cls(**known_fields(data, cls, "LabelAugConfig"))


def sample_label_params(donors: Tensor, config: LabelAugConfig, generator: torch.Generator) -> dict[str, Tensor]:
    """Random edits of B layouts given their donor layouts ``donors`` (B, H, W), drawn from ``generator``:
    ``flip`` (B,) bool, ``dx`` / ``dy`` (B,) integer pixels (0 where not shifted), ``paste`` (B,) the class id
    pasted from the donor (-1 for none; only classes the donor holds are chosen). Every value is drawn for
    every sample, so the stream consumed depends on B only."""
    check_label_maps(donors, "donors")
    batch, height, width = donors.shape
    device = generator.device

    def uniform(n: int = batch) -> Tensor:
        return torch.rand(n, generator=generator, device=device)

    flip = uniform() < config.flip
    shifted = uniform() < config.shift
    dx = ((uniform() * 2 - 1) * config.max_shift * width).round().long() * shifted
    dy = ((uniform() * 2 - 1) * config.max_shift * height).round().long() * shifted
    pasted = uniform() < config.paste
    choice = uniform()
    paste = torch.full((batch,), -1, dtype=torch.long, device=device)
    allowed = torch.tensor(config.paste_classes, dtype=torch.long)
    for i in range(batch):
        present = allowed[torch.isin(allowed, donors[i].unique().cpu().long())]
        if bool(pasted[i]) and len(present):
            paste[i] = present[min(int(choice[i] * len(present)), len(present) - 1)]
    return {"flip": flip, "dx": dx, "dy": dy, "paste": paste}


def augment_labels(labels: Tensor, donors: Tensor, params: Mapping[str, Tensor]) -> Tensor:
    """Paste from the donors, then shift, then flip: (B, H, W) ``labels`` edited by ``params``
    (:func:`sample_label_params`); ids are only moved or copied, never mixed."""
    pasted = paste_classes(labels, donors, params["paste"])
    return flip_labels(shift_labels(pasted, params["dx"], params["dy"]), params["flip"])


def edit_labels(labels: Tensor, donors: Tensor, config: LabelAugConfig, generator: torch.Generator) -> Tensor:
    """One draw of label-map augmentation: :func:`sample_label_params` from ``generator``, then
    :func:`augment_labels`; (B, H, W) labels and donors in, edited labels (the labels' dtype) out."""
    return augment_labels(labels, donors.to(labels.dtype), sample_label_params(donors, config, generator))
