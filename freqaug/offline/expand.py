"""``freqaug expand``: an expanded copy of a CamVid-layout training set, real files plus synthetic ones.

``out/images`` and ``out/labels`` hold copies of the real files (``link=True``: hard links where
possible, so that the copy takes no space but editing it edits the source data set)
and ``out/images/synthetic_{k:06d}.png``, written by the same resumable engine as ``freqaug
generate`` (index ``out/synthetic.jsonl``, parameters ``out/expand.json``). ``out/manifest.json``
lists every file with its source (real | synthetic) and label (null for synthetic images: an
unconditional bundle draws no label maps). A layout-conditional bundle draws synthetic image k from
a real training label map (optionally edited by a ``label_edit`` function, e.g. freqaug.augment's
label-map augmentation), written as ``out/labels/synthetic_{k:06d}.png``: the pair is a labelled sample.
"""
from __future__ import annotations

import json
import math
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

import numpy as np
import torch
from torch import Tensor

from freqaug._files import TEMP_SUFFIX, temp_path, write_atomic
from freqaug.bundle.core import Bundle, index_seed
from freqaug.data import data_summary
from freqaug.offline.generate import GenerateReport, LayoutFn, OutputFolder, Target, bundle_identity, read_layouts
from freqaug.data import DataError, SegmentationFolder, read_image

__all__ = ["ExpandReport", "LabelEdit", "SYNTHETIC_PREFIX", "expand_dataset"]

LabelEdit = Callable[[Tensor, Tensor, torch.Generator], Tensor]
"""(label (1, H, W), donor label (1, H, W), generator) -> the edited label (1, H, W): a label-map augmentation."""

SYNTHETIC_PREFIX = "synthetic_"
MANIFEST_FORMAT = "freqaug-expand"
UNCONDITIONAL_NOTE = (
    "unconditional bundle: synthetic images have no label maps (label null); use them where labels are not "
    "needed (e.g. self-supervised or image-level training) or mask them out of segmentation losses"
)
CONDITIONAL_NOTE = (
    "layout-conditional bundle: synthetic image k was drawn from the label map in its 'label' entry, a copy of "
    "the real training label named in 'layout' ('edited': true when label_edit changed it first); each pair "
    "(image, label) is a labelled training sample"
)


@dataclass(frozen=True)
class ExpandReport:
    """What one expand run did."""

    out: Path
    real: int
    linked: int
    copied: int
    synthetic: GenerateReport
    manifest: Path


def _check_ratio(ratio: float) -> float:
    """``ratio`` as a float if it is a finite number >= 0, else a ValueError."""
    if isinstance(ratio, bool) or not isinstance(ratio, (int, float)) or not math.isfinite(ratio) or ratio < 0:
        raise ValueError(f"ratio: expected a finite number >= 0 (synthetic images per real image), got {ratio!r}")
    return float(ratio)


def _check_data(dataset: SegmentationFolder, bundle: Bundle) -> None:
    """No real file name looks synthetic, and every real image has the bundle's size."""
    clash = [p.name for p in dataset.image_paths if p.name.startswith(SYNTHETIC_PREFIX)]
    if clash:
        raise DataError(f"{dataset.root / 'images' / clash[0]}: real image names must not start with {SYNTHETIC_PREFIX!r}")
    with ThreadPoolExecutor(max_workers=min(4, os.cpu_count() or 1)) as pool:
        sizes = list(pool.map(lambda p: read_image(p).shape[:2], dataset.image_paths))
    for path, size in zip(dataset.image_paths, sizes):
        if tuple(size) != tuple(bundle.image_size):
            (h, w), (bh, bw) = size, bundle.image_size
            raise DataError(
                f"{path}: image is {h}x{w} (HxW) but the bundle {bundle.path} generates {bh}x{bw}; expand needs "
                "data at the bundle's size (resize the data or use a bundle trained at that size)"
            )


def _real_layouts(dataset: SegmentationFolder, bundle: Bundle, seed: int,
                  label_edit: LabelEdit | None) -> tuple[LayoutFn, dict[int, bool]]:
    """(image k -> its label map, {k: edited}): k draws real label ``perm[k % n]`` (a permutation of ``seed``),
    edited with a donor label and a generator seeded from (seed, k) when ``label_edit`` is given."""
    if not dataset.label_paths:
        raise DataError(f"{dataset.root / 'labels'}: a layout-conditional bundle ({bundle.path}) draws synthetic "
                        "images from the real label maps; expected a labels/ folder with one map per image")
    maps = read_layouts(dataset.label_paths, bundle)
    names = [f"labels/{p.name}" for p in dataset.label_paths]
    order = np.random.default_rng([seed, 1]).permutation(len(maps))
    edited: dict[int, bool] = {}

    def layout(k: int) -> tuple[np.ndarray, str]:
        source = int(order[k % len(maps)])
        label = maps[source]
        if label_edit is not None:
            generator = torch.Generator().manual_seed(index_seed(index_seed(seed, k), 1))
            donor = maps[int(torch.randint(len(maps), (1,), generator=generator))]
            out = label_edit(torch.from_numpy(label)[None], torch.from_numpy(donor)[None], generator)
            label = np.ascontiguousarray(out[0].to(torch.uint8).numpy())
        edited[k] = not np.array_equal(label, maps[source])
        return label, names[source]

    return layout, edited


