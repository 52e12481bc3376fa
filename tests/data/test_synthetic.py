"""Procedural street scenes (determinism, label validity, shapes, helpers) and the CamVid ClassSet."""
from __future__ import annotations

import json

import cv2
import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader

from freqaug.data import CAMVID, CamVidClass, ClassSet, SyntheticStreets, colorize, street_scene, synthetic_batch

SIZES = [(32, 32), (33, 47), (96, 128), (97, 131), (48, 160), (120, 40)]


@pytest.mark.parametrize("seed", [0, 7, 123456789])
def test_same_seed_same_bytes(seed: int) -> None:
    a_img, a_lab = street_scene(seed, size=(64, 80))
    b_img, b_lab = street_scene(seed, size=(64, 80))
    assert a_img.tobytes() == b_img.tobytes() and a_lab.tobytes() == b_lab.tobytes()


def test_different_seeds_differ() -> None:
    scenes = [street_scene(s, size=(48, 64)) for s in range(6)]
    for i in range(len(scenes)):
        for j in range(i + 1, len(scenes)):
            assert not np.array_equal(scenes[i][0], scenes[j][0])
            assert not np.array_equal(scenes[i][1], scenes[j][1])


@pytest.mark.parametrize("size", SIZES, ids=str)
def test_shapes_dtypes_and_valid_ids(size: tuple[int, int]) -> None:
    for seed in range(4):
        img, lab = street_scene(seed, size=size)
        assert img.shape == (*size, 3) and img.dtype == np.uint8 and img.flags.c_contiguous
        assert lab.shape == size and lab.dtype == np.uint8 and lab.flags.c_contiguous
        assert int(lab.max()) <= 10  # CamVid ids 0..10, never the ignore id


def test_classes_present() -> None:
    n = 20
    counts = np.zeros(11, int)
    for seed in range(n):
        _, lab = street_scene(seed, size=(96, 128))
        counts[np.unique(lab)] += 1
    for cls in (CamVidClass.SKY, CamVidClass.ROAD, CamVidClass.BUILDING, CamVidClass.PAVEMENT):
        assert counts[cls] >= 0.9 * n, (cls.name, counts)
    assert (counts > 0).sum() >= 9, counts  # nearly every class shows up somewhere in 20 scenes
    assert counts[CamVidClass.CAR] >= 0.5 * n


def test_layout_sky_above_road() -> None:
    for seed in range(5):
        _, lab = street_scene(seed, size=(96, 128))
        sky_rows = np.nonzero((lab == CamVidClass.SKY).any(1))[0]
        road_rows = np.nonzero((lab == CamVidClass.ROAD).any(1))[0]
        assert sky_rows.max() < road_rows.min() + 2
        assert (lab[-1] == CamVidClass.ROAD).mean() > 0.2  # road fills the bottom of the view


def test_images_have_texture_not_flat_colour() -> None:
    img, lab = street_scene(3, size=(96, 128))
    grey = cv2.cvtColor(img, cv2.COLOR_RGB2GRAY).astype(np.float32)
    lap = cv2.Laplacian(grey, cv2.CV_32F)
    road = lab == CamVidClass.ROAD
    assert float(lap[road].std()) > 2.0  # grain inside a "flat" region
    assert len(np.unique(img.reshape(-1, 3), axis=0)) > 2000


@pytest.mark.parametrize(
    ("seed", "size"), [(-1, (64, 64)), (1.5, (64, 64)), (0, (31, 64)), (0, (64,)), (0, (64.5, 64))]
)
def test_bad_arguments(seed, size) -> None:
    with pytest.raises(ValueError):
        street_scene(seed, size=size)


