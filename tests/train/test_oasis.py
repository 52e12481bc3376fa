"""OASIS image discriminator in training: the per-pixel (K+1)-class losses against hand-computed
values, stage 2 and the single control train with it, its loss on real pixels falls on a fixed batch,
the target layout moves with the image, resume is exact, and `freqaug train --conditional --oasis` selects it."""
import dataclasses
import math

import numpy as np
import pytest
import torch

from freqaug import cli
from freqaug.models import NetConfig, SegmentationDiscriminator
from freqaug.train import TrainConfig, Trainer, load_checkpoint, save_checkpoint
from freqaug.train.checkpoint import CheckpointError
from freqaug.train.losses import (
    balanced_class_weights, balanced_cross_entropy, d_oasis_loss, fake_class_cross_entropy, g_oasis_loss,
    labelmix_loss, labelmix_mask,
)
from freqaug.train.run import RunConfig
from tests.train.test_conditional import (  # noqa: F401 (pairs: a fixture)
    MODEL, TRAIN, _params, _tiny_config, _write_pairs, pairs,
)


def oasis_model(discriminator: NetConfig | None = None, image_discriminator: str = "oasis"):
    """test_conditional's tiny model with the given image discriminator (and discriminator widths)."""
    layout = dataclasses.replace(MODEL.layout, image_discriminator=image_discriminator)
    return dataclasses.replace(MODEL, layout=layout, discriminator=discriminator or MODEL.discriminator)


# ---- losses ------------------------------------------------------------------------------------

# one image, 1x5 pixels, K=3: classes 0 0 0 1 and one unlabelled pixel (all-zero one-hot)
LAYOUT = torch.tensor([[1, 1, 1, 0, 0], [0, 0, 0, 1, 0], [0, 0, 0, 0, 0]], dtype=torch.float32).view(1, 3, 1, 5)
LOGITS = torch.tensor([[2.0, 0.0, -1.0, 1.0, 9.0],
                       [0.0, 1.0, 0.0, 3.0, -9.0],
                       [0.0, 0.0, 0.5, 0.0, 9.0],
                       [1.0, 0.0, 0.0, -1.0, 9.0]]).view(1, 4, 1, 5)  # K + 1 = 4 rows: classes 0..2, fake


def _ce(column: int, target: int) -> float:
    values = LOGITS[0, :, 0, column].tolist()
    return -(values[target] - math.log(sum(math.exp(v) for v in values)))


def test_class_weights_are_inverse_pixel_frequency_without_the_unlabelled():
    # 4 labelled pixels, 2 present classes: 4 / (2 * 3) for class 0, 4 / (2 * 1) for class 1, 0 for absent class 2
    assert torch.allclose(balanced_class_weights(LAYOUT), torch.tensor([2 / 3, 2.0, 0.0]))
    assert torch.equal(balanced_class_weights(torch.zeros(1, 3, 2, 2)), torch.zeros(3))  # nothing labelled


def test_balanced_cross_entropy_by_hand():
    # the mean over present classes of each class's mean loss; the unlabelled pixel (logits 9) counts for nothing
    expected = 0.5 * ((_ce(0, 0) + _ce(1, 0) + _ce(2, 0)) / 3 + _ce(3, 1))
    assert balanced_cross_entropy(LOGITS, LAYOUT).item() == pytest.approx(expected, rel=1e-6)
    assert g_oasis_loss(LOGITS, LAYOUT).item() == pytest.approx(expected, rel=1e-6)
    # an unbalanced mean would be (3 * class-0 mean + class-1) / 4: different, so the weights act
    assert expected != pytest.approx(sum(_ce(i, t) for i, t in [(0, 0), (1, 0), (2, 0), (3, 1)]) / 4, rel=1e-3)


def test_fake_class_cross_entropy_by_hand_over_every_pixel():
    expected = sum(_ce(i, 3) for i in range(5)) / 5  # the unlabelled pixel counts too (as in OASIS)
    assert fake_class_cross_entropy(LOGITS).item() == pytest.approx(expected, rel=1e-6)
    two = torch.tensor([0.0, 0.0, 0.0, math.log(3.0)]).view(1, 4, 1, 1)  # p(fake) = 3 / 6
    assert fake_class_cross_entropy(two).item() == pytest.approx(math.log(2), rel=1e-6)
    d = d_oasis_loss(LOGITS, LAYOUT, LOGITS).item()
    assert d == pytest.approx(balanced_cross_entropy(LOGITS, LAYOUT).item() + expected, rel=1e-6)


def test_losses_refuse_logits_without_the_fake_channel():
    with pytest.raises(ValueError, match=r"logits: expected \(N, K\+1, H, W\) = \(1, 4, 1, 5\) for a layout "
                                         r"\(1, 3, 1, 5\), got \(1, 3, 1, 5\)"):
        balanced_cross_entropy(LOGITS[:, :3], LAYOUT)


