"""Image / label-map folders (the CamVid layout) as a torch Dataset, with errors that name the file.

Layout of ``root``::

    root/images/<name>.png    RGB (or grey / RGBA) images; *.png, *.jpg, *.jpeg, *.bmp
    root/labels/<name>.png    optional: single-channel uint8 class id per pixel, same file name

e.g. ``camvid/128x96/train``.
"""
from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any, cast

import cv2
import numpy as np
import torch
from torch import Tensor
from torch.utils.data import Dataset

from freqaug.data.classes import CAMVID

IMAGE_EXTENSIONS: tuple[str, ...] = (".png", ".jpg", ".jpeg", ".bmp")
"""File suffixes read as images or label maps (matched case-insensitively)."""

_PROGRESS_THRESHOLD = 50


class DataError(ValueError):
    """A data folder or file is missing, unreadable or inconsistent; the message names the path."""


class UnreadableFileError(DataError):
    """One file cannot be read or decoded (empty, truncated, corrupt): the kind ``skip_bad`` skips."""


def _list_images(folder: Path) -> list[Path]:
    """Image files directly in ``folder`` with a known suffix, sorted by file name; a name that is not valid
    UTF-8 is refused here, naming it, rather than at the end of a run that records file names in JSON."""
    files = [p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_EXTENSIONS]
    for path in files:
        try:
            path.name.encode("utf-8")
        except UnicodeEncodeError:
            raise DataError(f"{folder}: file name {os.fsencode(path.name)!r} is not valid UTF-8; rename it (freqaug "
                            "records file names in UTF-8 JSON)") from None
    return sorted(files, key=lambda p: p.name)


def _read_bytes(path: Path) -> np.ndarray:
    """File contents as a uint8 array (np.fromfile also copes with non-ASCII paths), else DataError."""
    try:
        data = np.fromfile(str(path), dtype=np.uint8)
    except OSError as exc:
        raise UnreadableFileError(f"{path}: cannot read file ({exc})") from None
    if data.size == 0:
        raise UnreadableFileError(f"{path}: file is empty; expected an image")
    return data


def read_image(path: str | os.PathLike[str]) -> np.ndarray:
    """Read an image file as uint8 RGB (H, W, 3): grey is expanded to 3 channels, alpha dropped."""
    path = Path(path)
    img = cv2.imdecode(_read_bytes(path), cv2.IMREAD_COLOR)
    if img is None:
        raise UnreadableFileError(f"{path}: cannot decode image (corrupt or unsupported format); expected a PNG/JPEG/BMP")
    return cv2.cvtColor(img, cv2.COLOR_BGR2RGB)


def read_label(path: str | os.PathLike[str]) -> np.ndarray:
    """Read a label map as it is stored, which must be single-channel uint8 (H, W), else DataError."""
    path = Path(path)
    lab = cv2.imdecode(_read_bytes(path), cv2.IMREAD_UNCHANGED)
    if lab is None:
        raise DataError(f"{path}: cannot decode label map (corrupt or unsupported format); expected a PNG")
    if lab.ndim == 3 and lab.shape[2] == 1:
        lab = lab[:, :, 0]
    if lab.ndim != 2 or lab.dtype != np.uint8:
        channels = 1 if lab.ndim == 2 else lab.shape[2]
        hint = " (colour or palette PNGs are read as colour; save ids as 8-bit greyscale)" if channels > 1 else ""
        raise DataError(
            f"{path}: expected a single-channel uint8 label map (one class id per pixel), "
            f"got {channels} channel(s) of {lab.dtype}{hint}"
        )
    return lab


def _check_size(size: tuple[int, int] | None) -> tuple[int, int] | None:
    """Return ``size`` as an (H, W) tuple of positive ints, or None."""
    if size is None:
        return None
    try:
        h, w = size
        ok = all(not isinstance(v, bool) and int(v) == v and v > 0 for v in (h, w))
    except (TypeError, ValueError):
        ok = False
    if not ok:
        raise ValueError(f"size: expected None or (height, width) with two positive ints, got {size!r}")
    return (int(h), int(w))