@pytest.mark.parametrize(("seed", "size"), [(0, (40, 56)), (3, (33, 45))])
def test_dataset_batch_and_scene_agree(seed: int, size: tuple[int, int]) -> None:
    n = 4
    ds = SyntheticStreets(n, size=size, seed=seed)
    images, labels = synthetic_batch(n, size=size, seed=seed)
    assert len(ds) == n
    assert images.shape == (n, 3, *size) and images.dtype == torch.float32
    assert labels.shape == (n, *size) and labels.dtype == torch.int64
    assert 0.0 <= float(images.min()) and float(images.max()) <= 1.0
    for i in range(n):
        item = ds[i]
        assert item["name"] == f"synthetic_{i:06d}"
        assert torch.equal(item["image"], images[i]) and torch.equal(item["label"], labels[i])
        img, lab = street_scene(seed * 1_000_003 + i, size=size)
        np.testing.assert_array_equal((images[i] * 255).round().byte().permute(1, 2, 0).numpy(), img)
        np.testing.assert_array_equal(labels[i].numpy(), lab)
    assert torch.equal(ds[-1]["image"], images[-1])
    with pytest.raises(IndexError):
        ds[n]


def test_dataset_seeds_differ_and_loader_collates() -> None:
    a, b = SyntheticStreets(2, size=(32, 40), seed=0), SyntheticStreets(2, size=(32, 40), seed=1)
    assert not torch.equal(a[0]["image"], b[0]["image"])
    batch = next(iter(DataLoader(a, batch_size=2)))
    assert batch["image"].shape == (2, 3, 32, 40) and batch["label"].shape == (2, 32, 40)
    assert batch["name"] == ["synthetic_000000", "synthetic_000001"]
    assert synthetic_batch(0, size=(32, 32))[0].shape == (0, 3, 32, 32)


# ---------------------------------------------------------------- ClassSet / colorize


def test_camvid_class_set() -> None:
    assert CAMVID.num_classes == 11 and CAMVID.ignore_index == 11
    assert CAMVID.names[CamVidClass.ROAD] == "road" and CAMVID.id_of("car") == 8
    assert CAMVID.id_of("unlabelled") == 11
    assert CAMVID.palette[CamVidClass.SKY] == (128, 128, 128)
    assert CAMVID.palette[CamVidClass.ROAD] == (128, 64, 128)
    assert len(set(CAMVID.palette) | {CAMVID.ignore_color}) == 12  # all colours distinct
    with pytest.raises(KeyError):
        CAMVID.id_of("truck")


def test_class_set_json_round_trip() -> None:
    data = json.loads(json.dumps(CAMVID.to_dict()))
    again = ClassSet.from_dict(data)
    assert again == CAMVID and hash(again) == hash(CAMVID)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"names": (), "palette": ()},
        {"names": ("a", "a"), "palette": ((0, 0, 0), (1, 1, 1))},
        {"names": ("a", "b"), "palette": ((0, 0, 0),)},
        {"names": ("a",), "palette": ((0, 0, 300),)},
        {"names": ("a", "b"), "palette": ((0, 0, 0), (1, 1, 1)), "ignore_index": 1},
    ],
)
def test_class_set_validation(kwargs) -> None:
    with pytest.raises(ValueError):
        ClassSet(**kwargs)


@pytest.mark.parametrize("as_tensor", [False, True])
def test_colorize(as_tensor: bool) -> None:
    lab = np.array([[0, 3, 11], [8, 10, 1]], np.uint8)
    arg = torch.from_numpy(lab.astype(np.int64)) if as_tensor else lab
    rgb = colorize(arg)
    assert rgb.shape == (2, 3, 3) and rgb.dtype == np.uint8
    assert rgb[0, 0].tolist() == [128, 128, 128] and rgb[0, 1].tolist() == [128, 64, 128]
    assert rgb[0, 2].tolist() == [0, 0, 0]  # ignore id
    assert np.array_equal(CAMVID.colorize(lab), rgb)
    batch = colorize(np.stack([lab, lab]))
    assert batch.shape == (2, 2, 3, 3)


@pytest.mark.parametrize("bad", [np.array([[12]]), np.array([[-1]]), np.array([[0.5]])])
def test_colorize_rejects_bad_ids(bad: np.ndarray) -> None:
    with pytest.raises(ValueError):
        colorize(bad)
