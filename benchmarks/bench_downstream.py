"""Downstream value of augmentation: a SegNet trained from scratch on CamVid 128x96 with each arm, scored on
clean val and on the CamVid-C val corruption suite, with full labels and with scarce labels.

    .venv/bin/python benchmarks/bench_downstream.py --data ../shared/data/camvid/128x96 \
        --bundle runs/camvid/bundle.safetensors [--regimes full labels46] [--arms ...] [--seeds 0 1 2]
        [--budgets 360] [--out benchmarks/results/downstream] [--models runs/downstream_models]

Regimes: ``full`` trains on the labels of every train image; ``labels46`` on the labels of one fixed
seeded eighth of them (46 of CamVid's 367, the same for every arm and seed), while every arm that
can use unlabelled images draws its partners (FDA's references, the ``-real`` arms' partners) from
all train images, and the unconditional ``--bundle`` is trained on all train images (images only).
For every (regime, arm, budget, seed) the fixed SegNet (``freqaug.metrics.SegNet``, width 24, ~1.1M
parameters) is trained for ``budget`` AdamW steps (its own cosine schedule) at batch 16 with
median-frequency class-weighted cross-entropy (weights from the labelled images), then scored:
clean val mIoU (11 classes, id 11 ignored) and the corruption suite of ``corruptions.py`` (15
corruptions x 3 severities of the val images, built once and cached): mPC (mean mIoU over
corruptions x severities), rPC = mPC / clean, mPC per family. Arms: ``arms.py`` (peers, freqaug
modes, each mode's real-partner ablation ``<mode>-real``).

Resumable: each trained SegNet is kept in --models (safetensors) and each scored run is added to
OUT/downstream.json (written atomically); a rerun skips recorded runs and scores kept models
without training them again. Several processes may fill one grid (one run each at a time, claimed
under a lock). After every run OUT/downstream.md, OUT/summary.json and OUT/downstream.png are
rewritten from what is done. Without --data (or with --drawn) it runs on drawn street scenes.
``--cost N`` times each arm's augmentation per batch against SegNet steps instead (OUT/arm_cost.json).
``--write-labelled DIR`` writes the labelled pairs of each ``--regimes`` regime instead, as a CamVid-layout
folder of symbolic links (DIR/REGIME/images, labels): the data a layout-conditional bundle for the
replace arms, and the segnet of its ``--semantic`` loss, may be trained on in that regime.
"""
from __future__ import annotations

import argparse
import dataclasses
import datetime
import hashlib
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import torch
from tqdm.auto import tqdm

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from _results import claim_run, locked, read_resumable, release_claim  # noqa: E402
from arms import ABLATIONS, ARMS, FDA_BETA_LIMIT, PEERS, REPLACE_RATIOS, StandardConfig, make_arm, needs_bundle, unavailable  # noqa: E402
from corruptions import FAMILIES, load_suite, robustness_scores, suite_key, suite_png, to_uint8  # noqa: E402

from freqaug._files import sha256_file, write_atomic  # noqa: E402
from freqaug.augment.labelmaps import LabelAugConfig  # noqa: E402
from freqaug.bundle import load_bundle  # noqa: E402
from freqaug.data import CAMVID, SegmentationFolder, load_segmentation, synthetic_batch  # noqa: E402
from freqaug.metrics.segnet import (  # noqa: E402
    evaluate_segmentation, load_segnet, median_frequency_weights, save_segnet, train_segnet,
)

ROOT = HERE.parent
DEFAULT_BUNDLE = ROOT / "runs" / "camvid" / "bundle.safetensors"
DEFAULT_OUT = HERE / "results" / "downstream"
DEFAULT_MODELS = ROOT / "runs" / "downstream_models"
NUM_CLASSES, IGNORE_INDEX = 11, 11
WIDTH, LR, WEIGHT_DECAY = 24, 2e-3, 1e-4  # the fixed SegNet and its optimiser
FORMAT, VERSION = "freqaug-bench-downstream", 2
REGIMES: dict[str, float] = {"full": 1.0, "labels46": 1 / 8}
"""Regime -> the fraction of train images whose labels the SegNet gets (46 of CamVid's 367 for 1/8)."""
SUBSET_SEED = 0
SUITE_SEED = 0
NOISE_NOTE = ("With a seed-to-seed std of about 0.8 clean mIoU points (full labels, 360 steps), a difference under "
              "~1.5 points between two arms with 3 seeds is within seed noise; with 1 seed, under ~2.5 points.")
BUNDLE_COMMAND = "freqaug train --data ../shared/data/camvid/128x96/train --out runs/camvid"


# ---- data -----------------------------------------------------------------------------------------

