"""Training a layout-conditional FreqGAN on (image, label map) pairs: both stages and the control
train, layouts stay aligned with their images through augmentation, resume is exact, and
`freqaug train --conditional` reads labels/ with errors (or --skip-bad counts) that name the file."""
import dataclasses
import json

import cv2
import numpy as np
import pytest
import torch

from freqaug import cli
from freqaug.bands import BandSpec
from freqaug.data import CAMVID, DataError, load_segmentation, street_scene, synthetic_batch
from freqaug.models import FreqGANConfig, LayoutConfig, NetConfig
from freqaug.train import TrainConfig, Trainer, load_checkpoint, save_checkpoint
from freqaug.train.run import RunConfig

SMALL = NetConfig(base_channels=8, max_channels=16, min_size=4)
SIZE = (32, 48)
MODEL = FreqGANConfig(spec=BandSpec(levels=2), image_size=SIZE, z_dim=64, generator=SMALL, discriminator=SMALL,
                      layout=LayoutConfig(CAMVID, hidden=8))
TRAIN = TrainConfig(batch_size=4, r1_every=2, seed=1)


@pytest.fixture(scope="module")
def pairs():
    rgb, lab = synthetic_batch(8, size=SIZE, seed=3)
    return rgb * 2 - 1, lab


def _params(module):
    return torch.cat([p.detach().flatten() for p in module.parameters()]).clone()


def test_both_stages_train_on_pairs_and_fakes_follow_the_layouts(pairs):
    images, labels = pairs
    trainer = Trainer(MODEL, TRAIN, images, labels=labels)
    before = {"bands": _params(trainer.model.generators), "baseline": _params(trainer.model.baseline),
              "discs": _params(trainer.discriminators)}
    records = trainer.fit(2, 2, progress=False)
    assert [r["stage"] for r in records] == ["stage1"] * 2 + ["stage2"] * 2
    assert all(np.isfinite(v) for r in records for v in r.values() if isinstance(v, float))
    assert not torch.equal(before["bands"], _params(trainer.model.generators))
    assert not torch.equal(before["baseline"], _params(trainer.model.baseline))
    assert not torch.equal(before["discs"], _params(trainer.discriminators))
    z = trainer.ema.sample_z(1).expand(2, -1)
    out = trainer.ema(z, labels[:2])
    assert out.image.shape == (2, 3, *SIZE) and (out.image[0] - out.image[1]).abs().mean() > 1e-3


def test_single_control_and_finetuning_train_conditionally(pairs):
    images, labels = pairs
    single = Trainer(MODEL, TRAIN, images, labels=labels, single=True)
    before = _params(single.model.baseline)
    single.fit(1, 1, progress=False)
    assert not torch.equal(before, _params(single.model.baseline))
    finetune = Trainer(MODEL, TrainConfig(batch_size=4, finetune_bands=True), images, labels=labels)
    before = _params(finetune.model.generators)
    finetune.stage2_step()
    assert not torch.equal(before, _params(finetune.model.generators))


@pytest.mark.parametrize("finetune", [False, True], ids=["frozen-bands", "finetune-bands"])
def test_refining_baseline_trains_conditionally_and_follows_the_layout(pairs, finetune):
    images, labels = pairs
    model = dataclasses.replace(MODEL, baseline_input="band_image")
    trainer = Trainer(model, dataclasses.replace(TRAIN, finetune_bands=finetune), images, labels=labels)
    trainer.fit(1, 0, progress=False)
    before = _params(trainer.model.baseline)
    trainer.stage2_step()
    assert not torch.equal(before, _params(trainer.model.baseline))  # the zero-initialised refiner learns
    z = torch.randn(2, 64)
    with torch.no_grad():
        a, b = trainer.model(z, labels[:2]), trainer.model(z, labels[2:4])
    assert not torch.allclose(a.baseline, b.baseline)


