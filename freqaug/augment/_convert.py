"""Conversions the front-ends share: uint8 / float images <-> the float [0, 1] batches the kernels take."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import Tensor

__all__ = ["ImageFormat", "copy_value", "from_unit_float", "mask_like", "mask_to_tensor", "numpy_from_batch",
           "numpy_to_batch", "to_unit_float"]


def to_unit_float(images: Tensor, name: str = "images") -> Tensor:
    """uint8 images / 255 as float32; floating images as they are (expected in [0, 1])."""
    if images.dtype == torch.uint8:
        return images.float().div_(255.0)
    if not images.is_floating_point():
        raise TypeError(f"{name}: expected uint8 or floating images in [0, 1], got dtype {images.dtype}")
    return images


def from_unit_float(images: Tensor, dtype: torch.dtype) -> Tensor:
    """Float images in [0, 1] back to ``dtype`` (uint8: x 255, rounded)."""
    if dtype == torch.uint8:
        return images.mul(255.0).round_().clamp_(0, 255).to(torch.uint8)
    return images.to(dtype)


def numpy_to_batch(image: np.ndarray, name: str = "image") -> Tensor:
    """An (H, W, C) uint8 or float32 array as a float (1, C, H, W) tensor in [0, 1]."""
    if not isinstance(image, np.ndarray) or image.ndim != 3:
        got = f"shape {image.shape}" if isinstance(image, np.ndarray) else type(image).__name__
        raise ValueError(f"{name}: expected an (H, W, C) array; got {got} (convert grayscale images to RGB first)")
    if image.dtype not in (np.uint8, np.float32):
        raise TypeError(f"{name}: expected dtype uint8 or float32 (in [0, 1]), got {image.dtype}")
    tensor = torch.from_numpy(np.ascontiguousarray(image)).permute(2, 0, 1)[None]
    return to_unit_float(tensor, name)


def numpy_from_batch(batch: Tensor, dtype: np.dtype) -> np.ndarray:
    """A float (1, C, H, W) tensor in [0, 1] as an (H, W, C) array of ``dtype`` (uint8 or float32)."""
    out = from_unit_float(batch[0], torch.uint8 if dtype == np.uint8 else torch.float32)
    return np.ascontiguousarray(out.permute(1, 2, 0).cpu().numpy())


# ---- sample formats of datasets (SyntheticMix): tensors, channels-last arrays, PIL images -------------

def _torch_dtype(array: np.ndarray) -> torch.dtype:
    """The torch dtype of ``array``'s elements."""
    return torch.from_numpy(np.empty(0, dtype=array.dtype)).dtype


def _is_pil(value: Any) -> bool:
    return type(value).__module__.startswith("PIL.")


@dataclass(frozen=True)
class ImageFormat:
    """How a dataset hands over its images, so that a synthetic sample can be handed over the same way.

    ``kind``: ``"chw"`` (a (C, H, W) tensor, torchvision's ``ToImage`` / ``ToTensor``), ``"hwc"`` (an
    (H, W, C) tensor), ``"numpy"`` (an (H, W, C) or (H, W) array, albumentations / OpenCV) or
    ``"pil"`` (a PIL image, what torchvision datasets yield without a transform). ``dtype``: the
    tensor dtype of the pixels once read as a tensor; ``mode``: the PIL mode."""

    kind: str
    dtype: torch.dtype
    mode: str | None = None
    squeezed: bool = False  # a 2-D array or a single-band PIL image: one channel, no channel axis

    @classmethod
    def of(cls, image: Any, channels: int, name: str = "image") -> ImageFormat:
        """The format of ``image``, one of a dataset's images, for a generator of ``channels`` channels."""
        if isinstance(image, Tensor):
            if image.ndim == 3 and image.shape[0] == channels:
                return cls("chw", image.dtype)
            if image.ndim == 3 and image.shape[-1] == channels:
                return cls("hwc", image.dtype)
            raise ValueError(f"{name}: expected a ({channels}, H, W) or (H, W, {channels}) tensor, got shape "
                             f"{tuple(image.shape)} (convert grayscale or RGBA images to RGB first)")
        if _is_pil(image):
            array = np.asarray(image)
            fmt = cls("pil", _torch_dtype(array), image.mode, array.ndim == 2)
        elif isinstance(image, np.ndarray):
            array = image
            fmt = cls("numpy", _torch_dtype(array), None, array.ndim == 2)
        else:
            raise TypeError(f"{name}: expected a tensor, a numpy array or a PIL image, got {type(image).__name__}")
        got = array.shape[-1] if array.ndim == 3 else 1 if array.ndim == 2 else None
        if got != channels:
            raise ValueError(f"{name}: expected {channels} channel(s), got an array of shape {array.shape}"
                             + (f" (PIL mode {image.mode})" if _is_pil(image) else "")
                             + " (convert grayscale or RGBA images to RGB first)")
        return fmt

    def to_chw(self, image: Any) -> Tensor:
        """``image`` (in this format) as a (C, H, W) tensor of :attr:`dtype`."""
        if self.kind == "chw":
            return image
        if self.kind == "hwc":
            return image.permute(2, 0, 1)
        array = np.array(image)  # a copy: PIL's buffer is read-only, and a sample never shares storage
        tensor = torch.from_numpy(array[..., None] if array.ndim == 2 else array)
        return tensor.permute(2, 0, 1)

    def from_chw(self, image: Tensor) -> Any:
        """A (C, H, W) tensor of :attr:`dtype` handed over in this format."""
        if self.kind == "chw":
            return image
        if self.kind == "hwc":
            return image.permute(1, 2, 0).contiguous()
        array = image.permute(1, 2, 0).cpu().numpy()
        array = np.ascontiguousarray(array[..., 0] if self.squeezed else array)
        if self.kind == "numpy":
            return array
        from PIL import Image

        return Image.fromarray(array)


def mask_to_tensor(mask: Any) -> Tensor:
    """A mask as a tensor: tensors as they are, numpy arrays and PIL images (mode L, P, I) by value."""
    if isinstance(mask, Tensor):
        return mask
    if _is_pil(mask) or isinstance(mask, np.ndarray):
        return torch.from_numpy(np.array(mask))  # a copy (PIL's buffer is read-only)
    raise TypeError(f"expected the mask to be a tensor, a numpy array or a PIL image, got {type(mask).__name__}")


def mask_like(template: Any, values: Tensor) -> Any:
    """``values`` (a tensor shaped like ``mask_to_tensor(template)``) handed over like ``template``: a
    tensor, a numpy array, or a PIL image of the template's mode (and palette, for mode P)."""
    if isinstance(template, Tensor):
        return values
    array = np.ascontiguousarray(values.cpu().numpy())
    if isinstance(template, np.ndarray):
        return array
    from PIL import Image

    image = Image.fromarray(array)
    palette = template.getpalette() if template.mode == "P" else None
    if palette:
        image.putpalette(palette)  # an L image with a palette becomes a P image, values unchanged
    return image


def copy_value(value: Any) -> Any:
    """A fresh copy of a tensor, numpy array or PIL image (a synthetic sample never shares storage)."""
    if isinstance(value, Tensor):
        return value.clone()
    return value.copy()
