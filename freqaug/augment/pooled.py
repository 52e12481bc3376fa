"""PooledFreqAug: freqaug's ``bands`` / ``blend`` modes as a training-time callable over batches,
mixing from a pool of scenes generated once, so a training step pays for a copy, not a generator call.

The callable has the ``(images, labels, generator) -> (images, labels)`` form that
``freqaug.metrics.train_segnet`` takes (and any loop that augments batches after the loader). Every
random choice of a call comes from the ``generator`` passed in (whether a sample is augmented, its
strength, which pool image it gets), and the pool from ``seed``, so a run is reproducible by seed,
unlike :class:`~freqaug.augment.SyntheticBank`, whose refresh thread makes draws depend on timing.
The pool is built with the bank's generation step and mixed with :class:`FreqAugmenter`'s kernels.
:class:`PooledSyntheticPairs` does the same for a layout-conditional bundle's labelled pairs.
"""
from __future__ import annotations

import os
import time
from typing import Sequence, cast

import torch
from torch import Tensor

from freqaug.augment.bank import _generate
from freqaug.augment.core import FreqAugmenter, bundle_layouts, load_cached, mix_seeds
from freqaug.augment.functional import resize_images
from freqaug.augment.labelmaps import LabelAugConfig, check_label_maps, edit_labels
from freqaug.augment.params import AugmentConfig, sample_params

__all__ = ["PooledFreqAug", "PooledSyntheticPairs"]


