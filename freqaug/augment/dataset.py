"""SyntheticMix: a Dataset of the real samples followed by generated ones, each flagged.

Sample format: a dict. Real sample ``i`` (``i < len(dataset)``) is the wrapped dataset's item
(a dict as it is; an ``(image, mask)`` pair as ``{"image", "mask"}``; an image as ``{"image"}``)
plus ``"synthetic": False``. Synthetic sample ``len(dataset) + k`` has the same keys: ``"image"``
generated (the real images' size and dtype), the mask (if the real samples have one) filled with
``ignore_index``, string fields set to ``"synthetic_{k:06d}"``, and ``"synthetic": True``. An
unconditional bundle's synthetic image carries no labels. A layout-conditional bundle draws it from
a real training mask (optionally edited by :mod:`~freqaug.augment.labelmaps`), and the sample is
the labelled pair (generated image, that mask).
"""
from __future__ import annotations

import os
from typing import Any, Mapping, cast

import numpy as np
import torch
from torch import Tensor
from torch.utils.data import Dataset

from freqaug.augment._convert import ImageFormat, copy_value, from_unit_float, mask_like, mask_to_tensor
from freqaug.augment.bank import SyntheticBank
from freqaug.augment.core import bundle_layouts, load_cached, mix_seeds
from freqaug.augment.functional import resize_images
from freqaug.bands._checks import check_unit_range
from freqaug.augment.labelmaps import LabelAugConfig, edit_labels
from freqaug.augment.params import check_device
from freqaug._checks import check_int
from freqaug.data.classes import CAMVID

__all__ = ["SyntheticMix"]

MASK_KEYS = ("mask", "label")  # where the mask of a dict sample is looked for, in this order


def _as_dict(item: Any) -> dict[str, Any]:
    """A dataset item as a dict: dicts as they are, ``(image, mask)`` / ``(image,)`` tuples and bare images by key."""
    if isinstance(item, Mapping):
        return dict(item)
    if isinstance(item, (tuple, list)) and len(item) in (1, 2):
        return dict(zip(("image", "mask"), item))
    if isinstance(item, (Tensor, np.ndarray)) or type(item).__module__.startswith("PIL."):
        return {"image": item}
    what = f"a {len(item)}-tuple" if isinstance(item, (tuple, list)) else type(item).__name__
    raise TypeError(f"dataset: expected items that are dicts, (image, mask) pairs or image tensors, got {what}")


