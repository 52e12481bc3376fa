"""Layout-conditional FreqGAN: label maps through SPADE in every generator, concatenated in every
discriminator; z still varies the scene; bad label maps are named; the unconditional model is unchanged."""
import json

import pytest
import torch

from freqaug.data import CAMVID, ClassSet, synthetic_batch
from freqaug.models import FreqGAN, FreqGANConfig, LayoutConfig, build_discriminators
from freqaug.models.layers import layout_pyramid
from tests.models.test_freqgan import SMALL, SPECS

SIZE = (32, 48)


def conditional_config(spec=SPECS["dwt"], **kw) -> FreqGANConfig:
    return FreqGANConfig(spec=spec, image_size=SIZE, z_dim=64, generator=SMALL, discriminator=SMALL,
                         layout=LayoutConfig(CAMVID, hidden=8), **kw)


@pytest.fixture(scope="module")
def labels():
    _, lab = synthetic_batch(3, size=SIZE, seed=0)
    return lab


def _model(config=None):
    torch.manual_seed(0)
    return FreqGAN(config or conditional_config()).eval()


@pytest.mark.parametrize("spec", SPECS.values(), ids=SPECS.keys())
def test_conditional_shapes_for_every_band_kind(spec, labels):
    model = _model(conditional_config(spec))
    out = model(model.sample_z(3, generator=torch.Generator().manual_seed(0)), labels)
    assert out.image.shape == out.band_image.shape == out.baseline.shape == (3, 3, *SIZE)
    assert {k: tuple(v.shape[-2:]) for k, v in out.bands.items()} == dict(model.band_shapes)
    assert torch.isfinite(out.image).all()
    discs = build_discriminators(model)
    layout = model.one_hot(labels)
    logits = discs["image"](out.image, layout=layout)
    assert logits.shape == (3,)
    for name in model.band_names:
        sources = model.sources(name)
        cond = torch.cat([out.bands[s] for s in sources], 1) if sources else None
        assert discs[name](out.bands[name], cond, layout).shape == (3,)


def test_output_follows_the_layout_and_z_still_varies_it(labels):
    model = _model()
    z = model.sample_z(1, generator=torch.Generator().manual_seed(1)).expand(3, -1)
    with torch.no_grad():
        by_layout = model(z, labels).image  # one z, three layouts
        one_layout = model(model.sample_z(3, generator=torch.Generator().manual_seed(2)), labels[:1].expand(3, -1, -1))
    for a, b in [(0, 1), (0, 2), (1, 2)]:
        assert (by_layout[a] - by_layout[b]).abs().mean() > 1e-3, "a different layout gave the same image"
        assert (one_layout.image[a] - one_layout.image[b]).abs().mean() > 1e-3, "another z gave the same image"
    # every band generator and the baseline see the layout
    noises = model.noise(z[:2])
    with torch.no_grad():
        layouts = model.one_hot(labels[:2])
        same = model.one_hot(labels[:1].expand(2, -1, -1))
        for name in model.band_names:
            sources = {s: torch.zeros(2, 3, *model.band_shapes[s]) for s in model.sources(name)}
            a = model.generate_band(name, noises[name], sources, layouts)
            b = model.generate_band(name, noises[name], sources, same)
            assert torch.equal(a[0], b[0]) and not torch.allclose(a[1], b[1]), name
        assert not torch.allclose(model.baseline_image(noises["baseline"], layouts)[1],
                                  model.baseline_image(noises["baseline"], same)[1])


def test_one_hot_gives_the_ignore_id_no_channel(labels):
    model = _model()
    lab = labels[:1].clone()
    lab[0, :4, :4] = CAMVID.ignore_index
    onehot = model.one_hot(lab)
    assert onehot.shape == (1, CAMVID.num_classes, *SIZE) and onehot.dtype == torch.float32
    assert torch.equal(onehot[0, :, :4, :4], torch.zeros(CAMVID.num_classes, 4, 4))
    keep = lab[0] != CAMVID.ignore_index
    assert torch.equal(onehot[0].argmax(0)[keep], lab[0][keep].long())
    assert torch.equal(onehot[0].sum(0), keep.float())


def test_layout_pyramid_is_aligned_with_the_cropped_output():
    layout = torch.zeros(1, 2, 24, 40)
    layout[:, 0, :12, :20] = 1  # class 0 in the top-left quarter
    grids = [(3, 6), (6, 12), (12, 24)]  # a generator for 12x20 (cropped from 12x24)
    maps = layout_pyramid(layout, (12, 20), grids)
    assert [tuple(m.shape[-2:]) for m in maps] == grids
    assert torch.equal(maps[2][0, 0, :6, :10], torch.ones(6, 10)) and maps[2][0, 0, 6:].sum() == 0
    assert maps[2][0, :, :, 20:].sum() == 0  # the cropped margin holds no class
    assert torch.equal(maps[1][0, 0, :3, :5], torch.ones(3, 5))


