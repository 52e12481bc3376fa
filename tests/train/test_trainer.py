"""Two-stage training end to end on tiny drawn scenes: every band kind trains, alpha moves,
EMA follows, losses and augmentation behave."""
import math

import pytest
import torch

from freqaug.bands import BandSpec
from freqaug.data import synthetic_batch
from freqaug.models import FreqGANConfig, NetConfig
from freqaug.train import (
    TrainConfig,
    Trainer,
    d_hinge_loss,
    d_logistic_loss,
    diff_augment,
    ema_update,
    g_nonsaturating_loss,
    r1_penalty,
)

SMALL = NetConfig(base_channels=8, max_channels=16, min_size=4)
SIZE = (32, 48)


@pytest.fixture(scope="module")
def images():
    rgb, _ = synthetic_batch(12, size=SIZE, seed=0)
    return rgb * 2 - 1


def make_trainer(images, spec=BandSpec(kind="dwt", wavelet="haar", levels=2), **train_kw):
    model_config = FreqGANConfig(spec=spec, image_size=SIZE, z_dim=64, generator=SMALL, discriminator=SMALL,
                                 cascade=train_kw.pop("cascade", {}))
    return Trainer(model_config, TrainConfig(batch_size=4, r1_every=2, **train_kw), images)


def _params(module):
    return torch.cat([p.detach().flatten() for p in module.parameters()]).clone()


@pytest.mark.parametrize(
    "spec",
    [BandSpec(kind="dwt", wavelet="haar", levels=2), BandSpec(kind="dct", cutoff=0.3),
     BandSpec(kind="fourier", cutoff=0.3, transition=0.1)],
    ids=["dwt", "dct", "fourier"],
)
def test_each_kind_trains_end_to_end(images, spec):
    trainer = make_trainer(images, spec)
    before = {name: _params(g) for name, g in trainer.model.generators.items()}
    records = trainer.fit(3, 2, progress=False)
    assert [r["stage"] for r in records] == ["stage1"] * 3 + ["stage2"] * 2
    assert all(torch.isfinite(torch.tensor(v)) for r in records for v in r.values() if isinstance(v, float))
    for name, g in trainer.model.generators.items():
        assert not torch.equal(before[name], _params(g)), f"generator {name} did not train"
    sample = trainer.ema(trainer.ema.sample_z(2)).image
    assert sample.shape == (2, 3, *SIZE) and torch.isfinite(sample).all()


def test_stage2_moves_alpha_and_keeps_band_generators_fixed(images):
    trainer = make_trainer(images, lr_g=0.05)
    trainer.stage1_step()  # EMA of the band generators now differs from their raw weights
    bands_before = _params(trainer.model.generators)
    ema_bands_before = _params(trainer.ema.generators)
    alpha_before = trainer.model.blend.alpha.item()
    baseline_before = _params(trainer.model.baseline)
    for _ in range(3):
        record = trainer.stage2_step()
    assert record["alpha"] != alpha_before and 0 < record["alpha"] < 1
    assert torch.equal(bands_before, _params(trainer.model.generators))
    assert torch.equal(ema_bands_before, _params(trainer.ema.generators))  # frozen: the average is kept
    assert not torch.equal(baseline_before, _params(trainer.model.baseline))


def test_stage2_finetunes_band_generators_when_asked(images):
    trainer = make_trainer(images, finetune_bands=True)
    before = _params(trainer.model.generators)
    trainer.stage2_step()
    assert not torch.equal(before, _params(trainer.model.generators))


def test_cascade_trains_on_the_real_sources(images):
    trainer = make_trainer(images, cascade={"LH1": ["LL2"]})
    before = _params(trainer.model.generators["LH1"])
    trainer.stage1_step()
    assert not torch.equal(before, _params(trainer.model.generators["LH1"]))


def test_band_statistics_come_from_the_training_set(images):
    trainer = make_trainer(images)
    i = trainer.model.band_names.index("HH1")
    assert 0 < float(trainer.model.band_scale[i].mean()) < 0.5  # detail bands are small
    torch.testing.assert_close(trainer.ema.band_scale, trainer.model.band_scale)