class SyntheticMix(Dataset):
    """``dataset`` followed by ``round(ratio * len(dataset))`` generated samples (see the module doc).

    Synthetic sample k of epoch e comes from ``bundle.z_for(mix_seeds(seed, e), [k])``: a function
    of (seed, epoch, k), whichever worker or rank reads it. Call :meth:`set_epoch` (like a
    ``DistributedSampler``'s) before each epoch for new images; with persistent workers the
    workers keep the epoch they started with. ``bank``: serve synthetic images from a
    :class:`SyntheticBank` instead (faster when the generator is slow, not deterministic).
    ``mask_key``: the mask's key in dict samples (default: the first of ``mask``, ``label``).

    With a layout-conditional bundle, synthetic sample k is drawn from the mask of real sample
    ``perm[k % len(dataset)]`` (``perm``: a permutation per (seed, epoch)), edited first by
    ``label_aug`` (flip, shift, class-preserving copy-paste from another real mask; every choice from
    a generator seeded by (seed, epoch, k)), and carries that mask: its labels are valid.
    """

    def __init__(
        self,
        dataset: Dataset,
        bundle_path: str | os.PathLike[str],
        ratio: float,
        *,
        seed: int = 0,
        device: str = "cpu",
        mask_key: str | None = None,
        ignore_index: int | None = None,
        bank: SyntheticBank | None = None,
        label_aug: LabelAugConfig | None = None,
    ) -> None:
        if isinstance(ratio, bool) or not isinstance(ratio, (int, float)) or ratio < 0:
            raise ValueError(f"ratio: expected a number >= 0 (synthetic samples per real one), got {ratio!r}")
        if bank is not None and not isinstance(bank, SyntheticBank):
            raise TypeError(f"bank: expected None or a SyntheticBank, got {type(bank).__name__}")
        self.dataset = dataset
        self.bundle_path = os.fspath(bundle_path)
        self.real_count = len(dataset)  # type: ignore[arg-type]
        if self.real_count == 0:
            raise ValueError("dataset: expected at least one sample (the synthetic ones take its format)")
        self.synthetic_count = round(ratio * self.real_count)
        self.seed = check_int(seed, "seed", 0)
        self.device = check_device(device, "device") or "cpu"
        self.bank = bank
        self.epoch = 0
        bundle = load_cached(self.bundle_path, "cpu")  # a missing or damaged bundle fails here
        self.conditional = bundle.classes is not None
        if ignore_index is None:  # one source: the bundle's class list, else the data sets' default (CamVid's)
            classes = (bundle.classes if bundle.classes is not None and bundle.classes.ignore_index is not None
                       else CAMVID)
            ignore_index = classes.ignore_index
            assert ignore_index is not None  # the bundle's ignore id if it has one, else CamVid's (11)
        self.ignore_index = ignore_index
        self.label_aug = self._check_label_aug(label_aug, bank)
        self._perm: tuple[int, Tensor] | None = None  # (epoch, permutation of the real masks)
        self._blank = self._blank_sample(_as_dict(dataset[0]), mask_key, ignore_index, bundle.channels)

    def _check_label_aug(self, label_aug: LabelAugConfig | None, bank: SyntheticBank | None) -> LabelAugConfig | None:
        """``label_aug`` checked against the bundle: only a conditional one edits layouts, and it cannot use a bank."""
        if label_aug is not None and not isinstance(label_aug, LabelAugConfig):
            raise TypeError(f"label_aug: expected None or a LabelAugConfig, got {type(label_aug).__name__}")
        if not self.conditional and label_aug is not None:
            raise ValueError(f"label_aug: the bundle {self.bundle_path} is unconditional; only a layout-conditional "
                             "bundle draws scenes from (edited) label maps")
        if self.conditional and bank is not None:
            raise ValueError(f"bank: the bundle {self.bundle_path} is layout-conditional, and a SyntheticBank "
                             "generates without layouts; leave bank None (each scene is drawn from its mask)")
        return label_aug

    def _blank_sample(self, first: dict[str, Any], mask_key: str | None, ignore_index: int,
                      channels: int) -> dict[str, Any]:
        """The synthetic sample's fields but the image, from the first real sample; raises for what cannot be filled."""
        self.image_format = ImageFormat.of(first.get("image"), channels, "dataset: the first sample's 'image'")
        image = self.image_format.to_chw(first["image"])
        if image.dtype != torch.uint8 and not image.is_floating_point():
            raise TypeError(f"dataset: expected uint8 or floating images in [0, 1], got dtype {image.dtype}")
        check_unit_range(image, "dataset: the first sample's 'image'")
        if mask_key is None:
            mask_key = next((key for key in MASK_KEYS if key in first), None)
        elif mask_key not in first:
            raise ValueError(f"mask_key: {mask_key!r} is not a key of the dataset's samples {sorted(first)}")
        if self.conditional and mask_key is None:
            raise ValueError(f"dataset: the bundle {self.bundle_path} is layout-conditional and draws synthetic images "
                             f"from the dataset's masks, but its samples have none (keys {sorted(first)}); pass "
                             "mask_key or a dataset of (image, mask) pairs")
        self.mask_key = mask_key
        blank: dict[str, Any] = {"image": image}
        for key, value in first.items():
            if key == mask_key:
                blank[key] = self._ignore_mask(value, ignore_index, tuple(image.shape[-2:]))
            elif isinstance(value, str):
                blank[key] = ""
            elif key != "image":
                raise ValueError(
                    f"dataset: cannot fill field {key!r} ({type(value).__name__}) of synthetic samples; "
                    f"expected only 'image', a mask ({mask_key!r}) and string fields"
                )
        return blank

    @staticmethod
    def _ignore_mask(template: Any, ignore_index: int, size: tuple[int, ...]) -> Any:
        """A mask like ``template`` (a tensor, array or PIL image of the images' ``size``) filled with ``ignore_index``."""
        try:
            mask = mask_to_tensor(template)
        except TypeError as err:
            raise ValueError(f"dataset: {err}") from None
        if mask.ndim < 2 or tuple(mask.shape[-2:]) != size:
            raise ValueError(f"dataset: expected masks of shape (..., {size[0]}, {size[1]}) like the images, "
                             f"got {tuple(mask.shape)}")
        if isinstance(ignore_index, bool) or not isinstance(ignore_index, int):
            raise ValueError(f"ignore_index: expected an integer, got {ignore_index!r}")
        if not mask.is_floating_point():
            info = torch.iinfo(mask.dtype)
            if not info.min <= ignore_index <= info.max:
                raise ValueError(f"ignore_index: {ignore_index} does not fit the masks' dtype {mask.dtype}")
        return mask_like(template, torch.full_like(mask, ignore_index))

    def __len__(self) -> int:
        return self.real_count + self.synthetic_count

    def set_epoch(self, epoch: int) -> None:
        """Use the synthetic images of ``epoch`` from now on."""
        self.epoch = check_int(epoch, "epoch", 0)

    def __getitem__(self, index: int) -> dict[str, Any]:
        """Sample ``index``: real below ``len(dataset)``, synthetic from there on."""
        if isinstance(index, bool) or not isinstance(index, int) or not 0 <= index < len(self):
            raise IndexError(f"index: expected an integer in [0, {len(self)}), got {index!r}")
        if index < self.real_count:
            return {**_as_dict(self.dataset[index]), "synthetic": False}
        return self._synthetic_sample(index - self.real_count)

    def _synthetic_sample(self, k: int) -> dict[str, Any]:
        """Synthetic sample ``k``: the generated image and the blank fields (a conditional bundle: its mask)."""
        template = self._blank["image"]
        layout = self._layout(k) if self.conditional else None
        image = resize_images(self._generated(k, layout), tuple(template.shape[-2:]))[0]
        sample = {key: f"synthetic_{k:06d}" if isinstance(value, str) else copy_value(value)
                  for key, value in self._blank.items() if key != "image"}
        if layout is not None:
            mask_key = cast(str, self.mask_key)  # a conditional bundle's samples have a mask (_blank_sample)
            sample[mask_key] = mask_like(self._blank[mask_key], layout)
        image = self.image_format.from_chw(from_unit_float(image, template.dtype))
        return {"image": image, **sample, "synthetic": True}

    def _real_mask(self, index: int) -> Tensor:
        """The mask of real sample ``index`` as it is stored (checked: a tensor of the images' size)."""
        mask = _as_dict(self.dataset[index]).get(cast(str, self.mask_key))  # set: only conditional bundles get here
        if mask is not None and not isinstance(mask, Tensor):
            mask = mask_to_tensor(mask)
        size = tuple(self._blank["image"].shape[-2:])
        if not isinstance(mask, Tensor) or tuple(mask.shape[-2:]) != size or mask.numel() != size[0] * size[1]:
            got = tuple(mask.shape) if isinstance(mask, Tensor) else type(mask).__name__
            raise ValueError(f"dataset[{index}]: expected the mask {self.mask_key!r} to be an (H, W) or (1, H, W) "
                             f"tensor of {size[0]}x{size[1]} like the images, got {got}")
        return mask

    def _layout(self, k: int) -> Tensor:
        """The (edited) real mask synthetic sample ``k`` of this epoch is drawn from, stored like the real masks."""
        if self._perm is None or self._perm[0] != self.epoch:
            order = torch.Generator().manual_seed(mix_seeds(self.seed, self.epoch, 1))
            self._perm = (self.epoch, torch.randperm(self.real_count, generator=order))
        source = int(self._perm[1][k % self.real_count])
        mask = self._real_mask(source)
        if self.label_aug is None:
            return mask.clone()
        generator = torch.Generator().manual_seed(mix_seeds(self.seed, self.epoch, k, 2))
        donor_index = int(torch.randint(self.real_count, (1,), generator=generator))
        labels, donor = mask.reshape(1, *mask.shape[-2:]), self._real_mask(donor_index).reshape(1, *mask.shape[-2:])
        return edit_labels(labels, donor, self.label_aug, generator).reshape(mask.shape)

    def _generated(self, k: int, layout: Tensor | None = None) -> Tensor:
        """Generated image ``k`` of this epoch, (1, C, h, w) float on the CPU (from the bank if any; from
        ``layout``, a real-sized mask, for a conditional bundle)."""
        if self.bank is not None:
            return self.bank.draw(1)
        bundle = load_cached(self.bundle_path, self.device)
        z = bundle.z_for(mix_seeds(self.seed, self.epoch), [k])
        if layout is None:
            return bundle.images_from_z(z).cpu()
        layouts = bundle_layouts(bundle, layout.reshape(1, *layout.shape[-2:]), tuple(layout.shape[-2:]),
                                 name=f"synthetic sample {k}: mask")
        return bundle.images_from_z(z, layouts).cpu()

    def __repr__(self) -> str:
        return (f"SyntheticMix({type(self.dataset).__name__}, {self.bundle_path!r}, real={self.real_count}, "
                f"synthetic={self.synthetic_count}, seed={self.seed}, epoch={self.epoch}, "
                f"bank={'yes' if self.bank is not None else 'no'}, conditional={self.conditional})")
