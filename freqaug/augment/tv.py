"""FreqAug for torchvision.transforms.v2: images are augmented; masks, boxes and keypoints pass through.

A layout-conditional bundle draws the scene from the sample's ``tv_tensors.Mask`` (which passes
through unchanged), so ``replace`` is available: the pair (generated image, the same mask) is valid.

Importing this module imports torchvision's v2 transforms; ``freqaug.augment`` does not.
"""
from __future__ import annotations

import os
from typing import Any, Callable, Sequence, cast

import PIL.Image
import torch
from torch import Tensor
from torch.utils._pytree import tree_flatten
from torchvision import tv_tensors
from torchvision.transforms import v2
from torchvision.transforms.v2 import functional as TF

from freqaug.augment._convert import from_unit_float, to_unit_float
from freqaug.augment.core import FreqAugmenter, refuse_replace
from freqaug.augment.params import AugmentConfig

__all__ = ["FreqAug"]


def _batch_size(inpt: Any) -> int:
    """How many images ``inpt`` holds: 1 for a PIL image or a (C, H, W) tensor, N for (..., C, H, W)."""
    if isinstance(inpt, Tensor) and inpt.ndim > 3:
        return int(torch.Size(inpt.shape[:-3]).numel())
    return 1


class FreqAug(v2.Transform):
    """The freqaug augmentation (mode ``bands`` or ``blend``; also ``replace`` with a layout-conditional
    bundle, which needs a ``tv_tensors.Mask`` in the sample) as a torchvision v2 transform.

    Transforms ``tv_tensors.Image``, plain tensors (uint8, or float in [0, 1]; (C, H, W) or
    (..., C, H, W), each image its own sample) and RGB PIL images, returning the same type and
    dtype; ``Mask``, ``BoundingBoxes``, ``KeyPoints`` and other tv_tensors pass through untouched.
    Randomness comes from torch's global RNG as in torchvision (a DataLoader seeds it per worker),
    or with ``seed`` from a per-process generator. The bundle loads lazily, once per process.
    """

    _transformed_types = (tv_tensors.Image, PIL.Image.Image, TF.is_pure_tensor)

    def __init__(
        self,
        bundle_path: str | os.PathLike[str],
        *,
        mode: str = "bands",
        p: float = 0.5,
        strength: tuple[float, float] = (1.0, 1.0),
        bands: Sequence[str] | None = None,
        weight: float | None = None,
        device: str = "cpu",
        seed: int | None = None,
    ) -> None:
        super().__init__()
        config = AugmentConfig(cast(str, bundle_path), mode=mode, p=p, strength=strength,  # normalised there
                               bands=cast("tuple[str, ...] | None", bands), weight=weight, device=device, seed=seed)
        self.augmenter = FreqAugmenter(config)
        refuse_replace(mode, "torchvision", conditional=self.augmenter.conditional)

    @property
    def config(self) -> AugmentConfig:
        """The augmentation's configuration."""
        return self.augmenter.config

    def forward(self, *inputs: Any) -> Any:
        """The sample transformed; raises first if its images, masks, boxes or keypoints differ in size."""
        flat = tree_flatten(inputs if len(inputs) > 1 else inputs[0])[0]
        _check_sizes(flat)
        self._sample = flat  # make_params sees only the inputs it transforms; a conditional bundle needs the Mask
        try:
            return super().forward(*inputs)
        finally:
            self._sample = []

    def make_params(self, flat_inputs: list[Any]) -> dict[str, Any]:
        """One set of per-image parameters, sized by the first image input (and, for a conditional bundle,
        the sample's ``Mask`` as the layouts)."""
        if not flat_inputs:
            return {}
        batch = _batch_size(flat_inputs[0])
        layout = _layout_from(getattr(self, "_sample", []), batch) if self.augmenter.conditional else None
        return {"freq": self.augmenter.sample(batch), "layout": layout}

    def transform(self, inpt: Any, params: dict[str, Any]) -> Any:
        """``inpt`` augmented by the kernel of its type (see the table ``_KERNELS``)."""
        for kind, kernel in _KERNELS:
            if isinstance(inpt, kind):
                return kernel(self.augmenter, inpt, params["freq"], params.get("layout"))
        raise TypeError(f"inpt: FreqAug cannot transform a {type(inpt).__name__}")

    def extra_repr(self) -> str:
        return ", ".join(f"{k}={v!r}" for k, v in self.config.to_dict().items())


