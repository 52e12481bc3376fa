"""DataLoader throughput with and without freqaug: what the augmentation costs a training loader.

    .venv/bin/python benchmarks/bench_loader.py [--bundle B.safetensors] [--seconds 8] [--workers 0 2]
        [--data ../shared/data/camvid/256x192/train] [--out benchmarks/results]

The loader: CamVid 256x192 train (``--data``; drawn street scenes written as PNGs to a temporary
CamVid-layout folder when it is absent), PNG decoding with OpenCV, a standard albumentations
pipeline (flip, random resized crop, colour jitter) on image and mask, batch 16, shuffled, on the
CPU, for each worker count. Rows, side by side in one run, each against the same loader without
freqaug (``baseline``, measured first and last for each worker count; the ratio uses their mean):

- ``per-worker``: freqaug generates in the loader: albumentations ``FreqAug(mode, p=0.5)`` in the
  pipeline for ``bands`` / ``blend``; ``SyntheticMix(ratio=1)`` (half the samples generated, the
  Dataset-level form of ``replace`` at p = 0.5) for ``replace``;
- ``bank``: ``SyntheticMix(ratio=1, bank=SyntheticBank(...))``: synthetic samples copied from a
  pool that a background thread refreshes (``replace``);
- ``batched``: ``FreqAugBatch(mode, p=0.5)`` on each batch after the loader, in the main process
  (on the CPU here; after ``.to("cuda")`` in the CUDA rows).

With CUDA, ``cuda`` rows add the batched transform after the transfer and per-worker generation on
the GPU in spawned workers. Throughput does not depend on trained weights: without ``--bundle`` an
untrained bundle of the default ``FreqGANConfig`` at 192x256 is used (the output says so). Each
row warms up (worker start, bundle load, pool fill) before ``--seconds`` of timing; the 1-minute
load average is recorded per row, because the machine may be shared. Writes ``loader.md`` and
``loader.json`` to ``--out``.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Callable

os.environ.setdefault("NO_ALBUMENTATIONS_UPDATE", "1")

import albumentations as A  # noqa: E402
import cv2  # noqa: E402
import torch  # noqa: E402
from torch.utils.data import DataLoader, Dataset, RandomSampler  # noqa: E402

from freqaug import save_bundle  # noqa: E402
from freqaug.augment import FreqAugBatch, SyntheticBank, SyntheticMix  # noqa: E402
from freqaug.augment.albu import FreqAug  # noqa: E402
from freqaug.data import SegmentationFolder, street_scene  # noqa: E402
from freqaug.models import FreqGAN, FreqGANConfig  # noqa: E402

HERE = Path(__file__).resolve().parent
DEFAULT_DATA = HERE.parent.parent / "shared" / "data" / "camvid" / "256x192" / "train"
SIZE = (192, 256)  # (H, W)
BATCH = 16
P = 0.5
TARGET = 0.10  # the limit on the throughput freqaug may cost the loader (bank or batched path)


class Scenes(Dataset):
    """A CamVid-layout folder decoded with OpenCV and run through an albumentations pipeline; uint8 tensors out."""

    def __init__(self, root: Path, pipeline: A.Compose) -> None:
        self.folder = SegmentationFolder(root, labels=True)
        self.pipeline = pipeline

    def __len__(self) -> int:
        return len(self.folder)

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        image, label = self.folder.read(index)
        out = self.pipeline(image=image, mask=label)
        return {"image": torch.from_numpy(out["image"]).permute(2, 0, 1), "mask": torch.from_numpy(out["mask"])}


def pipeline(freqaug: FreqAug | None = None) -> A.Compose:
    """The standard pipeline (flip, random resized crop, colour jitter), with ``freqaug`` last if given."""
    steps = [A.HorizontalFlip(p=0.5), A.RandomResizedCrop(size=SIZE, scale=(0.5, 1.0)), A.ColorJitter(p=0.8)]
    return A.Compose(steps + ([freqaug] if freqaug is not None else []))


def one_thread_opencv(_: int) -> None:
    """DataLoader worker_init_fn: OpenCV on one thread, as torch is."""
    cv2.setNumThreads(1)


@dataclass
class Row:
    """One measured configuration."""

    path: str
    mode: str
    workers: int
    device: str
    images_per_s: float
    load_avg_1min: float
    seconds: float
    note: str = ""
    ratio: float | None = None  # images/s over the baseline's (same workers)


@dataclass
class Config:
    """What a row runs: its dataset, an optional transform after the loader, and loader options."""

    path: str
    mode: str
    dataset: Dataset
    after: Callable[[torch.Tensor], torch.Tensor] | None = None
    device: str = "cpu"
    spawn: bool = False
    note: str = ""
    bank: SyntheticBank | None = None  # its refresh counts are reported (in this process: workers 0)


def measure(config: Config, workers: int, seconds: float, seed: int, warmup: int = 3) -> Row:
    """Images/s of ``config``'s loader (plus its after-loader transform), after a warm-up."""
    sampler = RandomSampler(config.dataset, replacement=True, num_samples=10**7,
                            generator=torch.Generator().manual_seed(seed))
    loader = DataLoader(config.dataset, batch_size=BATCH, sampler=sampler, num_workers=workers,
                        worker_init_fn=one_thread_opencv if workers else None,
                        multiprocessing_context="spawn" if config.spawn and workers else None)
    device = torch.device(config.device)
    batches = iter(loader)

    def step() -> int:
        images = next(batches)["image"].to(device)
        if config.after is not None:
            images = config.after(images)
        images = images.float().div_(255)  # what a training step would take
        if device.type == "cuda":
            torch.cuda.synchronize()
        return images.shape[0]

    for _ in range(warmup * max(1, workers)):  # worker start, bundle load, pool fill
        step()
    done, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        done += step()
    elapsed = time.perf_counter() - start
    del batches  # shuts the workers down
    return Row(config.path, config.mode, workers, config.device, done / elapsed, round(os.getloadavg()[0], 2),
               round(elapsed, 1), config.note)


