"""Semantic class sets (names, ids, colour palette, ignore id) and label colourisation.

The CamVid 11-class set used throughout the project (the SegNet version) is :data:`CAMVID`:
ids 0..10 are trainable classes and id 11 is "unlabelled", ignored by losses and mIoU.
"""
from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum
from typing import Any, Mapping

import numpy as np
import torch
from torch import Tensor

from freqaug._json import known_fields

RGB = tuple[int, int, int]


class CamVidClass(IntEnum):
    """CamVid (SegNet 11-class) ids, so code can say ``CamVidClass.ROAD`` instead of ``3``."""

    SKY = 0
    BUILDING = 1
    POLE = 2
    ROAD = 3
    PAVEMENT = 4
    TREE = 5
    SIGN_SYMBOL = 6
    FENCE = 7
    CAR = 8
    PEDESTRIAN = 9
    BICYCLIST = 10
    UNLABELLED = 11


def _rgb(value: Any, what: str) -> RGB:
    """Return ``value`` as an (r, g, b) tuple of ints in 0..255, else raise naming ``what``."""
    try:
        r, g, b = (int(c) for c in value)
    except (TypeError, ValueError):
        raise ValueError(f"{what}: expected an (r, g, b) triple of ints, got {value!r}") from None
    if not all(0 <= c <= 255 for c in (r, g, b)):
        raise ValueError(f"{what}: expected channel values in 0..255, got {value!r}")
    return (r, g, b)


@dataclass(frozen=True)
class ClassSet:
    """A label space: class names (id = position), one RGB colour per class, and an ignore id.

    ``names`` and ``palette`` cover the trainable ids ``0..num_classes-1``; ``ignore_index`` (if not
    None) is an extra id outside that range meaning "no label", drawn with ``ignore_color``.
    """

    names: tuple[str, ...]
    palette: tuple[RGB, ...]
    ignore_index: int | None = None
    ignore_name: str = "unlabelled"
    ignore_color: RGB = (0, 0, 0)

    def __post_init__(self) -> None:
        """Normalise sequences to tuples (so the set is hashable) and validate them."""
        names = tuple(str(n) for n in self.names)
        palette = tuple(_rgb(c, f"palette[{i}]") for i, c in enumerate(self.palette))
        if not names:
            raise ValueError("names: expected at least one class name, got none")
        if len(set(names)) != len(names):
            raise ValueError(f"names: expected unique class names, got {names}")
        if len(palette) != len(names):
            raise ValueError(f"palette: expected one colour per class ({len(names)}), got {len(palette)}")
        ignore = self.ignore_index
        if ignore is not None:
            if isinstance(ignore, bool) or not isinstance(ignore, (int, np.integer)):
                raise ValueError(f"ignore_index: expected an int or None, got {ignore!r}")
            ignore = int(ignore)
            if 0 <= ignore < len(names):
                raise ValueError(
                    f"ignore_index: expected an id outside 0..{len(names) - 1} (the class ids), got {ignore}"
                )
        object.__setattr__(self, "names", names)
        object.__setattr__(self, "palette", palette)
        object.__setattr__(self, "ignore_index", ignore)
        object.__setattr__(self, "ignore_name", str(self.ignore_name))
        object.__setattr__(self, "ignore_color", _rgb(self.ignore_color, "ignore_color"))

    @property
    def num_classes(self) -> int:
        """Number of trainable classes (ids ``0..num_classes-1``)."""
        return len(self.names)

    def id_of(self, name: str) -> int:
        """Class id for ``name`` (the ignore name maps to ``ignore_index``)."""
        if name in self.names:
            return self.names.index(name)
        if self.ignore_index is not None and name == self.ignore_name:
            return self.ignore_index
        raise KeyError(f"unknown class name {name!r}; known: {', '.join(self.names)}")

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly dict (lists and ints only), the inverse of :meth:`from_dict`."""
        return {
            "names": list(self.names),
            "palette": [list(c) for c in self.palette],
            "ignore_index": self.ignore_index,
            "ignore_name": self.ignore_name,
            "ignore_color": list(self.ignore_color),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "ClassSet":
        """Rebuild a class set from :meth:`to_dict` output (e.g. loaded from a JSON checkpoint)."""
        data = known_fields(data, cls, "ClassSet")
        missing = {"names", "palette"} - set(data)
        if missing:
            raise ValueError(f"ClassSet.from_dict: missing keys {sorted(missing)}; got keys {sorted(data)}")
        return cls(
            names=tuple(data["names"]),
            palette=tuple(tuple(c) for c in data["palette"]),
            ignore_index=data.get("ignore_index"),
            ignore_name=data.get("ignore_name", "unlabelled"),
            ignore_color=tuple(data.get("ignore_color", (0, 0, 0))),
        )

    def colorize(self, labels: np.ndarray | Tensor) -> np.ndarray:
        """Map integer label ids (any shape) to uint8 RGB (shape + (3,)) for viewing and previews."""
        return colorize(labels, self)


CAMVID = ClassSet(
    names=(
        "sky",
        "building",
        "pole",
        "road",
        "pavement",
        "tree",
        "sign_symbol",
        "fence",
        "car",
        "pedestrian",
        "bicyclist",
    ),
    # The SegNet CamVid palette.
    palette=(
        (128, 128, 128),
        (128, 0, 0),
        (192, 192, 128),
        (128, 64, 128),
        (0, 0, 192),
        (128, 128, 0),
        (192, 128, 128),
        (64, 64, 128),
        (64, 0, 128),
        (64, 64, 0),
        (0, 128, 192),
    ),
    ignore_index=int(CamVidClass.UNLABELLED),
    ignore_name="unlabelled",
    ignore_color=(0, 0, 0),
)
"""The CamVid 11-class set (SegNet version): ids 0..10 plus ignore id 11 ("unlabelled")."""


def colorize(labels: np.ndarray | Tensor, classes: ClassSet = CAMVID) -> np.ndarray:
    """Map integer label ids (any shape) to uint8 RGB (shape + (3,)) with ``classes``' palette.

    The ignore id gets ``classes.ignore_color``; any other id outside ``0..num_classes-1`` raises
    ValueError naming the bad ids, so a wrong label space is not silently drawn as black.
    """
    if isinstance(labels, Tensor):
        labels = labels.detach().to("cpu").numpy()
    arr = np.asarray(labels)
    if arr.dtype == np.bool_ or not np.issubdtype(arr.dtype, np.integer):
        raise ValueError(f"colorize: expected an integer label array, got dtype {arr.dtype}")
    arr = arr.astype(np.int64, copy=False)
    n = classes.num_classes
    lut = np.zeros((n + 1, 3), dtype=np.uint8)
    lut[:n] = np.asarray(classes.palette, dtype=np.uint8)
    lut[n] = classes.ignore_color
    valid = (arr >= 0) & (arr < n)
    if classes.ignore_index is not None:
        ignored = arr == classes.ignore_index
    else:
        ignored = np.zeros(arr.shape, dtype=bool)
    bad = ~(valid | ignored)
    if bad.any():
        raise ValueError(
            f"colorize: label ids {np.unique(arr[bad]).tolist()} are outside 0..{n - 1} "
            f"and not the ignore id {classes.ignore_index}"
        )
    idx = np.where(valid, arr, n)
    return lut[idx]


def colorize_images(labels: np.ndarray | Tensor, classes: ClassSet = CAMVID) -> Tensor:
    """Label maps (N, H, W) as coloured images (N, 3, H, W) float in [0, 1], ready for an image grid."""
    return torch.from_numpy(colorize(labels, classes)).permute(0, 3, 1, 2).float() / 255