class PooledFreqAug:
    """A label-keeping mode (``bands``, ``coarse``, ``blend``) with probability ``p`` per
    sample, the partner image drawn from a fixed pool.

    The pool (``pool_size`` images at the bundle's size, CPU float32, ``pool_size`` x 3 x H x W x 4
    bytes) is generated at construction from target vectors seeded by ``seed``, ``batch_size`` at a
    time; ``pool_seconds`` is what that took (count it in the cost of a run). With ``partners``
    (N, 3, H, W) real images, those are the pool instead and nothing is generated: the same band
    operation between real images, which measures what the generator adds. Labels are returned
    unchanged: these modes keep the image's geometry. ``replace`` is refused: a replaced image no
    longer matches its labels (see :class:`~freqaug.augment.SyntheticMix`).
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
        pool_size: int = 256,
        seed: int = 0,
        batch_size: int = 16,
        partners: Tensor | None = None,
    ) -> None:
        if mode == "replace":
            raise ValueError(
                "mode: 'replace' is not available in PooledFreqAug: a replaced image no longer matches its labels; "
                "use freqaug.augment.SyntheticMix (it marks synthetic samples unlabelled) or 'bands' / 'blend'"
            )
        for value, name in ((pool_size, "pool_size"), (batch_size, "batch_size")):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name}: expected an integer >= 1, got {value!r}")
        config = AugmentConfig(os.fspath(bundle_path), mode=mode, p=p, strength=strength,  # bands: made a tuple there
                               bands=cast("tuple[str, ...] | None", bands), weight=weight, device="cpu", seed=seed)
        self.augmenter = FreqAugmenter(config)  # checks the bundle file and the band names
        if self.augmenter.conditional:
            raise ValueError(f"bundle_path: {config.bundle_path} is layout-conditional and draws each scene from a "
                             "label map; this pool generates without layouts (use FreqAugBatch(images, masks=...) or "
                             "PooledSyntheticPairs)")
        start = time.perf_counter()
        if partners is not None:
            bundle = self.augmenter.bundle_on("cpu")
            self.augmenter.check_images(partners, bundle)
            if not len(partners):
                raise ValueError("partners: expected at least one image, got 0")
            self.pool: Tensor = partners.detach().cpu().float()
        else:
            bundle = self.augmenter.bundle_on("cpu")
            targets = torch.Generator().manual_seed(mix_seeds(seed, 2))
            self.pool = torch.cat([_generate(bundle, min(batch_size, pool_size - first), targets)
                                   for first in range(0, pool_size, batch_size)])
        self.pool_seconds = time.perf_counter() - start

    @property
    def config(self) -> AugmentConfig:
        """The augmentation's configuration (``seed`` is the pool's)."""
        return self.augmenter.config

    def __repr__(self) -> str:
        c = self.config
        return f"PooledFreqAug({c.bundle_path!r}, mode={c.mode!r}, p={c.p}, pool_size={len(self.pool)}, seed={c.seed})"

    def sample(self, batch: int, generator: torch.Generator) -> dict[str, Tensor]:
        """``apply``, ``strength`` (see :func:`sample_params`) and ``index`` (B,) into the pool, from ``generator``."""
        params = sample_params(batch, self.config, generator, z_dim=0)
        params["index"] = torch.randint(len(self.pool), (batch,), generator=generator, device=generator.device)
        return params

    def apply(self, images: Tensor, params: dict[str, Tensor]) -> Tensor:
        """``images`` (B, 3, H, W) float in [0, 1] with the applied samples mixed with their pool images."""
        bundle = self.augmenter.bundle_on("cpu")
        self.augmenter.check_images(images, bundle)
        index = params["apply"].to(images.device).nonzero().flatten()
        if index.numel() == 0:
            return images
        generated = self.pool[params["index"].cpu()[index.cpu()]].to(images.device, images.dtype)
        strength = params["strength"].to(images.device)[index]
        mixed = self.augmenter._mix(bundle, images[index], generated, strength)
        return images.index_copy(0, index, mixed)

    def __call__(self, images: Tensor, labels: Tensor, generator: torch.Generator) -> tuple[Tensor, Tensor]:
        """(augmented images, the same labels): parameters drawn from ``generator``."""
        return self.apply(images, self.sample(images.shape[0], generator)), labels


class PooledSyntheticPairs:
    """Labelled synthetic pairs from a layout-conditional bundle, mixed into batches: each sample is
    swapped, with probability ``ratio / (1 + ratio)``, for a pool pair (generated image, its label map),
    so a batch holds on average what a :class:`~freqaug.augment.SyntheticMix` of ``ratio`` synthetic
    samples per real one holds.

    The pool (``pool_size`` pairs) is made once, at construction: label maps drawn from
    ``train_labels`` (a permutation of ``seed``, cycled), edited by ``label_aug`` (flip, shift,
    class-preserving copy-paste; None: as they are), and a scene generated from each with the
    bundle's target vectors of ``seed``. Every choice of a call comes from the generator passed in.
    """

    def __init__(
        self,
        bundle_path: str | os.PathLike[str],
        train_labels: Tensor,
        *,
        ratio: float = 0.25,
        pool_size: int = 256,
        seed: int = 0,
        label_aug: LabelAugConfig | None = LabelAugConfig(),
        batch_size: int = 16,
    ) -> None:
        if isinstance(ratio, bool) or not isinstance(ratio, (int, float)) or not 0 <= ratio < float("inf"):
            raise ValueError(f"ratio: expected a number >= 0 (synthetic pairs per real sample), got {ratio!r}")
        for value, name in ((pool_size, "pool_size"), (batch_size, "batch_size")):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name}: expected an integer >= 1, got {value!r}")
        check_label_maps(train_labels, "train_labels")
        self.bundle_path, self.ratio, self.seed, self.label_aug = os.fspath(bundle_path), float(ratio), seed, label_aug
        self.p = self.ratio / (1 + self.ratio)
        start = time.perf_counter()
        bundle = load_cached(self.bundle_path, "cpu")
        if bundle.classes is None:
            raise ValueError(f"bundle_path: {self.bundle_path} is unconditional (manifest 'classes' is null); labelled "
                             "synthetic pairs need a layout-conditional bundle (freqaug train --conditional)")
        self.labels = self._pool_labels(train_labels.cpu(), pool_size)
        size = tuple(self.labels.shape[-2:])
        layouts = bundle_layouts(bundle, self.labels, size, name="train_labels")
        z = bundle.z_for(mix_seeds(seed, 3), range(pool_size))
        self.images: Tensor = torch.cat([
            resize_images(bundle.images_from_z(z[i: i + batch_size], layouts[i: i + batch_size]), size).cpu()
            for i in range(0, pool_size, batch_size)
        ])
        self.pool_seconds = time.perf_counter() - start

    def _pool_labels(self, train_labels: Tensor, pool_size: int) -> Tensor:
        """``pool_size`` training label maps (a seeded permutation, cycled), edited by ``label_aug``."""
        generator = torch.Generator().manual_seed(mix_seeds(self.seed, 4))
        order = torch.randperm(len(train_labels), generator=generator).repeat(-(-pool_size // len(train_labels)))
        labels = train_labels[order[:pool_size]]
        if self.label_aug is None:
            return labels.clone()
        donors = train_labels[torch.randint(len(train_labels), (pool_size,), generator=generator)]
        return edit_labels(labels, donors, self.label_aug, generator)

    def __repr__(self) -> str:
        return (f"PooledSyntheticPairs({self.bundle_path!r}, ratio={self.ratio}, pool_size={len(self.images)}, "
                f"seed={self.seed})")

    def __call__(self, images: Tensor, labels: Tensor, generator: torch.Generator) -> tuple[Tensor, Tensor]:
        """(images, labels) with the drawn samples swapped for pool pairs (images cast to the batch's dtype)."""
        check_label_maps(labels)
        if tuple(images.shape[-2:]) != tuple(self.images.shape[-2:]) or labels.shape[-2:] != images.shape[-2:]:
            raise ValueError(f"images: expected (B, 3, {self.images.shape[-2]}, {self.images.shape[-1]}) like the "
                             f"training labels of the pool, got {tuple(images.shape)} with labels {tuple(labels.shape)}")
        batch = images.shape[0]
        swap = torch.rand(batch, generator=generator, device=generator.device) < self.p
        pick = torch.randint(len(self.images), (batch,), generator=generator, device=generator.device)
        index = swap.to(images.device).nonzero().flatten()
        if index.numel() == 0:
            return images, labels
        chosen = pick.cpu()[index.cpu()]
        images = images.index_copy(0, index, self.images[chosen].to(images.device, images.dtype))
        labels = labels.index_copy(0, index, self.labels[chosen].to(labels.device, labels.dtype))
        return images, labels
