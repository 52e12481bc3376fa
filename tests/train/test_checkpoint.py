"""Resume: N steps + checkpoint + N steps == 2N steps; damaged checkpoints are named; stage 2 can start
from another run's stage 1."""
import dataclasses

import pytest
import torch

from freqaug.bands import BandSpec
from freqaug.data import synthetic_batch
from freqaug.models import FreqGANConfig, NetConfig
from freqaug.train import CheckpointError, TrainConfig, Trainer, load_checkpoint, load_stage1, save_checkpoint

SMALL = NetConfig(base_channels=8, max_channels=16, min_size=4)
MODEL = FreqGANConfig(spec=BandSpec(levels=2), image_size=(32, 48), z_dim=64, generator=SMALL,
                      discriminator=SMALL, cascade={"LH1": ["LL2"]})
TRAIN = TrainConfig(batch_size=4, r1_every=2, seed=1)


@pytest.fixture(scope="module")
def images():
    return synthetic_batch(10, size=(32, 48), seed=2)[0] * 2 - 1


def _state(trainer):
    return {k: v.clone() for k, v in {**trainer.model.state_dict(), **{"ema." + k: v for k, v in trainer.ema.state_dict().items()},
                                      **{"d." + k: v for k, v in trainer.discriminators.state_dict().items()}}.items()}


@pytest.mark.parametrize("train", [TRAIN, dataclasses.replace(TRAIN, band_updates={"LL2": 3})], ids=["", "band_updates"])
@pytest.mark.parametrize("split", [(2, 0), (4, 1)], ids=["inside-stage1", "inside-stage2"])
def test_resume_equals_uninterrupted(images, tmp_path, split, train):
    straight = Trainer(MODEL, train, images)
    straight.fit(4, 2, progress=False)

    first = Trainer(MODEL, train, images)
    first.fit(*split, progress=False)
    path = save_checkpoint(first, tmp_path / "checkpoint.safetensors")
    resumed = Trainer(MODEL, train, images)
    load_checkpoint(resumed, path)
    assert resumed.step == {"stage1": split[0], "stage2": split[1]}
    resumed.fit(4, 2, progress=False)

    a, b = _state(straight), _state(resumed)
    assert a.keys() == b.keys()
    for key in a:
        torch.testing.assert_close(a[key], b[key], rtol=0, atol=0, msg=key)


def test_checkpoint_is_not_a_pickle_and_is_written_atomically(images, tmp_path):
    trainer = Trainer(MODEL, TRAIN, images)
    path = save_checkpoint(trainer, tmp_path / "run" / "checkpoint.safetensors")
    assert path.read_bytes()[:8] != b"\x80\x04\x95"[:8]  # not a pickle stream
    assert [p.name for p in path.parent.iterdir()] == ["checkpoint.safetensors"]  # no temp file left


def test_truncated_checkpoint_is_named(images, tmp_path):
    trainer = Trainer(MODEL, TRAIN, images)
    path = save_checkpoint(trainer, tmp_path / "checkpoint.safetensors")
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    with pytest.raises(CheckpointError, match="checkpoint.safetensors"):
        load_checkpoint(Trainer(MODEL, TRAIN, images), path)


def test_missing_checkpoint_is_named(images, tmp_path):
    with pytest.raises(CheckpointError, match=r"nowhere.safetensors: no checkpoint file"):
        load_checkpoint(Trainer(MODEL, TRAIN, images), tmp_path / "nowhere.safetensors")


def test_checkpoint_of_another_model_is_refused(images, tmp_path):
    path = save_checkpoint(Trainer(MODEL, TRAIN, images), tmp_path / "checkpoint.safetensors")
    other = FreqGANConfig(spec=BandSpec(levels=1), image_size=(32, 48), z_dim=64, generator=SMALL, discriminator=SMALL)
    with pytest.raises(CheckpointError, match="model_config differs"):
        load_checkpoint(Trainer(other, TRAIN, images), path)


def test_single_checkpoint_does_not_load_into_a_band_trainer(images, tmp_path):
    single = Trainer(MODEL, TRAIN, images, single=True)
    path = save_checkpoint(single, tmp_path / "checkpoint.safetensors")
    with pytest.raises(CheckpointError, match="single-GAN control checkpoint"):
        load_checkpoint(Trainer(MODEL, TRAIN, images), path)


# ---- stage 2 from another run's stage 1 ---------------------------------------------------------

REFINE = dataclasses.replace(MODEL, baseline_input="band_image", alpha_init=0.8)


def test_load_stage1_reuses_the_band_gans_and_starts_stage2_new(images, tmp_path):
    first = Trainer(MODEL, TRAIN, images)
    first.fit(3, 2, progress=False)
    path = save_checkpoint(first, tmp_path / "checkpoint.safetensors")
    second = Trainer(REFINE, dataclasses.replace(TRAIN, lr_alpha=0.1), images)
    load_stage1(second, path)
    assert second.step == {"stage1": 3, "stage2": 0}
    for ours, theirs in ((second.model, first.model), (second.ema, first.ema)):
        for key, value in theirs.state_dict().items():
            if key.startswith(("generators.", "band_", "noise.", "image_color")):
                torch.testing.assert_close(ours.state_dict()[key], value, rtol=0, atol=0, msg=key)
    theirs = first.discriminators.state_dict()
    for key, value in second.discriminators.state_dict().items():
        if not key.startswith("image."):  # band Ds reused
            torch.testing.assert_close(value, theirs[key], rtol=0, atol=0, msg=key)
    image_d = [k for k, _ in second.discriminators.named_parameters() if k.startswith("image.")]
    assert image_d and not any(torch.equal(second.discriminators.state_dict()[k], theirs[k]) for k in image_d)
    assert abs(second.model.blend.alpha.item() - 0.8) < 1e-6  # the new blend, not the checkpoint's
    records = second.fit(3, 2, progress=False)
    assert [r["stage"] for r in records] == ["stage2", "stage2"]  # stage 1 is done: it is not rerun


def test_load_stage1_refuses_other_band_settings_and_used_trainers(images, tmp_path):
    path = save_checkpoint(Trainer(MODEL, TRAIN, images), tmp_path / "checkpoint.safetensors")
    other = dataclasses.replace(MODEL, cascade={"HL1": ["LL2"]})
    with pytest.raises(CheckpointError, match=r"model_config differs in \['cascade'\]; only"):
        load_stage1(Trainer(other, TRAIN, images), path)
    used = Trainer(MODEL, TRAIN, images)
    used.fit(1, 0, progress=False)
    with pytest.raises(CheckpointError, match="load_stage1 needs a new trainer"):
        load_stage1(used, path)
    with pytest.raises(CheckpointError, match="needs a band-GAN checkpoint"):
        load_stage1(Trainer(MODEL, TRAIN, images, single=True), path)


def test_single_control_refuses_a_refining_baseline(images):
    with pytest.raises(ValueError, match=r"baseline_input = 'band_image': the single-GAN control"):
        Trainer(REFINE, TRAIN, images, single=True)
