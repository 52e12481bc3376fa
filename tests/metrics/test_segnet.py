"""Segmentation network: confusion matrix and scores, training on drawn scenes, features, files."""
import json
import math

import numpy as np
import pytest
import torch

from freqaug.data import CAMVID, synthetic_batch
from freqaug.metrics.segnet import (
    SegNet,
    SegNetConfig,
    SegNetFileError,
    confusion_matrix,
    evaluate_segmentation,
    load_segnet,
    median_frequency_weights,
    predict_labels,
    save_segnet,
    scores_from_confusion,
    segnet_features,
    train_segnet,
)

IGNORE = CAMVID.ignore_index
NUM_CLASSES = CAMVID.num_classes


def _confusion_reference(pred, target, num_classes, ignore_index):
    cm = np.zeros((num_classes, num_classes), dtype=np.int64)
    for p, t in zip(np.asarray(pred).ravel(), np.asarray(target).ravel()):
        if t != ignore_index:
            cm[t, p] += 1
    return cm


def test_confusion_matrix_matches_a_numpy_reference_with_ignored_pixels():
    g = torch.Generator().manual_seed(0)
    target = torch.randint(0, NUM_CLASSES + 1, (3, 9, 7), generator=g)  # includes the ignore id 11
    pred = torch.randint(0, NUM_CLASSES, (3, 9, 7), generator=g)
    cm = confusion_matrix(pred, target, NUM_CLASSES, IGNORE)
    assert cm.dtype == torch.int64
    np.testing.assert_array_equal(cm.numpy(), _confusion_reference(pred, target, NUM_CLASSES, IGNORE))
    assert int(cm.sum()) == int((target != IGNORE).sum())


def test_confusion_matrix_rejects_bad_ids_and_shapes():
    with pytest.raises(ValueError, match=r"target: ids \[11\] are outside 0..10$"):
        confusion_matrix(torch.zeros(4, dtype=torch.long), torch.full((4,), 11), NUM_CLASSES)
    with pytest.raises(ValueError, match=r"pred: ids \[-1\] are outside 0..10"):
        confusion_matrix(torch.full((4,), -1), torch.zeros(4, dtype=torch.long), NUM_CLASSES, IGNORE)
    with pytest.raises(ValueError, match="pred and target: expected equal shapes"):
        confusion_matrix(torch.zeros(4, dtype=torch.long), torch.zeros(5, dtype=torch.long), NUM_CLASSES)
    with pytest.raises(TypeError, match="pred: expected an integer torch.Tensor"):
        confusion_matrix(torch.zeros(4), torch.zeros(4, dtype=torch.long), NUM_CLASSES)


def test_perfect_prediction_scores_one_and_absent_classes_are_left_out():
    target = torch.tensor([[0, 0, 1, 1], [3, 3, IGNORE, IGNORE]])
    scores = scores_from_confusion(confusion_matrix(target.clamp_max(3), target, NUM_CLASSES, IGNORE))
    assert scores["miou"] == 1.0 and scores["pixel_accuracy"] == 1.0
    assert scores["iou"][:4] == [1.0, 1.0, None, 1.0] and scores["present"][:4] == [True, True, False, True]
    json.dumps(scores)  # plain JSON: absent classes are None, not NaN


def test_scores_by_hand():
    # rows true, columns predicted: class 0: TP 3, FN 1, FP 1; class 1: TP 4, FN 2, FP 1; class 2 absent but predicted
    cm = torch.tensor([[3, 1, 0], [1, 4, 1], [0, 0, 0]])
    scores = scores_from_confusion(cm)
    assert scores["iou"] == [pytest.approx(3 / 5), pytest.approx(4 / 7), None]
    assert scores["miou"] == pytest.approx((3 / 5 + 4 / 7) / 2)
    assert scores["pixel_accuracy"] == pytest.approx(7 / 10)
    assert math.isnan(scores_from_confusion(torch.zeros(3, 3, dtype=torch.long))["miou"])


def test_median_frequency_weights():
    labels = torch.tensor([[[0, 0, 0, 1]], [[0, 2, 2, IGNORE]]])  # class 0: 4/8, class 1: 1/4, class 2: 2/4
    weights = median_frequency_weights(labels, 4, IGNORE)
    torch.testing.assert_close(weights, torch.tensor([1.0, 2.0, 1.0, 0.0]))


def test_default_width_has_1_to_2_million_parameters():
    model = SegNet(SegNetConfig(num_classes=NUM_CLASSES))
    count = sum(p.numel() for p in model.parameters())
    assert 1_000_000 <= count <= 2_000_000, count


@pytest.mark.parametrize("size", [(32, 48), (37, 50)])
@pytest.mark.parametrize(("arch", "features"), [("unet", 32), ("dilated", 16)])
def test_output_and_feature_shapes_for_any_size(size, arch, features):
    model = SegNet(SegNetConfig(num_classes=5, width=4, arch=arch)).eval()
    x = torch.rand(2, 3, *size)
    assert model(x).shape == (2, 5, *size)
    assert segnet_features(model, x).shape == (2, features) and model.config.feature_dim == features
    with pytest.raises(ValueError, match="images: expected 3 channels"):
        model(torch.rand(1, 1, 8, 8))


