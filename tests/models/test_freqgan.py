"""Patent-coverage tests of the model layer: orthogonal noise, one generator per band, cascade,
synthesis through bands.compose, and the learned alpha blend."""
import dataclasses
import json

import pytest
import torch

from freqaug.bands import BandSpec, band_stats, compose, decompose
from freqaug.models import (
    AlphaBlend,
    ConvDiscriminator,
    ConvGenerator,
    FreqGAN,
    FreqGANConfig,
    NetConfig,
    OrthogonalNoise,
    build_discriminators,
    coarse_to_fine_cascade,
    count_parameters,
    orthogonal_matrix,
)

SMALL = NetConfig(base_channels=8, max_channels=16, min_size=4)
SPECS = {
    "dwt": BandSpec(kind="dwt", wavelet="haar", levels=2),
    "dwt-db2-sym": BandSpec(kind="dwt", wavelet="db2", levels=1, mode="symmetric"),
    "dct": BandSpec(kind="dct", cutoff=0.3),
    "fourier": BandSpec(kind="fourier", cutoff=0.3, transition=0.1),
}


def small_config(spec=SPECS["dwt"], **kw) -> FreqGANConfig:
    kw = {"generator": SMALL, **kw}
    return FreqGANConfig(spec=spec, image_size=(24, 32), z_dim=64, discriminator=SMALL, **kw)


# ---- noise ----------------------------------------------------------------------------------


def test_orthogonal_matrix_is_orthogonal_and_seeded():
    q = orthogonal_matrix(40, seed=3)
    torch.testing.assert_close(q @ q.T, torch.eye(40, dtype=torch.float64), atol=1e-12, rtol=0)
    torch.testing.assert_close(q, orthogonal_matrix(40, seed=3), atol=0, rtol=0)
    assert not torch.allclose(q, orthogonal_matrix(40, seed=4))


def test_noise_blocks_are_mutually_orthogonal():
    noise = OrthogonalNoise(["a", "b", "c"], block_dim=8, dim=30, seed=0)
    rows = noise.projection.double().reshape(24, 30)
    gram = rows @ rows.T
    torch.testing.assert_close(gram, torch.eye(24, dtype=torch.float64), atol=1e-5, rtol=0)


def test_projected_noise_is_standard_normal():
    noise = OrthogonalNoise(["a", "b"], block_dim=4, dim=8, seed=1)
    z = torch.randn(200_000, 8, generator=torch.Generator().manual_seed(0))
    blocks = noise(z)
    both = torch.cat([blocks["a"], blocks["b"]], dim=1)
    cov = torch.cov(both.T)
    torch.testing.assert_close(cov, torch.eye(8), atol=0.02, rtol=0)  # includes a's and b's cross terms
    assert both.mean(0).abs().max() < 0.01


def test_noise_rejects_too_small_dim_and_bad_z():
    with pytest.raises(ValueError, match=r"z_dim: 10 is too small for 3 orthogonal blocks of 4"):
        OrthogonalNoise(["a", "b", "c"], block_dim=4, dim=10)
    with pytest.raises(ValueError, match=r"z: expected shape \(N, 8\)"):
        OrthogonalNoise(["a", "b"], block_dim=4)(torch.zeros(2, 9))


# ---- FreqGAN --------------------------------------------------------------------------------


@pytest.mark.parametrize("spec", SPECS.values(), ids=SPECS.keys())
def test_forward_shapes_and_synthesis_equals_compose(spec):
    model = FreqGAN(small_config(spec))
    z = model.sample_z(3, generator=torch.Generator().manual_seed(0))
    out = model(z)
    assert out.image.shape == out.band_image.shape == out.baseline.shape == (3, 3, 24, 32)
    assert tuple(out.bands) == spec.band_names
    for name, band in out.bands.items():
        assert band.shape[-2:] == spec.band_shapes(24, 32)[name]
    torch.testing.assert_close(out.band_image, compose(out.bands, spec, size=(24, 32)))
    alpha = model.blend.alpha
    torch.testing.assert_close(out.image, alpha * out.band_image + (1 - alpha) * out.baseline)
    assert out.baseline.abs().max() <= 1