def configs(root: Path, bundle: Path, cuda: bool, bank_size: int) -> list[Config]:
    """Every row's configuration but the baseline, in run order."""
    real = Scenes(root, pipeline())
    out = [Config("per-worker", mode, Scenes(root, pipeline(FreqAug(str(bundle), mode=mode, p=P))))
           for mode in ("bands", "blend")]
    out.append(Config("per-worker", "replace", SyntheticMix(real, bundle, 1.0),
                      note="SyntheticMix(ratio=1): half the samples generated"))
    bank = SyntheticBank(bundle, size=bank_size, refresh=0.25, batch_size=BATCH)
    out.append(Config("bank", "replace", SyntheticMix(real, bundle, 1.0, bank=bank),
                      note=f"SyntheticBank(size={bank_size}, refresh=0.25)", bank=bank))
    out += [Config("batched", mode, real, FreqAugBatch(bundle, mode=mode, p=P)) for mode in ("bands", "blend", "replace")]
    if cuda:
        out += [Config("batched", mode, real, FreqAugBatch(bundle, mode=mode, p=P, device=None), device="cuda")
                for mode in ("bands", "blend", "replace")]
        out += [Config("per-worker", mode, Scenes(root, pipeline(FreqAug(str(bundle), mode=mode, p=P, device="cuda"))),
                       device="cuda", spawn=True, note="spawned workers") for mode in ("bands", "blend")]
    return out


def drawn_folder(n: int = 64) -> Path:
    """``n`` drawn street scenes and their label maps as PNGs in a temporary CamVid-layout folder."""
    root = Path(tempfile.mkdtemp(prefix="freqaug_bench_scenes_"))
    (root / "images").mkdir()
    (root / "labels").mkdir()
    for i in range(n):
        image, label = street_scene(i, size=SIZE)
        cv2.imwrite(str(root / "images" / f"{i:04d}.png"), cv2.cvtColor(image, cv2.COLOR_RGB2BGR))
        cv2.imwrite(str(root / "labels" / f"{i:04d}.png"), label)
    return root


def untrained_bundle() -> Path:
    """An untrained bundle of the default FreqGANConfig at 192x256 (speed does not depend on the weights)."""
    path = Path(tempfile.mkdtemp(prefix="freqaug_bench_bundle_")) / "untrained_192x256.safetensors"
    return save_bundle(FreqGAN(FreqGANConfig(image_size=SIZE)), path, provenance={"note": "benchmark: random weights"})


def with_ratios(rows: list[Row]) -> dict[int, float]:
    """Set each row's ratio to its images/s over the mean baseline of its worker count; return those means."""
    baselines: dict[int, list[float]] = {}
    for row in rows:
        if row.path == "baseline":
            baselines.setdefault(row.workers, []).append(row.images_per_s)
    means = {w: sum(v) / len(v) for w, v in baselines.items()}
    for row in rows:
        row.ratio = row.images_per_s / means[row.workers]
    return means


