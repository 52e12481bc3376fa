"""The downstream benchmark's training-time arms: none, a standard pipeline, peers, freqaug modes and their ablations.

Each arm is an ``(images, labels, generator) -> (images, labels)`` callable over batches (float
(B, 3, H, W) in [0, 1], integer (B, H, W) labels), the form ``freqaug.metrics.train_segnet`` takes;
every random choice comes from the ``generator`` passed in, so an arm is reproducible by seed.
``benchmarks/bench_downstream.py`` builds them with :func:`make_arm`:

| arm | what | labels |
|---|---|---|
| ``none`` | nothing | as they are |
| ``standard`` | horizontal flip, scale/crop jitter, colour jitter (:class:`StandardAugment`) | same geometry (nearest) |
| ``fda`` | standard + albumentations ``A.FDA``, references from the partner pool | same as standard |
| ``augmix`` | standard + torchvision v2 ``AugMix`` restricted to its photometric ops (:class:`AugMixAugment`) | same as standard |
| ``<mode>`` | standard + freqaug ``mode`` (bands, coarse, blend) with generated scenes (:class:`~freqaug.augment.pooled.PooledFreqAug`) | same as standard |
| ``<mode>-real`` | the same band operation with a *real* partner from the pool instead of a generated scene: the generator's ablation (``coarse-real``: :class:`RealPartnerMix`, no bundle; ``bands-real`` / ``blend-real``: ``PooledFreqAug(partners=...)`` with the bundle's band split and alpha) | same as standard |
| ``amplitude-real`` | APR-P (Chen et al., ICCV 2021): a real partner's Fourier amplitude with the sample's phase (:class:`RealPartnerMix` with ``amplitude_mix``); a peer (freqaug's ``amplitude`` mode, the same with a generated partner, lost to it and was dropped) | same as standard |
| ``augmix+coarse`` / ``augmix+coarse-real`` | standard + AugMix + the ``coarse`` mode (generated / real partner): freqaug stacked on the most robust peer | same as standard |
| ``bands-soft`` | as ``bands``, each selected band only partly generated: strength s ~ U(0, 0.5) | same as standard |
| ``copy-paste`` | copy-paste of real objects (Ghiasi et al., CVPR 2021, with CamVid's class masks for instances): the pixels of a random subset of the object classes of a labelled donor (pole, sign, car, pedestrian, bicyclist), mirrored half the time, pasted into the sample, then standard (:class:`CopyPaste`) | the donor's ids where pasted |
| ``replace25`` / ``replace50`` | standard + labelled synthetic pairs of a layout-conditional bundle at 0.25 / 0.5 per real sample (:class:`~freqaug.augment.pooled.PooledSyntheticPairs`) | the pairs' own |

No arm uses the operations of the corruption suite (pixel noise, blur kernels, weather overlays,
JPEG): AugMix's geometric ops (which would misalign the labels) and its noise-free photometric
ones are all it keeps; the standard pipeline's mild colour jitter is the one overlap, the same for
every arm that builds on it.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Callable

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from freqaug.augment.core import load_cached
from freqaug.augment.functional import amplitude_mix, coarse_mix
from freqaug.augment.pooled import PooledFreqAug, PooledSyntheticPairs

__all__ = [
    "ABLATIONS",
    "ARMS",
    "AugMixAugment",
    "PEERS",
    "FDA_BETA_LIMIT",
    "REPLACE_RATIOS",
    "SOFT_STRENGTH",
    "UNAVAILABLE",
    "ArmNotAvailable",
    "Augment",
    "Chain",
    "CopyPaste",
    "OBJECT_CLASSES",
    "FDAAugment",
    "StandardAugment",
    "StandardConfig",
    "make_arm",
    "needs_bundle",
    "unavailable",
    "standard_params",
    "standard_transform",
]

Augment = Callable[[Tensor, Tensor, torch.Generator], tuple[Tensor, Tensor]]
"""``(images (B, 3, H, W) in [0, 1], labels (B, H, W), generator) -> (images, labels)``."""

REPLACE_RATIOS: dict[str, float] = {"replace25": 0.25, "replace50": 0.5}
"""The replace arms: synthetic labelled pairs per real sample."""
OBJECT_CLASSES: tuple[int, ...] = (2, 6, 8, 9, 10)
"""CamVid's object classes that copy-paste moves: pole, sign_symbol, car, pedestrian, bicyclist."""
SOFT_STRENGTH = (0.0, 0.5)  # the bands-soft arm: (1 - s) * real + s * generated per selected band
_MODES = ("bands", "coarse", "blend")
_STACKED = ("augmix+coarse",)  # freqaug on top of AugMix: what a team that already uses AugMix would try
ABLATIONS: dict[str, str] = {mode: f"{mode}-real" for mode in (*_MODES, *_STACKED)}
"""freqaug arm -> the same band operation with a real partner image (the generator's ablation)."""
PEERS: tuple[str, ...] = ("none", "standard", "fda", "augmix", "amplitude-real", "copy-paste")
"""What a user would pick instead of freqaug (``amplitude-real`` is APR-P)."""
ARMS: tuple[str, ...] = (*PEERS, *(a for m in _MODES for a in (m, ABLATIONS[m])),
                         "bands-soft", *(a for m in _STACKED for a in (m, ABLATIONS[m])), *REPLACE_RATIOS)