def resize_image(img: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Resize an (H, W, C) image to ``size`` = (H, W): INTER_AREA when shrinking, INTER_LINEAR otherwise."""
    h, w = size
    if img.shape[:2] == (h, w):
        return img
    shrink = h <= img.shape[0] and w <= img.shape[1]
    return cv2.resize(img, (w, h), interpolation=cv2.INTER_AREA if shrink else cv2.INTER_LINEAR)


def resize_label(lab: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Resize an (H, W) label map to ``size`` = (H, W) with nearest neighbour, so ids stay valid."""
    h, w = size
    if lab.shape[:2] == (h, w):
        return lab
    return cv2.resize(lab, (w, h), interpolation=cv2.INTER_NEAREST)


class SegmentationFolder(Dataset):
    """A folder of images (and optionally label maps) as a Dataset of ``{"image", "label", "name"}`` dicts.

    Args:
        root: folder holding ``images/`` and optionally ``labels/`` (e.g. ``.../camvid/128x96/train``).
        size: output size as **(height, width)** -- note the order, e.g. ``(96, 128)`` for a 128x96
            (width x height) CamVid folder. Images are resized with INTER_AREA (INTER_LINEAR when
            upscaling), labels with INTER_NEAREST. ``None`` keeps the file size, and then every image
            must have the size of the first one (a DataError names the first file that differs).
        labels: ``True`` requires ``labels/``, ``False`` ignores it, ``None`` uses it if it exists.
        num_classes: label ids must be in ``0..num_classes-1`` or equal ``ignore_index``.
        ignore_index: the "unlabelled" id (CamVid: 11), or None if there is none.
        skip_missing_labels: leave images without a label map out (listed in :attr:`missing_labels`)
            instead of raising.

    Item ``i`` is ``{"image": float32 (3, H, W) in [0, 1] RGB, "label": int64 (H, W), "name": stem}``;
    ``"label"`` is present only when labels are used. Missing folders or label files are reported
    when the dataset is built; per-file problems (corrupt image, bad label ids, size mismatch) when
    the item is read -- call :meth:`validate` to check every file up front.
    """

    def __init__(
        self,
        root: str | os.PathLike[str],
        *,
        size: tuple[int, int] | None = None,
        labels: bool | None = None,
        num_classes: int = 11,
        ignore_index: int | None = CAMVID.ignore_index,
        skip_missing_labels: bool = False,
    ) -> None:
        """Index the files of ``root`` (see the class docstring for the arguments)."""
        self.root = Path(root)
        self.size = _check_size(size)
        self.resized: dict[tuple[int, int], int] = {}  # (W, H) of files read at another size than ``size`` -> count
        if isinstance(num_classes, bool) or not isinstance(num_classes, int) or not 1 <= num_classes <= 256:
            raise ValueError(f"num_classes: expected an int in 1..256, got {num_classes!r}")
        if ignore_index is not None and (isinstance(ignore_index, bool) or not isinstance(ignore_index, int)):
            raise ValueError(f"ignore_index: expected an int or None, got {ignore_index!r}")
        self.num_classes = num_classes
        self.ignore_index = ignore_index

        if not self.root.is_dir():
            what = "is not a directory" if self.root.exists() else "does not exist"
            raise DataError(f"{self.root}: dataset root {what}; expected a folder holding images/ (and labels/)")
        image_dir = self.root / "images"
        if not image_dir.is_dir():
            raise DataError(f"{image_dir}: images folder not found; expected {self.root}/images/*.png")
        self.image_paths: list[Path] = _list_images(image_dir)
        if not self.image_paths:
            raise DataError(
                f"{image_dir}: no image files; expected files ending in {', '.join(IMAGE_EXTENSIONS)}"
            )

        label_dir = self.root / "labels"
        if labels is None:
            labels = label_dir.is_dir()
        elif labels and not label_dir.is_dir():
            raise DataError(f"{label_dir}: labels folder not found but labels=True was requested")
        self.has_labels: bool = bool(labels)
        self.label_paths: list[Path] | None = None
        self.missing_labels: list[Path] = []  # images left out by skip_missing_labels
        if self.has_labels:
            by_name = {p.name: p for p in _list_images(label_dir)}
            by_stem: dict[str, Path] = {}
            for p in by_name.values():
                by_stem.setdefault(p.stem, p)
            paths = []
            for img_path in self.image_paths:
                lab_path = by_name.get(img_path.name) or by_stem.get(img_path.stem)
                if lab_path is None and skip_missing_labels:
                    self.missing_labels.append(img_path)
                elif lab_path is None:
                    raise DataError(
                        f"{label_dir / img_path.name}: label map missing for image {img_path}; "
                        f"expected a file with the same name in {label_dir}"
                    )
                paths.append(lab_path)
            self.image_paths = [p for p, lab in zip(self.image_paths, paths) if lab is not None]
            self.label_paths = [lab for lab in paths if lab is not None]
            if not self.image_paths:
                raise DataError(f"{label_dir}: none of the {len(paths)} image(s) has a label map")
        self._file_size: tuple[int, int] | None = None  # (H, W) of the first image read, when size is None

    @property
    def names(self) -> list[str]:
        """File stems, in item order."""
        return [p.stem for p in self.image_paths]

    def __len__(self) -> int:
        """Number of images."""
        return len(self.image_paths)

    def _check_label(self, lab: np.ndarray, path: Path, image_shape: tuple[int, ...]) -> None:
        """Raise DataError naming ``path`` if ``lab`` has another size than its image or invalid ids."""
        if lab.shape[:2] != image_shape[:2]:
            raise DataError(
                f"{path}: label map is {lab.shape[1]}x{lab.shape[0]} (WxH) but its image is "
                f"{image_shape[1]}x{image_shape[0]}; expected the same size"
            )
        counts = np.bincount(lab.ravel(), minlength=256)
        ids = np.flatnonzero(counts)
        bad = [int(i) for i in ids if i >= self.num_classes and i != self.ignore_index]
        if bad:
            allowed = f"0..{self.num_classes - 1}"
            if self.ignore_index is not None:
                allowed += f" or the ignore id {self.ignore_index}"
            raise DataError(f"{path}: label ids {bad} are invalid; expected {allowed}")

    def read(self, index: int) -> tuple[np.ndarray, np.ndarray | None]:
        """Item ``index`` as numpy (uint8 RGB (H, W, 3), uint8 labels (H, W) or None), resized and checked."""
        img_path = self.image_paths[index]
        img = read_image(img_path)
        lab = None
        if self.label_paths is not None:
            lab_path = self.label_paths[index]
            lab = read_label(lab_path)
            self._check_label(lab, lab_path, img.shape)
        if self.size is not None:
            if img.shape[:2] != self.size:
                key = (img.shape[1], img.shape[0])
                self.resized[key] = self.resized.get(key, 0) + 1
            img = resize_image(img, self.size)
            if lab is not None:
                lab = resize_label(lab, self.size)
        else:
            if self._file_size is None:
                self._file_size = img.shape[:2] if index == 0 else self._first_size()
            if img.shape[:2] != self._file_size:
                first = self.image_paths[0]
                raise DataError(
                    f"{img_path}: image is {img.shape[1]}x{img.shape[0]} (WxH) but {first.name} is "
                    f"{self._file_size[1]}x{self._file_size[0]}; with size=None all images must share one "
                    f"size (pass size=(H, W) to resize)"
                )
        return img, lab

    def _first_size(self) -> tuple[int, int]:
        """(H, W) of the first image, the reference size when ``size`` is None."""
        return tuple(read_image(self.image_paths[0]).shape[:2])

    def __getitem__(self, index: int) -> dict[str, Tensor | str]:
        """``{"image": float32 (3, H, W) in [0, 1], "label": int64 (H, W) if labels, "name": stem}``."""
        if isinstance(index, (bool, np.bool_)) or not isinstance(index, (int, np.integer)):
            raise TypeError(f"index: expected an int, got {type(index).__name__}")
        n = len(self)
        if not -n <= index < n:
            raise IndexError(f"index {index} out of range for {n} images in {self.root}")
        index = int(index) % n
        img, lab = self.read(index)
        item: dict[str, Tensor | str] = {
            "image": torch.from_numpy(np.ascontiguousarray(img.transpose(2, 0, 1))).float().div_(255.0),
        }
        if lab is not None:
            item["label"] = torch.from_numpy(lab.astype(np.int64))
        item["name"] = self.image_paths[index].stem
        return item

    def validate(self) -> None:
        """Read every file once and raise the first DataError, to fail before a long run rather than in it."""
        for i in range(len(self)):
            self.read(i)

    def __repr__(self) -> str:
        """Short summary: root, count, size and whether labels are used."""
        size = "file size" if self.size is None else f"{self.size[0]}x{self.size[1]} (HxW)"
        return f"SegmentationFolder({str(self.root)!r}, n={len(self)}, size={size}, labels={self.has_labels})"


def random_subset(images: Tensor, n: int, seed: int, offset: int = 0) -> Tensor:
    """Images ``offset .. offset + n - 1`` of a permutation seeded by ``seed``: a reproducible random
    draw (disjoint draws of one seed by offset); fewer when the set runs out."""
    order = torch.randperm(len(images), generator=torch.Generator().manual_seed(seed))
    return images[order[offset: offset + n]]


def load_images(
    root: str | os.PathLike[str],
    size: tuple[int, int] | None = None,
    limit: int | None = None,
    *,
    skip_bad: bool = False,
) -> Tensor:
    """Stack the images of ``root``/images as float32 (N, 3, H, W) in [0, 1]; ``size`` is (H, W).

    ``limit`` keeps the first ``limit`` files (sorted by name). Shows a tqdm bar for more than 50
    files. An unreadable or corrupt file raises :class:`UnreadableFileError` naming it; with
    ``skip_bad`` it is left out with a warning, and a final warning gives the count. Other problems
    (no files, a different size when ``size`` is None) always raise.
    """
    if skip_bad:
        return _load_skipping_bad(root, size, limit)
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 0):
        raise ValueError(f"limit: expected None or an int >= 0, got {limit!r}")
    ds = SegmentationFolder(root, size=size, labels=False)
    n = len(ds) if limit is None else min(limit, len(ds))
    if n == 0:
        h, w = ds.size if ds.size is not None else ds._first_size()
        return torch.empty((0, 3, h, w), dtype=torch.float32)
    first = ds[0]["image"]
    assert isinstance(first, Tensor)
    out = torch.empty((n, *first.shape), dtype=torch.float32)
    out[0] = first
    indices = range(1, n)
    if n > _PROGRESS_THRESHOLD:
        from freqaug._progress import progress_bar

        indices = progress_bar(indices, total=n, initial=1, desc=f"loading {ds.root.name or ds.root}", unit="img")
    for i in indices:
        out[i] = cast(Tensor, ds[i]["image"])
    warn_resized(ds, n)
    return out