def _same_content(src: Path, dst: Path) -> bool:
    """``dst`` is ``src`` (a hard link) or a complete copy of it."""
    if not dst.is_file():
        return False
    if os.path.samefile(src, dst):
        return True
    return src.stat().st_size == dst.stat().st_size and src.read_bytes() == dst.read_bytes()


def _place(src: Path, dst: Path, link: bool) -> str:
    """Hard-link (falling back to a copy) or copy ``src`` to ``dst`` atomically: "kept", "linked" or "copied"."""
    if _same_content(src, dst):
        return "kept"
    if link:
        tmp = temp_path(dst)
        tmp.unlink(missing_ok=True)
        try:
            os.link(src, tmp)
            os.replace(tmp, dst)
            return "linked"
        except OSError:  # another file system, or links not allowed: copy instead
            tmp.unlink(missing_ok=True)
    write_atomic(dst, src.read_bytes())
    return "copied"


def _place_real(dataset: SegmentationFolder, out: Path, link: bool) -> tuple[list[dict[str, Any]], dict[str, int]]:
    """Real images (and labels) into ``out``; their manifest entries and counts of kept/linked/copied files."""
    counts = {"kept": 0, "linked": 0, "copied": 0}
    entries = []
    labels: Sequence[Path | None] = dataset.label_paths or [None] * len(dataset)
    if dataset.label_paths:
        (out / "labels").mkdir(parents=True, exist_ok=True)
        for stray in (out / "labels").glob(f".*{TEMP_SUFFIX}"):
            stray.unlink(missing_ok=True)
    for image, label in zip(dataset.image_paths, labels):
        counts[_place(image, out / "images" / image.name, link)] += 1
        if label is not None:
            counts[_place(label, out / "labels" / label.name, link)] += 1
        entries.append({"image": f"images/{image.name}", "label": f"labels/{label.name}" if label else None,
                        "source": "real"})
    return entries, counts


def expand_dataset(
    data: str | os.PathLike[str], bundle: Bundle, out: str | os.PathLike[str], *, ratio: float, seed: int = 0,
    link: bool = False, batch_size: int = 64, progress: bool = True, label_edit: LabelEdit | None = None,
    label_edit_config: Mapping[str, Any] | None = None,
) -> ExpandReport:
    """Write ``out`` = the real files of ``data`` + round(ratio * n_real) synthetic images, with a manifest.

    A layout-conditional bundle draws each synthetic image from a real label map (edited by
    ``label_edit`` when given; ``label_edit_config``, JSON-ready, describes it in the manifest and in
    what a resumed run must agree on) and writes that map beside it in ``out/labels``."""
    data, out = Path(data), Path(out)
    ratio = _check_ratio(ratio)
    dataset = SegmentationFolder(data, labels=None)
    _check_data(dataset, bundle)
    n_synthetic = round(ratio * len(dataset))
    summary = data_summary(data)
    conditional = bundle.classes is not None
    if label_edit is not None and not conditional:
        raise ValueError(f"label_edit: the bundle {bundle.path} is unconditional; only a layout-conditional bundle "
                         "draws images from (edited) label maps")
    layouts, edited = _real_layouts(dataset, bundle, seed, label_edit) if conditional else (None, {})
    target = Target(out / "images", out / "synthetic.jsonl", out / "expand.json", SYNTHETIC_PREFIX, "png",
                    out / "labels" if conditional else None)
    identity = bundle_identity(bundle, seed, "png") | {"data_names_sha256": summary["names_sha256"]}
    if conditional:
        identity["label_edit"] = None if label_edit is None else dict(label_edit_config or {"function": repr(label_edit)})
    with OutputFolder(target, identity) as folder:
        real_entries, counts = _place_real(dataset, out, link)
        synthetic = folder.fill(bundle, n=n_synthetic, seed=seed, batch_size=batch_size, progress=progress,
                                layouts=layouts)
        synthetic_entries = [_synthetic_entry(target, k, seed, layouts, edited) for k in range(n_synthetic)]
        manifest = {
            "format": MANIFEST_FORMAT, "version": 1, "data": summary, "bundle": str(bundle.path),
            "bundle_sha256": identity["bundle_sha256"], "seed": seed, "ratio": ratio, "real": len(real_entries),
            "synthetic": n_synthetic,
            "real_files": {"asked": "link" if link else "copy", "linked": counts["linked"],
                           "copied": counts["copied"], "kept": counts["kept"]},
            "synthetic_labels": {"from": "real training labels", "label_edit": identity["label_edit"]} if conditional
            else None,
            "note": CONDITIONAL_NOTE if conditional else UNCONDITIONAL_NOTE,
            "files": real_entries + synthetic_entries,
        }
        path = write_atomic(out / "manifest.json", (json.dumps(manifest, indent=1) + "\n").encode())
    return ExpandReport(out, len(real_entries), counts["linked"], counts["copied"], synthetic, path)


def _synthetic_entry(target: Target, k: int, seed: int, layouts: LayoutFn | None, edited: dict[int, bool]) -> dict[str, Any]:
    """The manifest entry of synthetic image ``k`` (with its label, source label and edit flag if conditional)."""
    entry: dict[str, Any] = {"image": f"images/{target.name(k)}", "label": None, "source": "synthetic", "seed": seed,
                             "index": k}
    if layouts is not None:
        _, source = layouts(k)  # a function of (seed, k): the same for images kept from an earlier run
        entry |= {"label": f"labels/{target.label_name(k)}", "layout": source, "edited": edited[k]}
    return entry
