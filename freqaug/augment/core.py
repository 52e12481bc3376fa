"""FreqAugmenter, the one implementation every front-end adapts, and its per-process bundle cache.

Per process (the main one and every DataLoader worker): the bundle is loaded lazily, once, on
first use (:func:`load_cached`, keyed by path, device and pid). Threads and forks of DataLoader
workers (:func:`~freqaug.runtime.tune_worker_threads`, :func:`~freqaug.runtime.check_cuda_fork`)
live in :mod:`freqaug.runtime`. Pickling an augmenter pickles its :class:`AugmentConfig` only.
"""
from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch
from torch import Tensor
from torch.utils.data import get_worker_info

from freqaug.augment.functional import (
    band_mix, blend_images, check_band_names, coarse_mix, default_bands, replace_images,
)
from freqaug.augment.labelmaps import check_label_maps, resize_labels
from freqaug.augment.params import AugmentConfig, sample_params
from freqaug.bands._checks import check_unit_range
from freqaug.bundle import Bundle, load_bundle
from freqaug.runtime import check_cuda_fork, is_forked, tune_worker_threads, usable_cores, worker_threads

__all__ = [
    "FreqAugmenter",
    "bundle_layouts",
    "check_cuda_fork",
    "is_forked",
    "load_cached",
    "mix_seeds",
    "process_generator",
    "refuse_replace",
    "tune_worker_threads",
    "usable_cores",
    "worker_threads",
]

_BUNDLES: dict[tuple[str, str, int], Bundle] = {}
_BUNDLES_LOCK = threading.Lock()


def _after_fork_in_child() -> None:
    """A forked child starts with no bundles and a fresh lock (a thread may have held the parent's)."""
    global _BUNDLES_LOCK
    _BUNDLES_LOCK = threading.Lock()
    _BUNDLES.clear()


os.register_at_fork(after_in_child=_after_fork_in_child)


# ---- per-process plumbing ------------------------------------------------------------------------

def refuse_replace(mode: str, front_end: str, *, conditional: bool = False) -> None:
    """Raise for ``mode='replace'`` in an image-only front-end with an unconditional bundle: it could not
    flag the sample as unlabelled (a conditional bundle draws the scene from the sample's own mask)."""
    if mode == "replace" and not conditional:
        raise ValueError(
            f"mode: 'replace' is not available in the {front_end} transform: an image-only transform cannot mark "
            "the sample's labels as no longer valid, so the generated image would be paired with the old labels. "
            "Use freqaug.augment.SyntheticMix (synthetic samples carry synthetic=True and an ignore mask) or "
            "FreqAugBatch (its ignore_replaced(masks) marks the replaced samples); 'bands' and 'blend' keep labels valid"
        )


def load_cached(path: str | os.PathLike[str], device: str | torch.device) -> Bundle:
    """The bundle at ``path`` on ``device``, loaded once per process (and per device) on first use."""
    device = torch.device(device)
    check_cuda_fork(device)
    tune_worker_threads()
    key = (str(Path(path).resolve()), str(device), os.getpid())
    with _BUNDLES_LOCK:
        if key not in _BUNDLES:
            _BUNDLES[key] = load_bundle(path, device)
        return _BUNDLES[key]


def bundle_layouts(bundle: Bundle, masks: Tensor, size: tuple[int, ...], name: str = "layout") -> Tensor:
    """Masks (B, H, W) of images of ``size`` (H, W) as checked int64 layouts at the bundle's size (nearest),
    on the bundle's device; errors name ``name``, the bad ids or shape, and the bundle's classes."""
    classes = bundle.classes
    if classes is None:
        raise ValueError(f"{name}: the bundle {bundle.path} is unconditional (manifest 'classes' is null), so it "
                         "takes no layouts; call without one")
    check_label_maps(masks, name)
    height, width = size
    if tuple(masks.shape[-2:]) != (height, width):
        raise ValueError(f"{name}: expected masks (B, {height}, {width}) like the images, got {tuple(masks.shape)}")
    ids = masks.long()
    bad = (ids < 0) | (ids >= classes.num_classes)
    if classes.ignore_index is not None:
        bad &= ids != classes.ignore_index
    if bool(bad.any()):
        ignore = "" if classes.ignore_index is None else f" or its ignore id {classes.ignore_index}"
        raise ValueError(
            f"{name}: ids {ids[bad].unique()[:10].tolist()} are not classes of the bundle {bundle.path}; expected "
            f"0..{classes.num_classes - 1} ({', '.join(classes.names)}){ignore}"
        )
    return resize_labels(ids, bundle.image_size).to(bundle.device)


