"""albumentations front-end: targets pass through, dtypes, serialisation, refused modes (bad input: test_bad_input.py)."""
import json
import os

os.environ.setdefault("NO_ALBUMENTATIONS_UPDATE", "1")

import albumentations as A
import numpy as np
import pytest

from freqaug.augment.albu import FreqAug


def scene(scenes, dtype=np.uint8):
    image = scenes[0][0].permute(1, 2, 0).numpy()
    return (image * 255).round().astype(np.uint8) if dtype == np.uint8 else image.astype(dtype)


def test_masks_bboxes_and_keypoints_pass_through_compose(bundle_path, scenes):
    pipeline = A.Compose(
        [FreqAug(bundle_path, p=1.0), A.NoOp()],  # NoOp: a transform that takes boxes and keypoints
        bbox_params=A.BboxParams(format="pascal_voc", label_fields=["labels"]),
        keypoint_params=A.KeypointParams(format="xy"),
        seed=0,
    )
    image, mask = scene(scenes), scenes[1][0].numpy().astype(np.uint8)
    boxes, keypoints = [(2, 3, 20, 30), (10, 1, 40, 12)], [(5.0, 6.0), (30.5, 20.0)]
    out = pipeline(image=image, mask=mask, bboxes=boxes, labels=[1, 2], keypoints=keypoints)
    assert out["image"].shape == image.shape and out["image"].dtype == np.uint8
    assert not np.array_equal(out["image"], image)
    assert np.array_equal(out["mask"], mask)
    np.testing.assert_allclose(out["bboxes"], boxes)
    assert list(out["labels"]) == [1, 2]
    np.testing.assert_allclose(out["keypoints"], keypoints)


def test_float32_images_stay_float32_in_the_unit_range(bundle_path, scenes):
    image = scene(scenes, np.float32)
    out = A.Compose([FreqAug(bundle_path, mode="blend", p=1.0)], seed=0)(image=image)["image"]
    assert out.dtype == np.float32 and out.shape == image.shape
    assert 0 <= out.min() and out.max() <= 1 and not np.array_equal(out, image)


def test_to_dict_and_from_dict_round_trip_through_json(bundle_path, scenes):
    transform = FreqAug(bundle_path, mode="bands", strength=(0.4, 0.9), bands=["HH1", "HL1"], p=0.8)
    data = json.loads(json.dumps(A.to_dict(A.Compose([transform], seed=2))))
    args = data["transform"]["transforms"][0]
    assert args["bundle_path"] == str(bundle_path) and args["bands"] == ["HH1", "HL1"] and args["p"] == 0.8
    rebuilt = A.from_dict(data)
    copy = rebuilt.transforms[0]
    assert isinstance(copy, FreqAug) and copy.strength == (0.4, 0.9) and copy.bands == ("HH1", "HL1")
    rebuilt.set_random_seed(2)
    image = scene(scenes)
    expected = A.Compose([FreqAug(bundle_path, mode="bands", strength=(0.4, 0.9), bands=["HH1", "HL1"], p=0.8)],
                         seed=2)
    for _ in range(3):
        np.testing.assert_array_equal(rebuilt(image=image)["image"], expected(image=image)["image"])


def test_replace_is_refused_with_the_alternatives(bundle_path):
    with pytest.raises(ValueError, match="replace.*albumentations.*SyntheticMix.*FreqAugBatch"):
        FreqAug(bundle_path, mode="replace")

