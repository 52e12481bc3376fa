"""Conversions the front-ends share: uint8 / float images <-> the float [0, 1] batches the kernels take."""
from __future__ import annotations

import numpy as np
import torch
from torch import Tensor

__all__ = ["from_unit_float", "numpy_from_batch", "numpy_to_batch", "to_unit_float"]


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