def test_discriminators_see_each_layout_moved_with_its_image(pairs):
    """Translation and cutout act on image and layout together; colour on the image alone."""
    images, labels = pairs
    trainer = Trainer(MODEL, TrainConfig(batch_size=4, seed=5), images, labels=labels)
    layout = trainer.model.one_hot(labels[:4])
    seen = {}

    def disc(x, cond=None, layout=None):
        seen.update(x=x, layout=layout)
        return x.sum((1, 2, 3))

    picture = layout[:, :3].clone()  # an "image" that is its own layout's sky, building and pole channels
    trainer._judge(disc, picture, ("translation", "cutout"), layout=layout)
    assert torch.equal(seen["x"], seen["layout"][:, :3])
    assert not torch.equal(seen["layout"], layout)  # it did move
    trainer._judge(disc, picture, ("color",), layout=layout)
    assert torch.equal(seen["layout"], layout) and not torch.equal(seen["x"], picture)


def test_trainer_refuses_missing_or_bad_label_maps(pairs):
    images, labels = pairs
    with pytest.raises(ValueError, match=r"labels: this FreqGAN is conditional on 11-class layouts"):
        Trainer(MODEL, TRAIN, images)
    bad = labels.clone()
    bad[5, 0, 0] = 40
    with pytest.raises(ValueError, match=r"labels: ids \[40\] are outside the class list"):
        Trainer(MODEL, TRAIN, images, labels=bad)
    with pytest.raises(ValueError, match=r"labels: 7 label maps for 8 images"):
        Trainer(MODEL, TRAIN, images, labels=labels[:7])
    unconditional = FreqGANConfig(spec=BandSpec(levels=2), image_size=SIZE, z_dim=64, generator=SMALL,
                                  discriminator=SMALL)
    with pytest.raises(ValueError, match=r"labels: this FreqGAN is unconditional"):
        Trainer(unconditional, TRAIN, images, labels=labels)


def check_resume_equals_uninterrupted(config, pairs, tmp_path, split):
    """Train 3 + 2 steps straight, and ``split`` steps, checkpoint, resume to 3 + 2: the same model, EMA and
    discriminators (one process, one thread count). Returns (straight, first) for further checks."""
    images, labels = pairs
    straight = Trainer(MODEL, config, images, labels=labels)
    straight.fit(3, 2, progress=False)
    first = Trainer(MODEL, config, images, labels=labels)
    first.fit(*split, progress=False)
    path = save_checkpoint(first, tmp_path / "checkpoint.safetensors")
    resumed = Trainer(MODEL, config, images, labels=labels)
    load_checkpoint(resumed, path)
    resumed.fit(3, 2, progress=False)
    for a, b in [(straight.model, resumed.model), (straight.ema, resumed.ema),
                 (straight.discriminators, resumed.discriminators)]:
        assert torch.equal(_params(a), _params(b))
    return straight, first


@pytest.mark.parametrize("split", [(2, 0), (3, 1)], ids=["inside-stage1", "inside-stage2"])
def test_conditional_resume_equals_uninterrupted(pairs, tmp_path, split):
    check_resume_equals_uninterrupted(TRAIN, pairs, tmp_path, split)


# ---- freqaug train --conditional ----------------------------------------------------------------


