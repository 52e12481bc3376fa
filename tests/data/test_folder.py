"""SegmentationFolder / load_images: reading, resizing, optional labels, and errors that name the file."""
from __future__ import annotations

import os
import re
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from freqaug.data import DataError, SegmentationFolder, load_images, street_scene

H, W = 40, 56  # (height, width) of the files written by the fixtures


def write_rgb(path: Path, rgb: np.ndarray) -> None:
    """Write an RGB uint8 array with cv2 (which expects BGR)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    assert cv2.imwrite(str(path), np.ascontiguousarray(rgb[..., ::-1]))


def write_label(path: Path, lab: np.ndarray) -> None:
    """Write a label map as stored (single-channel uint8 PNG unless the array says otherwise)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    assert cv2.imwrite(str(path), lab)


def make_folder(root: Path, n: int = 3, *, labels: bool = True, size: tuple[int, int] = (H, W)) -> Path:
    """A small CamVid-layout folder made of synthetic scenes (plus a few ignore-id pixels)."""
    for i in range(n):
        img, lab = street_scene(i, size=size)
        lab = lab.copy()
        lab[0, :3] = 11  # unlabelled pixels are valid
        write_rgb(root / "images" / f"frame_{i:03d}.png", img)
        if labels:
            write_label(root / "labels" / f"frame_{i:03d}.png", lab)
    return root


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    return make_folder(tmp_path / "train")


def test_reads_images_and_labels(folder: Path) -> None:
    ds = SegmentationFolder(folder)
    assert len(ds) == 3 and ds.has_labels
    assert ds.names == ["frame_000", "frame_001", "frame_002"]
    for i in range(len(ds)):
        item = ds[i]
        img, lab = item["image"], item["label"]
        assert item["name"] == f"frame_{i:03d}"
        assert img.dtype == torch.float32 and img.shape == (3, H, W)
        assert lab.dtype == torch.int64 and lab.shape == (H, W)
        assert 0.0 <= float(img.min()) and float(img.max()) <= 1.0
        # PNG is lossless: exactly what was written, in RGB order.
        ref_img, ref_lab = street_scene(i, size=(H, W))
        np.testing.assert_array_equal((img * 255).round().byte().permute(1, 2, 0).numpy(), ref_img)
        assert torch.equal(lab[1:], torch.from_numpy(ref_lab[1:].astype(np.int64)))
        assert set(lab[0, :3].tolist()) == {11}
    assert ds[-1]["name"] == "frame_002"
    with pytest.raises(IndexError):
        ds[3]


def test_rgb_channel_order(tmp_path: Path) -> None:
    red = np.zeros((8, 10, 3), np.uint8)
    red[..., 0] = 255
    write_rgb(tmp_path / "images" / "red.png", red)
    img = SegmentationFolder(tmp_path)[0]["image"]
    assert torch.all(img[0] == 1.0) and torch.all(img[1:] == 0.0)


@pytest.mark.parametrize("kind", ["gray", "rgba"])
def test_gray_and_rgba_become_rgb(tmp_path: Path, kind: str) -> None:
    (tmp_path / "images").mkdir()
    if kind == "gray":
        arr = np.full((8, 10), 100, np.uint8)
    else:  # BGRA as cv2 writes it: blue, half transparent
        arr = np.zeros((8, 10, 4), np.uint8)
        arr[..., 0], arr[..., 3] = 200, 128
    assert cv2.imwrite(str(tmp_path / "images" / "a.png"), arr)
    img = SegmentationFolder(tmp_path)[0]["image"]
    assert img.shape == (3, 8, 10)
    expected = [100, 100, 100] if kind == "gray" else [0, 0, 200]
    assert (img * 255).round().reshape(3, -1)[:, 0].tolist() == expected


def test_file_types_case_insensitive_and_sorted(tmp_path: Path) -> None:
    img = np.full((8, 10, 3), 77, np.uint8)
    for name in ("c.JPG", "a.png", "b.bmp", "d.jpeg", "e.PNG"):
        write_rgb(tmp_path / "images" / name, img)
    (tmp_path / "images" / "notes.txt").write_text("not an image")
    (tmp_path / "images" / "sub.png").mkdir()  # a folder with an image-like name is not a file
    ds = SegmentationFolder(tmp_path)
    assert ds.names == ["a", "b", "c", "d", "e"]
    assert all(ds[i]["image"].shape == (3, 8, 10) for i in range(len(ds)))