# ---- training ----------------------------------------------------------------------------------


def test_stage2_and_single_control_train_with_the_oasis_discriminator(pairs):
    images, labels = pairs
    trainer = Trainer(oasis_model(), TRAIN, images, labels=labels)
    assert type(trainer.discriminators["image"]) is SegmentationDiscriminator and trainer.oasis
    trainer.fit(1, 0, progress=False)
    before = {"baseline": _params(trainer.model.baseline), "image": _params(trainer.discriminators["image"]),
              "alpha": _params(trainer.model.blend)}
    records = trainer.fit(1, 3, progress=False)
    assert [r["stage"] for r in records] == ["stage2"] * 3
    assert all(np.isfinite(v) for r in records for v in r.values() if isinstance(v, float))
    assert records[0]["d2"] == pytest.approx(2 * math.log(12), rel=0.2)  # ~ ln(K+1) twice at the start
    for name, module in [("baseline", trainer.model.baseline), ("image", trainer.discriminators["image"]),
                         ("alpha", trainer.model.blend)]:
        assert not torch.equal(before[name], _params(module)), name
    single = Trainer(oasis_model(), TRAIN, images, labels=labels, single=True)
    before = _params(single.model.baseline)
    single.fit(1, 1, progress=False)
    assert not torch.equal(before, _params(single.model.baseline))


def test_discriminator_loss_on_real_pixels_falls_on_a_fixed_batch(pairs):
    """D-only steps on one batch: its class-balanced loss on the real images falls below its start
    (~ln 12; 2.49 -> 1.94 here). 40 steps, not 20: the first ~10 mostly learn the "fake" class, which
    raises the loss on real pixels before it falls."""
    images, labels = pairs
    trainer = Trainer(oasis_model(NetConfig(base_channels=16, max_channels=32, min_size=4)),
                      TrainConfig(batch_size=4, seed=1, image_augment=()), images, labels=labels)
    real, lab = trainer.sample_pairs()
    layout = trainer.model.one_hot(lab)
    with torch.no_grad():
        fake = trainer.model(trainer.model.sample_z(4), lab).image
    disc = trainer.discriminators["image"]

    def real_loss() -> float:
        with torch.no_grad():
            return balanced_cross_entropy(disc(real), layout).item()

    start = real_loss()
    d_losses = []
    for step in range(40):
        loss = trainer._image_d_loss(disc, real, fake, layout, step)
        d_losses.append(loss.item())
        trainer._update("d2", loss)
    assert start == pytest.approx(math.log(12), rel=0.1)
    assert real_loss() < 0.85 * start
    assert sum(d_losses[-5:]) < 0.7 * sum(d_losses[:5])


def test_the_target_layout_moves_with_the_image(pairs):
    images, labels = pairs
    trainer = Trainer(oasis_model(), TrainConfig(batch_size=4, seed=5), images, labels=labels)
    layout = trainer.model.one_hot(labels[:4])
    picture = layout[:, :3].clone()  # an "image" that is its own layout's first three channels

    def disc(x):
        return torch.cat([x, x[:, :1]], dim=1).repeat(1, 3, 1, 1)[:, :12]

    logits, target = trainer._segment(disc, picture, ("translation", "cutout"), layout)
    assert torch.equal(logits[:, :3], target[:, :3]) and not torch.equal(target, layout)
    assert (target.sum(1) == 0).any()  # emptied pixels have no class: no loss on real


@pytest.mark.parametrize("split", [(1, 1), (1, 2)], ids=["at-stage2-start", "inside-stage2"])
def test_oasis_resume_equals_uninterrupted(pairs, tmp_path, split):
    images, labels = pairs
    straight = Trainer(oasis_model(), TRAIN, images, labels=labels)
    straight.fit(1, 3, progress=False)
    first = Trainer(oasis_model(), TRAIN, images, labels=labels)
    first.fit(*split, progress=False)
    path = save_checkpoint(first, tmp_path / "checkpoint.safetensors")
    resumed = Trainer(oasis_model(), TRAIN, images, labels=labels)
    load_checkpoint(resumed, path)
    resumed.fit(1, 3, progress=False)
    for a, b in [(straight.model, resumed.model), (straight.ema, resumed.ema),
                 (straight.discriminators, resumed.discriminators)]:
        assert torch.equal(_params(a), _params(b))
    concat = Trainer(oasis_model(image_discriminator="concat"), TRAIN, images, labels=labels)
    with pytest.raises(CheckpointError, match="model_config differs"):
        load_checkpoint(concat, path)


