"""FreqAug as a kornia augmentation: one of ``kornia.augmentation``'s own, replayable and mixable.

:class:`FreqAugKornia` is an ``IntensityAugmentationBase2D``: kornia's gate draws which samples are
augmented (``p``, ``p_batch``, ``same_on_batch``), :meth:`generate_parameters` draws the rest
(``strength`` and the target vectors ``z`` of the generated scenes), every parameter is kept in
``_params``, and ``aug(x, params=aug._params)`` -- or ``seq(x, params=seq._params)`` for an
``AugmentationSequential`` -- replays a call bit for bit. Pixels do not move, so masks, boxes and
keypoints pass through, and ``AugmentationSequential.inverse`` skips it (kornia's convention for
intensity augmentations).

A layout-conditional bundle draws each scene from the sample's own label map: pass it as
``aug(images, layout=masks)`` (kornia's keyword override; it is recorded in ``_params`` and so
replayed too). kornia's ``AugmentationSequential`` hands masks only to its geometric children;
:class:`FreqAugSequential` is that container, unchanged except that each ``FreqAugKornia`` child
also gets the masks (``data_keys`` ``"mask"``) as they are at its step, after the geometric ops
before it, as its ``layout``.
"""
from __future__ import annotations

import os
from typing import Any, Sequence, cast

import torch
from kornia.augmentation import AugmentationSequential, IntensityAugmentationBase2D
from kornia.augmentation.container.ops import AugmentationSequentialOps
from kornia.augmentation.container.params import ParamItem
from kornia.constants import DataKey
from torch import Tensor

from freqaug.augment._convert import from_unit_float, to_unit_float
from freqaug.augment.core import FreqAugmenter
from freqaug.augment.params import AugmentConfig

__all__ = ["FreqAugKornia", "FreqAugSequential"]


class FreqAugKornia(IntensityAugmentationBase2D):
    """Mix each gated sample with a scene of the bundle at ``bundle_path`` (see ``AugmentConfig`` for
    ``mode``, ``strength``, ``bands``, ``weight``, ``device``, ``seed``); ``p``, ``p_batch``,
    ``same_on_batch`` and ``keepdim`` are kornia's. Images: float (B, C, H, W) in [0, 1] (or uint8)."""

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
        p_batch: float = 1.0,
        same_on_batch: bool = False,
        keepdim: bool = False,
    ) -> None:
        super().__init__(p=p, p_batch=p_batch, same_on_batch=same_on_batch, keepdim=keepdim)
        # kornia's gate decides which samples are augmented; the augmenter mixes every sample it is given
        # AugmentConfig normalises the path, bands and device (to str, tuple, str) and checks them
        self.augmenter = FreqAugmenter(AugmentConfig(cast(str, bundle_path), mode=mode, p=1.0, strength=strength,
                                                     bands=cast("tuple[str, ...] | None", bands), weight=weight,
                                                     device=cast("str | None", device), seed=seed,
                                                     ignore_index=ignore_index))
        if mode == "replace" and not self.augmenter.conditional:
            raise ValueError("mode: 'replace' with an unconditional bundle draws images its masks do not describe; "
                             "in kornia use a label-keeping mode ('bands', 'coarse', 'blend') or "
                             "FreqAugBatch, whose ignore_replaced(masks) marks the replaced samples")

    @property
    def config(self) -> AugmentConfig:
        return self.augmenter.config

    def generate_parameters(self, batch_shape: tuple[int, ...]) -> dict[str, Tensor]:
        """``strength`` (B,) and ``z`` (B, z_dim), drawn from the augmentation's generator (its ``seed``, else
        torch's global one); with ``same_on_batch`` every sample gets the first sample's values."""
        drawn = self.augmenter.sample(batch_shape[0])
        strength, z = drawn["strength"], drawn["z"]
        if self.same_on_batch and batch_shape[0]:
            strength, z = strength[:1].expand_as(strength).clone(), z[:1].expand_as(z).clone()
        return {"strength": strength, "z": z}

    def apply_transform(self, input: Tensor, params: dict[str, Tensor], flags: dict[str, Any],
                        transform: Tensor | None = None) -> Tensor:
        gate = params.get("batch_prob")
        apply = (torch.ones(input.shape[0], dtype=torch.bool) if gate is None
                 else torch.atleast_1d(gate > 0.5).expand(input.shape[0]))
        layout = params.get("layout")
        if isinstance(layout, Tensor) and layout.ndim == 4 and layout.shape[1] == 1:
            layout = layout[:, 0]
        if layout is None and self.augmenter.conditional:
            raise ValueError(f"layout: the bundle {self.config.bundle_path} is conditional and draws each scene from a mask: "
                             "call aug(images, layout=masks), or inside a sequence use "
                             "freqaug.augment.kornia.FreqAugSequential with data_keys=['input', 'mask']")
        if isinstance(layout, Tensor) and layout.is_floating_point():  # kornia carries masks as floats
            if not bool(torch.equal(layout, layout.round())):
                raise ValueError("layout: expected class ids (whole numbers), got fractional mask values; resample "
                                 "masks with nearest interpolation (kornia's default for data_keys 'mask')")
            layout = layout.long()
        out, _ = self.augmenter.augment(to_unit_float(input), {"apply": apply, "strength": params["strength"],
                                                               "z": params["z"]}, layout=layout)
        return from_unit_float(out, input.dtype)

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state.pop("_params", None)  # a pickle holds the configuration only
        return state


class _LayoutOps(AugmentationSequentialOps):
    """kornia's per-step dispatch, recording the current masks as a conditional FreqAugKornia's ``layout``."""

    def transform(self, *arg: Any, module: torch.nn.Module, param: ParamItem, extra_args: dict[DataKey, dict[str, Any]],
                  data_keys: Any = None) -> Any:
        keys = self.preproc_datakeys(data_keys)
        if isinstance(module, FreqAugKornia) and module.augmenter.conditional and DataKey.MASK in keys:
            masks = arg[keys.index(DataKey.MASK)]
            if not isinstance(masks, Tensor):
                raise ValueError(f"mask: a conditional FreqAugKornia takes one mask tensor per batch as its layout, "
                                 f"got {type(masks).__name__}")
            cast("dict[str, Tensor]", param.data)["layout"] = masks  # in place: kept in _params, so replayed
        return super().transform(*arg, module=module, param=param, extra_args=extra_args, data_keys=data_keys)


class FreqAugSequential(AugmentationSequential):
    """``kornia.augmentation.AugmentationSequential`` whose ``FreqAugKornia`` children with a layout-conditional
    bundle receive the masks passed as ``data_keys`` ``"mask"`` (as they are at their step) as their layouts;
    everything else, replay with ``params=seq._params`` included, is kornia's."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.transform_op = _LayoutOps(self.transform_op.data_keys)
