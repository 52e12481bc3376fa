"""FreqGAN: target vector -> one generator per band (in cascade order) -> inverse transform -> blend.

Patent claims 1, 4 and 7: a target vector z drives every band generator through orthogonal
noise blocks; ``bands.compose`` merges the generated bands into the band image, which is
superimposed on a baseline generator's image with a learned alpha. A conditional FreqGAN
(``config.layout``) also takes a label map per sample: every generator sees its one-hot through
SPADE modulation, every discriminator through concatenation; z still varies the scene.
"""
from __future__ import annotations

from typing import Iterable, Mapping, NamedTuple, TypedDict, cast

import torch
from torch import Tensor, nn

from freqaug.bands import BandStats, compose, standardize, unstandardize
from freqaug.bands.stats import Method
from freqaug.models.blend import AlphaBlend
from freqaug.models.config import BASELINE, FreqGANConfig, cascade_order
from freqaug.models.discriminator import ConvDiscriminator, SegmentationDiscriminator
from freqaug.models.generator import ConvGenerator
from freqaug.models.noise import OrthogonalNoise

__all__ = ["FreqGAN", "FreqGANOutput", "build_discriminators"]

REFINE_LIMIT = 0.995  # a refined band image is clamped here before atanh (atanh(0.995) ~ 3)


class _SpadeArgs(TypedDict, total=False):
    """The SPADE keyword arguments of a conditional model's generators (none when unconditional)."""

    layout_channels: int
    layout_hidden: int


class FreqGANOutput(NamedTuple):
    """What one forward pass produces, all (N, C, ., .)."""

    image: Tensor  # the blend, the model's output, ~[-1, 1]
    band_image: Tensor  # compose(generated bands)
    baseline: Tensor  # the baseline generator's image
    bands: dict[str, Tensor]  # generated bands, denormalised (the space of decompose)


