"""What the augmentation examples share: where CamVid is, the scenes they read, and their command line."""
from __future__ import annotations

import argparse
from pathlib import Path
from typing import Callable

import numpy as np
import torch
from torch.utils.data import Dataset

from freqaug.data import SegmentationFolder, SyntheticStreets, colorize
from freqaug.viz import save_augment_grid

CAMVID = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "camvid"
DEFAULT_DATA = CAMVID / "128x96" / "train"
ColumnsFn = Callable[[torch.Tensor, torch.Tensor, Path, int], dict[str, torch.Tensor]]


def scene_dataset(data: Path | None, n: int, size: tuple[int, int] = (96, 128)) -> Dataset:
    """CamVid-layout folder ``data`` (images and labels, resized to ``size`` = (H, W)), or ``n`` drawn scenes.

    Items are ``{"image": float32 (3, H, W) in [0, 1], "label": int64 (H, W), "name"}`` either way.
    """
    if data is None:
        return SyntheticStreets(n, size=size, seed=0)
    return SegmentationFolder(data, size=size, labels=True)


def first_scenes(dataset: Dataset, n: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The first ``n`` items of ``dataset`` stacked: float (n, 3, H, W) images, int64 (n, H, W) labels."""
    items = [dataset[i] for i in range(min(n, len(dataset)))]  # type: ignore[arg-type]
    return torch.stack([item["image"] for item in items]), torch.stack([item["label"] for item in items])


def to_uint8_hwc(image: torch.Tensor) -> np.ndarray:
    """A float (3, H, W) tensor in [0, 1] as a uint8 (H, W, 3) array (what albumentations pipelines read)."""
    return image.mul(255).round().to(torch.uint8).permute(1, 2, 0).contiguous().numpy()


def parser(doc: str, *, n_default: int, out_default: str, steps: bool = False) -> argparse.ArgumentParser:
    """The examples' shared options: BUNDLE, --data / --drawn, --n (or --steps), --seed, --out."""
    parser = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("bundle", type=Path, help="a bundle file (freqaug export RUN OUT.safetensors)")
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA if DEFAULT_DATA.is_dir() else None,
                        help="CamVid-layout folder (default: ../shared/data/camvid/128x96/train if present, "
                             "else drawn scenes)")
    parser.add_argument("--drawn", action="store_true", help="use drawn street scenes even if CamVid is present")
    parser.add_argument("--n", type=int, default=n_default, help="scenes in the grid (rows)")
    if steps:
        parser.add_argument("--steps", type=int, default=20, help="batches to time")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=Path(out_default), help="the PNG grid to write")
    return parser


def data_of(args: argparse.Namespace) -> Path | None:
    """The folder the examples read, or None for drawn scenes (--drawn, or no CamVid)."""
    return None if args.drawn else args.data


def label_colours(label: torch.Tensor) -> torch.Tensor:
    """An (H, W) CamVid label map as a float (3, H, W) colour image in [0, 1]."""
    return torch.from_numpy(colorize(label.numpy().astype(np.uint8))).permute(2, 0, 1).float() / 255


def grid_example(argv: list[str] | None, doc: str, what: str, columns: ColumnsFn) -> Path:
    """Parse the shared options, read the scenes, write ``columns(images, labels, bundle, seed)`` as a grid."""
    args = parser(doc, n_default=6, out_default=f"{what.split()[0]}_grid.png").parse_args(argv)
    torch.set_num_threads(1)
    data = data_of(args)
    images, labels = first_scenes(scene_dataset(data, args.n), args.n)
    grid = columns(images, labels, args.bundle, args.seed)
    save_augment_grid(grid, args.out, title=f"{what} + freqaug ({args.bundle.name})")
    print(f"{len(images)} scenes from {data or 'drawn street scenes'}; columns: {', '.join(grid)}; "
          f"labels (and boxes) checked unchanged; wrote {args.out}")
    return args.out
