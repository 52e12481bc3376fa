"""Band GAN vs the single-GAN control at equal training wall-clock, scored on CamVid val.

    .venv/bin/python benchmarks/bench_band_vs_single.py [--minutes 15] [--seeds 0 1 2] [--threads 1]
        [--data ../shared/data/camvid/128x96 | --drawn] [--out benchmarks/results/band_vs_single]
    .venv/bin/python benchmarks/bench_band_vs_single.py --conditional --segnet runs/eval/segnet.safetensors
        [--arms band single band-oasis band-oasis-labelmix]

For each seed and arm, trains (1) a FreqGAN (stage 1 band GANs, then stage 2 baseline + alpha; the
budget is split 2:1 between the stages) or (2) the baseline generator alone, each for the same
number of minutes of the process's CPU time per thread (the wall-clock of a process with its own
cores, but not cut short by other processes taking turns on them), then generates as many images
as the val split holds with the EMA weights and scores them against val: Laplacian-pyramid SWD
(x1e3, per level and mean) and the distance between radially averaged log power spectra (low /
high frequencies); reports generator parameters and multiply-adds per sample, beside a reference
row: real train images scored against val the same way (what a generator that copied its training
set would get; the train/val shift). ``--conditional`` trains layout-conditional arms (SPADE
generators; the concat or OASIS image discriminator, optionally with LabelMix) on (image, label map) pairs, draws
image k from val label map k and adds layout fidelity (and PREFIX_layouts_ARM.png: rows layout,
generated, the segnet's reading, real, for the val layouts with most of the rare classes): the mIoU of a segnet trained on real train
(``--segnet``, `freqaug train-segnet`) between its prediction and that label map, beside the same
number for the real val images (the ceiling). ``--arms band band-ll2x8 band-ll2x8-fast-alpha``
compares the band GAN with one update per band and step with one whose coarse band LL2 takes 8 D+G
updates per stage-1 step (``TrainConfig.band_updates``, the default since it was measured here), and
with that plus alpha learning 10x faster (lr_alpha 0.1), at the same wall-clock; ``band-semantic`` /
``single-semantic`` add the semantic-consistency loss through the frozen segnet of
``--semantic-segnet`` (refused if it is the scoring ``--segnet``), and the conditional table then
gives the layout IoU of every class. Every arm starts
from ``BASE`` (one update per band, lr_alpha 0.01), so the recorded tables stay comparable across
those default changes.

Each finished (arm, seed) is written at once (JSON + Markdown, atomically) and skipped on rerun, so an
interrupted run resumes with the same command; processes running different arms into one folder
merge their results under a lock (the spectra plot shows every arm whose spectrum the JSON holds).
Writes PREFIX.md / .json and PREFIX_spectra.png, PREFIX being band_vs_single, or
cond_band_vs_single with --conditional (or --name).
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import math
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any, Callable

import torch
from torchvision.utils import save_image
from tqdm import tqdm

sys.path.insert(0, str(Path(__file__).resolve().parent))  # benchmarks/ helpers
from _results import locked, read_resumable  # noqa: E402
from freqaug._files import sha256_file, write_atomic
from freqaug.evaluate import rare_class_showcase
from freqaug.metrics.segnet import predict_labels
from freqaug.data import CAMVID, colorize_images, load_images, load_segmentation, random_subset, synthetic_batch
from freqaug.metrics import radial_power_spectrum, spectrum_distance, swd
from freqaug.models import FreqGANConfig, LayoutConfig, count_parameters
from freqaug.models.config import BASELINE
from freqaug.runtime import keep_freed_memory
from freqaug.train import TrainConfig, Trainer
from freqaug.viz import save_sample_grid, save_spectrum_plot

HERE = Path(__file__).resolve().parent
DEFAULT_DATA = HERE.parent.parent / "shared" / "data" / "camvid" / "128x96"


@dataclasses.dataclass(frozen=True)
class Arm:
    """One training setup: the band GAN or the single control, and (conditional) its image discriminator."""

    single: bool
    image_discriminator: str = "concat"
    train: tuple[tuple[str, Any], ...] = ()  # TrainConfig overrides, e.g. (("labelmix", 10.0),)


# what every arm overrides: the recipe these tables were first recorded with (one update per band,
# alpha's learning rate 0.01), pinned so that later default changes leave them valid
BASE = TrainConfig(band_updates={}, lr_alpha=1e-2)

ARMS = {
    "band": Arm(single=False),
    "single": Arm(single=True),
    "band-oasis": Arm(single=False, image_discriminator="oasis"),
    "single-oasis": Arm(single=True, image_discriminator="oasis"),
    "band-oasis-labelmix": Arm(single=False, image_discriminator="oasis", train=(("labelmix", 10.0),)),
    "band-ll2x8": Arm(single=False, train=(("band_updates", {"LL2": 8}),)),
    "band-ll2x8-fast-alpha": Arm(single=False, train=(("band_updates", {"LL2": 8}), ("lr_alpha", 0.1))),
    # + the semantic-consistency loss through the frozen segnet of --semantic-segnet (never the scoring one)
    "band-semantic": Arm(single=False, train=(("band_updates", {"LL2": 8}), ("lr_alpha", 0.1), ("semantic", 1.0))),
    "single-semantic": Arm(single=True, train=(("semantic", 1.0),)),
}


def model_config(arm: Arm, size: tuple[int, int], conditional: bool) -> FreqGANConfig:
    """The default FreqGAN at ``size``; conditional on the CamVid classes with the arm's image discriminator."""
    if not conditional:
        return FreqGANConfig(image_size=size)
    return FreqGANConfig(image_size=size, layout=LayoutConfig(CAMVID, image_discriminator=arm.image_discriminator))


