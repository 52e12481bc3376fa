"""SyntheticMix: a Dataset of the real samples followed by generated ones, each flagged.

Sample format: a dict. Real sample ``i`` (``i < len(dataset)``) is the wrapped dataset's item
(a dict as it is; an ``(image, mask)`` pair as ``{"image", "mask"}``; an image as ``{"image"}``)
plus ``"synthetic": False``. Synthetic sample ``len(dataset) + k`` has the same keys: ``"image"``
generated (the real images' size and dtype), the mask (if the real samples have one) filled with
``ignore_index``, string fields set to ``"synthetic_{k:06d}"``, and ``"synthetic": True``. The
bundles are unconditional, so a synthetic image never carries labels.
"""
from __future__ import annotations

import os
from typing import Any, Mapping

import torch
from torch import Tensor
from torch.utils.data import Dataset

from freqaug.augment._convert import from_unit_float
from freqaug.augment.bank import SyntheticBank
from freqaug.augment.core import load_cached, mix_seeds
from freqaug.augment.functional import resize_images
from freqaug.augment.params import check_device

__all__ = ["SyntheticMix"]

MASK_KEYS = ("mask", "label")  # where the mask of a dict sample is looked for, in this order


def _as_dict(item: Any) -> dict[str, Any]:
    """A dataset item as a dict: dicts as they are, ``(image, mask)`` / ``(image,)`` tuples and bare images by key."""
    if isinstance(item, Mapping):
        return dict(item)
    if isinstance(item, (tuple, list)) and len(item) in (1, 2):
        return dict(zip(("image", "mask"), item))
    if isinstance(item, Tensor):
        return {"image": item}
    what = f"a {len(item)}-tuple" if isinstance(item, (tuple, list)) else type(item).__name__
    raise TypeError(f"dataset: expected items that are dicts, (image, mask) pairs or image tensors, got {what}")


def _check_count(value: Any, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"{name}: expected an integer >= 0, got {value!r}")
    return value


class SyntheticMix(Dataset):
    """``dataset`` followed by ``round(ratio * len(dataset))`` generated samples (see the module doc).

    Synthetic sample k of epoch e comes from ``bundle.z_for(mix_seeds(seed, e), [k])``: a function
    of (seed, epoch, k), whichever worker or rank reads it. Call :meth:`set_epoch` (like a
    ``DistributedSampler``'s) before each epoch for new images; with persistent workers the
    workers keep the epoch they started with. ``bank``: serve synthetic images from a
    :class:`SyntheticBank` instead (faster when the generator is slow, not deterministic).
    ``mask_key``: the mask's key in dict samples (default: the first of ``mask``, ``label``).
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
        ignore_index: int = 255,
        bank: SyntheticBank | None = None,
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
        self.seed = _check_count(seed, "seed")
        self.device = check_device(device, "device") or "cpu"
        self.bank = bank
        self.epoch = 0
        bundle = load_cached(self.bundle_path, "cpu")  # a missing or damaged bundle fails here
        self._blank = self._blank_sample(_as_dict(dataset[0]), mask_key, ignore_index, bundle.channels)

    def _blank_sample(self, first: dict[str, Any], mask_key: str | None, ignore_index: int,
                      channels: int) -> dict[str, Any]:
        """The synthetic sample's fields but the image, from the first real sample; raises for what cannot be filled."""
        image = first.get("image")
        if not isinstance(image, Tensor) or image.ndim != 3 or image.shape[0] != channels:
            got = tuple(image.shape) if isinstance(image, Tensor) else type(image).__name__
            raise ValueError(f"dataset: expected samples whose 'image' is a ({channels}, H, W) tensor, got {got} "
                             "(convert grayscale or RGBA images to RGB first)")
        if image.dtype != torch.uint8 and not image.is_floating_point():
            raise TypeError(f"dataset: expected uint8 or floating images in [0, 1], got dtype {image.dtype}")
        if mask_key is None:
            mask_key = next((key for key in MASK_KEYS if key in first), None)
        elif mask_key not in first:
            raise ValueError(f"mask_key: {mask_key!r} is not a key of the dataset's samples {sorted(first)}")
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
    def _ignore_mask(mask: Any, ignore_index: int, size: tuple[int, int]) -> Tensor:
        """A mask like ``mask`` (whose last two dimensions must be the images' ``size``) filled with ``ignore_index``."""
        if not isinstance(mask, Tensor):
            raise ValueError(f"dataset: expected the mask to be a tensor, got {type(mask).__name__}")
        if mask.ndim < 2 or tuple(mask.shape[-2:]) != size:
            raise ValueError(f"dataset: expected masks of shape (..., {size[0]}, {size[1]}) like the images, "
                             f"got {tuple(mask.shape)}")
        if isinstance(ignore_index, bool) or not isinstance(ignore_index, int):
            raise ValueError(f"ignore_index: expected an integer, got {ignore_index!r}")
        if not mask.is_floating_point():
            info = torch.iinfo(mask.dtype)
            if not info.min <= ignore_index <= info.max:
                raise ValueError(f"ignore_index: {ignore_index} does not fit the masks' dtype {mask.dtype}")
        return torch.full_like(mask, ignore_index)

    def __len__(self) -> int:
        return self.real_count + self.synthetic_count

    def set_epoch(self, epoch: int) -> None:
        """Use the synthetic images of ``epoch`` from now on."""
        self.epoch = _check_count(epoch, "epoch")

    def __getitem__(self, index: int) -> dict[str, Any]:
        """Sample ``index``: real below ``len(dataset)``, synthetic from there on."""
        if isinstance(index, bool) or not isinstance(index, int) or not 0 <= index < len(self):
            raise IndexError(f"index: expected an integer in [0, {len(self)}), got {index!r}")
        if index < self.real_count:
            return {**_as_dict(self.dataset[index]), "synthetic": False}
        return self._synthetic_sample(index - self.real_count)

    def _synthetic_sample(self, k: int) -> dict[str, Any]:
        """Synthetic sample ``k``: the generated image and the blank fields."""
        template = self._blank["image"]
        image = resize_images(self._generated(k), tuple(template.shape[-2:]))[0]
        sample = {key: f"synthetic_{k:06d}" if isinstance(value, str) else value.clone()
                  for key, value in self._blank.items() if key != "image"}
        return {"image": from_unit_float(image, template.dtype), **sample, "synthetic": True}

    def _generated(self, k: int) -> Tensor:
        """Generated image ``k`` of this epoch, (1, C, h, w) float on the CPU (from the bank if any)."""
        if self.bank is not None:
            return self.bank.draw(1)
        bundle = load_cached(self.bundle_path, self.device)
        return bundle.images_from_z(bundle.z_for(mix_seeds(self.seed, self.epoch), [k])).cpu()

    def __repr__(self) -> str:
        return (f"SyntheticMix({type(self.dataset).__name__}, {self.bundle_path!r}, real={self.real_count}, "
                f"synthetic={self.synthetic_count}, seed={self.seed}, epoch={self.epoch}, "
                f"bank={'yes' if self.bank is not None else 'no'})")