@pytest.mark.parametrize(
    "make, error, match",
    [
        (lambda lab: lab[:, :30], ValueError, r"labels: expected shape \(N, 32, 48\) .*got \(3, 30, 48\)"),
        (lambda lab: lab[0], ValueError, r"labels: expected shape \(N, 32, 48\)"),
        (lambda lab: lab.clone().index_fill_(1, torch.tensor([0]), 13), ValueError,
         r"labels: ids \[13\] are outside the class list; expected 0..10 or the ignore id 11 \(sky, building"),
        (lambda lab: lab.long() - 1, ValueError, r"labels: ids \[-1\] are outside the class list"),
        (lambda lab: lab.float(), TypeError, r"labels: expected an integer tensor of class ids, got torch.float32"),
        (lambda lab: None, ValueError, r"labels: this FreqGAN is conditional on 11-class layouts"),
        (lambda lab: lab[:2], ValueError, r"labels: 2 label maps for 3 target vectors"),
    ],
    ids=["height", "no-batch", "id-13", "id-minus-1", "float", "missing", "count"],
)
def test_bad_label_maps_are_named(labels, make, error, match):
    model = _model()
    with pytest.raises(error, match=match):
        model(model.sample_z(3), make(labels))


def test_unconditional_model_refuses_label_maps_and_is_unchanged(labels):
    config = FreqGANConfig(spec=SPECS["dwt"], image_size=SIZE, z_dim=64, generator=SMALL, discriminator=SMALL)
    assert "layout" not in config.to_dict()  # the unconditional JSON (and its hashes) are as before
    model = FreqGAN(config)
    assert not model.conditional and model.one_hot(None) is None
    assert not any("spade" in k for k in model.state_dict())
    with pytest.raises(ValueError, match=r"labels: this FreqGAN is unconditional"):
        model(model.sample_z(3), labels)
    with pytest.raises(ValueError, match=r"layout: this generator takes a 0-channel layout"):
        model.generators["LL2"](torch.zeros(1, config.noise_block_dim), None, torch.zeros(1, 11, 8, 12))
    with pytest.raises(ValueError, match=r"layout: this discriminator takes a 0-channel layout"):
        build_discriminators(model)["image"](torch.zeros(1, 3, *SIZE), layout=torch.zeros(1, 11, *SIZE))


def test_conditional_parts_need_their_layout():
    model = _model()
    with pytest.raises(ValueError, match=r"layout: this generator takes a 11-channel layout, got none"):
        model.baseline(torch.zeros(1, model.config.noise_block_dim))
    with pytest.raises(ValueError, match=r"layout: expected \(N, 11, H, W\), got \(1, 5, 32, 48\)"):
        model.baseline(torch.zeros(1, model.config.noise_block_dim), None, torch.zeros(1, 5, *SIZE))
    with pytest.raises(ValueError, match=r"layout: this discriminator takes a 11-channel layout, got none"):
        build_discriminators(model)["image"](torch.zeros(1, 3, *SIZE))


def test_layout_config_round_trip_and_errors():
    classes = ClassSet(names=("road", "car"), palette=((1, 2, 3), (4, 5, 6)), ignore_index=255)
    config = FreqGANConfig(spec=SPECS["dct"], image_size=SIZE, z_dim=64, layout=LayoutConfig(classes, hidden=16))
    data = json.loads(config.to_json())
    assert data["layout"] == {"classes": classes.to_dict(), "hidden": 16}
    assert FreqGANConfig.from_json(config.to_json()) == config
    assert FreqGANConfig.from_dict({**data, "layout": None}).layout is None
    with pytest.raises(ValueError, match=r"FreqGANConfig.layout: unknown field\(s\) \['colours'\]"):
        FreqGANConfig.from_dict({**data, "layout": {**data["layout"], "colours": []}})
    with pytest.raises(ValueError, match=r"FreqGANConfig.layout.classes: palette: expected one colour per class"):
        FreqGANConfig.from_dict({**data, "layout": {"classes": {"names": ["a", "b"], "palette": [[0, 0, 0]]}}})
    with pytest.raises(ValueError, match=r"LayoutConfig.hidden: expected an integer >= 1, got 0"):
        LayoutConfig(classes, hidden=0)
    with pytest.raises(TypeError, match=r"FreqGANConfig.layout: expected None or a LayoutConfig"):
        FreqGANConfig(layout=classes)


def test_gradients_reach_the_spade_layers(labels):
    model = FreqGAN(conditional_config())
    model(model.sample_z(3), labels).image.square().mean().backward()
    spade = {k: p.grad for k, p in model.named_parameters() if ".spade." in k}
    assert spade and all(g is not None and g.abs().sum() > 0 for g in spade.values())
