"""Stage-2 variants side by side on one stage 1: what the baseline generator takes and how fast alpha learns.

    .venv/bin/python benchmarks/compare_stage2.py --run runs/camvid_src [--variants noise band_image ...]
        [--steps 200] [--threads 1] [--data ../shared/data/camvid/128x96] [--out benchmarks/results/stage2]

Every variant starts from the same band GANs (`freqaug.train.load_stage1` of RUN/checkpoint.safetensors)
and trains stage 2 (the baseline generator and alpha, band generators frozen) for the same number of
steps with the same seed on DATA/train. Then it draws as many images as DATA/val holds (target vectors
of seed 0, the same for every variant) with the EMA weights and scores the blend (the model's output),
the band image and the baseline image alone against val with the metrics of `diagnose_blend.py`
(Laplacian SWD, spectrum distance, brightness), beside alpha's trajectory. Each part is also scored
against a random subset of the train images (the distribution the GANs learn), and a reference row
scores as many other real train images both ways: the shift between train and val, and the noise
floor of the metrics. The band image is the same for every variant (stage 1 is shared), so the
rows differ by stage 2 alone.

Each finished variant is written at once (stage2.json + stage2.md, atomically) and skipped on rerun;
another setup in the same folder is refused. Also writes stage2_VARIANT.png: rows of band image,
baseline image and blend for the same 8 target vectors.
"""
from __future__ import annotations

import argparse
import dataclasses
import importlib.util
import json
import sys
import time
from pathlib import Path
from typing import Any

import torch
from torchvision.utils import save_image
from tqdm import tqdm

sys.path.insert(0, str(Path(__file__).resolve().parent))  # benchmarks/ helpers
from _results import read_resumable  # noqa: E402
from freqaug._files import sha256_file, write_atomic
from freqaug.data import load_images, random_subset
from freqaug.train import Trainer, load_stage1, read_checkpoint_meta
from freqaug.train.checkpoint import CHECKPOINT_NAME
from freqaug.train.run import RunConfig

HERE = Path(__file__).resolve().parent
DEFAULT_DATA = HERE.parent.parent / "shared" / "data" / "camvid" / "128x96"

# name -> (FreqGANConfig overrides, TrainConfig overrides); stage 1 does not depend on any of them
VARIANTS: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {
    "noise": ({}, {}),  # the patent's "another generator": an independent image from its own noise
    "noise-fast-alpha": ({}, {"lr_alpha": 0.1}),
    "band_image": ({"baseline_input": "band_image"}, {}),  # the baseline refines the band image
    "band_image-fast-alpha": ({"baseline_input": "band_image"}, {"lr_alpha": 0.1}),
}


def _diagnose_blend():
    """benchmarks/diagnose_blend.py as a module (the benchmarks are scripts, not a package)."""
    spec = importlib.util.spec_from_file_location("diagnose_blend", HERE / "diagnose_blend.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


DIAGNOSE = _diagnose_blend()


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--run", type=Path, required=True, help="run folder whose checkpoint has finished stage 1")
    parser.add_argument("--variants", nargs="+", default=list(VARIANTS), choices=list(VARIANTS))
    parser.add_argument("--steps", type=int, default=200, help="stage-2 steps per variant")
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="folder with train/ and val/ (images/ each)")
    parser.add_argument("--out", type=Path, default=HERE / "results" / "stage2")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--swd-levels", type=int, default=4)
    args = parser.parse_args(argv)
    if args.steps < 1:
        parser.error(f"--steps: expected a positive number of steps, got {args.steps}")
    return args


def load_run(run: Path) -> tuple[RunConfig, Path]:
    """The run's config and checkpoint; a clear exit when either is missing or the run cannot serve."""
    config_path, checkpoint = run / "config.json", run / CHECKPOINT_NAME
    for path in (config_path, checkpoint):
        if not path.is_file():
            raise SystemExit(f"{path}: not found; --run needs a band-GAN run folder (`freqaug train --out RUN`)")
    config = RunConfig.from_file(config_path)
    if config.single or config.model.layout is not None:
        raise SystemExit(f"{config_path}: a single-GAN control or a conditional run; this comparison needs an "
                         "unconditional band-GAN run")
    return config, checkpoint


def setup_of(args: argparse.Namespace, checkpoint: Path, stage1_steps: int, n_train: int, n_val: int) -> dict[str, Any]:
    """What must be equal for variants to share one table (checked on resume)."""
    return {"run": str(args.run), "checkpoint_sha256": sha256_file(checkpoint), "stage1_steps": stage1_steps,
            "stage2_steps": args.steps, "data": str(args.data), "train_images": n_train, "val_images": n_val,
            "swd_levels": args.swd_levels, "threads": args.threads}


def train_variant(name: str, config: RunConfig, checkpoint: Path, images: torch.Tensor, steps: int) -> tuple[Trainer, list[dict]]:
    """A trainer with the variant's settings, stage 1 from ``checkpoint``, after ``steps`` stage-2 steps."""
    model_over, train_over = VARIANTS[name]
    trainer = Trainer(dataclasses.replace(config.model, **model_over), dataclasses.replace(config.train, **train_over),
                      images)
    load_stage1(trainer, checkpoint)
    return trainer, trainer.fit(trainer.step["stage1"], steps)


def save_rows(parts: dict[str, torch.Tensor], path: Path, n: int = 8) -> Path:
    """Band image, baseline and blend rows of the first n samples (atomically)."""
    rows = torch.cat([parts[p][:n] for p in ("band_image", "baseline", "image")])
    tmp = path.with_name(f".{path.name}.tmp")
    save_image(rows, tmp, nrow=n, format="png")
    tmp.replace(path)
    return path


