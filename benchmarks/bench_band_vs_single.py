"""Band GAN vs the single-GAN control at equal training wall-clock, scored on CamVid val.

    .venv/bin/python benchmarks/bench_band_vs_single.py [--minutes 15] [--seeds 0 1 2]
        [--data ../shared/data/camvid/128x96] [--out benchmarks/results]

For each seed, trains (1) a FreqGAN (stage 1 band GANs, then stage 2 baseline + alpha; the wall-clock
budget is split 2:1 between the stages) and (2) the baseline generator alone, each for the same
number of minutes, then generates as many images as the val split holds with the EMA weights and
scores them against val: Laplacian-pyramid SWD (x1e3, per level and mean) and the distance between
radially averaged log power spectra (low / high frequencies). Also reports generator parameters and
multiply-adds per sample. Writes band_vs_single.md / .json and band_vs_single_spectra.png.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from pathlib import Path

import torch
from torchvision.utils import save_image

from freqaug.data import load_images
from freqaug.metrics import radial_power_spectrum, spectrum_distance, swd
from freqaug.models import FreqGANConfig, count_parameters
from freqaug.runtime import keep_freed_memory
from freqaug.train import TrainConfig, Trainer
from freqaug.viz import save_sample_grid, save_spectrum_plot

HERE = Path(__file__).resolve().parent
DEFAULT_DATA = HERE.parent.parent / "shared" / "data" / "camvid" / "128x96"


def train_for(trainer: Trainer, seconds: float, stages: list[tuple[str, float]]) -> dict[str, int]:
    """Run each stage's step function for its share of ``seconds``; returns the step counts."""
    steps = {}
    for name, share in stages:
        step_fn = {"stage1": trainer.stage1_step, "stage2": trainer.stage2_step, "single": trainer.single_step}[name]
        deadline = time.perf_counter() + seconds * share
        while time.perf_counter() < deadline:
            step_fn()
        steps[name] = trainer.step[name]
    return steps


@torch.no_grad()
def generate(trainer: Trainer, n: int, seed: int) -> torch.Tensor:
    """n EMA samples in [0, 1]."""
    ema = trainer.ema
    z = ema.sample_z(n, generator=torch.Generator(trainer.device).manual_seed(seed))
    images = ema.baseline_image(ema.noise(z)["baseline"]) if trainer.single else ema(z).image
    return (images.clamp(-1, 1) + 1) / 2


def macs_per_sample(module: torch.nn.Module, *inputs) -> int:
    """Multiply-adds of one forward pass (convolutions and linear layers, plain or equalized), per sample."""
    total = 0

    def hook(layer, args, output):
        nonlocal total
        weight = layer.weight
        if weight.ndim == 4:  # (out, in / groups, kh, kw): each output value costs in/groups * kh * kw
            total += output.numel() * weight.shape[1] * weight.shape[2] * weight.shape[3]
        elif weight.ndim == 2:
            total += output.numel() * weight.shape[1]

    layers = [m for m in module.modules() if isinstance(getattr(m, "weight", None), torch.nn.Parameter)
              and m.weight.ndim in (2, 4) and not list(m.children())]
    handles = [m.register_forward_hook(hook) for m in layers]
    with torch.no_grad():
        module(*inputs)
    for h in handles:
        h.remove()
    return total // inputs[0].shape[0]