def warn_resized(ds: SegmentationFolder, total: int) -> None:
    """One warning if ``ds`` stretched files of other sizes to its ``size`` while reading them: training
    resizes (the model has one size), but a user should know that the data did not have it."""
    if not ds.resized or ds.size is None:
        return
    import warnings

    sizes = ", ".join(f"{n} at {w}x{h}" for (w, h), n in sorted(ds.resized.items()))
    warnings.warn(f"{ds.root}: resized {sum(ds.resized.values())} of {total} image(s) to {ds.size[1]}x{ds.size[0]} "
                  f"(WxH) ({sizes}); save the data at that size to train on it unchanged", stacklevel=3)


def _load_skipping_bad(root, size, limit) -> Tensor:
    """:func:`load_images` that leaves unreadable files out, warning about each and the total."""
    import warnings

    ds = SegmentationFolder(root, size=size, labels=False)
    n = len(ds) if limit is None else min(limit, len(ds))
    images: list[Tensor] = []
    skipped = 0
    for i in range(n):
        try:
            images.append(cast(Tensor, ds[i]["image"]))
        except UnreadableFileError as err:
            skipped += 1
            warnings.warn(f"skipped: {err}", stacklevel=3)
    if skipped:
        warnings.warn(f"{ds.root}: skipped {skipped} unreadable file(s) of {n}", stacklevel=3)
    warn_resized(ds, n)
    if not images:
        raise DataError(f"{ds.root}: none of the {n} image file(s) could be read")
    return torch.stack(images)