@pytest.fixture(scope="module")
def scenes():
    return synthetic_batch(48, size=(64, 96), seed=0), synthetic_batch(16, size=(64, 96), seed=1)


@pytest.fixture(scope="module", params=["unet", "dilated"])
def trained(scenes, request):
    (images, labels), _ = scenes
    return train_segnet(images, labels, num_classes=NUM_CLASSES, ignore_index=IGNORE, steps=80, batch_size=8,
                        lr=3e-3, width=8, seed=0, arch=request.param, progress=False)


def test_the_dilated_judge_is_another_family():
    """No module of the U-Net's (no skip path, no decoder): its weights share no name with the U-Net's."""
    unet, dilated = (SegNet(SegNetConfig(NUM_CLASSES, width=8, arch=arch)) for arch in ("unet", "dilated"))
    shared = set(unet.state_dict()) & set(dilated.state_dict())
    assert shared <= {"head.weight", "head.bias"}, shared
    dilations = [m.dilation[0] for m in dilated.modules() if isinstance(m, torch.nn.Conv2d) and m.dilation[0] > 1]
    assert dilations == [2, 4, 8]


def test_a_tiny_segnet_learns_drawn_street_scenes(scenes, trained):
    _, (val_images, val_labels) = scenes
    scores = evaluate_segmentation(trained, val_images, val_labels, num_classes=NUM_CLASSES, ignore_index=IGNORE)
    majority = float(torch.bincount(val_labels.flatten()).max()) / val_labels.numel()  # ~0.4: building
    assert scores["pixel_accuracy"] > max(0.6, majority + 0.15), scores
    assert scores["miou"] > 0.12, scores


def test_training_is_seeded_and_augment_sees_every_batch(scenes):
    (images, labels), _ = scenes
    calls = []

    def flip(x, y, generator):
        calls.append(x.shape[0])
        return x.flip(-1), y.flip(-1)

    kwargs = dict(num_classes=NUM_CLASSES, ignore_index=IGNORE, steps=3, batch_size=4, width=4, seed=1, progress=False)
    a, b = train_segnet(images, labels, **kwargs), train_segnet(images, labels, **kwargs)
    assert all(torch.equal(p, q) for p, q in zip(a.state_dict().values(), b.state_dict().values()))
    flipped = train_segnet(images, labels, augment=flip, **kwargs)
    assert calls == [4, 4, 4]
    assert not torch.equal(flipped.head.weight, a.head.weight)


def test_save_and_load_give_identical_outputs(scenes, trained, tmp_path):
    _, (val_images, _) = scenes
    path = save_segnet(trained, tmp_path / "segnet.safetensors")
    loaded = load_segnet(path)
    assert loaded.config == trained.config and not loaded.training
    with torch.no_grad():
        assert torch.equal(loaded(val_images[:2]), trained(val_images[:2]))
    assert torch.equal(segnet_features(loaded, val_images), segnet_features(trained, val_images))
    assert torch.equal(predict_labels(loaded, val_images, batch_size=5), predict_labels(trained, val_images))


def test_load_rejects_other_files(tmp_path):
    from safetensors.torch import save_file

    with pytest.raises(SegNetFileError, match="no segnet file"):
        load_segnet(tmp_path / "missing.safetensors")
    save_file({"x": torch.zeros(1)}, str(tmp_path / "other.safetensors"))
    with pytest.raises(SegNetFileError, match="not a 'freqaug-segnet' version 1 file"):
        load_segnet(tmp_path / "other.safetensors")
    (tmp_path / "junk.safetensors").write_bytes(b"junk")
    with pytest.raises(SegNetFileError, match="not a readable safetensors file"):
        load_segnet(tmp_path / "junk.safetensors")


def test_config_is_validated():
    with pytest.raises(ValueError, match="SegNetConfig.num_classes: expected an integer >= 2, got 1"):
        SegNetConfig(num_classes=1)
    with pytest.raises(ValueError, match="SegNetConfig: unknown keys"):
        SegNetConfig.from_dict({"num_classes": 3, "depth": 4})
    assert SegNetConfig.from_dict(SegNetConfig(4, width=6).to_dict()) == SegNetConfig(4, width=6)
    assert SegNetConfig.from_dict({"num_classes": 4}).arch == "unet"  # files written before the field load as before
    with pytest.raises(ValueError, match=r"SegNetConfig.arch: expected one of \('unet', 'dilated'\), got 'resnet'"):
        SegNetConfig(4, arch="resnet")


def test_train_segnet_validates_before_training():
    images, labels = torch.rand(2, 3, 16, 16), torch.zeros(2, 16, 16, dtype=torch.long)
    kwargs = dict(num_classes=3, ignore_index=IGNORE, steps=1, progress=False)
    with pytest.raises(ValueError, match=r"labels: ids \[7\] are outside 0..2 and are not the ignore id 11"):
        train_segnet(images, labels + 7, **kwargs)
    with pytest.raises(ValueError, match="labels: expected an integer tensor of shape"):
        train_segnet(images, labels[:, :8], **kwargs)
    with pytest.raises(ValueError, match="lr: expected a finite number >= 0"):
        train_segnet(images, labels, lr=float("nan"), **kwargs)
    with pytest.raises(ValueError, match=r"class_weights: expected shape \(3,\)"):
        train_segnet(images, labels, class_weights=torch.ones(4), **kwargs)