def report(rows: list[Row], meta: dict[str, Any]) -> str:
    """The markdown report: setup, the table, and the target check."""
    lines = [
        "# DataLoader throughput with freqaug (`benchmarks/bench_loader.py`)", "",
        f"Command: `{meta['command']}`", "",
        f"{meta['when']}; torch {meta['torch']}, {meta['cores']} CPU cores, {meta['device']}; data: {meta['data']}; "
        f"bundle: {meta['bundle']}; batch {BATCH}, p = {P}; {meta['seconds']} s timed per row after a warm-up; "
        f"main process {meta['threads']} torch thread(s), workers 1 each. "
        f"Load average (1, 5, 15 min) at the start: {meta['load_start']}, at the end: {meta['load_end']}.", "",
        "| path | mode | workers | device | images/s | vs baseline | load avg (1 min) | note |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(f"| {r.path} | {r.mode} | {r.workers} | {r.device} | {r.images_per_s:.1f} | {r.ratio:.2f}x | "
                     f"{r.load_avg_1min} | {r.note} |")
    lines += ["", f"Target: with `SyntheticBank` or the batched path, freqaug at p = {P} costs the CPU loader at most "
              f"{TARGET:.0%} of its throughput (ratio >= {1 - TARGET:.2f}).", "",
              "| path | mode | workers | ratio | target met |", "|---|---|---|---|---|"]
    for r in rows:
        if r.path in ("bank", "batched") and r.device == "cpu":
            lines.append(f"| {r.path} | {r.mode} | {r.workers} | {r.ratio:.2f}x | "
                         f"{'yes' if r.ratio >= 1 - TARGET else 'no'} |")
    return "\n".join(lines) + "\n"


def write_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


def main(argv: list[str] | None = None) -> list[Row]:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bundle", type=Path, default=None, help="a bundle file (default: an untrained one at 192x256)")
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="CamVid-layout folder (drawn scenes if absent)")
    parser.add_argument("--seconds", type=float, default=8.0, help="timed seconds per row (default 8)")
    parser.add_argument("--workers", type=int, nargs="+", default=[0, 2])
    parser.add_argument("--threads", type=int, default=1, help="torch threads of the main process (default 1)")
    parser.add_argument("--bank-size", type=int, default=64, help="SyntheticBank pool size (default 64)")
    parser.add_argument("--warmup", type=int, default=3, help="warm-up batches per worker before timing (default 3)")
    parser.add_argument("--drawn", type=int, default=64, help="drawn scenes to use when there is no CamVid (default 64)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=HERE / "results")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    cv2.setNumThreads(1)
    load_start = [round(v, 2) for v in os.getloadavg()]
    root = args.data if (args.data / "images").is_dir() else drawn_folder(args.drawn)
    data = f"{root} ({len(SegmentationFolder(root))} images)" if root == args.data else f"drawn street scenes ({root})"
    bundle = args.bundle or untrained_bundle()
    bundle_note = str(bundle) if args.bundle else "untrained default FreqGANConfig at 192x256 (speed does not depend on weights)"
    cuda = torch.cuda.is_available()
    print(f"data: {data}\nbundle: {bundle_note}\nload average: {load_start}", flush=True)
    rows: list[Row] = []
    baseline = Config("baseline", "-", Scenes(root, pipeline()))
    for workers in args.workers:
        for config in [baseline, *configs(root, bundle, cuda, args.bank_size), baseline]:
            if config.spawn and not workers:
                continue
            row = measure(config, workers, args.seconds, args.seed, args.warmup)
            if config.bank is not None and not workers:  # did the refresh thread keep up?
                stats = config.bank.stats()
                row.note += f"; refreshed {stats['refreshed']} of the {stats['served'] * 0.25:.0f} owed"
            rows.append(row)
            print(f"{row.path:10} {row.mode:8} workers {workers} {row.device:4} {row.images_per_s:7.1f} images/s "
                  f"(load {row.load_avg_1min}) {row.note}", flush=True)
    means = with_ratios(rows)
    meta = {
        "command": "python benchmarks/bench_loader.py " + " ".join(argv if argv is not None else sys.argv[1:]),
        "when": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "torch": torch.__version__,
        "cores": len(os.sched_getaffinity(0)), "device": torch.cuda.get_device_name() if cuda else "no CUDA device",
        "data": data, "bundle": bundle_note, "seconds": args.seconds, "threads": args.threads,
        "load_start": load_start, "load_end": [round(v, 2) for v in os.getloadavg()],
        "baseline_images_per_s": {str(w): v for w, v in means.items()},
    }
    text = report(rows, meta)
    print(text)
    args.out.mkdir(parents=True, exist_ok=True)
    write_atomic(args.out / "loader.md", text)
    write_atomic(args.out / "loader.json", json.dumps({"meta": meta, "rows": [asdict(r) for r in rows]}, indent=2) + "\n")
    return rows


if __name__ == "__main__":
    main()