@pytest.mark.parametrize("size", [(20, 28), (64, 80), (40, 30), (13, 17)], ids=str)
def test_resize_images_and_labels(folder: Path, size: tuple[int, int]) -> None:
    ds = SegmentationFolder(folder, size=size)
    full = SegmentationFolder(folder)
    for i in range(len(ds)):
        item, ref = ds[i], full[i]
        assert item["image"].shape == (3, *size) and item["label"].shape == size
        assert 0.0 <= float(item["image"].min()) and float(item["image"].max()) <= 1.0
        # Nearest-neighbour: only ids that were there (no blending into new ids).
        assert set(item["label"].unique().tolist()) <= set(ref["label"].unique().tolist())


def test_loading_at_another_size_warns_once_with_the_sizes(folder: Path) -> None:
    from freqaug.data import load_segmentation

    with pytest.warns(UserWarning, match=rf"resized 3 of 3 image\(s\) to 28x20 \(WxH\) \(3 at {W}x{H}\)") as seen:
        load_images(folder, size=(20, 28))
    assert len(seen) == 1
    with pytest.warns(UserWarning, match="resized 3 of 3"):
        load_segmentation(folder, size=(20, 28))
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")  # at the files' own size: nothing to say
        load_images(folder, size=(H, W))
        load_images(folder)


def test_size_is_height_width(tmp_path: Path) -> None:
    write_rgb(tmp_path / "images" / "x.png", np.zeros((30, 50, 3), np.uint8))
    assert SegmentationFolder(tmp_path)[0]["image"].shape == (3, 30, 50)
    assert SegmentationFolder(tmp_path, size=(12, 34))[0]["image"].shape == (3, 12, 34)


@pytest.mark.parametrize(
    ("write_labels", "labels", "expect_label"),
    [(True, None, True), (False, None, False), (True, False, False), (True, True, True)],
)
def test_labels_optional(tmp_path: Path, write_labels: bool, labels: bool | None, expect_label: bool) -> None:
    make_folder(tmp_path, n=2, labels=write_labels)
    ds = SegmentationFolder(tmp_path, labels=labels)
    assert ds.has_labels is expect_label
    assert ("label" in ds[0]) is expect_label
    assert ds[0]["name"] == "frame_000"


def test_label_matched_by_stem(tmp_path: Path) -> None:
    write_rgb(tmp_path / "images" / "a.jpg", np.zeros((8, 10, 3), np.uint8))
    write_label(tmp_path / "labels" / "a.png", np.full((8, 10), 3, np.uint8))
    assert SegmentationFolder(tmp_path)[0]["label"].unique().tolist() == [3]


# ---------------------------------------------------------------- errors


def _corrupt_image(root: Path) -> str:
    (root / "images" / "frame_001.png").write_bytes(b"\x89PNG\r\n\x1a\n garbage, not a png")
    return "frame_001.png"


def _empty_image(root: Path) -> str:
    (root / "images" / "frame_002.png").write_bytes(b"")
    return "frame_002.png"


def _missing_label(root: Path) -> str:
    (root / "labels" / "frame_001.png").unlink()
    return "frame_001.png"


def _rgb_label(root: Path) -> str:
    write_label(root / "labels" / "frame_002.png", np.zeros((H, W, 3), np.uint8))
    return "frame_002.png"


def _uint16_label(root: Path) -> str:
    write_label(root / "labels" / "frame_000.png", np.zeros((H, W), np.uint16))
    return "frame_000.png"


def _bad_ids(root: Path) -> str:
    lab = np.zeros((H, W), np.uint8)
    lab[0, 0], lab[1, 1] = 12, 200
    write_label(root / "labels" / "frame_001.png", lab)
    return "frame_001.png"


def _label_size(root: Path) -> str:
    write_label(root / "labels" / "frame_002.png", np.zeros((H + 2, W), np.uint8))
    return "frame_002.png"


def _mixed_sizes(root: Path) -> str:
    write_rgb(root / "images" / "frame_002.png", np.zeros((H, W + 4, 3), np.uint8))
    write_label(root / "labels" / "frame_002.png", np.zeros((H, W + 4), np.uint8))
    return "frame_002.png"


@pytest.mark.parametrize(
    ("break_it", "expect"),
    [
        (_corrupt_image, "decode"),
        (_empty_image, "empty"),
        (_missing_label, "missing"),
        (_rgb_label, "single-channel uint8"),
        (_uint16_label, "single-channel uint8"),
        (_bad_ids, "[12, 200]"),
        (_label_size, "same size"),
        (_mixed_sizes, "share one size"),
    ],
    ids=lambda v: getattr(v, "__name__", "").strip("_") or None,
)
def test_file_errors_name_the_file(folder: Path, break_it, expect: str) -> None:
    name = break_it(folder)
    with pytest.raises(DataError, match=re.escape(name)) as info:
        ds = SegmentationFolder(folder)
        ds.validate()
    assert expect in str(info.value)
    assert isinstance(info.value, ValueError)


