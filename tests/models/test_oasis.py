"""OASIS segmentation discriminator for the full image: (K+1)-class logits per pixel at the input's
size (odd sizes too), local through its skips, selected by LayoutConfig.image_discriminator; the
default config builds the concatenation discriminator as before."""
import json

import pytest
import torch

from freqaug.data import CAMVID
from freqaug.models import (
    ConvDiscriminator, FreqGAN, FreqGANConfig, LayoutConfig, SegmentationDiscriminator, build_discriminators,
)
from tests.models.test_freqgan import SMALL
from tests.models.test_layout import conditional_config


@pytest.mark.parametrize("size", [(32, 48), (31, 45), (8, 8)])
def test_per_pixel_logits_at_the_input_size(size):
    torch.manual_seed(0)
    disc = SegmentationDiscriminator(3, size, 11, net=SMALL)
    logits = disc(torch.randn(2, 3, *size))
    assert logits.shape == (2, 12, *size) and torch.isfinite(logits).all()


def test_each_pixel_sees_its_own_input_pixel_through_the_skips():
    """The full-resolution skip makes a pixel's logits depend on that pixel; the encoder's coarse
    grid (8x12 here) makes them depend on pixels well beyond the full-resolution convs' 5x5 window."""
    torch.manual_seed(0)
    disc = SegmentationDiscriminator(3, (31, 45), 4, net=SMALL)
    x = torch.randn(1, 3, 31, 45, requires_grad=True)
    disc(x)[0, :, 20, 7].sum().backward()
    grad = x.grad[0].abs().sum(0)
    assert grad[20, 7] > 0
    seen = grad.nonzero()
    assert seen[:, 0].min() <= 20 - 8 and seen[:, 1].max() >= 7 + 8  # through the coarse grid
    assert grad[0, 44] == 0  # but not the far corner: a finite receptive field


def test_build_discriminators_selects_the_image_discriminator():
    default = build_discriminators(FreqGAN(conditional_config()))
    oasis = build_discriminators(FreqGAN(oasis_config()))
    assert type(default["image"]) is ConvDiscriminator and default["image"].layout_channels == 11
    assert type(oasis["image"]) is SegmentationDiscriminator and oasis["image"].num_classes == 11
    for name, disc in oasis.items():  # band discriminators keep the concatenated layout
        if name != "image":
            assert type(disc) is ConvDiscriminator and disc.layout_channels == 11
    unconditional = build_discriminators(FreqGAN(FreqGANConfig(image_size=(32, 48), z_dim=64, generator=SMALL,
                                                               discriminator=SMALL)))
    assert type(unconditional["image"]) is ConvDiscriminator and unconditional["image"].layout_channels == 0


def oasis_config() -> FreqGANConfig:
    base = conditional_config()
    return FreqGANConfig.from_dict({**base.to_dict(), "layout": {**base.layout.to_dict(), "image_discriminator": "oasis"}})


def test_image_discriminator_round_trip_default_left_out_and_errors():
    config = oasis_config()
    assert config.layout.image_discriminator == "oasis"
    assert FreqGANConfig.from_json(config.to_json()) == config
    assert json.loads(config.to_json())["layout"]["image_discriminator"] == "oasis"
    # the default leaves the field out, so existing conditional configs and their hashes are unchanged
    assert LayoutConfig(CAMVID).image_discriminator == "concat"
    assert "image_discriminator" not in LayoutConfig(CAMVID).to_dict()
    assert LayoutConfig.from_dict(LayoutConfig(CAMVID).to_dict()) == LayoutConfig(CAMVID)
    with pytest.raises(ValueError, match=r"LayoutConfig.image_discriminator: expected one of \['concat', 'oasis'\], "
                                         r"got 'projection'"):
        LayoutConfig(CAMVID, image_discriminator="projection")
    data = {**config.to_dict(), "layout": {**config.layout.to_dict(), "image_discriminator": "segment"}}
    with pytest.raises(ValueError, match=r"LayoutConfig.image_discriminator: .* got 'segment'"):
        FreqGANConfig.from_dict(data)
    with pytest.raises(ValueError, match=r"num_classes: expected an integer >= 1, got 0"):
        SegmentationDiscriminator(3, (16, 16), 0)
