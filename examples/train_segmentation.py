"""Train a small segmentation model with and without freqaug on a CamVid-layout folder; print val mIoU.

    .venv/bin/python examples/train_segmentation.py BUNDLE [--data DIR | --drawn] [--steps 300] [--seed 0]

BUNDLE is a bundle file (``freqaug train --data DIR/train --out RUN`` writes RUN/bundle.safetensors).
DIR holds ``train/`` and ``val/`` folders in the CamVid layout (``images/*.png``, ``labels/*.png``
with class ids 0..10, 11 = unlabelled); default ../shared/data/camvid/128x96 when it exists, else
(or with --drawn) freqaug's drawn street scenes. The same SegNet (``freqaug.metrics.SegNet``, ~1.1M
parameters, same seed: same initial weights and batch order) is trained twice for ``--steps`` steps:

* ``standard``: horizontal flip, zoom/crop, colour jitter (``benchmarks/arms.py``'s ``StandardAugment``);
* ``standard + freqaug bands``: the same, then freqaug's ``bands`` mode at p = 0.5
  (``freqaug.augment.PooledFreqAug``: high-frequency bands taken from generated scenes).

Both are ``(images, labels, generator) -> (images, labels)`` callables over batches, so in your own
loop::

    augment = Chain(StandardAugment(), PooledFreqAug(bundle, mode="bands", p=0.5))
    images, labels = augment(images, labels, generator)      # labels stay valid

One short run per arm is one seed: for differences you can trust (several seeds, two budgets,
FDA as a peer) see benchmarks/bench_downstream.py.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch

from freqaug.augment import PooledFreqAug

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))  # the benchmark's standard pipeline
from arms import Chain, StandardAugment  # noqa: E402
from freqaug.data import CAMVID, load_segmentation, synthetic_batch
from freqaug.metrics.segnet import evaluate_segmentation, median_frequency_weights, train_segnet

DEFAULT_DATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "camvid" / "128x96"
SIZE = (96, 128)  # (H, W)
NUM_CLASSES, IGNORE_INDEX = 11, 11


def load(data: Path | None, size: tuple[int, int], drawn: int) -> tuple[tuple, tuple]:
    """(train, val) pairs of float images (N, 3, H, W) in [0, 1] and integer labels (N, H, W)."""
    if data is None:
        return synthetic_batch(drawn, size=size, seed=0), synthetic_batch(max(1, drawn // 4), size=size, seed=1)
    return load_segmentation(data / "train", size), load_segmentation(data / "val", size)


def main(argv: list[str] | None = None) -> dict[str, dict]:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("bundle", type=Path)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA if (DEFAULT_DATA / "train").is_dir() else None,
                        help="folder with train/ and val/ (default: CamVid 128x96 if present, else drawn scenes)")
    parser.add_argument("--drawn", action="store_true", help="use drawn street scenes even if CamVid is present")
    parser.add_argument("--drawn-n", type=int, default=128, help="drawn training scenes (val: a quarter as many)")
    parser.add_argument("--size", nargs=2, type=int, default=list(SIZE), metavar=("H", "W"))
    parser.add_argument("--steps", type=int, default=300, help="optimiser steps per arm")
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=1, help="torch threads")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    data = None if args.drawn else args.data
    (train_x, train_y), (val_x, val_y) = load(data, tuple(args.size), args.drawn_n)
    print(f"data: {data or 'drawn street scenes'}; train {len(train_x)}, val {len(val_x)} images", flush=True)
    weights = median_frequency_weights(train_y, NUM_CLASSES, IGNORE_INDEX)
    arms = {
        "standard": lambda: StandardAugment(),
        "standard + freqaug bands": lambda: Chain(StandardAugment(),
                                                  PooledFreqAug(args.bundle, mode="bands", p=0.5, seed=args.seed)),
    }
    scores = {}
    for name, build in arms.items():
        start = time.perf_counter()
        model = train_segnet(train_x, train_y, num_classes=NUM_CLASSES, ignore_index=IGNORE_INDEX, steps=args.steps,
                             batch_size=args.batch_size, seed=args.seed, class_weights=weights, augment=build())
        scores[name] = evaluate_segmentation(model, val_x, val_y, num_classes=NUM_CLASSES, ignore_index=IGNORE_INDEX)
        scores[name]["seconds"] = time.perf_counter() - start
    for name, s in scores.items():
        print(f"{name:26s} val mIoU {100 * s['miou']:5.1f}  pixel accuracy {100 * s['pixel_accuracy']:5.1f}  "
              f"({s['seconds']:.0f} s, {args.steps} steps)")
    def iou(s: dict, c: int) -> str:
        return "-" if s["iou"][c] is None else f"{100 * s['iou'][c]:.0f}"

    print(f"per-class val IoU % ({' / '.join(scores)}):",
          ", ".join(f"{CAMVID.names[c]} " + "/".join(iou(s, c) for s in scores.values()) for c in range(NUM_CLASSES)))
    return scores


if __name__ == "__main__":
    main()