def load_segmentation(
    root: str | os.PathLike[str],
    size: tuple[int, int] | None = None,
    *,
    num_classes: int = 11,
    ignore_index: int | None = CAMVID.ignore_index,
    skip_bad: bool = False,
) -> tuple[Tensor, Tensor]:
    """Stack the (image, label map) pairs of ``root`` (``images/`` + ``labels/``, same names) as
    float32 (N, 3, H, W) in [0, 1] and uint8 (N, H, W) class ids; ``size`` is (H, W).

    A missing label map, one of another size than its image, ids outside ``0..num_classes-1``
    (other than ``ignore_index``) or an unreadable file raise :class:`DataError` naming the file;
    with ``skip_bad`` the pair is left out with a warning, and a final warning gives the count.
    """
    import warnings

    from freqaug._progress import progress_bar

    ds = SegmentationFolder(root, size=size, labels=True, num_classes=num_classes, ignore_index=ignore_index,
                            skip_missing_labels=skip_bad)
    problems = [f"{p}: no label map in {ds.root / 'labels'}" for p in ds.missing_labels]
    images, labels = [], []
    for i in progress_bar(range(len(ds)), desc=f"loading {ds.root.name or ds.root}", unit="pair",
                  disable=len(ds) <= _PROGRESS_THRESHOLD):
        try:
            img, lab = ds.read(i)
        except DataError as err:
            if not skip_bad:
                raise
            problems.append(str(err))
            continue
        images.append(torch.from_numpy(np.ascontiguousarray(img.transpose(2, 0, 1))))
        labels.append(torch.from_numpy(lab))
    for problem in problems:
        warnings.warn(f"skipped: {problem}", stacklevel=2)
    total = len(ds) + len(ds.missing_labels)
    if problems:
        warnings.warn(f"{ds.root}: skipped {len(problems)} bad pair(s) of {total}", stacklevel=2)
    if not images:
        raise DataError(f"{ds.root}: none of the {total} image/label pair(s) could be used")
    warn_resized(ds, total)
    return torch.stack(images).float().div_(255.0), torch.stack(labels)


def data_summary(folder: str | os.PathLike[str]) -> dict[str, Any]:
    """Path, number of images and sha256 of the sorted file names of a data folder's images/."""
    folder = Path(folder)
    images = folder / "images"
    names = sorted(p.name for p in images.iterdir() if p.suffix.lower() in IMAGE_EXTENSIONS) if images.is_dir() else []
    return {
        "path": str(folder.resolve()),
        "images": len(names),
        "names_sha256": hashlib.sha256("\n".join(names).encode()).hexdigest(),
    }