def mix_seeds(*values: int) -> int:
    """A well-spread 63-bit seed from any non-negative integers (numpy's SeedSequence)."""
    low, high = np.random.SeedSequence([int(v) for v in values]).generate_state(2, np.uint32)
    return (int(high) << 32 | int(low)) >> 1


def process_generator(seed: int) -> torch.Generator:
    """A CPU generator seeded from (``seed``, DataLoader worker id), different in every worker."""
    info = get_worker_info()
    worker = 0 if info is None else info.id + 1
    return torch.Generator().manual_seed(mix_seeds(seed, worker))


# ---- the augmenter -------------------------------------------------------------------------------

class FreqAugmenter:
    """Samples parameters and augments batches for one :class:`AugmentConfig`.

    Construction checks the bundle (loaded on the CPU, which never initialises CUDA) and the band
    names, so a bad path fails here and not in a worker at step 10,000. ``augment`` runs one
    generator call for the applied samples of a batch, then the mode's kernel.
    """

    def __init__(self, config: AugmentConfig) -> None:
        if not isinstance(config, AugmentConfig):
            raise TypeError(f"config: expected an AugmentConfig, got {type(config).__name__}")
        self.config = config
        self._reset_state()
        self.bands_for(load_cached(config.bundle_path, "cpu"))

    @property
    def conditional(self) -> bool:
        """Whether the bundle is layout-conditional: it draws each scene from a mask, and a replaced
        sample keeps valid labels (the pair (generated image, the mask it was drawn from))."""
        return load_cached(self.config.bundle_path, "cpu").classes is not None

    def _reset_state(self) -> None:
        self._generator: torch.Generator | None = None
        self._generator_pid: int | None = None

    def __getstate__(self) -> dict[str, Any]:
        return {"config": self.config}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.config = state["config"]
        self._reset_state()

    def __repr__(self) -> str:
        return f"FreqAugmenter({self.config!r})"

    # ---- bundle and randomness ---------------------------------------------------------------

    def device_for(self, images_device: str | torch.device | None = None) -> torch.device:
        """Where the generator runs: ``config.device``, else the images' device, else the CPU."""
        return torch.device(self.config.device or images_device or "cpu")

    def bundle_on(self, device: str | torch.device) -> Bundle:
        """This process's bundle on ``device`` (loaded on first use)."""
        return load_cached(self.config.bundle_path, device)

    def bands_for(self, bundle: Bundle) -> tuple[str, ...]:
        """The bands mode's band names, checked against the bundle's spec."""
        return check_band_names(self.config.bands or default_bands(bundle.spec), bundle.spec)

    def generator(self) -> torch.Generator:
        """torch's global CPU generator, or with ``config.seed`` this process's own seeded generator."""
        if self.config.seed is None:
            return torch.default_generator
        if self._generator_pid != os.getpid():
            self._generator = process_generator(self.config.seed)
            self._generator_pid = os.getpid()
        return self._generator  # type: ignore[return-value]

    def sample(self, batch: int, *, generator: torch.Generator | None = None,
               device: str | torch.device | None = None) -> dict[str, Tensor]:
        """Parameters for ``batch`` samples (see :func:`sample_params`); ``device``: the images' device."""
        z_dim = self.bundle_on(self.device_for(device)).z_dim
        return sample_params(batch, self.config, generator or self.generator(), z_dim=z_dim)

    # ---- augmentation ------------------------------------------------------------------------

    def check_images(self, images: Tensor, bundle: Bundle) -> None:
        """Raise naming the problem if ``images`` is not a float (B, C, H, W) batch in [0, 1] with the bundle's channels."""
        if not isinstance(images, Tensor) or images.ndim != 4 or not images.is_floating_point():
            what = f"{images.dtype} tensor of shape {tuple(images.shape)}" if isinstance(images, Tensor) else type(images).__name__
            raise TypeError(f"images: expected a float (B, C, H, W) tensor in [0, 1], got a {what}")
        check_unit_range(images, "images")
        if images.shape[1] != bundle.channels:
            raise ValueError(
                f"images: expected {bundle.channels} channels (the bundle's), got {images.shape[1]} in shape "
                f"{tuple(images.shape)}; convert grayscale or RGBA images to RGB first"
            )

    def layouts_for(self, bundle: Bundle, layout: Tensor | None, images: Tensor) -> Tensor | None:
        """The checked layouts at the bundle's size for a conditional bundle, None for an unconditional one."""
        if bundle.classes is None and layout is None:
            return None
        if layout is None:
            assert bundle.classes is not None  # both None returned above
            raise ValueError(
                f"layout: the bundle {bundle.path} is conditional on {bundle.classes.num_classes}-class layouts "
                f"({', '.join(bundle.classes.names)}); pass the images' masks (B, H, W) of class ids as layout=..."
            )
        if isinstance(layout, Tensor) and layout.shape[:1] != images.shape[:1]:
            raise ValueError(f"layout: expected one mask per image ({images.shape[0]}), got shape {tuple(layout.shape)}")
        return bundle_layouts(bundle, layout, tuple(images.shape[-2:]))

    def augment(self, images: Tensor, params: dict[str, Tensor], *, layout: Tensor | None = None) -> tuple[Tensor, Tensor]:
        """(augmented images, applied (B,) bool): the applied samples mixed with generated images.

        ``images``: float (B, C, H, W) in [0, 1]; ``params``: from :meth:`sample`. Samples not applied
        are returned unchanged. ``layout``: the images' masks (B, H, W) of class ids, required by a
        layout-conditional bundle (every mode draws the scene from the sample's own mask, so
        ``replace`` keeps the labels valid) and refused by an unconditional one.
        """
        bundle = self.bundle_on(self.device_for(images.device))
        self.check_images(images, bundle)
        layouts = self.layouts_for(bundle, layout, images)
        applied = params["apply"].to(images.device)
        if applied.shape != images.shape[:1]:
            raise ValueError(f"params['apply']: expected shape ({images.shape[0]},), got {tuple(applied.shape)}")
        index = applied.nonzero().flatten()
        if index.numel() == 0:
            return images, applied
        z = params["z"][index.to(params["z"].device)]
        generated = bundle.images_from_z(z) if layouts is None else bundle.images_from_z(z, layouts[index.to(layouts.device)])
        generated = generated.to(images.device, images.dtype)
        mixed = self._mix(bundle, images[index], generated, params["strength"].to(images.device)[index])
        return images.index_copy(0, index, mixed), applied

    def _mix(self, bundle: Bundle, real: Tensor, generated: Tensor, strength: Tensor) -> Tensor:
        """The mode's kernel on the applied samples."""
        return _MIXERS[self.config.mode](self, bundle, real, generated, strength)

    def _mix_bands(self, bundle: Bundle, real: Tensor, generated: Tensor, strength: Tensor) -> Tensor:
        return band_mix(real, generated, bundle.spec, bands=self.bands_for(bundle), strength=strength)

    def _mix_coarse(self, bundle: Bundle, real: Tensor, generated: Tensor, strength: Tensor) -> Tensor:
        return coarse_mix(real, generated, strength)

    def _mix_blend(self, bundle: Bundle, real: Tensor, generated: Tensor, strength: Tensor) -> Tensor:
        weight = bundle.alpha if self.config.weight is None else torch.tensor([self.config.weight])
        return blend_images(real, generated, strength[:, None] * weight.to(real.device, real.dtype)[None, :])

    def _mix_replace(self, bundle: Bundle, real: Tensor, generated: Tensor, strength: Tensor) -> Tensor:
        return replace_images(real, generated)


_MIXERS: dict[str, Callable[..., Tensor]] = {
    "bands": FreqAugmenter._mix_bands,
    "coarse": FreqAugmenter._mix_coarse,
    "blend": FreqAugmenter._mix_blend,
    "replace": FreqAugmenter._mix_replace,
}