def _write_pairs(root, n=6, size=SIZE):
    for i in range(n):
        rgb, lab = street_scene(i, size=size)
        (root / "images").mkdir(parents=True, exist_ok=True)
        (root / "labels").mkdir(exist_ok=True)
        cv2.imwrite(str(root / "images" / f"s{i}.png"), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
        cv2.imwrite(str(root / "labels" / f"s{i}.png"), lab)
    return root


def _tiny_config(tmp_path, model=MODEL):
    unconditional = FreqGANConfig.from_dict({k: v for k, v in model.to_dict().items() if k != "layout"})
    config = RunConfig(model=unconditional, train=TrainConfig(batch_size=4), stage1_steps=2, stage2_steps=1,
                       checkpoint_every=2, sample_every=2)
    path = tmp_path / "config.json"
    path.write_text(json.dumps(config.to_dict()))
    return path


def test_cli_trains_a_conditional_run_and_resumes(tmp_path):
    data, run = _write_pairs(tmp_path / "data"), tmp_path / "run"
    args = ["train", "--data", str(data), "--out", str(run), "--config", str(_tiny_config(tmp_path)), "--conditional"]
    assert cli.main(args) == 0
    saved = RunConfig.from_file(run / "config.json")
    assert saved.model.layout == LayoutConfig(CAMVID)
    assert (run / "samples" / "latest_layouts.png").read_bytes()[:4] == b"\x89PNG"
    assert (run / "samples" / "step_000002_layouts.png").is_file()
    config = json.loads((run / "config.json").read_text())
    config["stage2_steps"] = 3
    (run / "config.json").write_text(json.dumps(config))
    assert cli.main(["train", "--data", str(data), "--out", str(run), "--resume"]) == 0
    log = [json.loads(line) for line in (run / "log.jsonl").read_text().splitlines()]
    assert [(r["stage"], r["step"]) for r in log] == [("stage1", 1), ("stage1", 2), ("stage2", 1), ("stage2", 2),
                                                       ("stage2", 3)]
    assert cli.main(["train", "--data", str(data), "--out", str(run), "--resume", "--conditional"]) == 2


def test_cli_reads_a_class_list_file(tmp_path, capsys):
    data = _write_pairs(tmp_path / "data", n=4)
    classes = tmp_path / "classes.json"
    classes.write_text(json.dumps({"names": [f"c{i}" for i in range(11)], "palette": [[i, i, i] for i in range(11)],
                                   "ignore_index": 11}))
    run = tmp_path / "run"
    args = ["train", "--data", str(data), "--out", str(run), "--config", str(_tiny_config(tmp_path)), "--conditional",
            "--classes", str(classes)]
    assert cli.main(args) == 0
    assert RunConfig.from_file(run / "config.json").model.layout.classes.names[3] == "c3"
    classes.write_text(json.dumps({"names": ["a", "b"], "palette": [[0, 0, 0]]}))
    assert cli.main([*args[:4], str(tmp_path / "run2"), *args[5:]]) == 1
    assert f"{classes}: palette: expected one colour per class (2), got 1" in capsys.readouterr().err
    assert cli.main(["train", "--data", str(data), "--out", str(tmp_path / "r3"), "--classes", str(classes)]) == 2
    classes.write_text(json.dumps({"names": ["a", "b"], "palette": [[0, 0, 0], [1, 1, 1]], "ignore_idx": 11}))
    assert cli.main([*args[:4], str(tmp_path / "run4"), *args[5:]]) == 1  # a misspelt key is named, not ignored
    assert "ClassSet: unknown field(s) ['ignore_idx']; expected some of" in capsys.readouterr().err


@pytest.mark.parametrize("damage, match", [
    ("missing", r"labels/s2.png: label map missing for image .*images/s2.png"),
    ("size", r"labels/s2.png: label map is 24x16 \(WxH\) but its image is 48x32"),
    ("ids", r"labels/s2.png: label ids \[20\] are invalid; expected 0..10 or the ignore id 11"),
])
def test_bad_label_maps_are_named_or_skipped_with_a_count(tmp_path, capsys, damage, match):
    data = _write_pairs(tmp_path / "data", n=5)
    path = data / "labels" / "s2.png"
    if damage == "missing":
        path.unlink()
    elif damage == "size":
        cv2.imwrite(str(path), np.zeros((16, 24), np.uint8))
    else:
        lab = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
        lab[3, 3] = 20
        cv2.imwrite(str(path), lab)
    with pytest.raises(DataError, match=match):
        load_segmentation(data, SIZE)
    with pytest.warns(UserWarning) as record:
        images, labels = load_segmentation(data, SIZE, skip_bad=True)
    assert [str(w.message).startswith("skipped: ") and "s2.png" in str(w.message) for w in record] == [True, False]
    assert str(record[1].message).endswith("skipped 1 bad pair(s) of 5")
    assert images.shape == (4, 3, *SIZE) and labels.shape == (4, *SIZE) and labels.dtype == torch.uint8
    args = ["train", "--data", str(data), "--out", str(tmp_path / "run"), "--config", str(_tiny_config(tmp_path)),
            "--conditional"]
    assert cli.main(args) == 1
    assert "s2.png" in capsys.readouterr().err
    with pytest.warns(UserWarning) as record:
        assert cli.main([*args, "--skip-bad"]) == 0
    assert "s2.png" in str(record[0].message) and str(record[1].message).endswith("skipped 1 bad pair(s) of 5")