_SPECLESS = {"coarse": coarse_mix, "amplitude": amplitude_mix}  # bundle-free kernels: their -real arms read none
# (``amplitude-real`` is APR-P, a peer: freqaug dropped the generated-partner ``amplitude`` mode, which lost to it)
_FREQAUG_ARMS = (*_MODES, "bands-real", "blend-real", "bands-soft", *_STACKED)  # read --bundle (bands-real / blend-real its split)
UNAVAILABLE: dict[str, str] = {
    arm: f"arm {arm!r} (standard + SyntheticMix replace) needs a layout-conditional bundle, whose generated "
    "scenes come with their label maps (freqaug train --conditional); an unconditional bundle's replaced "
    "samples would carry no labels and add nothing to supervised training"
    for arm in REPLACE_RATIOS
}
"""Arms that cannot run with an unconditional bundle, with the reason :func:`make_arm` raises."""
FDA_BETA_LIMIT: tuple[float, float] = (0.0, 0.1)
"""A.FDA's default range of its low-frequency window (a fraction of the image size)."""
_GREY = (0.299, 0.587, 0.114)  # ITU-R BT.601 luma weights


class ArmNotAvailable(NotImplementedError):
    """An arm that cannot run yet; the message says what it needs."""


# ---- the standard pipeline: config, sampler, kernel, adapter ------------------------------------