def test_one_separate_generator_per_band_and_level():
    model = FreqGAN(small_config())
    assert set(model.generators) == {"LL2", "LH2", "HL2", "HH2", "LH1", "HL1", "HH1"}
    params = [{id(p) for p in g.parameters()} for g in model.generators.values()]
    params.append({id(p) for p in model.baseline.parameters()})
    assert all(a.isdisjoint(b) for i, a in enumerate(params) for b in params[i + 1:])
    assert model.generators["LH1"].out_size == (12, 16) and model.generators["LH2"].out_size == (6, 8)


def test_changing_one_noise_block_changes_only_that_band():
    model = FreqGAN(small_config(cascade="none")).eval()
    z = model.sample_z(2, generator=torch.Generator().manual_seed(1))
    delta = torch.randn(2, model.config.noise_block_dim, generator=torch.Generator().manual_seed(2))
    z_moved = z + delta @ model.noise.direction("HL1")
    with torch.no_grad():
        before, after = model(z).bands, model(z_moved).bands
    for name in model.band_names:
        changed = not torch.allclose(before[name], after[name], atol=1e-5)
        assert changed == (name == "HL1"), name


@pytest.mark.parametrize(
    "spec, expected",
    [
        (BandSpec(kind="dwt", levels=2), {"LH2": ("LL2",), "HL2": ("LL2",), "HH2": ("LL2",),
                                          "LH1": ("LL2", "LH2", "HL2", "HH2"), "HL1": ("LL2", "LH2", "HL2", "HH2"),
                                          "HH1": ("LL2", "LH2", "HL2", "HH2")}),
        (BandSpec(kind="dwt", levels=1), {"LH1": ("LL1",), "HL1": ("LL1",), "HH1": ("LL1",)}),
        (BandSpec(kind="dct", cutoff=0.3), {"high": ("low",)}),
        (BandSpec(kind="fourier", cutoff=0.3), {"high": ("low",)}),
    ],
)
def test_auto_cascade_draws_details_given_the_coarser_bands(spec, expected):
    config = small_config(spec)  # cascade="auto" is the default
    assert dict(config.cascade) == expected == coarse_to_fine_cascade(spec)
    assert FreqGANConfig.from_json(config.to_json()) == config
    assert small_config(spec, cascade="none").cascade == {}


def test_cascade_output_depends_on_its_sources():
    model = FreqGAN(small_config(cascade={"LH1": ["LL2", "LH2"]})).eval()
    assert model.order.index("LH1") > max(model.order.index("LL2"), model.order.index("LH2"))
    assert model.generators["LH1"].cond_channels == 6
    z = model.sample_z(2, generator=torch.Generator().manual_seed(3))
    delta = torch.randn(2, model.config.noise_block_dim, generator=torch.Generator().manual_seed(4))
    with torch.no_grad():
        before, after = model(z).bands, model(z + delta @ model.noise.direction("LL2")).bands
    assert not torch.allclose(before["LH1"], after["LH1"], atol=1e-5)  # through the cascade
    assert torch.allclose(before["HH1"], after["HH1"], atol=1e-5)  # not a dependent of LL2


def test_band_statistics_are_model_state_and_denormalise_outputs():
    spec = SPECS["dwt"]
    model = FreqGAN(dataclasses.replace(small_config(spec), decorrelate_colors=False))
    images = torch.rand(6, 3, 24, 32) * 2 - 1
    stats = {name: band_stats(b) for name, b in decompose(images, spec).items()}
    model.set_band_stats(stats)
    state = model.state_dict()
    assert "band_center" in state and "band_scale" in state
    i = model.band_names.index("HH1")
    torch.testing.assert_close(state["band_scale"][i], stats["HH1"].robust_scale.float())
    unit = torch.ones(1, 3, 12, 16)
    expected = stats["HH1"].robust_scale.float().view(1, 3, 1, 1) + stats["HH1"].median.float().view(1, 3, 1, 1)
    torch.testing.assert_close(model.denormalize_band("HH1", unit), expected.expand_as(unit))
    torch.testing.assert_close(model.normalize_band("HH1", model.denormalize_band("HH1", unit)), unit)