def run(args: argparse.Namespace) -> dict:
    keep_freed_memory()
    torch.set_num_threads(args.threads)
    model_config = FreqGANConfig(image_size=(96, 128))
    train_images = load_images(args.data / "train", size=model_config.image_size) * 2 - 1
    val = load_images(args.data / "val", size=model_config.image_size)
    args.out.mkdir(parents=True, exist_ok=True)
    results = {"band": [], "single": []}
    spectra = {"val (real)": radial_power_spectrum(val)}
    for seed in args.seeds:
        for arm in ("band", "single"):
            trainer = Trainer(model_config, TrainConfig(batch_size=16, seed=seed), train_images, single=arm == "single")
            stages = [("single", 1.0)] if arm == "single" else [("stage1", 2 / 3), ("stage2", 1 / 3)]
            start = time.perf_counter()
            steps = train_for(trainer, args.minutes * 60, stages)
            seconds = time.perf_counter() - start
            fake = generate(trainer, len(val), seed=1000 + seed)
            z = trainer.model.sample_z(2)
            gen = trainer.model.baseline if arm == "single" else trainer.model
            gen_input = trainer.model.noise(z)["baseline"] if arm == "single" else z
            entry = {
                "seed": seed, "steps": steps, "train_seconds": round(seconds, 1),
                "load_average_1min_after": round(os.getloadavg()[0], 2),
                "swd": swd(val, fake, levels=4), "spectrum": spectrum_distance(val, fake),
                "generator_params": count_parameters(gen), "generator_macs_per_sample": macs_per_sample(gen, gen_input),
            }
            results[arm].append(entry)
            print(f"seed {seed} {arm:6s} steps {steps} SWD mean {entry['swd']['mean']:.1f} "
                  f"spectrum {entry['spectrum']['mean']:.3f}", flush=True)
            if seed == args.seeds[0]:
                spectra[f"{arm} GAN"] = radial_power_spectrum(fake)
                save_image(fake[:16], args.out / f"band_vs_single_samples_{arm}.png", nrow=8)
                if arm == "band":
                    save_sample_grid(trainer.ema(trainer.ema.sample_z(8, generator=torch.Generator().manual_seed(seed))),
                                     model_config.spec, args.out / "band_vs_single_band_grid.png")
    save_image(val[:16], args.out / "band_vs_single_samples_real.png", nrow=8)
    save_spectrum_plot(spectra, args.out / "band_vs_single_spectra.png",
                       title=f"CamVid val vs generated ({args.minutes:g} min of training each)")
    report = {"minutes_per_arm": args.minutes, "threads": args.threads, "seeds": args.seeds, "results": results}
    (args.out / "band_vs_single.json").write_text(json.dumps(report, indent=2) + "\n")
    (args.out / "band_vs_single.md").write_text(markdown(report))
    print(markdown(report))
    return report


def _mean_std(values: list[float]) -> str:
    if len(values) == 1:
        return f"{values[0]:.2f}"
    return f"{statistics.mean(values):.2f} ± {statistics.stdev(values):.2f}"


def markdown(report: dict) -> str:
    rows = ["# Band GAN vs single GAN (CamVid 128x96, equal wall-clock)", "",
            f"{report['minutes_per_arm']:g} min of training per arm on {report['threads']} thread(s), "
            f"seeds {report['seeds']}; scored against CamVid val (lower is better). Produced by "
            "`benchmarks/bench_band_vs_single.py`.", "",
            "| arm | steps | SWD mean | SWD finest | SWD coarsest | spectrum dist. | low | high | G params | G MACs/sample |",
            "|---|---|---|---|---|---|---|---|---|---|"]
    for arm, entries in report["results"].items():
        def col(get):
            return _mean_std([get(e) for e in entries])

        rows.append(
            f"| {arm} | {entries[0]['steps']} | {col(lambda e: e['swd']['mean'])} | {col(lambda e: e['swd']['level0'])} | "
            f"{col(lambda e: e['swd']['level3'])} | {col(lambda e: e['spectrum']['mean'])} | "
            f"{col(lambda e: e['spectrum']['low'])} | {col(lambda e: e['spectrum']['high'])} | "
            f"{entries[0]['generator_params']:,} | {entries[0]['generator_macs_per_sample']:,} |"
        )
    return "\n".join(rows) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, default=15.0, help="training wall-clock per arm and seed")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="folder with train/ and val/")
    parser.add_argument("--out", type=Path, default=HERE / "results")
    run(parser.parse_args())


if __name__ == "__main__":
    main()
