"""Decompose one driving scene with a 3-level wavelet transform and save its band grid.

    .venv/bin/python examples/decompose_scene.py [IMAGE] [--out bands.png]

Without IMAGE it uses the first image of $FREQAUG_DEMO_DATA (a folder with images/, as for
``freqaug demo``) if set, else a drawn street scene.
"""
import argparse
from pathlib import Path

import torch

from freqaug.bands import BandSpec, compose, decompose
from freqaug.data import read_image, street_scene
from freqaug.demo import default_data_dir
from freqaug.viz import save_band_grid


def load(path: Path | None) -> torch.Tensor:
    if path is None and (folder := default_data_dir()) is not None:
        path = sorted((folder / "images").iterdir())[0]
    rgb = read_image(path) if path is not None else street_scene(0, size=(192, 256))[0]
    return torch.from_numpy(rgb).permute(2, 0, 1).float().div(255)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("image", type=Path, nargs="?")
    parser.add_argument("--out", type=Path, default=Path("bands.png"))
    args = parser.parse_args()
    image = load(args.image)
    spec = BandSpec(kind="dwt", wavelet="sym4", levels=3, mode="symmetric")
    bands = decompose(image[None], spec)
    rec = compose(bands, spec, size=tuple(image.shape[-2:]))[0]
    save_band_grid(image, {k: v[0] for k, v in bands.items()}, spec, args.out, reconstruction=rec)
    print(f"max |x - compose(decompose(x))| = {float((rec - image).abs().max()):.2e}; wrote {args.out}")


if __name__ == "__main__":
    main()
