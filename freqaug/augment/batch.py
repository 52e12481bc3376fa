"""FreqAugBatch: the augmentation as an nn.Module on (B, C, H, W) batches already on their device."""
from __future__ import annotations

import os
from typing import Sequence, cast

import torch
from torch import Tensor, nn

from freqaug.augment._convert import from_unit_float, to_unit_float
from freqaug.augment.core import FreqAugmenter
from freqaug.augment.functional import ignore_labels
from freqaug.augment.params import AugmentConfig

__all__ = ["FreqAugBatch"]


class FreqAugBatch(nn.Module):
    """Per-sample p and parameters, one generator call per batch; float [0, 1] or uint8 in, same dtype out.

    Use it after the loader (e.g. Lightning's ``on_after_batch_transfer``), inside or beside a kornia
    ``AugmentationSequential`` (a member touches only the images). ``device=None`` runs the generator
    on the images' device. ``last_params`` holds the last call's parameters (``apply``, ``strength``,
    ``z``); pass them back as ``params`` to replay the call. In ``replace`` mode with an unconditional
    bundle the replaced samples' labels no longer apply: :meth:`ignore_replaced` sets their masks to
    ``ignore_index``. A layout-conditional bundle needs the batch's ``masks`` (B, H, W) or (B, 1, H, W):
    every generated scene is drawn from its sample's mask, so replaced samples keep their labels.
    """

    def __init__(
        self,
        bundle_path: str | os.PathLike[str],
        *,
        mode: str = "bands",
        p: float = 0.5,
        strength: tuple[float, float] = (1.0, 1.0),
        bands: Sequence[str] | None = None,
        weight: float | None = None,
        device: str | torch.device | None = None,
        seed: int | None = None,
        ignore_index: int = AugmentConfig.ignore_index,
    ) -> None:
        super().__init__()
        # AugmentConfig normalises the path, bands and device (to str, tuple, str) and checks them
        config = AugmentConfig(cast(str, bundle_path), mode=mode, p=p, strength=strength,
                               bands=cast("tuple[str, ...] | None", bands), weight=weight,
                               device=cast("str | None", device), seed=seed, ignore_index=ignore_index)
        self.augmenter = FreqAugmenter(config)
        self.last_params: dict[str, Tensor] | None = None
        self.last_size: tuple[int, int, int] | None = None  # (B, H, W) of the last call's images

    @property
    def config(self) -> AugmentConfig:
        """The augmentation's configuration."""
        return self.augmenter.config

    def forward(self, images: Tensor, params: dict[str, Tensor] | None = None, *, masks: Tensor | None = None,
                generator: torch.Generator | None = None) -> Tensor:
        """Augmented ``images`` (B, C, H, W); ``params`` replays a call, ``generator`` draws new ones;
        ``masks``: the images' label maps, the layouts of a conditional bundle (unchanged by the call)."""
        if not isinstance(images, Tensor) or images.ndim != 4:
            got = tuple(images.shape) if isinstance(images, Tensor) else type(images).__name__
            raise ValueError(f"images: expected a (B, C, H, W) tensor, got {got}")
        if isinstance(masks, Tensor) and masks.ndim == 4 and masks.shape[1] == 1:
            masks = masks[:, 0]
        if params is None:
            params = self.augmenter.sample(images.shape[0], generator=generator, device=images.device)
        out, _ = self.augmenter.augment(to_unit_float(images), params, layout=masks)
        self.last_params, self.last_size = params, (images.shape[0], *images.shape[-2:])
        return from_unit_float(out, images.dtype)

    def ignore_replaced(self, masks: Tensor) -> Tensor:
        """``masks`` (B, ...) with the samples the last call replaced set to ``ignore_index`` (replace mode with an
        unconditional bundle only; a conditional bundle's replaced samples keep their masks)."""
        if self.last_params is None or self.last_size is None:
            raise RuntimeError("ignore_replaced: call the transform on a batch first")
        batch, height, width = self.last_size
        if not isinstance(masks, Tensor) or masks.ndim < 3 or (masks.shape[0], *masks.shape[-2:]) != self.last_size:
            got = tuple(masks.shape) if isinstance(masks, Tensor) else type(masks).__name__
            raise ValueError(f"masks: expected a tensor (B, ..., H, W) = ({batch}, ..., {height}, {width}) like the last "
                             f"images, got {got}")
        if self.config.mode != "replace" or self.augmenter.conditional:
            return masks
        return ignore_labels(masks, self.last_params["apply"], self.config.ignore_index)

    def __getstate__(self) -> dict:
        state = self.__dict__.copy()
        state["last_params"] = state["last_size"] = None  # a pickle holds the configuration only
        return state

    def extra_repr(self) -> str:
        return ", ".join(f"{k}={v!r}" for k, v in self.config.to_dict().items())