def test_bad_ids_respect_num_classes_and_ignore(folder: Path) -> None:
    lab = cv2.imread(str(folder / "labels" / "frame_000.png"), cv2.IMREAD_UNCHANGED)
    bad = sorted(int(i) for i in np.unique(lab) if 5 <= i <= 10)
    assert bad, "fixture scene should contain some ids >= 5"
    with pytest.raises(DataError, match=re.escape(f"frame_000.png: label ids {bad}")):
        SegmentationFolder(folder, num_classes=5, ignore_index=11)[0]
    with pytest.raises(DataError, match=r"\[11\]"):
        SegmentationFolder(folder, ignore_index=None)[0]


def test_resize_does_not_hide_label_size_mismatch(folder: Path) -> None:
    _label_size(folder)
    with pytest.raises(DataError, match="frame_002.png"):
        SegmentationFolder(folder, size=(20, 20))[2]


def test_mixed_sizes_fine_when_resizing(folder: Path) -> None:
    _mixed_sizes(folder)
    ds = SegmentationFolder(folder, size=(20, 24))
    ds.validate()
    assert ds[2]["image"].shape == (3, 20, 24)


@pytest.mark.parametrize("case", ["no_root", "root_is_file", "no_images", "empty_images", "labels_required"])
def test_folder_errors_name_the_path(tmp_path: Path, case: str) -> None:
    root = tmp_path / "ds"
    kwargs = {}
    named = root
    if case == "root_is_file":
        root.write_text("x")
    elif case == "no_images":
        (root / "labels").mkdir(parents=True)
        named = root / "images"
    elif case == "empty_images":
        (root / "images").mkdir(parents=True)
        (root / "images" / "readme.txt").write_text("nothing here")
        named = root / "images"
    elif case == "labels_required":
        write_rgb(root / "images" / "a.png", np.zeros((4, 4, 3), np.uint8))
        kwargs = {"labels": True}
        named = root / "labels"
    with pytest.raises(DataError, match=re.escape(str(named))):
        SegmentationFolder(root, **kwargs)


@pytest.mark.parametrize("size", [(0, 4), (4,), "96x128", (4.5, 4), (True, 4)], ids=str)
def test_bad_size_argument(folder: Path, size) -> None:
    with pytest.raises(ValueError, match="size"):
        SegmentationFolder(folder, size=size)


# ---------------------------------------------------------------- load_images


@pytest.mark.parametrize(("size", "limit", "n"), [(None, None, 3), ((20, 24), 2, 2), (None, 0, 0), (None, 10, 3)])
def test_load_images(folder: Path, size, limit, n: int) -> None:
    x = load_images(folder, size=size, limit=limit)
    h, w = size or (H, W)
    assert x.shape == (n, 3, h, w) and x.dtype == torch.float32
    if n:
        assert torch.equal(x[0], SegmentationFolder(folder, size=size)[0]["image"])


def test_load_images_progress_for_many_files(tmp_path: Path) -> None:
    for i in range(55):
        write_rgb(tmp_path / "images" / f"{i:02d}.png", np.full((4, 6, 3), i, np.uint8))
    x = load_images(tmp_path)
    assert x.shape == (55, 3, 4, 6)
    assert torch.allclose(x[:, 0, 0, 0] * 255, torch.arange(55, dtype=torch.float32))


def test_random_subset_is_a_reproducible_draw_and_offsets_are_disjoint() -> None:
    from freqaug.data import random_subset

    images = torch.arange(10.0).view(10, 1, 1, 1)
    a = random_subset(images, 4, seed=3)
    assert torch.equal(a, random_subset(images, 4, seed=3)) and not torch.equal(a, random_subset(images, 4, seed=4))
    b = random_subset(images, 4, seed=3, offset=4)
    assert len(set(a.flatten().tolist()) | set(b.flatten().tolist())) == 8  # disjoint draws of one permutation
    assert len(random_subset(images, 20, seed=0)) == 10  # fewer when the set runs out
    assert sorted(random_subset(images, 10, seed=0).flatten().tolist()) == list(range(10))


def test_a_file_name_that_is_not_utf8_is_refused_when_the_folder_is_read(tmp_path: Path) -> None:
    import numpy as np

    images = tmp_path / "images"
    images.mkdir()
    name = os.fsdecode(b"caf\xe9.png")  # Latin-1 bytes: a lone surrogate in the str
    cv2.imwrite(str(images / "ok.png"), np.zeros((8, 8, 3), np.uint8))
    (images / name).write_bytes((images / "ok.png").read_bytes())
    with pytest.raises(DataError, match=r"file name b'caf\\xe9.png' is not valid UTF-8; rename it"):
        SegmentationFolder(tmp_path)
    with pytest.raises(DataError, match="not valid UTF-8"):
        load_images(tmp_path)
