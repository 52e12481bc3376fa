"""Band generators, discriminators, baseline generator, blend and orthogonal noise (patent claims 1, 4, 7)."""
from freqaug.models.blend import AlphaBlend, blend
from freqaug.models.config import FreqGANConfig, LayoutConfig, NetConfig, cascade_order, coarse_to_fine_cascade
from freqaug.models.discriminator import ConvDiscriminator, SegmentationDiscriminator
from freqaug.models.freqgan import FreqGAN, FreqGANOutput, build_discriminators
from freqaug.models.generator import ConvGenerator, count_parameters
from freqaug.models.noise import OrthogonalNoise, orthogonal_matrix

__all__ = [
    "AlphaBlend",
    "ConvDiscriminator",
    "ConvGenerator",
    "FreqGAN",
    "FreqGANConfig",
    "FreqGANOutput",
    "LayoutConfig",
    "NetConfig",
    "OrthogonalNoise",
    "SegmentationDiscriminator",
    "blend",
    "build_discriminators",
    "cascade_order",
    "coarse_to_fine_cascade",
    "count_parameters",
    "orthogonal_matrix",
]