_SIZED = (tv_tensors.Image, PIL.Image.Image, tv_tensors.Mask, tv_tensors.BoundingBoxes, tv_tensors.KeyPoints)


def _check_sizes(flat_inputs: list[Any]) -> None:
    """Raise naming the sizes if the sample's images, masks, boxes and keypoints are not all one (H, W)."""
    sizes = [(type(x).__name__, tuple(TF.get_size(x))) for x in flat_inputs if isinstance(x, _SIZED)]
    if len({size for _, size in sizes}) > 1:
        got = ", ".join(f"{name} {size}" for name, size in sizes)
        raise ValueError(f"sample: expected the image and its masks / boxes / keypoints to share one size (H, W), got {got}")


def _layout_from(flat_inputs: list[Any], batch: int) -> Tensor:
    """The sample's one ``Mask`` as (batch, H, W) class ids, else an error naming what the sample holds."""
    masks = [x for x in flat_inputs if isinstance(x, tv_tensors.Mask)]
    if len(masks) != 1:
        kinds = ", ".join(type(x).__name__ for x in flat_inputs)
        raise ValueError(f"sample: this FreqAug's bundle is layout-conditional and draws the scene from the sample's "
                         f"tv_tensors.Mask; expected exactly one Mask, got {len(masks)} (sample: {kinds})")
    mask = masks[0].as_subclass(Tensor)
    if mask.ndim < 2 or mask[..., 0, 0].numel() != batch:
        raise ValueError(f"mask: expected one (H, W) map per image ({batch}: (H, W), (1, H, W) or (..., H, W)), got "
                         f"shape {tuple(mask.shape)}")
    return mask.reshape(batch, *mask.shape[-2:])


def _augment_tensor(augmenter: FreqAugmenter, images: Tensor, params: dict[str, Tensor],
                    layout: Tensor | None = None) -> Tensor:
    """A (C, H, W) or (..., C, H, W) uint8 / float tensor, augmented, same shape and dtype."""
    if images.ndim < 3:
        raise ValueError(f"image: expected a (C, H, W) or (..., C, H, W) tensor, got shape {tuple(images.shape)}")
    batch = images.reshape(-1, *images.shape[-3:])
    out, _ = augmenter.augment(to_unit_float(batch, "image"), params, layout=layout)
    return from_unit_float(out, images.dtype).reshape(images.shape)


def _augment_image(augmenter: FreqAugmenter, image: tv_tensors.Image, params: dict[str, Tensor],
                   layout: Tensor | None = None) -> tv_tensors.Image:
    """A ``tv_tensors.Image``, augmented, still an Image."""
    return tv_tensors.wrap(_augment_tensor(augmenter, image.as_subclass(Tensor), params, layout), like=image)


def _augment_pil(augmenter: FreqAugmenter, image: PIL.Image.Image, params: dict[str, Tensor],
                 layout: Tensor | None = None) -> PIL.Image.Image:
    """A PIL image (RGB for an RGB bundle), augmented, same mode."""
    out = _augment_tensor(augmenter, TF.pil_to_tensor(image), params, layout)
    return TF.to_pil_image(out, mode=image.mode)


_KERNELS: tuple[tuple[type, Callable[..., Any]], ...] = (
    (tv_tensors.Image, _augment_image),
    (PIL.Image.Image, _augment_pil),
    (Tensor, _augment_tensor),
)