def test_decorrelated_colours_are_model_state_and_round_trip():
    spec = SPECS["dwt"]
    model = FreqGAN(small_config(spec))
    gray = torch.rand(6, 1, 24, 32)
    images = (gray + 0.1 * torch.rand(6, 3, 24, 32)) * 2 - 1  # strongly correlated colour channels
    stats = {name: band_stats(b) for name, b in decompose(images, spec).items()}
    model.set_band_stats(stats)
    i = model.band_names.index("LL2")
    assert "band_color" in model.state_dict()
    torch.testing.assert_close(model.band_color[i], stats["LL2"].color_transform().float())
    assert model.band_color[i][0, 1] > 0.3  # not the identity
    unit = torch.randn(2, 3, 6, 8)
    torch.testing.assert_close(model.normalize_band("LL2", model.denormalize_band("LL2", unit)), unit,
                               atol=1e-4, rtol=1e-4)
    # independent unit noise in the generator's space becomes correlated (mostly luminance) colour
    out = model.denormalize_band("LL2", torch.randn(64, 3, 6, 8, generator=torch.Generator().manual_seed(1)))
    assert band_stats(out).correlation[0, 1] > 0.8


def test_baseline_output_gets_the_images_colour_correlation():
    model = FreqGAN(small_config(SPECS["dwt"]))
    gray = torch.rand(6, 1, 24, 32)
    images = (gray + 0.1 * torch.rand(6, 3, 24, 32)) * 2 - 1
    noise = model.noise(model.sample_z(16, generator=torch.Generator().manual_seed(2)))["baseline"]
    with torch.no_grad():
        before = model.baseline_image(noise)
        model.set_band_stats({n: band_stats(b) for n, b in decompose(images, SPECS["dwt"]).items()}, band_stats(images))
        after = model.baseline_image(noise)
    assert before.abs().max() <= 1 and after.abs().max() <= 1
    assert band_stats(after).correlation[0, 1] > band_stats(before).correlation[0, 1] + 0.3
    torch.testing.assert_close(model.state_dict()["image_color"], band_stats(images).color_transform().float())


def test_alpha_is_learned_and_stays_in_unit_interval():
    blend = AlphaBlend(3, per_channel=True, init=0.3)
    torch.testing.assert_close(blend.alpha, torch.full((3,), 0.3))
    optimizer = torch.optim.SGD(blend.parameters(), lr=50.0)
    target = torch.ones(1, 3, 4, 4)
    for _ in range(20):  # the band image matches the target: alpha should rise towards 1
        loss = (blend(target, torch.zeros_like(target)) - target).square().mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    assert (blend.alpha > 0.9).all() and (blend.alpha < 1).all()


def test_gradients_reach_every_generator():
    model = FreqGAN(small_config(cascade={"HH1": ["LL2"]}))
    out = model(model.sample_z(2))
    out.image.square().mean().backward()
    for name, module in [*model.generators.items(), ("baseline", model.baseline), ("blend", model.blend)]:
        assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in module.parameters()), name


def test_discriminators_one_per_band_and_one_for_the_image():
    model = FreqGAN(small_config(cascade={"LH1": ["LL2"]}))
    discs = build_discriminators(model)
    assert set(discs) == set(model.band_names) | {"image"}
    bands = model(model.sample_z(2)).bands
    logits = discs["LH1"](bands["LH1"], cond=model.normalize_band("LL2", bands["LL2"]))
    assert logits.shape == (2,)
    assert discs["image"](torch.zeros(2, 3, 24, 32)).shape == (2,)
    sn = [n for n, _ in discs["image"].named_parameters() if "parametrizations" in n]
    assert sn, "discriminators use spectral norm"


def test_samples_do_not_depend_on_the_batch():
    model = FreqGAN(small_config()).eval()
    z = model.sample_z(4, generator=torch.Generator().manual_seed(5))
    with torch.no_grad():
        whole = model(z).image
        parts = torch.cat([model(z[:1]).image, model(z[1:]).image])
    torch.testing.assert_close(whole, parts, atol=1e-5, rtol=1e-5)