def test_cli_trains_with_the_oasis_discriminator(tmp_path, capsys):
    data, run = _write_pairs(tmp_path / "data", n=4), tmp_path / "run"
    args = ["train", "--data", str(data), "--out", str(run), "--config", str(_tiny_config(tmp_path)), "--conditional",
            "--oasis"]
    assert cli.main(args) == 0
    assert RunConfig.from_file(run / "config.json").model.layout.image_discriminator == "oasis"
    assert cli.main(["train", "--data", str(data), "--out", str(tmp_path / "r2"), "--oasis"]) == 2
    assert "--oasis sets the image discriminator of a --conditional model" in capsys.readouterr().err


# ---- LabelMix ----------------------------------------------------------------------------------


def test_labelmix_mask_gives_each_class_region_wholly_to_one_side():
    layout = torch.nn.functional.one_hot(torch.randint(0, 4, (64, 6, 8)), 5).permute(0, 3, 1, 2).float()
    layout[:, :, 0, 0] = 0  # one pixel of no class per sample
    mask = labelmix_mask(layout, torch.Generator().manual_seed(0))
    assert mask.shape == (64, 1, 6, 8) and set(mask.unique().tolist()) <= {0.0, 1.0}
    assert (mask[:, 0, 0, 0] == 0).all()  # no class: the fake's pixel
    classes = layout.argmax(1)
    for n in range(64):
        for c in classes[n].unique():
            inside = mask[n, 0][(classes[n] == c) & (layout[n].sum(0) > 0)]
            assert inside.min() == inside.max()  # one coin per sample and class
    picks = torch.stack([mask[n, 0][(classes[n] == 0) & (layout[n].sum(0) > 0)][0] for n in range(64)])
    assert 0.2 < picks.mean().item() < 0.8  # a fair coin, not always the same side


def test_labelmix_loss_is_zero_for_a_consistent_discriminator_and_positive_otherwise():
    mask = torch.tensor([1.0, 1.0, 0.0, 0.0]).view(1, 1, 1, 4)
    real, fake = torch.randn(1, 3, 1, 4), torch.randn(1, 3, 1, 4)
    mixed = mask * real + (1 - mask) * fake
    assert labelmix_loss(mixed, real, fake, mask).item() == 0  # a per-pixel D is consistent
    swapped = (1 - mask) * real + mask * fake
    expected = ((swapped - mixed) ** 2).mean().item()
    assert labelmix_loss(swapped, real, fake, mask).item() == pytest.approx(expected, rel=1e-6) and expected > 0


def test_labelmix_enters_the_discriminator_loss_and_needs_the_oasis_discriminator(pairs):
    images, labels = pairs
    plain = TrainConfig(batch_size=4, seed=2, image_augment=())
    with_mix = dataclasses.replace(plain, labelmix=10.0)
    trainers = [Trainer(oasis_model(), cfg, images, labels=labels) for cfg in (plain, with_mix)]
    real, lab = trainers[0].sample_pairs()
    layout = trainers[0].model.one_hot(lab)
    with torch.no_grad():
        fake = trainers[0].model(trainers[0].model.sample_z(4), lab).image
    disc = trainers[0].discriminators["image"]
    state = trainers[1].rng.get_state()
    base, mixed = (t._image_d_loss(disc, real, fake, layout, 1) for t in trainers)
    trainers[1].rng.set_state(state)  # the same mask again
    term = trainers[1]._labelmix(disc, real, fake, layout).item()
    assert term > 0 and mixed.item() - base.item() == pytest.approx(10 * term, abs=2e-5)
    records = trainers[1].fit(1, 2, progress=False)
    assert all(np.isfinite(r["d2"]) for r in records if r["stage"] == "stage2")
    with pytest.raises(ValueError, match="LabelMix needs the OASIS image discriminator"):
        Trainer(oasis_model(image_discriminator="concat"), with_mix, images, labels=labels)
    with pytest.raises(ValueError, match="TrainConfig.labelmix: expected a finite number >= 0"):
        TrainConfig(labelmix=-1.0)


def test_cli_sets_the_labelmix_weight(tmp_path):
    data, run = _write_pairs(tmp_path / "data", n=4), tmp_path / "run"
    args = ["train", "--data", str(data), "--out", str(run), "--config", str(_tiny_config(tmp_path)), "--conditional",
            "--oasis", "--labelmix", "10"]
    assert cli.main(args) == 0
    assert RunConfig.from_file(run / "config.json").train.labelmix == 10.0
    assert cli.main(["train", "--data", str(data), "--out", str(tmp_path / "r2"), "--conditional", "--labelmix", "10",
                     "--config", str(_tiny_config(tmp_path))]) == 1  # the concat D: a clear error
