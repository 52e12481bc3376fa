"""Throughput of a bundle: images/s of ``bundle.generate`` against the loader's conventional path.

    .venv/bin/python benchmarks/bench_generate.py [--sizes 96x128 192x256] [--batches 1 64] [--quick]
        [--threads N] [--data ../shared/data/camvid] [--out FILE.md]

For each image size (H x W) a FreqGAN of the default config (random weights: speed does not depend
on training) is saved as a bundle and loaded. Rows, per device (CPU with all threads; CUDA when
present) and batch size:

- ``generate``: ``bundle.generate`` as shipped (no_grad, float32, channels_last weights, batches
  padded to a multiple of 8 rows for bit-exact results), and ``generate(exact=False)`` (no padding);
- ``inference_mode``, ``inference_mode+contiguous``: the model under ``torch.inference_mode``, in
  channels_last (as loaded) and in the default contiguous (NCHW) format (a row says so where a
  variant fails);
- CUDA only: ``half`` (float16 autocast) and ``compile`` (``torch.compile`` of the model).

The conventional path a loader already pays per image: decode a CamVid PNG of that size with OpenCV
and run a standard albumentations pipeline (flip, random resized crop, colour jitter, normalise), one
core. The ratio column is generator images/s over that. Last, the end-to-end ``freqaug generate``
writer (PNG encoding and fsynced files in a thread pool) against raw ``generate`` at batch 64; the
issue's target is at least 80%.
"""
from __future__ import annotations

import argparse
import copy
import os
import shutil
import tempfile
import time
from pathlib import Path
from typing import Callable

import cv2
import numpy as np
import torch

from freqaug import load_bundle, save_bundle
from freqaug.offline.generate import generate_to_folder
from freqaug.models import FreqGAN, FreqGANConfig

HERE = Path(__file__).resolve().parent
DEFAULT_DATA = HERE.parent.parent / "shared" / "data" / "camvid"


def images_per_second(run: Callable[[], int], seconds: float) -> float:
    """Call ``run`` (which returns how many images it made) once to warm up, then for ``seconds``."""
    run()
    done, start = 0, time.perf_counter()
    while True:
        done += run()
        elapsed = time.perf_counter() - start
        if elapsed >= seconds:
            return done / elapsed


def make_bundle(size: tuple[int, int], folder: Path):
    """A default-config FreqGAN bundle at ``size`` (H, W)."""
    path = save_bundle(FreqGAN(FreqGANConfig(image_size=size)), folder / f"bench_{size[0]}x{size[1]}.safetensors",
                       provenance={"note": "benchmark: random weights"})
    return load_bundle(path)


def variants(bundle, device: str) -> dict[str, Callable[[int], int]]:
    """Generation variants: name -> function(batch) that makes one batch and returns its size."""
    bundle.to(device)
    fast = copy.deepcopy(bundle.model)  # channels_last, as load_bundle leaves it
    contiguous = copy.deepcopy(bundle.model).to(memory_format=torch.contiguous_format)
    z_cache: dict[int, torch.Tensor] = {}

    def z(batch: int) -> torch.Tensor:
        return z_cache.setdefault(batch, bundle.z_for(0, range(batch)))

    def synced(fn: Callable[[int], object]) -> Callable[[int], int]:
        def run(batch: int) -> int:
            fn(batch)
            if device == "cuda":
                torch.cuda.synchronize()
            return batch
        return run

    def under_inference(model) -> Callable[[int], object]:
        def fn(batch: int):
            with torch.inference_mode():
                return model(z(batch)).image
        return fn

    out = {
        "generate": synced(lambda b: bundle.generate(b, batch_size=b)),
        "generate(exact=False)": synced(lambda b: bundle.generate(b, batch_size=b, exact=False)),
        "inference_mode": synced(under_inference(fast)),
        "inference_mode+contiguous": synced(under_inference(contiguous)),
    }
    if device == "cuda":
        def half(batch: int):
            with torch.inference_mode(), torch.autocast("cuda", dtype=torch.float16):
                return fast(z(batch)).image
        out["half"] = synced(half)
        out["compile"] = synced(under_inference(torch.compile(fast)))
    return out