def test_source_path_maps_a_cascade_bands_sources_straight_to_its_output():
    """With ``source_width`` a cascade generator adds a full-resolution conv net of its sources to
    its output; the path's reach is its three 3x3 convs."""
    net = NetConfig(base_channels=8, max_channels=16, min_size=4, source_width=8)
    model = FreqGAN(small_config(generator=net, cascade={"LH2": ["LL2"]})).eval()
    gen = model.generators["LH2"]
    assert gen.source_path is not None and model.generators["LL2"].source_path is None  # cascade bands only
    assert model.baseline.source_path is None
    noise = torch.randn(1, model.config.noise_block_dim)
    sources = {"LL2": torch.zeros(1, 3, *model.band_shapes["LL2"])}
    with torch.no_grad():
        base = model.generate_band("LH2", noise, sources)
        path = gen.source_path(sources["LL2"])
        bumped = {"LL2": sources["LL2"].clone()}
        bumped["LL2"][0, :, 3, 4] = 5.0
        delta = model.generate_band("LH2", noise, bumped) - base
        path_delta = gen.source_path(bumped["LL2"]) - path
        gen.source_path = None
        without = model.generate_band("LH2", noise, sources)
    torch.testing.assert_close(base, without + path)  # an additive term
    assert delta[0, :, 3, 4].abs().sum() > 0
    assert path_delta[0, :, 3, 4].abs().sum() > 0 and path_delta[0, :, 0, 0].abs().sum() == 0  # 7x7 reach


def test_source_path_is_on_by_default_and_old_configs_load_without_it():
    assert FreqGANConfig().generator.source_width == 32
    assert NetConfig().source_width == 0  # discriminators and explicit nets: none
    data = FreqGANConfig().to_dict()
    assert data["generator"]["source_width"] == 32 and "source_width" not in data["discriminator"]
    old = {**data, "generator": {k: v for k, v in data["generator"].items() if k != "source_width"}}
    assert FreqGANConfig.from_dict(old).generator.source_width == 0  # a config from before it existed
    assert FreqGANConfig.from_dict(data) == FreqGANConfig()
    with pytest.raises(ValueError, match=r"NetConfig.source_width: expected an integer >= 0, got -1"):
        NetConfig(source_width=-1)


@torch.no_grad()
@pytest.mark.parametrize("baseline_input", ["noise", "band_image"])
def test_baseline_takes_the_band_image_only_when_configured(baseline_input):
    torch.manual_seed(0)
    model = FreqGAN(small_config(baseline_input=baseline_input)).eval()
    z = torch.randn(3, 64)
    other = z.clone()
    block = model.noise.projection[model.band_names.index("LL2")]  # (block_dim, z_dim) rows of LL2's noise
    other += 3 * torch.randn(3, block.shape[0]) @ block  # moves LL2's noise block alone
    a, b = model(z), model(other)
    assert not torch.allclose(a.band_image, b.band_image)
    moved = not torch.allclose(a.baseline, b.baseline, atol=1e-4)  # float32 projection: rounding only
    assert moved == (baseline_input == "band_image")  # a refining baseline follows the band image
    if baseline_input == "band_image":
        torch.testing.assert_close(a.baseline, model.baseline_image(model.noise(z)["baseline"], None, a.band_image))
        torch.testing.assert_close(a.image, model.blend(a.band_image, a.baseline))


@torch.no_grad()
def test_refining_baseline_starts_as_the_identity_and_adds_a_correction():
    torch.manual_seed(0)
    model = FreqGAN(small_config(baseline_input="band_image")).eval()
    z = torch.randn(4, 64)
    out = model(z)
    inside = out.band_image.abs() < 0.99  # outside, the band image is clamped before atanh
    torch.testing.assert_close(out.baseline[inside], out.band_image[inside], atol=1e-5, rtol=1e-5)
    model.baseline.to_out.bias.fill_(0.5)  # a correction moves it, still inside (-1, 1)
    moved = model(z)
    assert moved.baseline.abs().max() < 1 and (moved.baseline - out.baseline)[inside].abs().mean() > 0.05


def test_refining_baseline_needs_the_band_image_and_round_trips():
    model = FreqGAN(small_config(baseline_input="band_image"))
    with pytest.raises(ValueError, match=r"band_image: this FreqGAN's baseline generator refines the band image"):
        model.baseline_image(torch.zeros(1, model.config.noise_block_dim))
    assert "baseline_input" not in FreqGANConfig().to_dict()  # the default keeps old configs' hashes
    config = small_config(baseline_input="band_image")
    assert config.to_dict()["baseline_input"] == "band_image" and FreqGANConfig.from_dict(config.to_dict()) == config