@dataclass(frozen=True)
class StandardConfig:
    """flip: chance of a horizontal flip; scale: zoom range (>= 1, the crop is taken at a random place
    inside the image, so no padding is needed); brightness / contrast / saturation: factors are drawn
    uniformly from [1 - x, 1 + x]."""

    flip: float = 0.5
    scale: tuple[float, float] = (1.0, 1.5)
    brightness: float = 0.2
    contrast: float = 0.2
    saturation: float = 0.2

    def __post_init__(self) -> None:
        for name in ("flip", "brightness", "contrast", "saturation"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 1:
                raise ValueError(f"StandardConfig.{name}: expected a number in [0, 1], got {value!r}")
        lo, hi = self.scale
        if not 1 <= lo <= hi:
            raise ValueError(f"StandardConfig.scale: expected (lo, hi) with 1 <= lo <= hi, got {self.scale!r}")


def _uniform(batch: int, lo: float, hi: float, generator: torch.Generator) -> Tensor:
    return torch.rand(batch, generator=generator, device=generator.device) * (hi - lo) + lo


def standard_params(batch: int, config: StandardConfig, generator: torch.Generator) -> dict[str, Tensor]:
    """Per-sample parameters, all (B,): ``flip`` (bool), ``scale``, crop centre ``dx``/``dy`` in [-1, 1],
    ``brightness``, ``contrast``, ``saturation`` factors; every value drawn whatever the others are."""
    flip = torch.rand(batch, generator=generator, device=generator.device) < config.flip
    params = {"flip": flip, "scale": _uniform(batch, *config.scale, generator)}
    params["dx"] = _uniform(batch, -1, 1, generator)
    params["dy"] = _uniform(batch, -1, 1, generator)
    for name in ("brightness", "contrast", "saturation"):
        amount = getattr(config, name)
        params[name] = _uniform(batch, 1 - amount, 1 + amount, generator)
    return params


def _grid(params: dict[str, Tensor], shape: torch.Size, device: torch.device) -> Tensor:
    """Sampling grid of a flip and a zoom into a crop at (dx, dy) of the free margin, per sample."""
    inverse = 1 / params["scale"].to(device, torch.float32)
    sign = 1 - 2 * params["flip"].to(device, torch.float32)
    margin = 1 - inverse
    theta = torch.zeros(shape[0], 2, 3, device=device)
    theta[:, 0, 0] = sign * inverse
    theta[:, 1, 1] = inverse
    theta[:, 0, 2] = params["dx"].to(device, torch.float32) * margin
    theta[:, 1, 2] = params["dy"].to(device, torch.float32) * margin
    return F.affine_grid(theta, list(shape), align_corners=False)


def _grey(images: Tensor) -> Tensor:
    """(B, 1, H, W) luma of RGB images."""
    weights = torch.tensor(_GREY, dtype=images.dtype, device=images.device).view(1, 3, 1, 1)
    return (images * weights).sum(dim=1, keepdim=True)


def _colour(images: Tensor, params: dict[str, Tensor]) -> Tensor:
    """Brightness, contrast (around each image's mean luma), saturation (around each pixel's luma)."""
    def factor(name: str) -> Tensor:
        return params[name].to(images.device, images.dtype).view(-1, 1, 1, 1)

    x = images * factor("brightness")
    mean = _grey(x).mean(dim=(-2, -1), keepdim=True)
    x = torch.lerp(mean, x, factor("contrast"))
    return torch.lerp(_grey(x), x, factor("saturation")).clamp_(0, 1)


def standard_transform(images: Tensor, labels: Tensor, params: dict[str, Tensor]) -> tuple[Tensor, Tensor]:
    """Flip + zoom/crop (images bilinear, labels nearest, one grid for both), then colour jitter of the images."""
    if images.ndim != 4 or images.shape[1] != 3 or not images.is_floating_point():
        raise ValueError(f"images: expected float (B, 3, H, W) in [0, 1], got {images.dtype} {tuple(images.shape)}")
    if labels.shape != (images.shape[0], *images.shape[2:]) or labels.is_floating_point():
        raise ValueError(f"labels: expected integer (B, H, W) = {(images.shape[0], *images.shape[2:])}, "
                         f"got {labels.dtype} {tuple(labels.shape)}")
    grid = _grid(params, images.shape, images.device)
    warped = F.grid_sample(images, grid, mode="bilinear", padding_mode="border", align_corners=False)
    moved = F.grid_sample(labels[:, None].to(grid.dtype), grid, mode="nearest", padding_mode="border",
                          align_corners=False)
    return _colour(warped, params), moved[:, 0].round().to(labels.dtype)


class StandardAugment:
    """The standard pipeline as an arm: :func:`standard_params` from the generator, then :func:`standard_transform`."""

    def __init__(self, config: StandardConfig = StandardConfig()) -> None:
        self.config = config

    def __call__(self, images: Tensor, labels: Tensor, generator: torch.Generator) -> tuple[Tensor, Tensor]:
        return standard_transform(images, labels, standard_params(images.shape[0], self.config, generator))


# ---- FDA and chaining -----------------------------------------------------------------------------

class FDAAugment:
    """albumentations ``A.FDA`` with probability ``p`` per sample; references: ``references`` (N, 3, H, W).

    A.FDA swaps the low-frequency amplitude spectrum of the image for a reference's (window size
    ``beta`` drawn from ``beta_limit``; A.FDA's default (0, 0.1)). Which samples, which reference and
    which beta come from the generator: a sample's A.FDA is reseeded from it before the call.
    """

    def __init__(self, references: Tensor, *, beta_limit: tuple[float, float] = FDA_BETA_LIMIT, p: float = 0.5) -> None:
        os.environ.setdefault("NO_ALBUMENTATIONS_UPDATE", "1")
        import albumentations as A

        if references.ndim != 4 or references.shape[1] != 3 or not len(references):
            raise ValueError(f"references: expected float (N, 3, H, W) images with N >= 1, got {tuple(references.shape)}")
        if isinstance(p, bool) or not isinstance(p, (int, float)) or not 0 <= p <= 1:
            raise ValueError(f"p: expected a number in [0, 1], got {p!r}")
        self.p = float(p)
        self.references = list(references.detach().cpu().float().permute(0, 2, 3, 1).contiguous().numpy())
        self.transform = A.FDA(beta_limit=beta_limit, metadata_key="fda_metadata", p=1.0)

    def __call__(self, images: Tensor, labels: Tensor, generator: torch.Generator) -> tuple[Tensor, Tensor]:
        batch = images.shape[0]
        apply = torch.rand(batch, generator=generator, device=generator.device) < self.p
        seeds = torch.randint(2**31 - 1, (batch,), generator=generator, device=generator.device)
        out = images.clone()
        for i in apply.nonzero().flatten().tolist():
            self.transform.set_random_seed(int(seeds[i]))
            image = images[i].detach().cpu().float().permute(1, 2, 0).numpy()
            adapted = self.transform(image=np.ascontiguousarray(image), fda_metadata=self.references)["image"]
            out[i] = torch.from_numpy(adapted).permute(2, 0, 1).to(images.device, images.dtype).clamp_(0, 1)
        return out, labels


class AugMixAugment:
    """torchvision v2 ``AugMix`` (``all_ops=False``) on its photometric ops only, with probability ``p`` per sample.

    AugMix's geometric ops (shear, translate, rotate) would move the image under its unchanged label
    map, so they are left out; what stays is autocontrast, equalize, posterize and solarize, mixed
    in AugMix's chains. Each sample's AugMix runs on torch's RNG forked and seeded from the generator.
    """

    def __init__(self, *, severity: int = 3, p: float = 1.0) -> None:
        from torchvision.transforms import v2

        class PhotometricAugMix(v2.AugMix):
            _PARTIAL_AUGMENTATION_SPACE = {k: v for k, v in v2.AugMix._PARTIAL_AUGMENTATION_SPACE.items()
                                           if k not in ("ShearX", "ShearY", "TranslateX", "TranslateY", "Rotate")}

        self.p = float(p)
        self.transform = PhotometricAugMix(severity=severity, all_ops=False)

    def __call__(self, images: Tensor, labels: Tensor, generator: torch.Generator) -> tuple[Tensor, Tensor]:
        batch = images.shape[0]
        apply = torch.rand(batch, generator=generator, device=generator.device) < self.p
        seeds = torch.randint(2**62, (batch,), generator=generator, device=generator.device)
        out = images.clone()
        for i in apply.nonzero().flatten().tolist():
            with torch.random.fork_rng(devices=[]):
                torch.manual_seed(int(seeds[i]))
                image = (images[i].clamp(0, 1) * 255).round().to(torch.uint8)
                out[i] = self.transform(image).to(images.dtype) / 255
        return out, labels


class RealPartnerMix:
    """A bundle-free kernel (``coarse_mix``, ``amplitude_mix``) with a real partner from ``partners``, with
    probability ``p`` per sample: draws in the order of :class:`PooledFreqAug` (applied, strength, partner
    index), so with the same seed the same samples are augmented as in the generated arm."""

    def __init__(self, kernel: Callable[..., Tensor], partners: Tensor, *, p: float = 0.5,
                 strength: tuple[float, float] = (1.0, 1.0)) -> None:
        if partners.ndim != 4 or partners.shape[1] != 3 or not len(partners):
            raise ValueError(f"partners: expected float (N, 3, H, W) images with N >= 1, got {tuple(partners.shape)}")
        self.kernel, self.pool, self.p, self.strength = kernel, partners.detach().cpu().float(), float(p), strength
        self.pool_seconds = 0.0

    def __call__(self, images: Tensor, labels: Tensor, generator: torch.Generator) -> tuple[Tensor, Tensor]:
        batch, (lo, hi) = images.shape[0], self.strength
        apply = torch.rand(batch, generator=generator, device=generator.device) < self.p
        strength = torch.rand(batch, generator=generator, device=generator.device) * (hi - lo) + lo
        index = torch.randint(len(self.pool), (batch,), generator=generator, device=generator.device)
        chosen = apply.nonzero().flatten()
        if not len(chosen):
            return images, labels
        partners = self.pool[index[chosen].cpu()].to(images.device, images.dtype)
        mixed = self.kernel(images[chosen], partners, strength[chosen].to(images.device))
        return images.index_copy(0, chosen.to(images.device), mixed), labels


class CopyPaste:
    """Copy-paste of real objects between labelled images, with probability ``p`` per sample: a donor from
    the labelled pool (``images``, ``labels``), mirrored with chance 1/2, gives the pixels of each of its
    ``classes`` present with chance 1/2 (at least one), written with their ids over the sample. CamVid has
    no instance masks, so a class's pixels stand for its instances (Ghiasi et al.'s simple copy-paste)."""

    def __init__(self, images: Tensor, labels: Tensor, *, p: float = 0.5,
                 classes: tuple[int, ...] = OBJECT_CLASSES) -> None:
        if images.ndim != 4 or labels.shape != (images.shape[0], *images.shape[-2:]) or not len(images):
            raise ValueError(f"images, labels: expected (N, 3, H, W) images and (N, H, W) label maps, N >= 1, got "
                             f"{tuple(images.shape)} and {tuple(labels.shape)}")
        self.images, self.labels = images.detach().cpu().float(), labels.detach().cpu()
        self.p, self.classes = float(p), torch.tensor(classes)
        self.pool_seconds = 0.0

    def __call__(self, images: Tensor, labels: Tensor, generator: torch.Generator) -> tuple[Tensor, Tensor]:
        batch, device = images.shape[0], generator.device
        apply = torch.rand(batch, generator=generator, device=device) < self.p
        donor = torch.randint(len(self.images), (batch,), generator=generator, device=device).cpu()
        flip = torch.rand(batch, generator=generator, device=device).cpu() < 0.5
        keep = torch.rand(batch, len(self.classes), generator=generator, device=device).cpu() < 0.5
        images, labels = images.clone(), labels.clone()
        for i in apply.nonzero().flatten().tolist():
            x, y = self.images[donor[i]], self.labels[donor[i]]
            if flip[i]:
                x, y = x.flip(-1), y.flip(-1)
            present = torch.isin(self.classes, y.unique())
            chosen = self.classes[present & keep[i]]
            if not len(chosen) and present.any():  # at least one object class when the donor has any
                chosen = self.classes[present][:1]
            mask = torch.isin(y, chosen).to(images.device)
            images[i] = torch.where(mask, x.to(images.device, images.dtype), images[i])
            labels[i] = torch.where(mask, y.to(labels.device, labels.dtype), labels[i])
        return images, labels


class Chain:
    """Arms applied in order, each with the same generator."""

    def __init__(self, *augments: Augment) -> None:
        self.augments = augments

    def __call__(self, images: Tensor, labels: Tensor, generator: torch.Generator) -> tuple[Tensor, Tensor]:
        for augment in self.augments:
            images, labels = augment(images, labels, generator)
        return images, labels


# ---- arms by name ---------------------------------------------------------------------------------

def needs_bundle(arm: str) -> bool:
    """Whether arm ``arm`` reads a bundle."""
    return arm in _FREQAUG_ARMS or arm in REPLACE_RATIOS


def unavailable(arm: str, bundle_path: str | os.PathLike[str] | None) -> str | None:
    """Why arm ``arm`` cannot run with the bundle at ``bundle_path`` (a replace arm with an unconditional or no
    bundle; a bands / blend arm with a layout-conditional one, whose pool would need layouts), else None."""
    if not needs_bundle(arm):
        return None
    conditional = bundle_path is not None and load_cached(bundle_path, "cpu").classes is not None
    if arm in UNAVAILABLE and not conditional:
        return UNAVAILABLE[arm]
    if arm in _FREQAUG_ARMS and conditional:
        return (f"arm {arm!r} mixes scenes from a pool generated without layouts, and the bundle {bundle_path} is "
                "layout-conditional; use an unconditional bundle for it (or the replace arms)")
    return None


def make_arm(
    arm: str, *, train_images: Tensor | None = None, bundle_path: str | os.PathLike[str] | None = None,
    seed: int = 0, p: float = 0.5, pool_size: int = 256, train_labels: Tensor | None = None,
    labelled_images: Tensor | None = None,
) -> Augment | None:
    """The arm named ``arm`` (see the module table); ``none`` is None.

    ``train_images``: the partner pool (FDA's references, the ``-real`` arms' partners);
    ``bundle_path``, ``seed`` (the pool's), ``pool_size``: the freqaug arms' (a ``-real`` arm reads
    only the bundle's band split); ``p``: chance per sample of FDA / AugMix / freqaug (the standard
    pipeline always runs); ``train_labels``: the label maps the replace arms' pairs are drawn from, and
    with ``labelled_images`` (their images) copy-paste's donors.
    """
    if arm not in ARMS:
        raise ValueError(f"arm: expected one of {', '.join(ARMS)}, got {arm!r}")
    reason = unavailable(arm, bundle_path)
    if reason is not None:
        raise ArmNotAvailable(reason)
    if arm in REPLACE_RATIOS:
        if train_labels is None:
            raise ValueError(f"train_labels: the {arm!r} arm draws its synthetic pairs from the training label maps")
        pairs = PooledSyntheticPairs(bundle_path, train_labels, ratio=REPLACE_RATIOS[arm],  # type: ignore[arg-type]
                                     pool_size=pool_size, seed=seed)
        return Chain(pairs, StandardAugment())  # the standard pipeline runs on real and synthetic pairs alike
    if arm == "none":
        return None
    standard = StandardAugment()
    if arm == "standard":
        return standard
    if arm == "augmix":
        return Chain(standard, AugMixAugment(p=p))
    if arm.startswith("augmix+"):  # AugMix, then the freqaug mode (or its real-partner ablation) on its output
        inner = make_arm(arm.removeprefix("augmix+"), train_images=train_images, bundle_path=bundle_path, seed=seed,
                         p=p, pool_size=pool_size)
        assert isinstance(inner, Chain)
        return Chain(standard, AugMixAugment(p=p), *inner.augments[1:])
    if arm == "copy-paste":
        if train_labels is None or labelled_images is None:
            raise ValueError("labelled_images, train_labels: copy-paste takes its donors from the labelled pairs")
        return Chain(CopyPaste(labelled_images, train_labels, p=p), standard)  # pasted objects move with the scene
    real = arm.endswith("-real")
    if (arm == "fda" or real) and train_images is None:
        raise ValueError(f"train_images: the {arm!r} arm draws its partners from the training images")
    if arm == "fda":
        return Chain(standard, FDAAugment(train_images, p=p))  # type: ignore[arg-type]
    if real and arm.removesuffix("-real") in _SPECLESS:
        return Chain(standard, RealPartnerMix(_SPECLESS[arm.removesuffix("-real")], train_images, p=p))  # type: ignore[arg-type]
    if bundle_path is None:
        raise ValueError(f"bundle_path: the {arm!r} arm needs a bundle file")
    mode, strength = ("bands", SOFT_STRENGTH) if arm == "bands-soft" else (arm.removesuffix("-real"), (1.0, 1.0))
    return Chain(standard, PooledFreqAug(bundle_path, mode=mode, strength=strength, p=p, pool_size=pool_size,
                                         seed=seed, partners=train_images if real else None))