def test_same_seed_same_training(images):
    a, b = make_trainer(images, seed=3), make_trainer(images, seed=3)
    a.fit(2, 1, progress=False)
    b.fit(2, 1, progress=False)
    torch.testing.assert_close(_params(a.model), _params(b.model))


def test_rejects_images_of_the_wrong_size(images):
    with pytest.raises(ValueError, match=r"images: expected \(N, 3, 32, 48\)"):
        make_trainer(images[:, :, :30])


@pytest.mark.parametrize(
    "kwargs, match",
    [({"loss": "wgan"}, "TrainConfig.loss"),
     ({"band_augment": ("rotate",)}, r"TrainConfig.band_augment: unknown op\(s\) \['rotate'\]"),
     ({"batch_size": 0}, "TrainConfig.batch_size"), ({"lr_g": 0.0}, "TrainConfig.lr_g"),
     ({"band_updates": {"LL2": 0}}, r"TrainConfig.band_updates\['LL2'\]: expected a positive integer, got 0"),
     ({"band_updates": ["LL2"]}, r"TrainConfig.band_updates: expected a mapping band -> updates"),
     ({"r1_gamma": -10}, r"TrainConfig.r1_gamma: expected a finite number >= 0, got -10"),
     ({"betas": [0.5]}, r"TrainConfig.betas: expected a pair \[a, b\] of numbers in \[0, 1\), got \[0.5\]"),
     ({"betas": [1.5, 0.99]}, r"TrainConfig.betas\[0\]: expected a finite number >= 0 and < 1, got 1.5"),
     ({"lr_g": "x"}, r"TrainConfig.lr_g: expected a finite number > 0, got 'x'"),
     ({"lr_d": float("nan")}, r"TrainConfig.lr_d: expected a finite number > 0, got nan"),
     ({"ema_rampup": "x"}, r"TrainConfig.ema_rampup: expected a finite number >= 0 and <= 1, got 'x'"),
     ({"seed": "x"}, r"TrainConfig.seed: expected an integer >= 0 and < 2\*\*63, got 'x'"),
     ({"finetune_bands": 1}, r"TrainConfig.finetune_bands: expected true or false, got 1")],
)
def test_invalid_train_config(kwargs, match):
    with pytest.raises(ValueError, match=match):
        TrainConfig(**kwargs)


@pytest.mark.parametrize("data, error, match", [
    ([1, 2], TypeError, "TrainConfig: expected a mapping of fields, got list"),
    ({"r1_gama": 1}, ValueError, r"TrainConfig: unknown field\(s\) \['r1_gama'\]; expected some of"),
    ({"cascade_inputs": "generated"}, ValueError, r"TrainConfig: unknown field\(s\) \['cascade_inputs'\]"),
])
def test_train_config_from_dict_names_what_is_wrong(data, error, match):
    with pytest.raises(error, match=match):
        TrainConfig.from_dict(data)


def test_a_config_written_with_the_retired_cascade_inputs_real_still_loads():
    assert TrainConfig.from_dict({"cascade_inputs": "real", "batch_size": 4}) == TrainConfig(batch_size=4)


@pytest.mark.parametrize("band_updates", [{"LL2": 4}, {}, {"coarse": 8}])
def test_train_config_round_trip(band_updates):
    config = TrainConfig(batch_size=8, band_augment=("cutout",), band_updates=band_updates)
    assert TrainConfig.from_dict(config.to_dict()) == config and config.to_dict()["band_updates"] == band_updates


def test_the_coarse_band_gets_8_updates_by_default():
    assert TrainConfig().band_updates == {"coarse": 8}
    data = TrainConfig().to_dict()
    del data["band_updates"]  # a config written before the field existed
    assert TrainConfig.from_dict(data).band_updates == {"coarse": 8}


def _adam_steps(trainer, opt, module):
    return {int(trainer.opt[opt].state[p]["step"]) for p in module.parameters() if p in trainer.opt[opt].state}


