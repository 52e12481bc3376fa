"""FreqGAN: target vector -> one generator per band (in cascade order) -> inverse transform -> blend.

Patent claims 1, 4 and 7: a target vector z drives every band generator through orthogonal
noise blocks; ``bands.compose`` merges the generated bands into the band image, which is
superimposed on a baseline generator's image with a learned alpha.
"""
from __future__ import annotations

from typing import Mapping, NamedTuple

import torch
from torch import Tensor, nn

from freqaug.bands import BandStats, compose, standardize, unstandardize
from freqaug.models.blend import AlphaBlend
from freqaug.models.config import BASELINE, FreqGANConfig, cascade_order
from freqaug.models.discriminator import ConvDiscriminator
from freqaug.models.generator import ConvGenerator
from freqaug.models.noise import OrthogonalNoise

__all__ = ["FreqGAN", "FreqGANOutput", "build_discriminators"]


class FreqGANOutput(NamedTuple):
    """What one forward pass produces, all (N, C, ., .)."""

    image: Tensor  # the blend, the model's output, ~[-1, 1]
    band_image: Tensor  # compose(generated bands)
    baseline: Tensor  # the baseline generator's image
    bands: dict[str, Tensor]  # generated bands, denormalised (the space of decompose)


class FreqGAN(nn.Module):
    """The generator side of the patent, built from a :class:`FreqGANConfig`."""

    def __init__(self, config: FreqGANConfig) -> None:
        super().__init__()
        self.config = config
        spec, channels = config.spec, config.channels
        self.band_names = spec.band_names
        self.band_shapes = spec.band_shapes(*config.image_size)
        self.order = cascade_order(self.band_names, config.cascade)
        block = config.noise_block_dim
        self.noise = OrthogonalNoise([*self.band_names, BASELINE], block, config.z_dim, seed=config.noise_seed)
        self.generators = nn.ModuleDict(
            {
                name: ConvGenerator(
                    block, channels, self.band_shapes[name],
                    cond_channels=channels * len(self.sources(name)), net=config.generator_net(name),
                )
                for name in self.band_names
            }
        )
        self.baseline = ConvGenerator(block, channels, config.image_size, net=config.generator)
        self.register_buffer("image_color", torch.eye(channels))  # colour mix before the baseline's tanh
        self.blend = AlphaBlend(channels, per_channel=config.alpha == "channel", init=config.alpha_init)
        self.register_buffer("band_center", torch.zeros(len(self.band_names), channels))
        self.register_buffer("band_scale", torch.ones(len(self.band_names), channels))
        self.register_buffer("band_color", torch.eye(channels).repeat(len(self.band_names), 1, 1))

    def sources(self, name: str) -> tuple[str, ...]:
        """The bands whose outputs generator ``name`` takes as input."""
        return tuple(self.config.cascade.get(name, ()))

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
            center, scale = stats[name].center_scale(self.config.band_norm)
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

    # ---- generation --------------------------------------------------------------------------

    def generate_band(self, name: str, noise: Tensor, sources: Mapping[str, Tensor] | None = None) -> Tensor:
        """One generator's band in normalised space; ``sources`` (normalised) feed a cascade."""
        names = self.sources(name)
        cond = None
        if names:
            missing = [s for s in names if sources is None or s not in sources]
            if missing:
                raise ValueError(f"sources: band {name!r} needs its cascade source(s) {missing}")
            cond = torch.cat([sources[s] for s in names], dim=1)  # type: ignore[index]
        return self.generators[name](noise, cond)

    def generate_bands(self, noises: Mapping[str, Tensor]) -> dict[str, Tensor]:
        """Every band in cascade order, normalised, each generator fed its own noise."""
        out: dict[str, Tensor] = {}
        for name in self.order:
            out[name] = self.generate_band(name, noises[name], out)
        return {name: out[name] for name in self.band_names}

    def synthesize(self, noises: Mapping[str, Tensor]) -> tuple[Tensor, dict[str, Tensor]]:
        """The band image (claim 1): every band generated, denormalised and merged by the inverse transform."""
        normalized = self.generate_bands(noises)
        bands = {name: self.denormalize_band(name, band) for name, band in normalized.items()}
        return compose(bands, self.config.spec, size=self.config.image_size), bands

    def baseline_image(self, noise: Tensor) -> Tensor:
        """The baseline generator's image in [-1, 1]: its output channels are mixed with the
        training images' colour correlation (identity without it) before the tanh."""
        return torch.tanh(torch.einsum("ij,njhw->nihw", self.image_color.to(noise.dtype), self.baseline(noise)))

    def forward(self, z: Tensor) -> FreqGANOutput:
        """Target vectors z (N, z_dim) -> blended image, band image, baseline image and bands."""
        noises = self.noise(z)
        band_image, bands = self.synthesize(noises)
        baseline = self.baseline_image(noises[BASELINE])
        return FreqGANOutput(self.blend(band_image, baseline), band_image, baseline, bands)

    def sample_z(self, n: int, *, generator: torch.Generator | None = None) -> Tensor:
        """n target vectors z ~ N(0, I) on the model's device."""
        device = self.band_scale.device
        return torch.randn(n, self.config.z_dim, generator=generator, device=device)


def build_discriminators(model: FreqGAN) -> nn.ModuleDict:
    """One discriminator per band (conditioned on its cascade sources) and one ``"image"`` one."""
    config, channels = model.config, model.config.channels
    nets = {
        name: ConvDiscriminator(
            channels, model.band_shapes[name], cond_channels=channels * len(model.sources(name)),
            net=config.discriminator,
        )
        for name in model.band_names
    }
    nets["image"] = ConvDiscriminator(channels, config.image_size, net=config.discriminator)
    return nn.ModuleDict(nets)