def train_subsets(train: torch.Tensor, n: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Two disjoint random subsets of the train images (seed 0), each of n images or half the set:
    the training distribution to score against, and real images to score as the reference."""
    m = min(n, len(train) // 2)
    return random_subset(train, m, 0), random_subset(train, m, 0, offset=m)


def score_against(target: torch.Tensor, parts: dict[str, torch.Tensor], levels: int) -> dict[str, dict[str, float]]:
    """diagnose_blend's scores of each part's first len(target) images against ``target``."""
    return DIAGNOSE.score_parts(target, {p: x[: len(target)] for p, x in parts.items()}, levels=levels)


def markdown(results: dict[str, Any], command: str) -> str:
    setup = results["setup"]
    lines = [
        "# Stage-2 variants on one stage 1", "",
        f"Command: `{command}`", "",
        f"Stage 1: `{setup['run']}` ({setup['stage1_steps']} steps, shared). Each variant: {setup['stage2_steps']} "
        f"stage-2 steps, same seed, {setup['train_images']} train images; scored with the EMA weights on "
        f"{setup['val_images']} samples (seed 0) against {setup['val_images']} val images. SWD x1e3 "
        f"({setup['swd_levels']} levels); spectrum: distance of radially averaged log power spectra.", "",
        "| variant | alpha start -> end | image | SWD mean | SWD finest | spectrum | low | high | brightness "
        "| vs train: SWD mean | SWD finest | spectrum | s |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
        f"| real val | | | | | | | | {setup['real_brightness']:.3f} | | | | |",
    ]
    reference = results.get("reference")
    if reference is not None:
        lines.append(_row("real train (reference)", "", "other train images", reference["vs_val"],
                          reference["vs_train"], ""))
    for name, v in results["variants"].items():
        for part, c in v["scores"].items():
            label = {"image": "**blend (output)**", "band_image": "band image", "baseline": "baseline"}[part]
            alpha = f"{v['alpha'][0]:.3f} -> {v['alpha'][-1]:.3f}" if part == "image" else ""
            seconds = f"{v['seconds']:.0f}" if part == "image" else ""
            lines.append(_row(name, alpha, label, c, v.get("scores_train", {}).get(part), seconds))
    if reference is not None:
        lines += ["", f"vs train: scored against {reference['images']} random train images (seed 0); the reference "
                      "row scores as many other train images against val and against them, so it shows what the "
                      "training distribution itself scores: its shift from val, and the noise floor of the metrics."]
    lines += ["", "Variants: " + "; ".join(f"`{n}`: model {VARIANTS[n][0] or 'defaults'}, train {VARIANTS[n][1] or 'defaults'}"
                                       for n in results["variants"]), ""]
    return "\n".join(lines)


def _row(name: str, alpha: str, label: str, c: dict[str, float], t: dict[str, float] | None, seconds: str) -> str:
    """A table row: scores against val, then against train ('-' for results recorded before)."""
    train = ("-", "-", "-") if t is None else (f"{t['swd_mean']:.1f}", f"{t['swd_finest']:.1f}", f"{t['spectrum']:.3f}")
    return (f"| {name} | {alpha} | {label} | {c['swd_mean']:.1f} | {c['swd_finest']:.1f} | {c['spectrum']:.3f} | "
            f"{c['spectrum_low']:.3f} | {c['spectrum_high']:.3f} | {c['brightness']:.3f} | {' | '.join(train)} | "
            f"{seconds} |")


def main(argv: list[str] | None = None) -> dict[str, Any]:
    args = parse_args(argv)
    torch.set_num_threads(args.threads)
    command = "benchmarks/compare_stage2.py " + " ".join(sys.argv[1:] if argv is None else argv)
    config, checkpoint = load_run(args.run)
    size = config.model.image_size
    train = load_images(args.data / "train", size=size) * 2 - 1
    val = load_images(args.data / "val", size=size)
    stage1_steps = read_checkpoint_meta(checkpoint)["step"]["stage1"]
    args.out.mkdir(parents=True, exist_ok=True)
    setup = setup_of(args, checkpoint, stage1_steps, len(train), len(val)) | {"real_brightness": val.mean().item()}
    results = read_resumable(args.out / "stage2.json", setup, {"variants": {}})
    train_target, train_other = train_subsets((train + 1) / 2, len(val))
    if "reference" not in results:  # scored once per results folder
        results["reference"] = {"images": len(train_target),
                                "vs_val": score_against(val, {"real": train_other}, args.swd_levels)["real"],
                                "vs_train": score_against(train_target, {"real": train_other}, args.swd_levels)["real"]}
    z = torch.randn(len(val), config.model.z_dim, generator=torch.Generator().manual_seed(0))
    for name in tqdm([v for v in args.variants if v not in results["variants"]], desc="stage-2 variants", unit="variant"):
        start = time.perf_counter()
        trainer, records = train_variant(name, config, checkpoint, train, args.steps)
        seconds = time.perf_counter() - start
        parts = DIAGNOSE.model_parts(trainer.ema, z)
        results["variants"][name] = {
            "alpha": [r["alpha"] for r in records[::10]] + [records[-1]["alpha"]],  # every 10th step and the last
            "scores": DIAGNOSE.score_parts(val, parts, levels=args.swd_levels),
            "scores_train": score_against(train_target, parts, args.swd_levels),
            "seconds": seconds,
        }
        save_rows(parts, args.out / f"stage2_{name}.png")
        write_atomic(args.out / "stage2.json", (json.dumps(results, indent=1) + "\n").encode())
        write_atomic(args.out / "stage2.md", markdown(results, command).encode())
    print(markdown(results, command))
    return results


if __name__ == "__main__":
    main()
