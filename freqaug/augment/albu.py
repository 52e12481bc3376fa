"""FreqAug for albumentations 2.x: an ImageOnlyTransform, so masks, boxes and keypoints pass through.

A layout-conditional bundle reads the sample's ``mask`` (``get_params_dependent_on_data``) and draws
the scene from it, so ``replace`` is available: the pair (generated image, the same mask) is valid.

Importing this module imports albumentations (with its network update check off);
``freqaug.augment`` does not.
"""
from __future__ import annotations

import os

os.environ.setdefault("NO_ALBUMENTATIONS_UPDATE", "1")  # albumentations checks for updates over the network otherwise

from typing import Any, Sequence, cast  # noqa: E402

try:
    import albumentations as A  # noqa: E402
except ImportError as err:  # an optional extra: torchvision-only users need not install it
    raise ImportError("freqaug.augment.albu needs albumentations 2.0.8 (the MIT release): "
                      f"pip install 'freqaug[albumentations]' ({err})") from None
import numpy as np  # noqa: E402
import torch  # noqa: E402
from torch.utils.data import get_worker_info  # noqa: E402

from freqaug.augment._convert import numpy_from_batch, numpy_to_batch  # noqa: E402
from freqaug.augment.core import FreqAugmenter, mix_seeds, refuse_replace  # noqa: E402
from freqaug.augment.params import AugmentConfig  # noqa: E402

__all__ = ["FreqAug"]

_SEED_LIMIT = 2**63


class FreqAug(A.ImageOnlyTransform):
    """The freqaug augmentation (mode ``bands`` or ``blend``; also ``replace`` with a layout-conditional
    bundle, which needs the sample's ``mask``) as an albumentations transform.

    (H, W, C) uint8 or float32 (in [0, 1]) images in, same dtype and shape out. ``p`` is
    albumentations' (drawn by the transform's own RNG); the per-call parameters come from a torch
    generator seeded from ``self.random_generator``, so ``A.Compose(..., seed=S)`` makes it
    reproducible; with ``seed`` the parameters (not albumentations' ``p`` gate) come from the transform's
    own generator instead, as in the other front-ends. The options are keyword-only, in the order of
    every front-end: ``mode, p, strength, bands, weight, device, seed``. In a DataLoader worker the transform reseeds itself once from its state and the
    worker's seed: workers differ, and the same loader seed gives the same epoch. ``A.to_dict`` /
    ``A.from_dict`` round-trip it (the bundle by path; it loads lazily, once per process).
    """

    def __init__(
        self,
        bundle_path: str | os.PathLike[str],
        *,
        mode: str = "bands",
        p: float = 0.5,
        strength: Sequence[float] = (1.0, 1.0),
        bands: Sequence[str] | None = None,
        weight: float | None = None,
        device: str = "cpu",
        seed: int | None = None,
    ) -> None:
        super().__init__(p=p)
        # AugmentConfig normalises strength and bands (to tuples) and checks them
        config = AugmentConfig(os.fspath(bundle_path), mode=mode, p=1.0,
                               strength=cast("tuple[float, float]", strength),
                               bands=cast("tuple[str, ...] | None", bands), weight=weight, device=device, seed=seed)
        self._augmenter = FreqAugmenter(config)
        refuse_replace(mode, "albumentations", conditional=self._augmenter.conditional)
        self.bundle_path, self.mode, self.device = config.bundle_path, config.mode, config.device
        self.strength, self.bands, self.weight = config.strength, config.bands, config.weight
        self._seeded_pid = os.getpid()

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state["params"] = {}  # the last call's parameters: a pickle holds the configuration and RNG state only
        return state

    def get_transform_init_args_names(self) -> tuple[str, ...]:
        return ("bundle_path", "mode", "strength", "bands", "weight", "device")

    def get_transform_init_args(self) -> dict[str, Any]:
        # albumentations keeps its own RNG seed in ``self.seed``; freqaug's is the augmenter's
        return {**super().get_transform_init_args(), "seed": self._augmenter.config.seed}

    def __call__(self, *args: Any, force_apply: bool = False, **kwargs: Any) -> Any:
        self._reseed_in_new_worker()
        return super().__call__(*args, force_apply=force_apply, **kwargs)

    def _reseed_in_new_worker(self) -> None:
        """Once per DataLoader worker: reseed from (this RNG's next draw, the worker's torch seed)."""
        pid = os.getpid()
        if self._seeded_pid == pid:
            return
        self._seeded_pid = pid
        info = get_worker_info()
        if info is not None:
            self.set_random_seed(mix_seeds(int(self.random_generator.integers(_SEED_LIMIT)), info.seed))

    def get_params_dependent_on_data(self, params: dict[str, Any], data: dict[str, Any]) -> dict[str, Any]:
        """The call's freqaug parameters, drawn with a torch generator seeded from albumentations' RNG, or with
        ``seed`` from this transform's own seeded generator (per process, like the other front-ends)."""
        if self._augmenter.config.seed is not None:
            generator = self._augmenter.generator()
        else:
            generator = torch.Generator().manual_seed(int(self.random_generator.integers(_SEED_LIMIT)))
        out: dict[str, Any] = {"freq_params": self._augmenter.sample(1, generator=generator)}
        if self._augmenter.conditional:
            out["freq_layout"] = _layout_from(data)
        return out

    def apply(self, img: np.ndarray, freq_params: dict[str, torch.Tensor], freq_layout: torch.Tensor | None = None,
              **params: Any) -> np.ndarray:
        """The augmented image, same dtype and shape (drawn from ``freq_layout`` for a conditional bundle)."""
        out, _ = self._augmenter.augment(numpy_to_batch(img), freq_params, layout=freq_layout)
        return numpy_from_batch(out, img.dtype)


def _layout_from(data: dict[str, Any]) -> torch.Tensor:
    """The sample's ``mask`` (H, W) or (H, W, 1) as a (1, H, W) tensor of class ids, else an error naming it."""
    mask = data.get("mask")
    if mask is None:
        raise ValueError(f"mask: this FreqAug's bundle is layout-conditional and draws the scene from the sample's "
                         f"mask; call the pipeline with mask=... (got keys {sorted(data)})")
    if not isinstance(mask, np.ndarray) or not (mask.ndim == 2 or (mask.ndim == 3 and mask.shape[2] == 1)):
        got = f"shape {mask.shape}" if isinstance(mask, np.ndarray) else type(mask).__name__
        raise ValueError(f"mask: expected an (H, W) or (H, W, 1) array of class ids, got {got}")
    return torch.from_numpy(np.ascontiguousarray(mask.reshape(mask.shape[:2])))[None]