def test_band_updates_give_named_bands_more_updates_per_step(images):
    trainer = make_trainer(images, cascade={"LH1": ["LL2"]}, band_updates={"LH1": 3, "HH2": 2})
    trainer.fit(2, 0, progress=False)
    counts = {"LH1": 6, "HH2": 4, "LL2": 2, "HL1": 2}  # two steps: 1 update each, plus the extra ones
    for band, count in counts.items():
        assert _adam_steps(trainer, "g1", trainer.model.generators[band]) == {count}, band
        assert _adam_steps(trainer, "d1", trainer.discriminators[band]) == {count}, band
    assert trainer.step["stage1"] == 2


@pytest.mark.parametrize("spec", [BandSpec(kind="dwt", wavelet="haar", levels=2), BandSpec(kind="dct", cutoff=0.3)],
                         ids=["dwt", "dct"])
def test_coarse_names_the_coarse_band_of_any_transform(images, spec):
    trainer = make_trainer(images, spec=spec, band_updates={"coarse": 3})
    assert trainer.band_updates == {spec.band_names[0]: 3}
    trainer.fit(1, 0, progress=False)
    for band in spec.band_names:
        assert _adam_steps(trainer, "g1", trainer.model.generators[band]) == {3 if band == spec.band_names[0] else 1}


@pytest.mark.parametrize(
    "band_updates, match",
    [({"LL3": 2}, r"TrainConfig.band_updates: unknown band 'LL3'; the model has \['LL2', 'LH2'.*\] \(or 'coarse' "
                  r"for LL2\)"),
     ({"coarse": 2, "LL2": 3}, r"TrainConfig.band_updates: 'coarse' is LL2 in this model, and both are given")],
)
def test_band_updates_name_known_bands_once(images, band_updates, match):
    with pytest.raises(ValueError, match=match):
        make_trainer(images, band_updates=band_updates)


def test_ancestors_follow_the_cascade_through_every_level(images):
    trainer = make_trainer(images, cascade={"LH1": ["LH2"], "LH2": ["LL2"], "HH1": ["LL2"]})
    assert trainer.model.ancestors(["LH1"]) == {"LH2", "LL2"}
    assert trainer.model.ancestors(["HH1", "LH2"]) == {"LL2"}
    assert trainer.model.ancestors(["LL2"]) == set()


# ---- pieces ---------------------------------------------------------------------------------


def test_losses_prefer_the_right_answer():
    good, bad = torch.full((4,), 5.0), torch.full((4,), -5.0)
    assert d_logistic_loss(good, bad) < d_logistic_loss(bad, good)
    assert d_hinge_loss(good, bad) == 0
    assert g_nonsaturating_loss(good) < g_nonsaturating_loss(bad)


def test_r1_penalty_matches_the_analytic_gradient():
    x = torch.randn(3, 2, 4, 4, requires_grad=True)
    logits = (x * 2).flatten(1).sum(1)  # dD/dx = 2 everywhere
    torch.testing.assert_close(r1_penalty(logits, x), torch.tensor(4.0 * 32))


def test_ema_update_moves_towards_the_model():
    ema, model = torch.nn.Linear(2, 2), torch.nn.Linear(2, 2)
    before = ema.weight.detach().clone()
    ema_update(ema, model, beta=0.75)
    torch.testing.assert_close(ema.weight, 0.75 * before + 0.25 * model.weight.detach())


@pytest.mark.parametrize("policy", [("color",), ("translation",), ("cutout",), ("color", "translation", "cutout")])
def test_diff_augment_is_differentiable_and_seeded(policy):
    x = torch.rand(4, 3, 16, 20, requires_grad=True)
    a = diff_augment(x, policy, generator=torch.Generator().manual_seed(0))
    b = diff_augment(x, policy, generator=torch.Generator().manual_seed(0))
    torch.testing.assert_close(a, b)
    assert a.shape == x.shape and not torch.equal(a, x)
    a.sum().backward()
    assert x.grad is not None and torch.isfinite(x.grad).all()


