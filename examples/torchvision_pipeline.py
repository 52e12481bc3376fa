"""A torchvision.transforms.v2 pipeline with freqaug on tv_tensors (Image, Mask, BoundingBoxes), as a PNG grid.

    .venv/bin/python examples/torchvision_pipeline.py BUNDLE [--data DIR | --drawn] [--n 6] \\
        [--out torchvision_grid.png]

BUNDLE is a bundle file (``freqaug export RUN OUT.safetensors``; ``make demo`` leaves one in
demo_out/train/bundle.safetensors). Scenes come from --data (a CamVid-layout folder; default
../shared/data/camvid/128x96/train when it exists) or, without one or with --drawn, from freqaug's
drawn street scenes. Each sample is a dict of a ``tv_tensors.Image`` (uint8), its ``Mask`` and
``BoundingBoxes`` around the car, pedestrian and bicyclist pixels. It goes through
``v2.Compose([RandomHorizontalFlip, ColorJitter, FreqAug])`` and, for reference, the same pipeline
without FreqAug from the same torch seed: the script checks that the mask and boxes come out
identical and still typed as Mask / BoundingBoxes, and that the image changed. Grid columns: the
scene with its boxes, its labels, then the output of ``bands`` and ``blend`` mode with the boxes
drawn on it (they still fit: freqaug leaves the geometry alone).
"""
from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import torch  # noqa: E402
from _common import grid_example, label_colours  # noqa: E402
from torchvision import tv_tensors  # noqa: E402
from torchvision.ops import masks_to_boxes  # noqa: E402
from torchvision.transforms import v2  # noqa: E402
from torchvision.utils import draw_bounding_boxes  # noqa: E402

from freqaug.augment.tv import FreqAug  # noqa: E402
from freqaug.data import CamVidClass  # noqa: E402

MODES = ("bands", "blend")
BOX_CLASSES = (CamVidClass.CAR, CamVidClass.PEDESTRIAN, CamVidClass.BICYCLIST)


def sample_of(image: torch.Tensor, label: torch.Tensor) -> dict[str, torch.Tensor]:
    """A v2 sample: uint8 ``Image``, ``Mask`` and one box per object class present in the labels."""
    present = [label == c for c in BOX_CLASSES if bool((label == c).any())]
    boxes = masks_to_boxes(torch.stack(present)) if present else torch.zeros(0, 4)
    height, width = label.shape
    return {
        "image": tv_tensors.Image(image.mul(255).round().to(torch.uint8)),
        "mask": tv_tensors.Mask(label),
        "boxes": tv_tensors.BoundingBoxes(boxes, format="XYXY", canvas_size=(height, width)),
    }


def pipeline(freqaug: FreqAug | None) -> v2.Compose:
    """Flip and colour jitter, then ``freqaug`` (left out for the reference pipeline)."""
    steps = [v2.RandomHorizontalFlip(p=0.5), v2.ColorJitter(brightness=0.2, contrast=0.2)]
    return v2.Compose(steps + ([freqaug] if freqaug is not None else []))


def checked(sample: dict, with_freqaug: v2.Compose, reference: v2.Compose, seed: int) -> dict:
    """``with_freqaug(sample)``, checked against ``reference(sample)`` from the same torch seed."""
    torch.manual_seed(seed)
    out = with_freqaug(sample)
    torch.manual_seed(seed)
    ref = reference(sample)
    for key, kind in (("image", tv_tensors.Image), ("mask", tv_tensors.Mask), ("boxes", tv_tensors.BoundingBoxes)):
        if type(out[key]) is not kind:
            raise AssertionError(f"{key}: expected a {kind.__name__} out of the pipeline, got {type(out[key]).__name__}")
    if not (torch.equal(out["mask"], ref["mask"]) and torch.equal(out["boxes"], ref["boxes"])):
        raise AssertionError("FreqAug changed the mask or the boxes")
    if out["boxes"].canvas_size != ref["boxes"].canvas_size or torch.equal(out["image"], ref["image"]):
        raise AssertionError("expected the boxes' canvas unchanged and the image augmented")
    return out


def with_boxes(sample: dict) -> torch.Tensor:
    """The sample's image with its boxes drawn, float (3, H, W) in [0, 1]."""
    drawn = draw_bounding_boxes(sample["image"].as_subclass(torch.Tensor), sample["boxes"].as_subclass(torch.Tensor),
                                colors="yellow", width=1)
    return drawn.float() / 255


def columns(images: torch.Tensor, labels: torch.Tensor, bundle: Path, seed: int) -> dict[str, torch.Tensor]:
    """Grid columns: scenes with boxes, label colours, and each mode's output with its (unchanged) boxes."""
    reference = pipeline(None)
    pipelines = {m: pipeline(FreqAug(bundle, mode=m, p=1.0, strength=(0.7, 1.0), seed=seed)) for m in MODES}
    out: dict[str, list[torch.Tensor]] = {"original + boxes": [], "labels": [], **{m: [] for m in MODES}}
    for i, (image, label) in enumerate(zip(images, labels)):
        sample = sample_of(image, label)
        out["original + boxes"].append(with_boxes(sample))
        out["labels"].append(label_colours(label))
        for mode, compose in pipelines.items():
            out[mode].append(with_boxes(checked(sample, compose, reference, seed + i)))
    return {name: torch.stack(tiles) for name, tiles in out.items()}


def main(argv: list[str] | None = None) -> Path:
    return grid_example(argv, __doc__, "torchvision v2", columns)


if __name__ == "__main__":
    main()