class FreqGAN(nn.Module):
    """The generator side of the patent, built from a :class:`FreqGANConfig`."""

    # buffers, registered in __init__
    image_color: Tensor
    band_center: Tensor
    band_scale: Tensor
    band_color: Tensor

    def __init__(self, config: FreqGANConfig) -> None:
        super().__init__()
        self.config = config
        spec, channels = config.spec, config.channels
        self.band_names = spec.band_names
        self.band_shapes = spec.band_shapes(*config.image_size)
        self.order = cascade_order(self.band_names, cast("Mapping[str, tuple[str, ...]]", config.cascade))
        block = config.noise_block_dim
        self.noise = OrthogonalNoise([*self.band_names, BASELINE], block, config.z_dim, seed=config.noise_seed)
        layout = config.layout
        spade: _SpadeArgs = {"layout_channels": layout.num_classes, "layout_hidden": layout.hidden} if layout else {}
        self.generators = nn.ModuleDict(
            {
                name: ConvGenerator(
                    block, channels, self.band_shapes[name],
                    cond_channels=channels * len(self.sources(name)), net=config.generator_net(name), **spade,
                )
                for name in self.band_names
            }
        )
        self.baseline = ConvGenerator(block, channels, config.image_size, net=config.generator,
                                      cond_channels=channels if self.baseline_refines else 0, **spade)
        if self.baseline_refines:  # a residual refiner starts as the identity on the band image
            self.baseline.zero_output_()
        self.register_buffer("image_color", torch.eye(channels))  # colour mix before the baseline's tanh
        self.blend = AlphaBlend(channels, per_channel=config.alpha == "channel", init=config.alpha_init)
        self.register_buffer("band_center", torch.zeros(len(self.band_names), channels))
        self.register_buffer("band_scale", torch.ones(len(self.band_names), channels))
        self.register_buffer("band_color", torch.eye(channels).repeat(len(self.band_names), 1, 1))

    @property
    def baseline_refines(self) -> bool:
        """Whether the baseline generator takes the band image (``config.baseline_input``)."""
        return self.config.baseline_input == "band_image"

    def sources(self, name: str) -> tuple[str, ...]:
        """The bands whose outputs generator ``name`` takes as input."""
        cascade = cast("Mapping[str, tuple[str, ...]]", self.config.cascade)  # a mapping after __post_init__
        return tuple(cascade.get(name, ()))

    def ancestors(self, names: Iterable[str]) -> set[str]:
        """Every band whose output reaches one of ``names`` through the cascade, directly or not."""
        found: set[str] = set()
        todo = [s for n in names for s in self.sources(n)]
        while todo:
            band = todo.pop()
            if band not in found:
                found.add(band)
                todo.extend(self.sources(band))
        return found

    # ---- band normalisation ------------------------------------------------------------------

    def set_band_stats(self, stats: Mapping[str, BandStats], image: BandStats | None = None) -> None:
        """Store the training set's per-band centre, scale (``config.band_norm``) and, with
        ``config.decorrelate_colors``, colour transform; generators work in that unit space.
        ``image``: statistics of the full images, whose colour correlation the baseline's output gets."""
        if self.config.decorrelate_colors and image is not None:
            self.image_color.copy_(image.color_transform().to(self.image_color))
        for i, name in enumerate(self.band_names):
            if name not in stats:
                raise ValueError(f"stats: no statistics for band {name!r}; have {sorted(stats)}")
            center, scale = stats[name].center_scale(cast(Method, self.config.band_norm))  # validated by the config
            self.band_center[i].copy_(center.to(self.band_center))
            self.band_scale[i].copy_(scale.to(self.band_scale))
            if self.config.decorrelate_colors:
                self.band_color[i].copy_(stats[name].color_transform().to(self.band_color))

    def normalize_band(self, name: str, band: Tensor) -> Tensor:
        """Band (decompose space) -> the generator's unit space."""
        i = self.band_names.index(name)
        return standardize(band, self.band_center[i], self.band_scale[i], self.band_color[i])

    def denormalize_band(self, name: str, band: Tensor) -> Tensor:
        """Inverse of :meth:`normalize_band`."""
        i = self.band_names.index(name)
        return unstandardize(band, self.band_center[i], self.band_scale[i], self.band_color[i])

    # ---- layouts -----------------------------------------------------------------------------

    @property
    def conditional(self) -> bool:
        """Whether every sample is drawn from a label map (``config.layout`` is set)."""
        return self.config.layout is not None

    def one_hot(self, labels: Tensor | None) -> Tensor | None:
        """Label maps (N, H, W) of class ids -> one-hot layouts (N, K, H, W) float32 on the model's
        device; the ignore id gets no channel (all zero). None passes through for an unconditional
        model; a label map for an unconditional model, or none for a conditional one, is an error."""
        ids = self.check_labels(labels)
        if ids is None:
            return None
        k = self.config.layout.num_classes  # type: ignore[union-attr]
        onehot = torch.zeros(ids.shape[0], k + 1, *ids.shape[1:], device=ids.device)
        return onehot.scatter_(1, ids.where((ids >= 0) & (ids < k), k).unsqueeze(1), 1.0)[:, :k]

    def check_labels(self, labels: Tensor | None, name: str = "labels") -> Tensor | None:
        """``labels`` as int64 ids on the model's device after checking that they fit the model
        (shape (N, H, W) at the image size, an integer dtype, ids in the class list or the ignore
        id); errors name the argument ``name``, the bad values and what was expected."""
        layout = self.config.layout
        if layout is None:
            if labels is not None:
                raise ValueError(f"{name}: this FreqGAN is unconditional (config.layout is None); call it without "
                                 "label maps")
            return None
        classes, k = layout.classes, layout.num_classes
        h, w = self.config.image_size
        if labels is None:
            raise ValueError(f"{name}: this FreqGAN is conditional on {k}-class layouts; pass label maps "
                             f"(N, {h}, {w}) of class ids")
        if not isinstance(labels, Tensor) or labels.dtype == torch.bool or labels.is_floating_point() or labels.is_complex():
            what = labels.dtype if isinstance(labels, Tensor) else type(labels).__name__
            raise TypeError(f"{name}: expected an integer tensor of class ids, got {what}")
        if labels.ndim != 3 or tuple(labels.shape[1:]) != (h, w):
            raise ValueError(f"{name}: expected shape (N, {h}, {w}) (the model's image size), got {tuple(labels.shape)}")
        ids = labels.to(self.band_scale.device, torch.long)
        bad = (ids < 0) | (ids >= k)
        if classes.ignore_index is not None:
            bad &= ids != classes.ignore_index
        if bool(bad.any()):
            allowed = f"0..{k - 1}" + ("" if classes.ignore_index is None else f" or the ignore id {classes.ignore_index}")
            raise ValueError(f"{name}: ids {ids[bad].unique()[:10].tolist()} are outside the class list; expected "
                             f"{allowed} ({', '.join(classes.names)})")
        return ids

    # ---- generation --------------------------------------------------------------------------

    def generate_band(
        self, name: str, noise: Tensor, sources: Mapping[str, Tensor] | None = None, layout: Tensor | None = None
    ) -> Tensor:
        """One generator's band in normalised space; ``sources`` (normalised) feed a cascade,
        ``layout`` (one-hot, see :meth:`one_hot`) a conditional model."""
        names = self.sources(name)
        cond = None
        if names:
            missing = [s for s in names if sources is None or s not in sources]
            if missing:
                raise ValueError(f"sources: band {name!r} needs its cascade source(s) {missing}")
            cond = torch.cat([sources[s] for s in names], dim=1)  # type: ignore[index]
        return self.generators[name](noise, cond, layout)

    def generate_bands(self, noises: Mapping[str, Tensor], layout: Tensor | None = None) -> dict[str, Tensor]:
        """Every band in cascade order, normalised, each generator fed its own noise (and the layout)."""
        out: dict[str, Tensor] = {}
        for name in self.order:
            out[name] = self.generate_band(name, noises[name], out, layout)
        return {name: out[name] for name in self.band_names}

    def synthesize(self, noises: Mapping[str, Tensor], layout: Tensor | None = None) -> tuple[Tensor, dict[str, Tensor]]:
        """The band image (claim 1): every band generated, denormalised and merged by the inverse transform."""
        normalized = self.generate_bands(noises, layout)
        bands = {name: self.denormalize_band(name, band) for name, band in normalized.items()}
        return compose(bands, self.config.spec, size=self.config.image_size), bands

    def baseline_image(self, noise: Tensor, layout: Tensor | None = None, band_image: Tensor | None = None) -> Tensor:
        """The baseline generator's image in [-1, 1]: its output channels are mixed with the
        training images' colour correlation (identity without it) before the tanh. With
        ``baseline_input="band_image"`` it refines ``band_image`` (of the same samples), which it
        takes as condition maps: its output is a correction added to the band image before the tanh
        (``tanh(atanh(band_image) + correction)``), zero at initialisation."""
        if self.baseline_refines and band_image is None:
            raise ValueError("band_image: this FreqGAN's baseline generator refines the band image "
                             "(config.baseline_input='band_image'); pass the band image of the same samples")
        out = self.baseline(noise, band_image if self.baseline_refines else None, layout)
        out = torch.einsum("ij,njhw->nihw", self.image_color.to(noise.dtype), out)
        if self.baseline_refines:
            assert band_image is not None  # checked at the top
            out = out + torch.atanh(band_image.clamp(-REFINE_LIMIT, REFINE_LIMIT))
        return torch.tanh(out)

    def forward(self, z: Tensor, labels: Tensor | None = None) -> FreqGANOutput:
        """Target vectors z (N, z_dim) [and label maps (N, H, W) for a conditional model] -> blended
        image, band image, baseline image and bands."""
        layout = self.one_hot(labels)
        if layout is not None and layout.shape[0] != z.shape[0]:
            raise ValueError(f"labels: {layout.shape[0]} label maps for {z.shape[0]} target vectors; expected one each")
        noises = self.noise(z)
        band_image, bands = self.synthesize(noises, layout)
        baseline = self.baseline_image(noises[BASELINE], layout, band_image)
        return FreqGANOutput(self.blend(band_image, baseline), band_image, baseline, bands)

    def sample_z(self, n: int, *, generator: torch.Generator | None = None) -> Tensor:
        """n target vectors z ~ N(0, I) on the model's device."""
        device = self.band_scale.device
        return torch.randn(n, self.config.z_dim, generator=generator, device=device)


def build_discriminators(model: FreqGAN) -> nn.ModuleDict:
    """One discriminator per band (conditioned on its cascade sources) and one ``"image"`` one; all
    conditioned on the layout too for a conditional model (the image one by concatenation, or
    OASIS's per-pixel segmentation discriminator with ``layout.image_discriminator == "oasis"``)."""
    config, channels = model.config, model.config.channels
    k = config.layout.num_classes if config.layout else 0
    nets: dict[str, nn.Module] = {
        name: ConvDiscriminator(
            channels, model.band_shapes[name], cond_channels=channels * len(model.sources(name)),
            net=config.discriminator, layout_channels=k,
        )
        for name in model.band_names
    }
    if config.layout is not None and config.layout.image_discriminator == "oasis":
        nets["image"] = SegmentationDiscriminator(channels, config.image_size, k, net=config.discriminator)
    else:
        nets["image"] = ConvDiscriminator(channels, config.image_size, net=config.discriminator, layout_channels=k)
    return nn.ModuleDict(nets)