def test_translation_shifts_content():
    x = torch.zeros(64, 1, 8, 8)
    x[:, :, 4, 4] = 1
    moved = diff_augment(x, ("translation",), generator=torch.Generator().manual_seed(1))
    assert (moved.flatten(1).sum(1) <= 1).all()  # a shifted dot, or shifted out of the frame
    positions = moved.flatten(1).argmax(1)
    assert len(positions.unique()) > 1


def test_unknown_policy():
    with pytest.raises(ValueError, match=r"policy: unknown op 'rotate'"):
        diff_augment(torch.rand(1, 1, 4, 4), ("rotate",))


def test_single_gan_control_trains_the_baseline_alone(images):
    model_config = FreqGANConfig(spec=BandSpec(levels=2), image_size=SIZE, z_dim=64, generator=SMALL, discriminator=SMALL)
    trainer = Trainer(model_config, TrainConfig(batch_size=4, r1_every=2), images, single=True)
    bands, alpha, baseline = _params(trainer.model.generators), _params(trainer.model.blend), _params(trainer.model.baseline)
    records = trainer.fit(2, 1, progress=False)
    assert [r["stage"] for r in records] == ["single"] * 3  # the same step budget as both stages
    assert torch.equal(bands, _params(trainer.model.generators)) and torch.equal(alpha, _params(trainer.model.blend))
    assert not torch.equal(baseline, _params(trainer.model.baseline))


def test_bf16_autocast_trains_both_stages_with_float32_weights(images):
    trainer = make_trainer(images, amp="bf16")
    before = _params(trainer.model)
    records = trainer.fit(2, 2, progress=False)
    assert all(math.isfinite(v) for r in records for v in r.values() if isinstance(v, float))
    assert all(p.dtype == torch.float32 for p in trainer.model.parameters())
    assert not torch.equal(before, _params(trainer.model))


def test_amp_setting_is_validated():
    with pytest.raises(ValueError, match="TrainConfig.amp: expected 'off' or 'bf16', got 'fp8'"):
        TrainConfig(amp="fp8")


@pytest.mark.parametrize("rampup", [0.0, 0.1])
def test_ema_rampup_lets_a_fresh_generator_through_early(images, rampup):
    trainer = make_trainer(images, ema_rampup=rampup, ema_half_life_images=10_000)
    start = _params(trainer.ema)
    trainer.stage1_step()
    gap_to_model = (_params(trainer.ema) - _params(trainer.model)).abs().max().item()
    moved = (_params(trainer.ema) - start).abs().max().item()
    if rampup:  # half-life 0.1 * batch: the EMA is (almost) the model after one step
        assert gap_to_model < 1e-2 * moved
    else:  # half-life 10k images: the EMA barely leaves its start
        assert gap_to_model > 100 * moved


def test_band_discriminators_see_sources_moved_with_their_band(images):
    """A cascade band and its sources (resized to its grid) go through the same translation and
    cutout, so real (band, sources) pairs stay aligned; colour touches the band alone."""
    trainer = make_trainer(images, seed=3, cascade={"LH1": ["LL2"]})
    seen = {}

    def disc(x, cond=None):
        seen.update(x=x, cond=cond)
        return x.sum((1, 2, 3))

    band = torch.rand(4, 3, 16, 24) + 0.5
    trainer._judge(disc, band, ("translation", "cutout"), band.clone())  # sources equal to the band
    assert not torch.equal(seen["x"], band)  # it did move
    assert torch.equal(seen["x"], seen["cond"])  # and its sources with it
    coarse = torch.nn.functional.avg_pool2d(band, 2)  # a level-2 source of a level-1 band
    trainer._judge(disc, band, ("translation", "cutout"), coarse)
    assert seen["cond"].shape == band.shape
    assert torch.equal(seen["x"].eq(0).all(1), seen["cond"].eq(0).all(1))  # emptied pixels line up
    trainer._judge(disc, band, ("color",), coarse)
    assert torch.equal(seen["cond"], coarse) and not torch.equal(seen["x"], band)