def compute_clock(threads: int) -> Callable[[], float]:
    """Seconds of this process's CPU time per torch thread: the wall-clock when the process has its
    cores to itself (every run recorded before 2026-11-30 ran so, at load <= 2 on 2 cores), but not
    shortened when another process takes turns on them."""
    return lambda: time.process_time() / threads


def train_for(trainer: Trainer, seconds: float, stages: list[tuple[str, float]], desc: str,
              clock: Callable[[], float] = time.perf_counter) -> dict[str, int]:
    """Run each stage's step function for its share of ``seconds`` of ``clock`` (at least one step);
    returns the step counts."""
    steps = {}
    for name, share in stages:
        step_fn = {"stage1": trainer.stage1_step, "stage2": trainer.stage2_step, "single": trainer.single_step}[name]
        deadline = clock() + seconds * share
        with tqdm(desc=f"{desc} {name}", unit="step", mininterval=10) as bar:
            while True:
                record = step_fn()
                bar.update()
                bar.set_postfix({k: f"{v:.3f}" for k, v in record.items()}, refresh=False)
                if clock() >= deadline:
                    break
        steps[name] = trainer.step[name]
    return steps


@torch.no_grad()
def generate(trainer: Trainer, n: int, seed: int, labels: torch.Tensor | None = None, batch: int = 64) -> torch.Tensor:
    """n EMA samples in [0, 1]; image k drawn from label map k when ``labels`` is given."""
    ema, rng = trainer.ema, torch.Generator(trainer.device).manual_seed(seed)
    out = []
    for start in range(0, n, batch):
        z = ema.sample_z(min(batch, n - start), generator=rng)
        lab = None if labels is None else labels[start:start + len(z)].to(trainer.device)
        images = ema.baseline_image(ema.noise(z)[BASELINE], ema.one_hot(lab)) if trainer.single else ema(z, lab).image
        out.append(images.cpu())
    return (torch.cat(out).clamp(-1, 1) + 1) / 2


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


def generator_cost(trainer: Trainer, labels: torch.Tensor | None) -> dict[str, int]:
    """Parameters and multiply-adds per sample of the generator an arm samples with."""
    model = trainer.model
    z = model.sample_z(2)
    lab = None if labels is None else labels[:2].to(trainer.device)
    if trainer.single:  # the baseline net's inputs: noise, cascade sources (none), layout
        gen, inputs = model.baseline, (model.noise(z)[BASELINE], None, model.one_hot(lab))
    else:
        gen, inputs = model, (z, lab)
    return {"generator_params": count_parameters(gen), "generator_macs_per_sample": macs_per_sample(gen, *inputs)}


