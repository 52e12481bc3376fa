"""Semantic consistency: a frozen segnet reads the generated images and the generators match their layouts.

The loss against hand-computed values, the gradient reaching the generators but not the segnet, both
stages recording it, an interrupted run resuming to the uninterrupted weights, the CLI run and its
provenance, and every refusal (unconditional model, a segnet of other
classes, a weight without a file, the CLI's missing file and missing --conditional)."""
import dataclasses
import json
import math

import numpy as np
import pytest
import torch

from freqaug import cli
from freqaug._files import sha256_file
from freqaug.bundle import load_bundle
from freqaug.metrics.segnet import SegNet, SegNetConfig, save_segnet
from freqaug.train import TrainConfig, Trainer, semantic_loss
from freqaug.train.run import RunConfig
from tests.train.test_conditional import (  # noqa: F401
    MODEL, TRAIN, _params, _tiny_config, _write_pairs, check_resume_equals_uninterrupted, pairs,
)
from tests.train.test_oasis import LAYOUT, LOGITS

K = MODEL.layout.num_classes


def _ce3(column: int, target: int) -> float:
    values = LOGITS[0, :3, 0, column].tolist()  # the first K = 3 rows: a segnet has no "fake" class
    return -(values[target] - math.log(sum(math.exp(v) for v in values)))


def test_semantic_loss_by_hand():
    expected = 0.5 * ((_ce3(0, 0) + _ce3(1, 0) + _ce3(2, 0)) / 3 + _ce3(3, 1))  # class-balanced, unlabelled pixel out
    assert semantic_loss(LOGITS[:, :3], LAYOUT).item() == pytest.approx(expected, rel=1e-6)
    with pytest.raises(ValueError, match=r"logits: expected the layout's shape \(N, K, H, W\)"):
        semantic_loss(LOGITS, LAYOUT)  # K + 1 channels: not a segnet's


@pytest.fixture(scope="module")
def segnet_file(tmp_path_factory):
    torch.manual_seed(0)
    path = tmp_path_factory.mktemp("segnet") / "segnet.safetensors"
    save_segnet(SegNet(SegNetConfig(num_classes=K, width=4)), path)
    return path


def _semantic(segnet_file, weight=1.0, **changes):
    return dataclasses.replace(TRAIN, semantic=weight, semantic_segnet=str(segnet_file), **changes)


def test_the_loss_reaches_the_generators_and_not_the_segnet(pairs, segnet_file):
    images, labels = pairs
    trainer = Trainer(MODEL, _semantic(segnet_file, 2.5, image_augment=()), images, labels=labels)
    layout = trainer.model.one_hot(labels[:4])
    fake = trainer.model(trainer.model.sample_z(4), labels[:4]).image
    value = trainer._semantic(fake, layout)
    expected = 2.5 * semantic_loss(trainer.segmenter((fake + 1) / 2), layout)  # no augmentation: the plain reading
    assert value.item() == pytest.approx(expected.item(), rel=1e-5)
    value.backward()
    assert all(p.grad is None for p in trainer.segmenter.parameters())  # frozen
    grads = [p.grad for p in trainer.model.generators.parameters() if p.grad is not None]
    assert grads and any(float(g.abs().sum()) > 0 for g in grads)


def test_both_stages_record_it_and_it_changes_the_generator_update(pairs, segnet_file):
    images, labels = pairs
    plain, semantic = (Trainer(MODEL, cfg, images, labels=labels) for cfg in (TRAIN, _semantic(segnet_file, 10.0)))
    assert torch.equal(_params(plain.model.generators), _params(semantic.model.generators))  # the same start
    records = semantic.fit(1, 1, progress=False)
    plain.fit(1, 1, progress=False)
    assert np.isfinite(records[0]["sem1"]) and records[0]["sem1"] > 0 and np.isfinite(records[1]["sem2"])
    assert "sem1" not in plain.fit(2, 1, progress=False)[0]
    assert not torch.equal(_params(plain.model.generators), _params(semantic.model.generators))


@pytest.mark.parametrize("split", [(2, 0), (3, 1)], ids=["inside-stage1", "inside-stage2"])
def test_semantic_resume_equals_uninterrupted(pairs, segnet_file, tmp_path, split):
    # with the default image augmentation: its random draws resume too
    straight, first = check_resume_equals_uninterrupted(_semantic(segnet_file, 2.0), pairs, tmp_path, split)
    assert not torch.equal(_params(straight.model), _params(first.model))  # the resumed part did train


def test_refusals_name_the_field_or_file(pairs, segnet_file, tmp_path):
    images, labels = pairs
    with pytest.raises(ValueError, match="needs both a weight > 0 and a segnet file"):
        TrainConfig(semantic=1.0)
    with pytest.raises(ValueError, match="needs both a weight > 0 and a segnet file"):
        TrainConfig(semantic_segnet=str(segnet_file))
    with pytest.raises(ValueError, match="TrainConfig.semantic: expected a finite number >= 0"):
        TrainConfig(semantic=-1.0, semantic_segnet=str(segnet_file))
    unconditional = dataclasses.replace(MODEL, layout=None)
    with pytest.raises(ValueError, match="it needs a conditional model"):
        Trainer(unconditional, _semantic(segnet_file), images)
    other = tmp_path / "other.safetensors"
    save_segnet(SegNet(SegNetConfig(num_classes=K + 2, width=4)), other)
    with pytest.raises(ValueError, match=f"{other}: the segnet reads 3 channel.*predicts {K + 2} classes"):
        Trainer(MODEL, _semantic(other), images, labels=labels)


def test_cli_trains_with_a_segnet_and_refuses_a_missing_one(tmp_path, segnet_file, capsys):
    data = _write_pairs(tmp_path / "data", n=4)
    base = ["train", "--data", str(data), "--config", str(_tiny_config(tmp_path)), "--quiet"]
    assert cli.main([*base, "--out", str(tmp_path / "a"), "--semantic", str(tmp_path / "none.safetensors"),
                     "--conditional"]) == 1
    assert "none.safetensors: no such segnet file" in capsys.readouterr().err
    assert cli.main([*base, "--out", str(tmp_path / "b"), "--semantic", str(segnet_file)]) == 2
    assert "add --conditional" in capsys.readouterr().err
    run = tmp_path / "c"
    assert cli.main([*base, "--out", str(run), "--semantic", str(segnet_file), "--semantic-weight", "0.5",
                     "--conditional"]) == 0
    saved = RunConfig.from_dict(json.loads((run / "config.json").read_text())).train
    assert saved.semantic == 0.5 and saved.semantic_segnet == str(segnet_file)
    log = [json.loads(line) for line in (run / "log.jsonl").read_text().splitlines()]
    assert any("sem1" in r for r in log) and any("sem2" in r for r in log)
    bundle = run / "bundle.safetensors"
    assert load_bundle(bundle).manifest["provenance"]["semantic_segnet_sha256"] == sha256_file(segnet_file)
    capsys.readouterr()
    assert cli.main(["eval", str(bundle), "--data", str(data), "--segnet", str(segnet_file), "--quiet"]) == 1
    err = capsys.readouterr().err
    assert str(segnet_file) in err and "trained to please this very segnet" in err  # the judge must be another net
