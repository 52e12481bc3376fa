"""examples/lightning_segmentation.py: FreqAugBatch in on_after_batch_transfer of a LightningModule, on the CPU."""
import json

import pytest

from tests import load_script


def test_lightning_example_augments_every_training_batch_and_validates(bundle_path, tmp_path, capsys):
    pytest.importorskip("lightning", reason="the Lightning example needs pip install 'freqaug[lightning]'")
    example = load_script("examples/lightning_segmentation.py", "example_lightning_segmentation")
    out = tmp_path / "metrics.json"
    metrics = example.main([str(bundle_path), "--drawn", "--n", "10", "--steps", "3", "--batch", "4",
                            "--accelerator", "cpu", "--out", str(out)])
    assert metrics["steps"] == 3 and metrics["augmented_batches"] == 3  # training batches only, never validation
    assert 0 <= metrics["val_miou"] <= 1 and metrics["train_loss"] > 0 and metrics["device"] == "cpu"
    assert json.loads(out.read_text()) == metrics
    assert "in on_after_batch_transfer (drawn street scenes)" in capsys.readouterr().out


def test_lightning_example_documents_its_command():
    example = load_script("examples/lightning_segmentation.py", "example_lightning_segmentation")
    assert "examples/lightning_segmentation.py BUNDLE" in example.__doc__ and "freqaug[lightning]" in example.__doc__