def load_data(args: argparse.Namespace) -> dict[str, Any]:
    """Train and val images in [0, 1] (with label maps when conditional): CamVid, or drawn scenes."""
    size = tuple(args.size)
    if args.drawn:
        (tx, ty), (vx, vy) = synthetic_batch(args.drawn_n, size=size, seed=0), synthetic_batch(
            max(2, args.drawn_n // 4), size=size, seed=1)
        return {"source": "drawn street scenes (train seed 0, val seed 1)", "train": tx, "train_labels": ty,
                "val": vx, "val_labels": vy}
    for split in ("train", "val"):
        if not (args.data / split).is_dir():
            raise SystemExit(f"{args.data / split}: not found; expected a folder with train/ and val/ "
                             "(CamVid layout), or pass --drawn")
    if not args.conditional:
        return {"source": str(args.data), "train": load_images(args.data / "train", size=size), "train_labels": None,
                "val": load_images(args.data / "val", size=size), "val_labels": None}
    (tx, ty), (vx, vy) = (load_segmentation(args.data / s, size) for s in ("train", "val"))
    return {"source": str(args.data), "train": tx, "train_labels": ty, "val": vx, "val_labels": vy}


def load_layout_scorer(args: argparse.Namespace):
    """The segnet for layout fidelity (conditional runs), with a clear message when its file is missing."""
    if not args.conditional:
        return None
    if args.segnet is None or not args.segnet.is_file():
        raise SystemExit(f"--segnet {args.segnet}: layout fidelity needs a segnet trained on the real train split; "
                         "make one with `freqaug train-segnet --data DIR/train --out segnet.safetensors`")
    from freqaug.metrics.segnet import load_segnet

    return load_segnet(args.segnet)


def layout_miou(segnet, images: torch.Tensor, labels: torch.Tensor) -> dict[str, Any]:
    """mIoU / pixel accuracy / per-class IoU of the segnet's prediction on ``images`` against ``labels``."""
    from freqaug.evaluate import layout_scores

    scores, _ = layout_scores(segnet, images, labels, CAMVID)
    return {"miou": scores["miou"], "pixel_accuracy": scores["pixel_accuracy"], "iou": scores["iou"]}


def base_train_config() -> dict[str, Any]:
    """BASE as the setup records it: band_updates, like every override, belongs to the arm (the tables predate it)."""
    return {k: v for k, v in BASE.to_dict().items() if k != "band_updates"}


def setup_of(args: argparse.Namespace, data: dict[str, Any]) -> dict[str, Any]:
    """What makes two runs comparable: results of another setup are never mixed into one table."""
    return {"minutes_per_arm": args.minutes, "threads": args.threads, "batch_size": args.batch_size,
            "conditional": args.conditional,
            "data": data["source"], "size": list(args.size), "train_config": base_train_config(),
            "segnet": None if args.segnet is None or not args.conditional else str(args.segnet),
            **({"semantic_segnet": str(args.semantic_segnet)} if getattr(args, "semantic_segnet", None) else {})}


def run_arm(name: str, seed: int, args: argparse.Namespace, data: dict[str, Any], segnet) -> tuple[dict, torch.Tensor, Trainer]:
    """Train one arm for the budget and score its EMA samples against val."""
    arm = ARMS[name]
    labels = data["train_labels"] if args.conditional else None
    overrides = dict(arm.train)
    if overrides.get("semantic"):
        overrides["semantic_segnet"] = str(args.semantic_segnet)
    train_config = dataclasses.replace(BASE, batch_size=args.batch_size, seed=seed, **overrides)
    trainer = Trainer(model_config(arm, tuple(args.size), args.conditional), train_config, data["train"] * 2 - 1,
                      labels=labels, single=arm.single)
    stages = [("single", 1.0)] if arm.single else [("stage1", 2 / 3), ("stage2", 1 / 3)]
    clock = compute_clock(args.threads)
    start, start_compute = time.perf_counter(), clock()
    steps = train_for(trainer, args.minutes * 60, stages, f"seed {seed} {name}", clock)
    seconds, compute_seconds = time.perf_counter() - start, clock() - start_compute
    val, val_labels = data["val"], data["val_labels"] if args.conditional else None
    fake = generate(trainer, len(val), seed=1000 + seed, labels=val_labels)
    entry = {
        "seed": seed, "steps": steps, "train_seconds": round(seconds, 1), "compute_seconds": round(compute_seconds, 1),
        "load_average_1min_after": round(os.getloadavg()[0], 2),
        "swd": swd(val, fake, levels=args.swd_levels), "spectrum": spectrum_distance(val, fake),
        **generator_cost(trainer, val_labels),
    }
    if segnet is not None:
        entry["layout"] = layout_miou(segnet, fake, val_labels)
    return entry, fake, trainer


REFERENCE_DRAWS = 5


def reference_scores(data: dict[str, Any], swd_levels: int) -> list[dict[str, Any]]:
    """Random subsets of train (seeds 0..REFERENCE_DRAWS-1, as many images as val) scored against val
    like an arm's samples: what a generator that reproduced its training set exactly would score, i.e.
    the part of every score that is the shift between the train and val splits."""
    val, draws = data["val"], []
    for seed in range(REFERENCE_DRAWS):
        real = random_subset(data["train"], len(val), seed)
        draws.append({"seed": seed, "images": len(real), "swd": swd(val, real, levels=swd_levels),
                      "spectrum": spectrum_distance(val, real)})
    return draws


def save_report(report: dict[str, Any], prefix: Path) -> None:
    """JSON and Markdown of the report so far, each written atomically."""
    write_atomic(prefix.with_suffix(".json"), (json.dumps(report, indent=2) + "\n").encode())
    write_atomic(prefix.with_suffix(".md"), markdown(report).encode())


def record(prefix: Path, setup: dict[str, Any], name: str, entry: dict[str, Any], spectrum, reference: list[dict],
           ceiling: dict[str, Any] | None = None) -> dict[str, Any]:
    """Add one finished (arm, seed), the arm's spectrum if it has none yet, the real-train reference
    and the layout-fidelity ceiling to the report on disk, merged under a lock with what other
    processes (running other arms) wrote meanwhile."""
    with locked(prefix.parent):
        report = read_resumable(prefix.with_suffix(".json"), setup, {"results": {}})
        report["results"].setdefault(name, []).append(entry)
        report.setdefault("reference", reference)
        if ceiling is not None:
            report.setdefault("ceiling", ceiling)
        freqs, power = spectrum
        report.setdefault("spectra", {}).setdefault(name, {"freqs": freqs.tolist(), "power": power.tolist()})
        save_report(report, prefix)
    return report


def band_grid_path(prefix: Path, arm: str) -> str:
    """Where an arm's band grid goes (the default band arm keeps the name its docs cite)."""
    return f"{prefix}_band_grid.png" if arm == "band" else f"{prefix}_band_grid_{arm}.png"


def run(args: argparse.Namespace) -> dict[str, Any]:
    keep_freed_memory()
    torch.set_num_threads(args.threads)
    unknown = [a for a in args.arms if ARMS[a].image_discriminator != "concat" and not args.conditional]
    if unknown:
        raise SystemExit(f"--arms {unknown}: the OASIS discriminator needs layouts; add --conditional")
    semantic = [a for a in args.arms if dict(ARMS[a].train).get("semantic")]
    if semantic and (args.semantic_segnet is None or not args.semantic_segnet.is_file() or not args.conditional):
        raise SystemExit(f"--arms {semantic}: the semantic-consistency loss needs --conditional and --semantic-segnet "
                         f"FILE (a segnet other than --segnet; got {args.semantic_segnet})")
    if semantic and args.segnet is not None and args.segnet.is_file() and (
            sha256_file(args.segnet) == sha256_file(args.semantic_segnet)):
        raise SystemExit(f"--segnet {args.segnet} is the --semantic-segnet the arms train against: the judge must be "
                         "another network (freqaug train-segnet --seed 1 --width 32)")
    data = load_data(args)
    segnet = load_layout_scorer(args)
    args.out.mkdir(parents=True, exist_ok=True)
    prefix = args.out / (getattr(args, "name", None) or ("cond_band_vs_single" if args.conditional else "band_vs_single"))
    setup = setup_of(args, data)
    report = read_resumable(prefix.with_suffix(".json"), setup, {"results": {}})
    ceiling = None if segnet is None else report.get("ceiling") or layout_miou(segnet, data["val"], data["val_labels"])
    if "reference" not in report and report["results"]:  # tables recorded before the row existed get it now
        with locked(prefix.parent):
            report = read_resumable(prefix.with_suffix(".json"), setup, {"results": {}})
            report.setdefault("reference", reference_scores(data, args.swd_levels))
            save_report(report, prefix)
    for seed in args.seeds:
        for name in args.arms:
            done = [e for e in report["results"].get(name, []) if e["seed"] == seed]
            if done:
                print(f"seed {seed} {name}: done before, skipped", flush=True)
                continue
            entry, fake, trainer = run_arm(name, seed, args, data, segnet)
            report = record(prefix, setup, name, entry, radial_power_spectrum(fake),
                            report.get("reference") or reference_scores(data, args.swd_levels), ceiling)
            layout = f" layout mIoU {entry['layout']['miou']:.3f}" if "layout" in entry else ""
            print(f"seed {seed} {name} steps {entry['steps']} SWD mean {entry['swd']['mean']:.1f} "
                  f"spectrum {entry['spectrum']['mean']:.3f}{layout}", flush=True)
            if seed == min(e["seed"] for e in report["results"][name]):  # pictures show the arm's lowest seed
                save_image(fake[:16], f"{prefix}_samples_{name}.png", nrow=8)
                if args.conditional:  # rows: val layout, generated from it, the judge's reading, the real val image
                    pick = rare_class_showcase(data["val_labels"], 8, CAMVID.num_classes)  # the layouts with objects
                    reading = colorize_images(predict_labels(segnet, fake[pick]))
                    save_image(torch.cat([colorize_images(data["val_labels"][pick]), fake[pick], reading,
                                          data["val"][pick]]), f"{prefix}_layouts_{name}.png", nrow=len(pick))
                if not trainer.single and not args.conditional:
                    save_sample_grid(trainer.ema(trainer.ema.sample_z(8, generator=torch.Generator().manual_seed(seed))),
                                     trainer.model.config.spec, Path(band_grid_path(prefix, name)))
    save_image(data["val"][:16], f"{prefix}_samples_real.png", nrow=8)
    spectra = {"val (real)": radial_power_spectrum(data["val"])}
    spectra |= {f"{name} GAN": (torch.tensor(s["freqs"]), torch.tensor(s["power"]))
                for name, s in report.get("spectra", {}).items()}
    if len(spectra) > 1:
        save_spectrum_plot(spectra, Path(f"{prefix}_spectra.png"),
                           title=f"val vs generated ({args.minutes:g} min of training each)")
    print(markdown(report))
    return report


def _mean_std(values: list[float], digits: int = 2) -> str:
    if len(values) == 1:
        return f"{values[0]:.{digits}f}"
    return f"{statistics.mean(values):.{digits}f} ± {statistics.stdev(values):.{digits}f}"


def _steps(entries: list[dict]) -> str:
    """Median steps per stage over the seeds."""
    return ", ".join(f"{k} {statistics.median(e['steps'][k] for e in entries):g}" for k in entries[0]["steps"])


def _score_cells(entries: list[dict], last: int) -> list[str]:
    """SWD mean / finest / coarsest and spectrum mean / low / high cells, mean ± std over ``entries``."""
    def col(get):
        return _mean_std([get(e) for e in entries])

    return [col(lambda e: e["swd"]["mean"]), col(lambda e: e["swd"]["level0"]), col(lambda e: e["swd"][f"level{last}"]),
            col(lambda e: e["spectrum"]["mean"]), col(lambda e: e["spectrum"]["low"]), col(lambda e: e["spectrum"]["high"])]


def per_class_table(report: dict[str, Any]) -> list[str]:
    """Layout IoU per class (mean over the seeds) for every arm and the real val images (the ceiling)."""
    names = CAMVID.names
    rows = ["Layout IoU per class (mean over the seeds; `-`: the class is absent from the val layouts):", "",
            "| arm | " + " | ".join(names) + " |", "|---|" + "---|" * len(names)]

    def cells(ious: list[list[float | None]]) -> str:
        out = []
        for column in zip(*ious):
            values = [v for v in column if v is not None and not math.isnan(v)]
            out.append(f"{statistics.mean(values):.2f}" if values else "-")
        return " | ".join(out)

    for arm, entries in report["results"].items():
        if all("layout" in e for e in entries):
            rows.append(f"| {arm} | {cells([e['layout']['iou'] for e in entries])} |")
    rows.append(f"| real val (ceiling) | {cells([report['ceiling']['iou']])} |")
    return rows


def markdown(report: dict[str, Any]) -> str:
    setup = report["setup"]
    conditional = setup["conditional"]
    title = "Layout-conditional band GAN vs single GAN" if conditional else "Band GAN vs single GAN"
    seeds = sorted({e["seed"] for entries in report["results"].values() for e in entries})
    rows = [f"# {title} (equal compute)", "",
            f"{setup['minutes_per_arm']:g} min of training per arm and seed on {setup['threads']} thread(s), "
            f"seeds {seeds}; data {setup['data']} at {setup['size'][0]}x{setup['size'][1]} (HxW); scored against "
            "its val split (SWD and spectrum: lower is better). Produced by `benchmarks/bench_band_vs_single.py"
            f"{' --conditional' if conditional else ''}`; mean ± std over the seeds, steps: median per stage.", ""]
    header = ["arm", "seeds", "steps", "SWD mean", "SWD finest", "SWD coarsest", "spectrum dist.", "low", "high"]
    if conditional:
        header += ["layout mIoU", "layout pixel acc."]
    header += ["G params", "G MACs/sample", "load after"]
    rows += ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    last = None
    for arm, entries in report["results"].items():
        def col(get, digits: int = 2):
            return _mean_std([get(e) for e in entries], digits)

        last = max(int(k[5:]) for k in entries[0]["swd"] if k.startswith("level"))
        cells = [arm, str(len(entries)), _steps(entries), *_score_cells(entries, last)]
        if conditional:
            cells += [col(lambda e: e["layout"]["miou"], 3), col(lambda e: e["layout"]["pixel_accuracy"], 3)]
        loads = [e["load_average_1min_after"] for e in entries]
        cells += [f"{entries[0]['generator_params']:,}", f"{entries[0]['generator_macs_per_sample']:,}",
                  f"{min(loads):.1f}-{max(loads):.1f}"]
        rows.append("| " + " | ".join(cells) + " |")
    reference = report.get("reference")
    if reference is not None and last is not None:
        cells = ["real train (reference)", str(len(reference)), "-", *_score_cells(reference, last)]
        cells += ["-"] * (len(header) - len(cells))
        rows += ["| " + " | ".join(cells) + " |", "",
                 f"Reference: {reference[0]['images']} random train images ({len(reference)} draws, seeds "
                 f"0-{len(reference) - 1}) scored against val like an arm's "
                 "samples: what a generator that reproduced its training set exactly would score. Below it, samples "
                 "are closer to val than the training images are, which says more about the split than about the "
                 "generator."]
    if conditional and "ceiling" in report:
        c = report["ceiling"]
        rows += ["", f"Layout fidelity ceiling (the segnet on the real val images against their own labels): "
                     f"mIoU {c['miou']:.3f}, pixel accuracy {c['pixel_accuracy']:.3f}. Segnet: `{setup['segnet']}`."]
        rows += ["", *per_class_table(report)]
    rows += ["", "Per-seed values are in the JSON beside this file. The budget is the process's CPU time per "
                 "thread (since 2026-11-30; wall-clock before, which is the same when each process has its own "
                 "core). Runs under heavier load still get fewer steps from shared caches and memory bandwidth, so "
                 "arms compare only under similar load (column `load after`: 1-minute load average after each run)."]
    return "\n".join(rows) + "\n"


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, default=15.0, help="training wall-clock per arm and seed")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--arms", nargs="+", default=["band", "single"], choices=list(ARMS))
    parser.add_argument("--threads", type=int, default=1, help="torch threads (1 on a shared machine)")
    parser.add_argument("--conditional", action="store_true", help="layout-conditional arms; needs --segnet")
    parser.add_argument("--segnet", type=Path, default=None, help="segnet file for layout fidelity (--conditional)")
    parser.add_argument("--name", default=None,
                        help="file prefix in --out (default band_vs_single, or cond_band_vs_single with --conditional)")
    parser.add_argument("--semantic-segnet", type=Path, default=None,
                        help="segnet file the *-semantic arms' semantic-consistency loss reads (not --segnet)")
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="folder with train/ and val/")
    parser.add_argument("--drawn", action="store_true", help="drawn street scenes instead of --data")
    parser.add_argument("--drawn-n", type=int, default=64, help="drawn training scenes (val: a quarter as many)")
    parser.add_argument("--size", nargs=2, type=int, default=[96, 128], metavar=("H", "W"))
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--swd-levels", type=int, default=4, help="Laplacian pyramid levels of the SWD")
    parser.add_argument("--out", type=Path, default=HERE / "results" / "band_vs_single")
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    main(sys.argv[1:])