def conventional_rate(size: tuple[int, int], data_root: Path, seconds: float) -> tuple[float, str]:
    """Images/s of OpenCV PNG decoding + a standard albumentations pipeline on one core."""
    import albumentations as A

    folder = data_root / f"{size[1]}x{size[0]}" / "train" / "images"
    files = sorted(folder.glob("*.png"))[:64] if folder.is_dir() else []
    source = f"{folder} ({len(files)} files)" if files else "drawn scenes"
    if not files:
        from freqaug.data import synthetic_batch

        tmp = Path(tempfile.mkdtemp())
        for i, image in enumerate(synthetic_batch(16, size=size, seed=0)[0]):
            array = (image.permute(1, 2, 0).numpy() * 255).astype(np.uint8)
            cv2.imwrite(str(tmp / f"{i}.png"), array)
            files.append(tmp / f"{i}.png")
    pipeline = A.Compose([
        A.HorizontalFlip(p=0.5), A.RandomResizedCrop(size=size, scale=(0.5, 1.0)),
        A.ColorJitter(p=0.8), A.Normalize(),
    ])
    threads = cv2.getNumThreads()
    cv2.setNumThreads(1)
    state = {"i": 0}

    def one() -> int:
        image = cv2.cvtColor(cv2.imread(str(files[state["i"] % len(files)])), cv2.COLOR_BGR2RGB)
        pipeline(image=image)
        state["i"] += 1
        return 1

    rate = images_per_second(one, seconds)
    cv2.setNumThreads(threads)
    return rate, source


def writer_ratio(bundle, n: int) -> tuple[float, float]:
    """(raw generate images/s, freqaug-generate writer images/s) at batch 64 on the CPU."""
    bundle.to("cpu")
    start = time.perf_counter()
    bundle.generate(n, batch_size=64)
    raw = n / (time.perf_counter() - start)
    out = Path(tempfile.mkdtemp()) / "gen"
    report = generate_to_folder(bundle, out, n=n, batch_size=64, progress=False)
    shutil.rmtree(out.parent)
    return raw, report.images_per_second


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", nargs="+", default=["96x128", "192x256"], help="H x W sizes")
    parser.add_argument("--batches", nargs="+", type=int, default=[1, 64])
    parser.add_argument("--seconds", type=float, default=5.0, help="timing window per row (default 5)")
    parser.add_argument("--writer-n", type=int, default=256,
                        help="images for the writer comparison (several batches of 64, so encoding overlaps generation)")
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="CamVid root with WxH/train/images")
    parser.add_argument("--quick", action="store_true", help="first size only, 1 s windows, 128 writer images")
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1,
                        help="torch CPU threads (default: all; fewer on a busy machine, where threads wait on each other)")
    parser.add_argument("--out", type=Path, default=None, help="also write the table to this markdown file")
    args = parser.parse_args()
    if args.quick:
        args.sizes, args.seconds, args.writer_n = args.sizes[:1], 1.0, 128
    torch.set_num_threads(args.threads)
    devices = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
    lines = [f"torch {torch.__version__}, {args.threads} of {os.cpu_count()} CPU threads"
             + (f", {torch.cuda.get_device_name()}" if "cuda" in devices else ", no CUDA device"), "",
             "| size (HxW) | device | batch | variant | images/s | conventional images/s | ratio |",
             "|---|---|---|---|---|---|---|"]
    writer_lines = []
    folder = Path(tempfile.mkdtemp())
    for text in args.sizes:
        size = tuple(int(v) for v in text.split("x"))
        bundle = make_bundle(size, folder)
        conventional, source = conventional_rate(size, args.data, args.seconds)
        for device in devices:
            for name, run in variants(bundle, device).items():
                for batch in args.batches:
                    try:
                        rate = images_per_second(lambda: run(batch), args.seconds)
                    except RuntimeError as err:  # a variant the model does not support
                        lines.append(f"| {text} | {device} | {batch} | {name} | fails: {str(err)[:60]} | | |")
                        print(lines[-1], flush=True)
                        continue
                    lines.append(f"| {text} | {device} | {batch} | {name} | {rate:.1f} | {conventional:.0f} | "
                                 f"{rate / conventional:.3f} |")
                    print(lines[-1], flush=True)
        raw, written = writer_ratio(bundle, args.writer_n)
        writer_lines.append(f"| {text} | {raw:.1f} | {written:.1f} | {written / raw:.0%} |")
        lines.append(f"\nconventional path at {text}: {source}")
    shutil.rmtree(folder)
    lines += ["", "`freqaug generate` writer vs raw `generate` (CPU, batch 64):", "",
              "| size (HxW) | raw images/s | writer images/s | writer / raw |", "|---|---|---|---|", *writer_lines]
    table = "\n".join(lines)
    print(table)
    if args.out:
        args.out.write_text(table + "\n")


if __name__ == "__main__":
    main()
