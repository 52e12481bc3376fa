"""An albumentations pipeline with freqaug on driving scenes, written as a before/after PNG grid.

    .venv/bin/python examples/albumentations_pipeline.py BUNDLE [--data DIR | --drawn] [--n 6] \\
        [--out albumentations_grid.png]

BUNDLE is a bundle file (``freqaug export RUN OUT.safetensors``; ``make demo`` leaves one in
demo_out/train/bundle.safetensors). Scenes come from --data (a CamVid-layout folder; default
../shared/data/camvid/128x96/train when it exists) or, without one or with --drawn, from freqaug's
drawn street scenes. Each row: the scene, its label map, then the scene through the same pipeline
(flip, brightness/contrast, freqaug) with freqaug in ``bands`` and in ``blend`` mode. The labels
pass through every pipeline unchanged (only flipped with the image); the script checks that.
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

os.environ.setdefault("NO_ALBUMENTATIONS_UPDATE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent))

import albumentations as A  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402
from _common import grid_example, label_colours, to_uint8_hwc  # noqa: E402

from freqaug.augment.albu import FreqAug  # noqa: E402

MODES = ("bands", "blend")


def pipeline(bundle: Path, mode: str, seed: int) -> A.Compose:
    """A standard photometric/geometric pipeline with freqaug applied to every image."""
    return A.Compose(
        [A.HorizontalFlip(p=0.5), A.RandomBrightnessContrast(p=0.3),
         FreqAug(str(bundle), mode=mode, strength=(0.7, 1.0), p=1.0)],
        seed=seed,
    )


def as_tensor(image: np.ndarray) -> torch.Tensor:
    """A uint8 (H, W, 3) array as a float (3, H, W) tensor in [0, 1]."""
    return torch.from_numpy(np.ascontiguousarray(image)).permute(2, 0, 1).float() / 255


def columns(images: torch.Tensor, labels: torch.Tensor, bundle: Path, seed: int) -> dict[str, torch.Tensor]:
    """Grid columns: originals, label colours, and each mode's pipeline output (checking the labels)."""
    pipelines = {mode: pipeline(bundle, mode, seed) for mode in MODES}
    out: dict[str, list[torch.Tensor]] = {"original": [], "labels": [], **{m: [] for m in MODES}}
    for image, label in zip(images, labels):
        array, mask = to_uint8_hwc(image), label.numpy().astype(np.uint8)
        out["original"].append(image)
        out["labels"].append(label_colours(label))
        for mode, compose in pipelines.items():
            result = compose(image=array, mask=mask)
            flipped = not np.array_equal(result["mask"], mask)
            if not np.array_equal(result["mask"], mask[:, ::-1] if flipped else mask):
                raise AssertionError(f"mode {mode}: the labels changed other than by the flip")
            out[mode].append(as_tensor(result["image"]))
    return {name: torch.stack(tiles) for name, tiles in out.items()}


def main(argv: list[str] | None = None) -> Path:
    return grid_example(argv, __doc__, "albumentations", columns)


if __name__ == "__main__":
    main()