# ---- config ---------------------------------------------------------------------------------


def test_config_json_round_trip():
    config = small_config(SPECS["dct"], cascade={"high": ["low"]}, alpha="channel", alpha_init=0.7)
    text = config.to_json()
    assert json.loads(text)["spec"]["kind"] == "dct"
    assert FreqGANConfig.from_json(text) == config


def test_band_generator_overrides_set_one_generators_width_and_round_trip():
    wide = NetConfig(base_channels=16, max_channels=32, min_size=4)
    config = small_config(SPECS["dwt"], band_generators={"LL2": wide})
    model = FreqGAN(config)
    assert count_parameters(model.generators["LL2"]) > count_parameters(model.generators["LH2"])
    assert FreqGANConfig.from_json(config.to_json()) == config
    with pytest.raises(ValueError, match=r"band_generators: unknown band 'LL9'"):
        small_config(SPECS["dwt"], band_generators={"LL9": wide})
    with pytest.raises(ValueError, match=r"band_generators\['LL2'\]: unknown field\(s\) \['depth'\]"):
        FreqGANConfig.from_dict({"band_generators": {"LL2": {"depth": 3}}})


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"cascade": {"LH1": ["XX9"]}}, r"cascade: unknown band 'XX9'"),
        ({"cascade": {"LH1": ["HL1"], "HL1": ["LH1"]}}, r"cascade: the sources of .* form a cycle"),
        ({"cascade": {"LH1": ["LH1"]}}, r"cascade: band 'LH1' lists itself"),
        ({"cascade": "full"}, r"FreqGANConfig.cascade: expected 'auto', 'none' or a mapping"),
        ({"alpha": "pixel"}, r"FreqGANConfig.alpha: expected 'scalar' or 'channel'"),
        ({"alpha_init": 1.0}, r"FreqGANConfig.alpha_init: expected a number in \(0, 1\)"),
        ({"baseline_input": "bands"}, r"FreqGANConfig.baseline_input: expected one of \['noise', 'band_image'\]"),
        ({"block_dim": 20}, r"FreqGANConfig.z_dim: 64 cannot hold 8 orthogonal blocks of 20"),
        ({"image_size": (24,)}, r"FreqGANConfig.image_size: expected \(height, width\)"),
    ],
)
def test_invalid_config(kwargs, match):
    base = dict(spec=SPECS["dwt"], image_size=(24, 32), z_dim=64, generator=SMALL, discriminator=SMALL)
    with pytest.raises(ValueError, match=match):
        FreqGANConfig(**(base | kwargs))


def test_config_rejects_a_spec_that_does_not_fit_the_image():
    with pytest.raises(ValueError, match=r"levels: 4 is more than an image of size \(12, 12\)"):
        FreqGANConfig(spec=BandSpec(levels=4), image_size=(12, 12))


def test_config_from_dict_names_unknown_fields():
    with pytest.raises(ValueError, match=r"unknown field\(s\) \['colour'\]"):
        FreqGANConfig.from_dict({"colour": 1})
    with pytest.raises(ValueError, match=r"FreqGANConfig.generator: unknown field\(s\) \['depth'\]"):
        FreqGANConfig.from_dict({"generator": {"depth": 3}})


# ---- building blocks ------------------------------------------------------------------------


@pytest.mark.parametrize("size", [(5, 7), (12, 16), (99, 131)])
def test_generator_hits_any_size(size):
    gen = ConvGenerator(16, 3, size, net=SMALL)
    assert gen(torch.randn(2, 16)).shape == (2, 3, *size)
    disc = ConvDiscriminator(3, size, net=SMALL)
    assert disc(torch.randn(2, 3, *size)).shape == (2,)


def test_generator_requires_its_condition():
    gen = ConvGenerator(8, 3, (8, 8), cond_channels=3, net=SMALL)
    with pytest.raises(ValueError, match=r"cond: this generator takes 3 condition channel"):
        gen(torch.randn(1, 8))


def test_parameter_counts_are_reported():
    model = FreqGAN(FreqGANConfig())  # the default: 96x128, haar 2 levels
    counts = {name: count_parameters(g) for name, g in model.generators.items()}
    assert all(c > 0 for c in counts.values())
    assert count_parameters(model) == sum(counts.values()) + count_parameters(model.baseline) + 1
