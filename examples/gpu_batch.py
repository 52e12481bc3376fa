"""Batched freqaug on the device, after the loader: DataLoader -> .to(device) -> kornia -> FreqAugBatch.

    .venv/bin/python examples/gpu_batch.py BUNDLE [--data DIR | --drawn] [--steps 20] [--batch 16] \\
        [--workers 0] [--device cuda] [--n 6] [--out gpu_batch_grid.png]

BUNDLE is a bundle file (``freqaug export RUN OUT.safetensors``; ``make demo`` leaves one in
demo_out/train/bundle.safetensors). Scenes come from --data (a CamVid-layout folder; default
../shared/data/camvid/128x96/train when it exists) or, without one or with --drawn, from freqaug's
drawn street scenes. Batches of images and masks go to the device (cuda when available, else cpu)
and through a kornia ``AugmentationSequential`` (flip, colour jiggle; images and masks), then
``FreqAugBatch`` with per-sample p = 0.5, one generator call per batch; in ``replace`` mode the
replaced samples' masks become ignore_index. It prints images/s of the loop with kornia alone and
with kornia + freqaug in each mode (--steps batches each), and writes a grid of the first batch:
original, kornia, kornia + each mode (rows freqaug did not draw equal the kornia column).
"""
from __future__ import annotations

import sys
import time
from itertools import cycle, islice
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import kornia.augmentation as K  # noqa: E402
import torch  # noqa: E402
from _common import data_of, parser, scene_dataset  # noqa: E402
from torch.utils.data import DataLoader  # noqa: E402

from freqaug.augment import MODES, FreqAugBatch  # noqa: E402
from freqaug.viz import save_augment_grid  # noqa: E402

IGNORE_INDEX = 11  # CamVid's unlabelled id


def kornia_pipeline() -> K.AugmentationSequential:
    """A standard kornia pipeline on images and masks."""
    return K.AugmentationSequential(K.RandomHorizontalFlip(p=0.5), K.ColorJiggle(0.2, 0.2, 0.2, 0.02, p=0.8),
                                    data_keys=["input", "mask"])


def step(batch: dict, device: torch.device, kornia: K.AugmentationSequential,
         freqaug: FreqAugBatch | None) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """One batch: to the device, kornia, then freqaug. Returns (kornia images, final images, final masks)."""
    images = batch["image"].to(device, non_blocking=True)
    masks = batch["label"].to(device, non_blocking=True)
    images, float_masks = kornia(images, masks[:, None].float())
    masks = float_masks[:, 0].round().long()
    if freqaug is None:
        return images, images, masks
    out = freqaug(images)
    return images, out, freqaug.ignore_replaced(masks)


def images_per_second(loader: DataLoader, steps: int, device: torch.device, kornia: K.AugmentationSequential,
                      freqaug: FreqAugBatch | None) -> float:
    """Images/s of ``steps`` batches (loader included), after one warm-up batch."""
    batches = cycle(loader)
    step(next(batches), device, kornia, freqaug)
    done, start = 0, time.perf_counter()
    for batch in islice(batches, steps):
        done += step(batch, device, kornia, freqaug)[1].shape[0]
    if device.type == "cuda":
        torch.cuda.synchronize()
    return done / (time.perf_counter() - start)


def main(argv: list[str] | None = None) -> Path:
    cli = parser(__doc__, n_default=6, out_default="gpu_batch_grid.png", steps=True)
    cli.add_argument("--batch", type=int, default=16)
    cli.add_argument("--workers", type=int, default=0, help="DataLoader workers")
    cli.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    args = cli.parse_args(argv)
    torch.set_num_threads(1)
    device, data = torch.device(args.device), data_of(args)
    dataset = scene_dataset(data, max(args.batch, args.n))
    loader = DataLoader(dataset, batch_size=args.batch, shuffle=True, num_workers=args.workers, drop_last=True,
                        generator=torch.Generator().manual_seed(args.seed), pin_memory=device.type == "cuda")
    kornia = kornia_pipeline()
    transforms = {mode: FreqAugBatch(args.bundle, mode=mode, p=0.5, seed=args.seed, ignore_index=IGNORE_INDEX)
                  for mode in MODES}
    print(f"{len(dataset)} scenes from {data or 'drawn street scenes'}, batch {args.batch}, "
          f"{args.workers} workers, device {device}")
    base = images_per_second(loader, args.steps, device, kornia, None)
    print(f"kornia only: {base:.1f} images/s")
    for mode, freqaug in transforms.items():
        rate = images_per_second(loader, args.steps, device, kornia, freqaug)
        print(f"kornia + FreqAugBatch({mode}, p=0.5): {rate:.1f} images/s ({rate / base:.2f}x kornia only)")

    first = next(iter(DataLoader(dataset, batch_size=args.n)))
    torch.manual_seed(args.seed)
    flipped, _, _ = step(first, device, kornia, None)
    columns = {"original": first["image"], "kornia": flipped}
    for mode, freqaug in transforms.items():
        out = freqaug(flipped, generator=torch.Generator(device=device).manual_seed(args.seed))
        columns[f"kornia + {mode}"] = out
    save_augment_grid({name: images.cpu() for name, images in columns.items()}, args.out,
                      title=f"FreqAugBatch after kornia on {device}, p = 0.5 per sample ({args.bundle.name})")
    print(f"wrote {args.out}")
    return args.out


if __name__ == "__main__":
    main()