def load_data(data: Path | None, size: tuple[int, int], drawn: int) -> dict[str, Any]:
    """Train and val splits of ``data`` (``train/``, ``val/``), or ``drawn`` + ``drawn // 4`` drawn scenes when None."""
    if data is None:
        return {"source": f"drawn street scenes (train seed 0, val seed 1), {size[0]}x{size[1]} (HxW)",
                "train": synthetic_batch(drawn, size=size, seed=0),
                "val": synthetic_batch(max(1, drawn // 4), size=size, seed=1)}
    return {"source": f"{data.resolve()} at {size[0]}x{size[1]} (HxW)",
            "train": load_segmentation(data / "train", size), "val": load_segmentation(data / "val", size)}


def labelled_subset(n: int, regime: str, seed: int = SUBSET_SEED) -> torch.Tensor:
    """Sorted indices of the train images whose labels ``regime`` uses: all, or a seeded ``round(n * fraction)``."""
    if regime not in REGIMES:
        raise ValueError(f"regime: expected one of {', '.join(REGIMES)}, got {regime!r}")
    count = max(1, round(n * REGIMES[regime]))
    if count >= n:
        return torch.arange(n)
    return torch.randperm(n, generator=torch.Generator().manual_seed(seed))[:count].sort().values


def write_labelled(train: Path, regime: str, out: Path) -> list[str]:
    """OUT/images and OUT/labels: symbolic links to the pairs of the ``train`` folder whose labels ``regime``
    uses (the images :func:`labelled_subset` picks from ``load_segmentation(train)``); their file names.
    Rerunning is a no-op; a link already there that points elsewhere is refused."""
    folder = SegmentationFolder(train, labels=True, num_classes=CAMVID.num_classes, ignore_index=CAMVID.ignore_index)
    names = []
    for i in labelled_subset(len(folder), regime).tolist():
        for sub, source in (("images", folder.image_paths[i]), ("labels", folder.label_paths[i])):
            link, target = out / sub / source.name, Path(source).resolve()
            link.parent.mkdir(parents=True, exist_ok=True)
            if link.is_symlink() or link.exists():
                if link.resolve() != target:
                    raise SystemExit(f"{link}: exists and is not a link to {target}; use another --write-labelled")
                continue
            link.symlink_to(target)
        names.append(folder.image_paths[i].name)
    return names


# ---- provenance -----------------------------------------------------------------------------------

def git_commit() -> str | None:
    """The checkout's HEAD commit, or None outside git."""
    try:
        out = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "HEAD"], capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None


def bundle_info(path: Path) -> dict[str, Any]:
    """What identifies the bundle a freqaug run used: file sha256, weights sha256, its provenance."""
    bundle = load_bundle(path)
    manifest = bundle.manifest
    return {"path": str(path.resolve()), "sha256": sha256_file(path), "weights_sha256": manifest["weights"]["sha256"],
            "classes": manifest.get("classes"), "freqaug_version": manifest.get("freqaug_version"),
            "provenance": manifest.get("provenance"), "spec": bundle.spec.describe(),
            "image_size": list(bundle.image_size)}


def utc_now() -> str:
    return datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0).isoformat()


# ---- results file ---------------------------------------------------------------------------------

def setup_of(args: argparse.Namespace, data: dict[str, Any]) -> dict[str, Any]:
    """Everything that must be equal for runs to share one table (checked on resume)."""
    n = len(data["train"][0])
    return {
        "data": data["source"], "train_images": n, "val_images": len(data["val"][0]),
        "size": list(args.size), "num_classes": NUM_CLASSES, "ignore_index": IGNORE_INDEX,
        "model": f"freqaug.metrics.SegNet width {WIDTH}", "batch_size": args.batch_size, "lr": LR,
        "weight_decay": WEIGHT_DECAY,
        "schedule": "cosine to lr/100 over the budget", "loss": "cross-entropy, median-frequency class weights",
        "regimes": {r: {"fraction": f, "labelled": len(labelled_subset(n, r)), "subset_seed": SUBSET_SEED}
                    for r, f in REGIMES.items()},
        "partners": "every train image (images only), in every regime",
        "p": args.p, "pool_size": args.pool_size, "standard": dataclasses.asdict(StandardConfig()),
        "fda_beta_limit": list(FDA_BETA_LIMIT), "corruption_suite": args.suite_key,
    }


def setup_hash(setup: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(setup, sort_keys=True).encode()).hexdigest()[:16]


def read_results(path: Path, setup: dict[str, Any]) -> dict[str, Any]:
    """The results file, or a new one; a file made with another setup is refused (use another --out)."""
    results = read_resumable(path, setup, {"format": FORMAT, "version": VERSION, "runs": [], "not_run": {}})
    if results.get("format") != FORMAT or results.get("version") != VERSION:
        raise SystemExit(f"{path}: not a {FORMAT} version {VERSION} results file; use another --out")
    return results


def run_key(run: dict[str, Any]) -> tuple[str, str, int, int]:
    return run["regime"], run["arm"], run["budget"], run["seed"]


def done_keys(results: dict[str, Any]) -> set[tuple[str, str, int, int]]:
    return {run_key(r) for r in results["runs"]}


def record(out: Path, setup: dict[str, Any], command: str, *, grid: dict[str, Any], not_run: dict[str, str],
           run: dict[str, Any] | None = None, runnable: tuple[str, ...] = ()) -> dict[str, Any]:
    """Merge ``grid``, ``not_run`` and ``run`` into the results file as it is on disk now (other processes may
    have added theirs), rewrite the reports and drop this run's claim; returns the merged results."""
    with locked(out):
        results = read_results(out / "downstream.json", setup)
        for key, values in grid.items():
            merged = set(results.setdefault("grid", {}).get(key, [])) | set(values)
            results["grid"][key] = sorted(merged, key=ORDERS.get(key))
        results["not_run"].update(not_run)
        for arm in runnable:
            results["not_run"].pop(arm, None)
        if run is not None:
            results["runs"].append(run)
            release_claim(out, run_key(run))
        write_reports(results, out, command)
    return results


def bundle_for(arm: str, args: argparse.Namespace) -> Path | None:
    """The bundle arm ``arm`` reads: ``--layout-bundle`` (None when not given) for replace arms, else ``--bundle``."""
    return args.layout_bundle if arm in REPLACE_RATIOS else args.bundle


def check_bundle(results: dict[str, Any], bundle: dict[str, Any], path: Path, replace: bool) -> None:
    """Refuse to mix runs of one kind of arm made with different bundles in one results file.

    A bundle is its weights: a file retrained to the same weights (a seeded run is) differs only in its
    creation date and serves the same runs.
    """
    for run in results["runs"]:
        if (run["arm"] in REPLACE_RATIOS) != replace:
            continue
        if run.get("bundle") and run["bundle"]["weights_sha256"] != bundle["weights_sha256"]:
            raise SystemExit(
                f"{path}: run {'/'.join(map(str, run_key(run)))} used a bundle with weights sha256 "
                f"{run['bundle']['weights_sha256'][:12]}..., now {bundle['path']} has "
                f"{bundle['weights_sha256'][:12]}...; use another --out for another bundle"
            )


# ---- one run ----------------------------------------------------------------------------------------

def model_path(args: argparse.Namespace, key: tuple[str, str, int, int]) -> Path:
    return args.models / f"{'-'.join(map(str, key))}.safetensors"


def trained_model(key: tuple[str, str, int, int], data: dict[str, Any], args: argparse.Namespace) -> tuple[Any, dict]:
    """The SegNet of run ``key``: the kept one from --models (trained with this setup), else trained now and kept."""
    regime, arm, budget, seed = key
    path, meta_path = model_path(args, key), model_path(args, key).with_suffix(".json")
    if path.is_file() and meta_path.is_file():
        meta = json.loads(meta_path.read_text())
        if meta.get("setup") == args.setup_hash and meta.get("bundle_weights_sha256") == _bundle_weights(arm, args):
            return load_segnet(path), meta
    train_x, train_y = data["train"]
    index = labelled_subset(len(train_x), regime)
    images, labels = train_x[index], train_y[index]
    weights = median_frequency_weights(labels, NUM_CLASSES, IGNORE_INDEX)
    load_before = os.getloadavg()[0]
    start = time.perf_counter()
    augment = make_arm(arm, train_images=train_x, bundle_path=bundle_for(arm, args), seed=seed, p=args.p,
                       pool_size=args.pool_size, train_labels=labels, labelled_images=images)
    pool_seconds = sum(getattr(a, "pool_seconds", 0.0) for a in getattr(augment, "augments", ()))
    model = train_segnet(images, labels, num_classes=NUM_CLASSES, ignore_index=IGNORE_INDEX, steps=budget,
                         batch_size=args.batch_size, lr=LR, weight_decay=WEIGHT_DECAY, width=WIDTH, seed=seed,
                         class_weights=weights, augment=augment, progress=not args.quiet)
    meta = {"setup": args.setup_hash, "bundle_weights_sha256": _bundle_weights(arm, args),
            "seconds": round(time.perf_counter() - start, 2), "pool_seconds": round(pool_seconds, 2),
            "load_average_1min_before": round(load_before, 2), "load_average_1min_after": round(os.getloadavg()[0], 2),
            "date": utc_now(), "torch_threads": torch.get_num_threads()}
    save_segnet(model, path)
    write_atomic(meta_path, (json.dumps(meta, indent=1) + "\n").encode())
    return model, meta


def _bundle_weights(arm: str, args: argparse.Namespace) -> str | None:
    info = args.bundle_infos.get(arm) if needs_bundle(arm) else None
    return None if info is None else info["weights_sha256"]


def score(model: Any, data: dict[str, Any], suite: dict[tuple[str, int], Any]) -> dict[str, Any]:
    """Clean val scores and the corruption suite's (inference only)."""
    val_x, val_y = data["val"]
    model = model.to(memory_format=torch.channels_last)  # ~1.5x faster CPU inference, same numbers to rounding

    def miou(images: torch.Tensor) -> dict[str, Any]:
        return evaluate_segmentation(model, images, val_y, num_classes=NUM_CLASSES, ignore_index=IGNORE_INDEX,
                                     batch_size=64)

    clean = miou(val_x)
    robust = robustness_scores(lambda u8: miou(torch.from_numpy(u8).permute(0, 3, 1, 2).float() / 255)["miou"],
                               suite, clean["miou"])
    return {"miou": clean["miou"], "pixel_accuracy": clean["pixel_accuracy"], "iou": clean["iou"], **robust}


def run_one(key: tuple[str, str, int, int], data: dict[str, Any], suite: dict, args: argparse.Namespace) -> dict[str, Any]:
    """Train (or take the kept) SegNet of ``key`` and score it on clean and corrupted val."""
    regime, arm, budget, seed = key
    model, meta = trained_model(key, data, args)
    start = time.perf_counter()
    scores = score(model, data, suite)
    train_x, train_y = data["train"]
    index = labelled_subset(len(train_x), regime)
    fit = evaluate_segmentation(model, train_x[index], train_y[index], num_classes=NUM_CLASSES,
                                ignore_index=IGNORE_INDEX, batch_size=64)
    return {
        "regime": regime, "arm": arm, "budget": budget, "seed": seed, **scores,
        "train_miou": fit["miou"],  # clean mIoU on the labelled train images: near 1 = no longer under-fitting
        "seconds": meta["seconds"], "pool_seconds": meta["pool_seconds"],
        "seconds_per_step": round(meta["seconds"] / max(budget, 1), 4),
        "eval_seconds": round(time.perf_counter() - start, 2),
        "bundle": args.bundle_infos.get(arm) if needs_bundle(arm) else None,
        "synthetic_pairs": {"ratio": REPLACE_RATIOS[arm], "pool_size": args.pool_size,
                            "label_aug": LabelAugConfig().to_dict()} if arm in REPLACE_RATIOS else None,
        "provenance": {"trained": meta["date"], "date": utc_now(),
                       "load_average_1min_after": meta["load_average_1min_after"],
                       "torch_threads": meta["torch_threads"], "torch": torch.__version__,
                       "cpu_count": os.cpu_count(), "commit": args.commit,
                       "command": args.command},  # a grid is filled by several commands: each run names its own
    }


# ---- cost of the arms ------------------------------------------------------------------------------

def arm_cost(arms: list[str], data: dict[str, Any], args: argparse.Namespace, repeats: int) -> dict[str, Any]:
    """Median seconds per batch of each arm's augmentation and of a SegNet training step, interleaved
    (``repeats`` rounds, the first dropped as warm-up), and each arm's construction (pool) time."""
    from freqaug.metrics.segnet import SegNet, SegNetConfig

    train_x, train_y = data["train"]
    built, times = {}, {"segnet step": []}
    for arm in (a for a in arms if a != "none"):
        start = time.perf_counter()
        built[arm] = make_arm(arm, train_images=train_x, bundle_path=bundle_for(arm, args), seed=0, p=args.p,
                              pool_size=args.pool_size, train_labels=train_y, labelled_images=train_x)
        times[arm] = [time.perf_counter() - start]  # construction, reported apart
    model = SegNet(SegNetConfig(NUM_CLASSES, width=WIDTH))
    optimizer = torch.optim.AdamW(model.parameters(), lr=LR, weight_decay=WEIGHT_DECAY)
    generator = torch.Generator().manual_seed(0)
    load_before = os.getloadavg()[0]
    for _ in tqdm(range(repeats + 1), desc="arm cost", unit="round", disable=args.quiet):
        index = torch.randint(len(train_x), (args.batch_size,), generator=generator)
        x, y = train_x[index], train_y[index]
        start = time.perf_counter()
        loss = torch.nn.functional.cross_entropy(model(x), y.long(), ignore_index=IGNORE_INDEX)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        times["segnet step"].append(time.perf_counter() - start)
        for arm, augment in built.items():
            start = time.perf_counter()
            augment(x, y, generator)
            times[arm].append(time.perf_counter() - start)
    step = statistics.median(times["segnet step"][1:])
    report = {"batch_size": args.batch_size, "repeats": repeats, "torch_threads": torch.get_num_threads(),
              "load_average_1min_before": round(load_before, 2), "load_average_1min_after": round(os.getloadavg()[0], 2),
              "date": utc_now(), "segnet_step_seconds": round(step, 4), "arms": {}}
    for arm in built:
        per_batch = statistics.median(times[arm][2:])
        report["arms"][arm] = {"seconds_per_batch": round(per_batch, 4), "fraction_of_step": round(per_batch / step, 4),
                               "build_seconds": round(times[arm][0], 2)}
    return report


# ---- report -----------------------------------------------------------------------------------------

ORDERS = {"arms": lambda a: ARMS.index(a) if a in ARMS else len(ARMS),
          "regimes": lambda r: list(REGIMES).index(r) if r in REGIMES else len(REGIMES)}


def _stats(values: list[float]) -> tuple[float, float | None]:
    return statistics.fmean(values), statistics.stdev(values) if len(values) > 1 else None


def _pm(values: list[float], scale: float = 100.0, digits: int = 1) -> str:
    mean, std = _stats([v * scale for v in values])
    return f"{mean:.{digits}f} ± {std:.{digits}f}" if std is not None else f"{mean:.{digits}f}"


METRICS: dict[str, Any] = {
    "clean": lambda r: r["miou"], "mpc": lambda r: r["mpc"], "rpc": lambda r: r["rpc"],
    **{f: (lambda r, f=f: r["families"][f]) for f in FAMILIES},
}


def grouped(results: dict[str, Any]) -> dict[tuple[str, int, str], dict[int, dict[str, Any]]]:
    """(regime, budget, arm) -> seed -> run."""
    groups: dict[tuple[str, int, str], dict[int, dict[str, Any]]] = {}
    for r in results["runs"]:
        groups.setdefault((r["regime"], r["budget"], r["arm"]), {})[r["seed"]] = r
    return dict(sorted(groups.items(), key=lambda kv: (ORDERS["regimes"](kv[0][0]), kv[0][1], ORDERS["arms"](kv[0][2]))))


def paired(groups: dict, regime: str, budget: int, arm: str, ref: str, metric: str) -> tuple[float, int] | None:
    """Mean over the seeds both arms have of (arm - ref) ``metric``, in points, and the seed count."""
    a, b = groups.get((regime, budget, arm), {}), groups.get((regime, budget, ref), {})
    seeds = sorted(set(a) & set(b))
    if not seeds or arm == ref:
        return None
    return statistics.fmean(100 * (METRICS[metric](a[s]) - METRICS[metric](b[s])) for s in seeds), len(seeds)


def _delta(value: tuple[float, int] | None) -> str:
    return "-" if value is None else f"{value[0]:+.1f} (n={value[1]})"


def best_peer(groups: dict, regime: str, budget: int, metric: str) -> str | None:
    """The peer with the highest mean ``metric`` in (regime, budget)."""
    scores = {arm: statistics.fmean(METRICS[metric](r) for r in groups[regime, budget, arm].values())
              for arm in PEERS if (regime, budget, arm) in groups}
    return max(scores, key=scores.get) if scores else None


def summary(results: dict[str, Any]) -> dict[str, Any]:
    """For every regime, budget and arm: n seeds, mean and std of clean mIoU, mPC, rPC and mPC per family."""
    out: dict[str, Any] = {"format": "freqaug-downstream-summary", "version": 1, "regimes": {}}
    for (regime, budget, arm), runs in grouped(results).items():
        entry: dict[str, Any] = {"n": len(runs), "seeds": sorted(runs)}
        for metric, get in METRICS.items():
            mean, std = _stats([get(r) for r in runs.values()])
            entry[metric] = {"mean": round(mean, 5), "std": None if std is None else round(std, 5)}
        fits = [r["train_miou"] for r in runs.values() if r.get("train_miou") is not None]
        if fits:  # runs scored before the fit was recorded have none
            mean, std = _stats(fits)
            entry["train_miou"] = {"mean": round(mean, 5), "std": None if std is None else round(std, 5), "n": len(fits)}
        out["regimes"].setdefault(regime, {}).setdefault(str(budget), {})[arm] = entry
    return out


def commands_block(results: dict[str, Any], command: str) -> list[str]:
    """The commands that recorded the runs (each once, in the order first used; a grid is filled by several)
    and the one that wrote this file."""
    used = list(dict.fromkeys(r["provenance"]["command"] for r in results["runs"] if r["provenance"].get("command")))
    unnamed = sum(1 for r in results["runs"] if not r["provenance"].get("command"))
    lines = ["Commands that recorded the runs:", "", *(f"- `{c}`" for c in used)]
    if unnamed:
        lines.append(f"- {unnamed} runs recorded before runs named their command (see benchmarks/README.md)")
    return [*lines, "", f"Last written by: `{command}`", ""] if results["runs"] else [f"Command: `{command}`", ""]


def markdown(results: dict[str, Any], command: str) -> str:
    """The tables (full labels: clean, mPC, rPC, families; scarce labels: clean, mPC), per-corruption and
    per-class tables and every run, for what is done so far."""
    setup = results["setup"]
    groups = grouped(results)
    lines = [
        "# Downstream segmentation: clean and corrupted val mIoU of a SegNet trained with each arm", "",
        *commands_block(results, command),
        f"Data: {setup['data']}; train {setup['train_images']} images, val {setup['val_images']}. Model: "
        f"{setup['model']} (~1.1M parameters) from scratch; batch {setup['batch_size']}, AdamW lr {setup['lr']}, "
        f"{setup['schedule']}; {setup['loss']}; mIoU over {setup['num_classes']} classes, id {setup['ignore_index']} "
        f"ignored. Regimes: " + "; ".join(f"`{r}`: labels of {v['labelled']} train images" for r, v in
                                         setup["regimes"].items()) +
        f"; partners: {setup['partners']}. Augmentations at p = {setup['p']} per sample on top of the standard "
        f"pipeline. Corruption suite `{setup['corruption_suite']}`: 15 corruptions x 3 severities of the val images "
        "(docs/robustness.md). mPC: mean mIoU over them; rPC = mPC / clean. Peers: " + ", ".join(PEERS) +
        " (`amplitude-real` is APR-P).", "",
    ]
    families = list(FAMILIES)
    for regime, budget in dict.fromkeys((g[0], g[1]) for g in groups):
        peer, clean_peer = best_peer(groups, regime, budget, "mpc"), best_peer(groups, regime, budget, "clean")
        lines += [f"## {regime}, {budget} steps", "",
                  "| arm | n | train mIoU % | clean % | mPC % | rPC | " + " | ".join(f"{f} %" for f in families) +
                  " | Δ clean vs standard | Δ clean vs best peer | Δ mPC vs standard | Δ mPC vs best peer | "
                  "Δ clean / mPC vs own real-partner ablation |",
                  "|---|---:|---|---|---|---|" + "---|" * len(families) + "---|---|---|---|---|"]
        for (r, b, arm), runs in groups.items():
            if (r, b) != (regime, budget):
                continue
            rows = list(runs.values())
            ablation = ABLATIONS.get(arm)
            fits = [x["train_miou"] for x in rows if x.get("train_miou") is not None]
            lines.append(
                f"| {arm} | {len(rows)} | {_pm(fits) if fits else '-'} | {_pm([x['miou'] for x in rows])} | "
                f"{_pm([x['mpc'] for x in rows])} | "
                f"{_pm([x['rpc'] for x in rows], 1, 2)} | " + " | ".join(_pm([x['families'][f] for x in rows]) for f in families)
                + f" | {_delta(paired(groups, regime, budget, arm, 'standard', 'clean'))} "
                f"| {_delta(paired(groups, regime, budget, arm, clean_peer, 'clean')) if clean_peer and arm not in PEERS else '-'} "
                f"| {_delta(paired(groups, regime, budget, arm, 'standard', 'mpc'))} "
                f"| {_delta(paired(groups, regime, budget, arm, peer, 'mpc')) if peer and arm not in PEERS else '-'} "
                f"| {_delta(paired(groups, regime, budget, arm, ablation, 'clean')) if ablation else '-'} / "
                f"{_delta(paired(groups, regime, budget, arm, ablation, 'mpc')) if ablation else '-'} |")
        lines += ["", f"mean ± std over seeds (one value: 1 seed); Δ: mean paired difference in points over the seeds "
                      f"both arms have. Best peer here by clean mIoU: `{clean_peer}`, by mPC: `{peer}`. Train mIoU: "
                      "the model's clean mIoU on its own labelled train images (near the clean val score: still "
                      f"under-fitting; far above it: fitting its few labelled images). {NOISE_NOTE}", ""]
        lines += per_corruption_lines(groups, regime, budget) + per_class_lines(groups, regime, budget)
    for arm, reason in sorted(results.get("not_run", {}).items()):
        lines += [f"Not run: `{arm}`: {reason}.", ""]
    bundles = {r["bundle"]["weights_sha256"]: r["bundle"] for r in results["runs"] if r.get("bundle")}
    for bundle in bundles.values():
        lines += [f"Bundle: `{bundle['path']}` (weights sha256 `{bundle['weights_sha256']}`, {bundle['spec']}, "
                  f"{bundle['image_size'][0]}x{bundle['image_size'][1]}); provenance: "
                  f"`{json.dumps(bundle['provenance'], sort_keys=True)}`", ""]
    lines += ["## Runs", "", "| regime | budget | seed | arm | train mIoU % | clean % | mPC % | train s | eval s | load after "
              "| trained |", "|---|---:|---:|---|---:|---:|---:|---:|---:|---:|---|"]
    for r in sorted(results["runs"], key=lambda r: (ORDERS["regimes"](r["regime"]), r["budget"], r["seed"],
                                                     ORDERS["arms"](r["arm"]))):
        p = r["provenance"]
        fit = "-" if r.get("train_miou") is None else f"{100 * r['train_miou']:.1f}"
        lines.append(f"| {r['regime']} | {r['budget']} | {r['seed']} | {r['arm']} | {fit} | {100 * r['miou']:.1f} | "
                     f"{100 * r['mpc']:.1f} | {r['seconds']:.0f} | {r['eval_seconds']:.0f} | "
                     f"{_load(p['load_average_1min_after'])} | {p['trained']} |")
    return "\n".join(lines) + "\n"


def _load(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def per_corruption_lines(groups: dict, regime: str, budget: int) -> list[str]:
    """Per arm the mIoU under each corruption (mean over severities and seeds)."""
    arms = [(arm, runs) for (r, b, arm), runs in groups.items() if (r, b) == (regime, budget)]
    if not arms:
        return []
    names = list(next(iter(arms[0][1].values()))["corruptions"])
    lines = [f"### Per corruption ({regime}, {budget} steps): mIoU %, mean over severities and seeds", "",
             "| arm | " + " | ".join(n.replace("_", " ") for n in names) + " |", "|---|" + "---:|" * len(names)]
    for arm, runs in arms:
        cells = [f"{100 * statistics.fmean(r['corruptions'][n] for r in runs.values()):.1f}" for n in names]
        lines.append(f"| {arm} | " + " | ".join(cells) + " |")
    return lines + [""]


def per_class_lines(groups: dict, regime: str, budget: int) -> list[str]:
    """Per arm the clean val IoU of each class, mean over seeds, and its paired difference to standard."""
    names = CAMVID.names[:NUM_CLASSES]
    lines = [f"### Per class ({regime}, {budget} steps): clean val IoU %", "",
             "Mean over the seeds done; in brackets the mean over the seeds both arms have of the difference to "
             "`standard`, in points. A class absent from truth and prediction (IoU None) is left out.", "",
             "| arm | n | " + " | ".join(names) + " |", "|---|---:|" + "---:|" * len(names)]
    standard = groups.get((regime, budget, "standard"), {})
    for (r, b, arm), runs in groups.items():
        if (r, b) != (regime, budget):
            continue
        cells = []
        for c in range(len(names)):
            values = [run["iou"][c] for run in runs.values() if run["iou"][c] is not None]
            diffs = [runs[s]["iou"][c] - ref["iou"][c] for s, ref in standard.items()
                     if arm != "standard" and s in runs and None not in (runs[s]["iou"][c], ref["iou"][c])]
            cell = f"{100 * statistics.fmean(values):.1f}" if values else "-"
            cells.append(cell + (f" ({100 * statistics.fmean(diffs):+.1f})" if diffs else ""))
        lines.append(f"| {arm} | {len(runs)} | " + " | ".join(cells) + " |")
    return lines + [""]


def bar_chart(results: dict[str, Any], path: Path) -> Path:
    """Per (regime, budget): mean ± std clean mIoU and mPC per arm, n seeds on each bar."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    groups = grouped(results)
    panels = list(dict.fromkeys((g[0], g[1]) for g in groups))
    fig, axes = plt.subplots(1, len(panels), figsize=(1.2 + 0.75 * max(len(g) for g in [groups]) // max(1, len(panels))
                                                      + 4.5 * len(panels), 4.4), squeeze=False)
    for ax, (regime, budget) in zip(axes[0], panels):
        arms = [(arm, runs) for (r, b, arm), runs in groups.items() if (r, b) == (regime, budget)]
        for i, (arm, runs) in enumerate(arms):
            for j, (metric, colour) in enumerate((("clean", "C0"), ("mpc", "C1"))):
                mean, std = _stats([100 * METRICS[metric](r) for r in runs.values()])
                x = i + (j - 0.5) * 0.4
                ax.bar(x, mean, 0.4, yerr=std or 0.0, capsize=2, color=colour,
                       label=("clean val" if metric == "clean" else "mPC (CamVid-C)") if i == 0 else None,
                       hatch="//" if arm.endswith("-real") else None, edgecolor="white")
                if j == 0:
                    ax.text(i, mean + (std or 0) + 0.5, f"n={len(runs)}", ha="center", va="bottom", fontsize=6)
        ax.set_xticks(range(len(arms)), [a for a, _ in arms], rotation=60, ha="right", fontsize=7)
        ax.set_ylabel("mIoU (%)")
        ax.set_title(f"{regime}, {budget} steps (hatched: real-partner ablation)", fontsize=9)
        ax.legend(fontsize=7, loc="lower left")
    fig.suptitle("SegNet on CamVid val: clean mIoU and mean mIoU under corruptions (mean ± std over n seeds)",
                 fontsize=10)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.stem}.{os.getpid()}.tmp.png")
    fig.savefig(tmp, dpi=120)
    plt.close(fig)
    os.replace(tmp, path)
    return path


def write_reports(results: dict[str, Any], out: Path, command: str) -> None:
    """The results JSON (atomically), the summary JSON, the Markdown tables and the chart."""
    write_atomic(out / "downstream.json", (json.dumps(results, indent=1) + "\n").encode())
    write_atomic(out / "summary.json", (json.dumps(summary(results), indent=1) + "\n").encode())
    write_atomic(out / "downstream.md", markdown(results, command).encode())
    if results["runs"]:
        bar_chart(results, out / "downstream.png")


# ---- main -------------------------------------------------------------------------------------------

def bundle_infos(arms: list[str], args: argparse.Namespace, results: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """arm -> what identifies its bundle, for the arms that read one and have it (a missing --bundle
    stops with the command that trains it; a missing --layout-bundle leaves the replace arms not run)."""
    infos: dict[str, dict[str, Any]] = {}
    by_path: dict[Path, dict[str, Any]] = {}
    for arm in (a for a in arms if needs_bundle(a)):
        path = bundle_for(arm, args)
        if path is None:
            continue
        if not path.is_file():
            flag = "--layout-bundle" if arm in REPLACE_RATIOS else "--bundle"
            raise SystemExit(f"{path}: no bundle for arm {arm!r}; train one with `{BUNDLE_COMMAND}"
                             f"{' --conditional' if arm in REPLACE_RATIOS else ''}` or pass {flag} / leave that arm out")
        if path not in by_path:
            by_path[path] = bundle_info(path)
        check_bundle(results, by_path[path], args.out / "downstream.json", replace=arm in REPLACE_RATIOS)
        infos[arm] = by_path[path]
    return infos


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--arms", nargs="+", default=list(ARMS), choices=ARMS)
    parser.add_argument("--regimes", nargs="+", default=list(REGIMES), choices=list(REGIMES))
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--budgets", nargs="+", type=int, default=[360], help="optimiser steps, one run each")
    parser.add_argument("--bundle", type=Path, default=DEFAULT_BUNDLE,
                        help=f"unconditional bundle for the freqaug arms and the -real arms' band split (`{BUNDLE_COMMAND}`)")
    parser.add_argument("--layout-bundle", type=Path, default=None,
                        help=f"layout-conditional bundle for the replace arms (`{BUNDLE_COMMAND} --conditional`)")
    parser.add_argument("--data", type=Path, default=None, help="folder with train/ and val/ (CamVid layout)")
    parser.add_argument("--drawn", action="store_true", help="drawn street scenes instead of --data")
    parser.add_argument("--drawn-n", type=int, default=256, help="drawn training scenes (val: a quarter as many)")
    parser.add_argument("--size", nargs=2, type=int, default=[96, 128], metavar=("H", "W"))
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--p", type=float, default=0.5, help="chance per sample of the arm's augmentation")
    parser.add_argument("--pool-size", type=int, default=256, help="generated scenes per freqaug run")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (1 on a shared machine)")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--models", type=Path, default=DEFAULT_MODELS, help="where trained SegNets are kept")
    parser.add_argument("--suite-cache", type=Path, default=ROOT / "runs" / "corruption_suite",
                        help="folder the corruption suite is cached in")
    parser.add_argument("--quiet", action="store_true", help="no progress bars")
    parser.add_argument("--write-labelled", type=Path, default=None, metavar="DIR",
                        help="instead of the grid: link each --regimes regime's labelled pairs into DIR/REGIME")
    parser.add_argument("--cost", type=int, default=0, metavar="N",
                        help="instead of the grid: time N batches of each arm against SegNet steps, write arm_cost.json")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """Run the missing runs of the grid; returns the results dict with ``trained``: the runs done now."""
    args = parse_args(argv)
    torch.set_num_threads(args.threads)
    command = "benchmarks/bench_downstream.py " + " ".join(sys.argv[1:] if argv is None else argv)
    use_drawn = args.drawn or args.data is None
    if not use_drawn and not (args.data / "train").is_dir():
        raise SystemExit(f"{args.data}: no train/ folder; expected the CamVid layout (train/ and val/ with images/ "
                         "and labels/), or pass --drawn")
    if args.write_labelled is not None:
        if use_drawn:
            raise SystemExit("--write-labelled: needs --data (a CamVid-layout folder); drawn scenes have no files")
        written = {r: write_labelled(args.data / "train", r, args.write_labelled / r) for r in args.regimes}
        for regime, names in written.items():
            print(f"{regime}: {len(names)} labelled pairs linked in {args.write_labelled / regime}")
        return {"written": written}
    data = load_data(None if use_drawn else args.data, tuple(args.size), args.drawn_n)
    val_u8 = to_uint8(data["val"][0])
    args.suite_key = suite_key(val_u8, SUITE_SEED)
    suite = load_suite(val_u8, args.suite_cache, seed=SUITE_SEED)
    args.out.mkdir(parents=True, exist_ok=True)
    if not (args.out / "corruptions.png").is_file():
        suite_png(val_u8[0], args.out / "corruptions.png", seed=SUITE_SEED)
    setup = setup_of(args, data)
    args.setup_hash = setup_hash(setup)
    results = read_results(args.out / "downstream.json", setup)
    args.commit = git_commit()
    args.command = command
    arms = [a for a in ARMS if a in args.arms]
    grid = {"arms": arms, "regimes": [r for r in REGIMES if r in args.regimes], "seeds": args.seeds,
            "budgets": args.budgets}
    args.bundle_infos = bundle_infos(arms, args, results)
    not_run = {}
    for arm in arms:
        reason = unavailable(arm, bundle_for(arm, args) if arm in args.bundle_infos else None)
        if reason is not None:
            not_run[arm] = reason
            print(f"not run: {reason}", flush=True)
    arms = [a for a in arms if a not in not_run]
    if args.cost:
        cost = arm_cost(arms, data, args, args.cost)
        write_atomic(args.out / "arm_cost.json", (json.dumps(cost, indent=1) + "\n").encode())
        print(f"SegNet step {cost['segnet_step_seconds']:.3f} s at batch {args.batch_size}; load average "
              f"{cost['load_average_1min_before']:.2f} -> {cost['load_average_1min_after']:.2f}")
        for arm, c in cost["arms"].items():
            print(f"{arm:15s} {1000 * c['seconds_per_batch']:7.1f} ms per batch ({100 * c['fraction_of_step']:.1f}% of "
                  f"a step), built in {c['build_seconds']:.1f} s")
        return {**results, "trained": [], "cost": cost}
    done = done_keys(results)
    todo = [(r, a, b, s) for r in grid["regimes"] for b in args.budgets for s in args.seeds for a in arms
            if (r, a, b, s) not in done]
    print(f"{len(todo)} runs to do ({len(results['runs'])} recorded in {args.out / 'downstream.json'}); "
          f"data: {data['source']}", flush=True)
    results = record(args.out, setup, command, grid=grid, not_run=not_run, runnable=tuple(arms))
    trained = []
    for key in tqdm(todo, desc="downstream runs", unit="run", disable=args.quiet):
        if not claim_run(args.out, key, lambda: done_keys(read_results(args.out / "downstream.json", setup))):
            tqdm.write(f"{'/'.join(map(str, key))}: recorded or started by another process; skipped")
            continue
        run = run_one(key, data, suite, args)
        results = record(args.out, setup, command, grid={}, not_run={}, run=run)
        trained.append(key)
        tqdm.write(f"{'/'.join(map(str, key))}: clean mIoU {100 * run['miou']:.1f}, mPC {100 * run['mpc']:.1f} "
                   f"(rPC {run['rpc']:.2f}), {run['seconds']:.0f} s train, {run['eval_seconds']:.0f} s eval")
    return {**results, "trained": trained}


if __name__ == "__main__":
    main()
