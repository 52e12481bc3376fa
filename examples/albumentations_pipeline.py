"""An albumentations pipeline with freqaug on driving scenes, written as a before/after PNG grid.

    .venv/bin/python examples/augment_pipeline.py BUNDLE [--data DIR | --drawn] [--n 6] [--out augment_grid.png]

BUNDLE is a bundle file (``freqaug export RUN OUT.safetensors``). Scenes come from --data (a
CamVid-layout folder; default ../shared/data/camvid/128x96/train when it exists) or, without
one or with --drawn, from freqaug's drawn street scenes. Each row: the scene, its label map, then the scene
through the same pipeline with freqaug in ``bands`` and in ``blend`` mode (the labels pass
through every pipeline unchanged; the script checks that).
"""
from __future__ import annotations

import argparse
import os
from pathlib import Path

os.environ.setdefault("NO_ALBUMENTATIONS_UPDATE", "1")

import albumentations as A  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402
from torchvision.utils import save_image  # noqa: E402

from freqaug.augment.albu import FreqAug  # noqa: E402
from freqaug.data import SegmentationFolder, colorize, street_scene  # noqa: E402

DEFAULT_DATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "camvid" / "128x96" / "train"
MODES = ("bands", "blend")


def load_scenes(data: Path | None, n: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """``n`` (uint8 RGB (H, W, 3), uint8 labels (H, W)) pairs from ``data`` or drawn scenes."""
    if data is None:
        return [street_scene(seed, size=(96, 128)) for seed in range(n)]
    folder = SegmentationFolder(data)
    return [folder.read(i) for i in range(min(n, len(folder)))]  # type: ignore[misc]


def pipeline(bundle: Path, mode: str, seed: int) -> A.Compose:
    """A standard photometric/geometric pipeline with freqaug applied to every image."""
    return A.Compose(
        [A.HorizontalFlip(p=0.5), A.RandomBrightnessContrast(p=0.3),
         FreqAug(str(bundle), mode=mode, strength=(0.7, 1.0), p=1.0)],
        seed=seed,
    )


def as_tensor(image: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(image)).permute(2, 0, 1).float() / 255


def grid_rows(scenes: list[tuple[np.ndarray, np.ndarray]], bundle: Path, seed: int) -> list[torch.Tensor]:
    """Per scene: original, label colours, and one augmented image per mode (same flips per mode)."""
    pipelines = {mode: pipeline(bundle, mode, seed) for mode in MODES}
    tiles = []
    for image, labels in scenes:
        tiles += [as_tensor(image), as_tensor(colorize(labels))]
        for compose in pipelines.values():
            out = compose(image=image, mask=labels)
            flipped = not np.array_equal(out["mask"], labels)
            assert np.array_equal(out["mask"], labels[:, ::-1] if flipped else labels), "labels changed"
            tiles.append(as_tensor(out["image"]))
    return tiles


def main(argv: list[str] | None = None) -> Path:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("bundle", type=Path)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA if DEFAULT_DATA.is_dir() else None,
                        help="CamVid-layout folder (default: CamVid 128x96 train if present, else drawn scenes)")
    parser.add_argument("--drawn", action="store_true", help="use drawn street scenes even if CamVid is present")
    parser.add_argument("--n", type=int, default=6, help="scenes (rows)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=Path("augment_grid.png"))
    args = parser.parse_args(argv)
    data = None if args.drawn else args.data
    scenes = load_scenes(data, args.n)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    save_image(grid_rows(scenes, args.bundle, args.seed), args.out, nrow=2 + len(MODES), padding=2)
    source = data or "drawn street scenes"
    print(f"{len(scenes)} scenes from {source}; columns: original, labels, {', '.join(MODES)}; wrote {args.out}")
    return args.out


if __name__ == "__main__":
    main()
