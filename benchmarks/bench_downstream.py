"""Downstream value of augmentation: SegNet trained from scratch on CamVid 128x96 train, scored on val.

    .venv/bin/python benchmarks/bench_downstream.py [--arms none standard fda bands blend bands-soft replace25 replace50]
        [--seeds 0 1 2] [--budgets 360 1080] [--bundle runs/camvid/bundle.safetensors]
        [--layout-bundle runs/cond_camvid/bundle.safetensors]
        [--data ../shared/data/camvid/128x96 | --drawn] [--out benchmarks/results/downstream]

For every (budget, seed, arm) the fixed SegNet (``freqaug.metrics.SegNet``, width 24, ~1.1M
parameters) is trained from scratch for ``budget`` AdamW steps (its own cosine schedule: a long run
is never a short one evaluated early) at batch 16 with median-frequency class-weighted
cross-entropy, then scored on val: mIoU over the 11 classes (id 11 ignored) and pixel accuracy.
The seeds set the initial weights and the batch order, the same for every arm. Arms
(``freqaug.augment.arms``): none; standard (flip, zoom/crop, colour jitter); standard + A.FDA with
training images as references; standard + freqaug bands / blend (p = 0.5, from a pool of 256
scenes generated once per run from the bundle; its generation counts in the run's wall-clock);
replace25 / replace50: a layout-conditional bundle's labelled synthetic pairs (scenes drawn from
training label maps edited by flip / shift / copy-paste, a pool of --pool-size pairs) mixed in at
0.25 / 0.5 per real sample, then the standard pipeline. bands / blend read the unconditional
``--bundle``, the replace arms the layout-conditional ``--layout-bundle`` (without one they are
listed as not run), so one grid compares both; each kind of arm keeps to one bundle per grid.

Resumable: each finished run is added to OUT/downstream.json (written atomically) and a rerun skips
the runs recorded there, so the grid can be completed over several sessions; after every run the
table OUT/downstream.md and the chart OUT/downstream.png are rewritten from what is done. Without
CamVid (or with --drawn) it runs on drawn street scenes. ``--cost N`` times each arm's augmentation
per batch against SegNet steps instead (OUT/arm_cost.json).
"""
from __future__ import annotations

import argparse
import dataclasses
import datetime
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

from freqaug._files import locked, read_resumable, sha256_file, write_atomic
from freqaug.augment.arms import ARMS, FDA_BETA_LIMIT, REPLACE_RATIOS, StandardConfig, make_arm, needs_bundle, unavailable
from freqaug.augment.labelmaps import LabelAugConfig
from freqaug.bundle import load_bundle
from freqaug.data import CAMVID, load_segmentation, synthetic_batch
from freqaug.metrics.segnet import evaluate_segmentation, median_frequency_weights, train_segnet

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
DEFAULT_DATA = ROOT.parent / "shared" / "data" / "camvid" / "128x96"
DEFAULT_BUNDLE = ROOT / "runs" / "camvid" / "bundle.safetensors"
DEFAULT_OUT = HERE / "results" / "downstream"
NUM_CLASSES, IGNORE_INDEX = 11, 11
WIDTH, LR, WEIGHT_DECAY = 24, 2e-3, 1e-4  # the fixed SegNet and its optimiser
FORMAT, VERSION = "freqaug-bench-downstream", 1
NOISE_NOTE = ("With a seed-to-seed std of about 0.8 mIoU points (issue 6), a difference under ~1.5 points "
              "between two arms with 3 seeds is within seed noise.")
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
            "classes": manifest.get("classes"),
            "freqaug_version": manifest.get("freqaug_version"), "provenance": manifest.get("provenance"),
            "spec": bundle.spec.describe(), "image_size": list(bundle.image_size)}


def utc_now() -> str:
    return datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0).isoformat()


# ---- results file ---------------------------------------------------------------------------------

def setup_of(args: argparse.Namespace, data: dict[str, Any]) -> dict[str, Any]:
    """Everything that must be equal for runs to share one table (checked on resume)."""
    return {
        "data": data["source"], "train_images": len(data["train"][0]), "val_images": len(data["val"][0]),
        "size": list(args.size), "num_classes": NUM_CLASSES, "ignore_index": IGNORE_INDEX,
        "model": f"freqaug.metrics.SegNet width {WIDTH}", "batch_size": args.batch_size, "lr": LR,
        "weight_decay": WEIGHT_DECAY,
        "schedule": "cosine to lr/100 over the budget", "loss": "cross-entropy, median-frequency class weights",
        "p": args.p, "pool_size": args.pool_size, "standard": dataclasses.asdict(StandardConfig()),
        "fda_beta_limit": list(FDA_BETA_LIMIT),
    }


def read_results(path: Path, setup: dict[str, Any]) -> dict[str, Any]:
    """The results file, or a new one; a file made with another setup is refused (use another --out)."""
    results = read_resumable(path, setup, {"format": FORMAT, "version": VERSION, "runs": [], "not_run": {}})
    if results.get("format") != FORMAT or results.get("version") != VERSION:
        raise SystemExit(f"{path}: not a {FORMAT} version {VERSION} results file; use another --out")
    return results


def _alive(pid: int) -> bool:
    """Whether process ``pid`` still runs on this machine."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _claims(out: Path) -> list[dict[str, Any]]:
    """Runs started by processes that still live (a killed process's claims lapse)."""
    path = out / "claims.json"
    claims = json.loads(path.read_text()) if path.is_file() else []
    return [c for c in claims if _alive(c["pid"])]


def claim(out: Path, key: tuple[str, int, int], setup: dict[str, Any]) -> bool:
    """Mark ``key`` as started by this process unless it is recorded or claimed by a live one; True if claimed."""
    with locked(out):
        claims = _claims(out)
        taken = {(c["arm"], c["budget"], c["seed"]) for c in claims}
        if key in taken or key in done_keys(read_results(out / "downstream.json", setup)):
            return False
        claims.append({"arm": key[0], "budget": key[1], "seed": key[2], "pid": os.getpid()})
        write_atomic(out / "claims.json", (json.dumps(claims) + "\n").encode())
        return True


def record(out: Path, setup: dict[str, Any], command: str, *, grid: dict[str, Any], not_run: dict[str, str],
           run: dict[str, Any] | None = None, runnable: tuple[str, ...] = ()) -> dict[str, Any]:
    """Merge ``grid``, ``not_run`` and ``run`` into the results file as it is on disk now (other processes may
    have added theirs; ``runnable`` arms leave ``not_run``, e.g. replace arms with a conditional bundle),
    rewrite the reports and drop this run's claim; returns the merged results."""
    with locked(out):
        results = read_results(out / "downstream.json", setup)
        for key, values in grid.items():
            merged = set(results.setdefault("grid", {}).get(key, [])) | set(values)
            results["grid"][key] = sorted(merged, key=arm_order if key == "arms" else None)
        results["not_run"].update(not_run)
        for arm in runnable:
            results["not_run"].pop(arm, None)
        if run is not None:
            results["runs"].append(run)
            key = (run["arm"], run["budget"], run["seed"])
            claims = [c for c in _claims(out) if (c["arm"], c["budget"], c["seed"]) != key]
            write_atomic(out / "claims.json", (json.dumps(claims) + "\n").encode())
        write_reports(results, out, command)
    return results


def done_keys(results: dict[str, Any]) -> set[tuple[str, int, int]]:
    return {(r["arm"], r["budget"], r["seed"]) for r in results["runs"]}


def bundle_for(arm: str, args: argparse.Namespace) -> Path | None:
    """The bundle arm ``arm`` reads: ``--layout-bundle`` (None when not given) for replace arms, else ``--bundle``."""
    return args.layout_bundle if arm in REPLACE_RATIOS else args.bundle


def check_bundle(results: dict[str, Any], bundle: dict[str, Any], path: Path, replace: bool) -> None:
    """Refuse to mix runs of one kind of arm (bands / blend, or replace) made with different bundles
    in one results file."""
    for run in results["runs"]:
        if (run["arm"] in REPLACE_RATIOS) != replace:
            continue
        if run.get("bundle") and run["bundle"]["sha256"] != bundle["sha256"]:
            raise SystemExit(
                f"{path}: run {run['arm']}/{run['budget']}/{run['seed']} used bundle sha256 "
                f"{run['bundle']['sha256'][:12]}..., "
                f"now {bundle['path']} has {bundle['sha256'][:12]}...; use another --out for another bundle"
            )


# ---- one run ----------------------------------------------------------------------------------------

def run_one(arm: str, budget: int, seed: int, data: dict[str, Any], weights: torch.Tensor,
            args: argparse.Namespace) -> dict[str, Any]:
    """Train one SegNet with ``arm`` for ``budget`` steps and score it on val."""
    train_x, train_y = data["train"]
    load_before = os.getloadavg()[0]
    start = time.perf_counter()
    augment = make_arm(arm, train_images=train_x, bundle_path=bundle_for(arm, args), seed=seed, p=args.p,
                       pool_size=args.pool_size, train_labels=train_y)
    pool_seconds = sum(getattr(a, "pool_seconds", 0.0) for a in getattr(augment, "augments", ()))
    model = train_segnet(train_x, train_y, num_classes=NUM_CLASSES, ignore_index=IGNORE_INDEX, steps=budget,
                         batch_size=args.batch_size, lr=LR, weight_decay=WEIGHT_DECAY, width=WIDTH, seed=seed,
                         class_weights=weights, augment=augment, progress=True)
    train_seconds = time.perf_counter() - start
    scores = evaluate_segmentation(model, *data["val"], num_classes=NUM_CLASSES, ignore_index=IGNORE_INDEX)
    return {
        "arm": arm, "budget": budget, "seed": seed,
        "miou": scores["miou"], "pixel_accuracy": scores["pixel_accuracy"], "iou": scores["iou"],
        "seconds": round(train_seconds, 2), "pool_seconds": round(pool_seconds, 2),
        "seconds_per_step": round(train_seconds / max(budget, 1), 4),
        "eval_seconds": round(time.perf_counter() - start - train_seconds, 2),
        "bundle": args.bundle_infos.get(arm) if needs_bundle(arm) else None,
        "synthetic_pairs": {"ratio": REPLACE_RATIOS[arm], "pool_size": args.pool_size,
                            "label_aug": LabelAugConfig().to_dict()} if arm in REPLACE_RATIOS else None,
        "provenance": {"date": utc_now(), "load_average_1min_before": round(load_before, 2),
                       "load_average_1min_after": round(os.getloadavg()[0], 2), "torch_threads": torch.get_num_threads(),
                       "torch": torch.__version__, "cpu_count": os.cpu_count(), "commit": args.commit},
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
                              pool_size=args.pool_size, train_labels=train_y)
        times[arm] = [time.perf_counter() - start]  # construction, reported apart
    model = SegNet(SegNetConfig(NUM_CLASSES, width=WIDTH))
    optimizer = torch.optim.AdamW(model.parameters(), lr=LR, weight_decay=WEIGHT_DECAY)
    generator = torch.Generator().manual_seed(0)
    load_before = os.getloadavg()[0]
    for _ in tqdm(range(repeats + 1), desc="arm cost", unit="round"):
        index = torch.randint(len(train_x), (args.batch_size,), generator=generator)
        x, y = train_x[index], train_y[index]
        start = time.perf_counter()
        loss = torch.nn.functional.cross_entropy(model(x), y, ignore_index=IGNORE_INDEX)
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

def arm_order(arm: str) -> int:
    """Position of ``arm`` in :data:`ARMS` (arms of older results files, e.g. ``replace``, go last)."""
    return ARMS.index(arm) if arm in ARMS else len(ARMS)


def _stats(values: list[float]) -> tuple[float, float | None]:
    return statistics.fmean(values), statistics.stdev(values) if len(values) > 1 else None


def _pm(values: list[float], scale: float = 100.0) -> str:
    mean, std = _stats([v * scale for v in values])
    return f"{mean:.1f} ± {std:.1f}" if std is not None else f"{mean:.1f} (1 seed)"


def _delta(runs: dict[tuple[str, int, int], dict], arm: str, ref: str, budget: int) -> str:
    """Mean over the seeds both arms have of (arm - ref) mIoU, in points, with the seed count."""
    if arm == ref:
        return "-"
    seeds = sorted(s for (a, b, s) in runs if a == arm and b == budget and (ref, budget, s) in runs)
    if not seeds:
        return "n/a"
    diffs = [100 * (runs[arm, budget, s]["miou"] - runs[ref, budget, s]["miou"]) for s in seeds]
    return f"{statistics.fmean(diffs):+.1f} (n={len(seeds)})"


def summary_rows(results: dict[str, Any]) -> list[dict[str, Any]]:
    """Per (budget, arm) with runs: the seeds, mIoU / pixel accuracy values and mean seconds."""
    rows = []
    budgets = sorted({r["budget"] for r in results["runs"]})
    arms = [a for a in ARMS if any(r["arm"] == a for r in results["runs"])]
    for budget in budgets:
        for arm in arms:
            runs = sorted((r for r in results["runs"] if (r["arm"], r["budget"]) == (arm, budget)),
                          key=lambda r: r["seed"])
            if runs:
                rows.append({"budget": budget, "arm": arm, "seeds": [r["seed"] for r in runs],
                             "miou": [r["miou"] for r in runs], "pixel_accuracy": [r["pixel_accuracy"] for r in runs],
                             "seconds": statistics.fmean(r["seconds"] for r in runs),
                             "pool_seconds": statistics.fmean(r["pool_seconds"] for r in runs)})
    return rows


def per_class_lines(results: dict[str, Any]) -> list[str]:
    """Per budget and arm the val IoU of each class, mean over seeds, and its paired difference to standard."""
    if not results["runs"]:
        return []
    runs = {(r["arm"], r["budget"], r["seed"]): r for r in results["runs"]}
    names = CAMVID.names[:NUM_CLASSES]
    lines = ["", "## Per-class val IoU %", "",
             "Mean over the seeds done; in brackets the mean over the seeds both arms have of the difference "
             "to `standard`, in points. Per-class IoU varies more between seeds than mIoU does, most for the "
             "small classes.", "",
             "| budget | arm | n | " + " | ".join(names) + " |", "|---:|---|---:|" + "---:|" * len(names)]
    for row in summary_rows(results):
        budget, arm = row["budget"], row["arm"]
        ious = {s: runs[arm, budget, s]["iou"] for s in row["seeds"]}
        standard = {s: runs["standard", budget, s]["iou"] for s in ious
                    if arm != "standard" and ("standard", budget, s) in runs}
        cells = []
        for c in range(len(names)):  # an IoU of None: the class is in neither truth nor prediction
            values = [iou[c] for iou in ious.values() if iou[c] is not None]
            diffs = [ious[s][c] - ref[c] for s, ref in standard.items() if None not in (ious[s][c], ref[c])]
            cell = f"{100 * statistics.fmean(values):.1f}" if values else "-"
            cells.append(cell + (f" ({100 * statistics.fmean(diffs):+.1f})" if diffs else ""))
        lines.append(f"| {budget} | {arm} | {len(ious)} | " + " | ".join(cells) + " |")
    return lines


def markdown(results: dict[str, Any], command: str) -> str:
    """The results table, the per-run list and the provenance, for what is done so far."""
    setup = results["setup"]
    runs = {(r["arm"], r["budget"], r["seed"]): r for r in results["runs"]}
    lines = [
        "# Downstream segmentation: val mIoU of a SegNet trained with each augmentation arm", "",
        f"Command: `{command}`", "",
        f"Data: {setup['data']}; train {setup['train_images']} images, val {setup['val_images']}. "
        f"Model: {setup['model']} (~1.1M parameters) from scratch; batch {setup['batch_size']}, AdamW lr "
        f"{setup['lr']}, {setup['schedule']}; {setup['loss']}; mIoU over {setup['num_classes']} classes, id "
        f"{setup['ignore_index']} ignored. FDA and freqaug: p = {setup['p']} per sample on top of the standard "
        f"pipeline; freqaug draws from a pool of {setup['pool_size']} scenes generated once per run (counted in s / run).",
        "",
        "| budget (steps) | arm | n seeds | val mIoU % | pixel acc % | Δ mIoU vs none | Δ mIoU vs standard "
        "| s / run | of which pool |",
        "|---:|---|---:|---|---|---|---|---:|---:|",
    ]
    grid = results.get("grid", {"arms": [], "seeds": [], "budgets": []})
    rows = {(r["budget"], r["arm"]): r for r in summary_rows(results)}
    budgets = sorted({b for b, _ in rows} | set(grid["budgets"]))
    not_run = results.get("not_run", {})
    arms = [a for a in ARMS if a not in not_run and (a in grid["arms"] or any(a == arm for _, arm in rows))]
    for budget in budgets:
        for arm in arms:
            row = rows.get((budget, arm))
            n = f"{len(row['seeds']) if row else 0} of {len(grid['seeds'])}" if grid["seeds"] else len(row["seeds"])
            if row is None:
                lines.append(f"| {budget} | {arm} | {n} | pending | | | | | |")
                continue
            lines.append(
                f"| {budget} | {arm} | {n} | {_pm(row['miou'])} | {_pm(row['pixel_accuracy'])} | "
                f"{_delta(runs, arm, 'none', budget)} | {_delta(runs, arm, 'standard', budget)} | "
                f"{row['seconds']:.0f} | {row['pool_seconds']:.0f} |"
            )
    for arm, reason in sorted(results.get("not_run", {}).items()):
        lines.append(f"| all | {arm} | 0 | not run | | | | | |")
    lines += [
        "", "mean ± std over the seeds done (n seeds: done of those requested so far; pending: none done yet); Δ: mean over the seeds both arms have of the difference, in "
        f"mIoU points. {NOISE_NOTE}",
    ]
    for arm, reason in sorted(results.get("not_run", {}).items()):
        lines += ["", f"Not run: `{arm}`: {reason}."]
    bundles = {r["bundle"]["sha256"]: r["bundle"] for r in results["runs"] if r.get("bundle")}
    for bundle in bundles.values():
        lines += ["", f"Bundle: `{bundle['path']}` (file sha256 `{bundle['sha256']}`, weights sha256 "
                      f"`{bundle['weights_sha256']}`, {bundle['spec']}, "
                      f"{bundle['image_size'][0]}x{bundle['image_size'][1]}); "
                      f"provenance: `{json.dumps(bundle['provenance'], sort_keys=True)}`"]
    loads = [r["provenance"]["load_average_1min_after"] for r in results["runs"]]
    threads = sorted({r["provenance"]["torch_threads"] for r in results["runs"]})
    if loads:
        lines += ["", f"Machine: 1-minute load average after each run {min(loads):.2f}-{max(loads):.2f}; torch threads "
                      f"{', '.join(map(str, threads))}. Wall-clock compares arms only under similar load "
                      "(per-run values in downstream.json)."]
    lines += per_class_lines(results)
    lines += ["", "## Runs", "", "| budget | seed | arm | val mIoU % | pixel acc % | s | s / step | load after | date |",
              "|---:|---:|---|---:|---:|---:|---:|---:|---|"]
    for r in sorted(results["runs"], key=lambda r: (r["budget"], r["seed"], arm_order(r["arm"]))):
        p = r["provenance"]
        lines.append(f"| {r['budget']} | {r['seed']} | {r['arm']} | {100 * r['miou']:.1f} "
                     f"| {100 * r['pixel_accuracy']:.1f} | {r['seconds']:.0f} | {r['seconds_per_step']:.2f} "
                     f"| {p['load_average_1min_after']:.2f} | {p['date']} |")
    return "\n".join(lines) + "\n"


def bar_chart(results: dict[str, Any], path: Path) -> Path:
    """Mean ± std val mIoU per arm, one group of bars per budget, n seeds written on each bar."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = summary_rows(results)
    budgets = sorted({r["budget"] for r in rows})
    arms = [a for a in ARMS if any(r["arm"] == a for r in rows)]
    fig, ax = plt.subplots(figsize=(2.6 + 0.9 * max(1, len(arms)) * max(1, len(budgets)), 4.2))
    width = 0.8 / max(1, len(arms))
    bars = []  # (x, mean, std, n, arm)
    for i, arm in enumerate(arms):
        for j, budget in enumerate(budgets):
            row = next((r for r in rows if r["arm"] == arm and r["budget"] == budget), None)
            if row is not None:
                mean, std = _stats([100 * v for v in row["miou"]])
                bars.append((j + (i - (len(arms) - 1) / 2) * width, mean, std or 0.0, len(row["seeds"]), arm))
    top = max((mean + std for _, mean, std, _, _ in bars), default=1.0)
    labelled: set[str] = set()
    for x, mean, std, n, arm in bars:
        ax.bar(x, mean, width, yerr=std, capsize=3, color=f"C{arm_order(arm)}", label=None if arm in labelled else arm)
        ax.text(x, mean + std + 0.01 * top, f"n={n}", ha="center", va="bottom", fontsize=7)
        labelled.add(arm)
    ax.set_ylim(0, 1.12 * top)
    ax.set_xticks(range(len(budgets)), [f"{b} steps" for b in budgets])
    ax.set_ylabel("val mIoU (%)")
    ax.set_title("SegNet val mIoU per augmentation arm (mean ± std over n seeds)", fontsize=10)
    if labelled:
        ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    not_run = sorted(results.get("not_run", {}))
    if not_run:
        fig.text(0.01, 0.01, f"not run: {', '.join(not_run)}", fontsize=7)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.stem}.{os.getpid()}.tmp.png")
    fig.savefig(tmp, dpi=120)
    plt.close(fig)
    os.replace(tmp, path)
    return path


def write_reports(results: dict[str, Any], out: Path, command: str) -> None:
    """The results JSON (atomically), then the Markdown table and the chart."""
    write_atomic(out / "downstream.json", (json.dumps(results, indent=1) + "\n").encode())
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
                             f"{' --conditional' if arm in REPLACE_RATIOS else ''}` (CamVid train only) or pass "
                             f"{flag} / leave that arm out")
        if path not in by_path:
            by_path[path] = bundle_info(path)
        check_bundle(results, by_path[path], args.out / "downstream.json", replace=arm in REPLACE_RATIOS)
        infos[arm] = by_path[path]
    return infos


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--arms", nargs="+", default=list(ARMS), choices=ARMS)
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--budgets", nargs="+", type=int, default=[360, 1080], help="optimiser steps, one run each")
    parser.add_argument("--bundle", type=Path, default=DEFAULT_BUNDLE, help=f"bundle for bands/blend (`{BUNDLE_COMMAND}`)")
    parser.add_argument("--layout-bundle", type=Path, default=None,
                        help=f"layout-conditional bundle for the replace arms (`{BUNDLE_COMMAND} --conditional`)")
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="folder with train/ and val/ (CamVid layout)")
    parser.add_argument("--drawn", action="store_true",
                        help="drawn street scenes instead of --data (also when it is absent)")
    parser.add_argument("--drawn-n", type=int, default=256, help="drawn training scenes (val: a quarter as many)")
    parser.add_argument("--size", nargs=2, type=int, default=[96, 128], metavar=("H", "W"))
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--p", type=float, default=0.5, help="chance per sample of FDA / freqaug")
    parser.add_argument("--pool-size", type=int, default=256, help="generated scenes per freqaug run")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (1 on a shared machine)")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--cost", type=int, default=0, metavar="N",
                        help="instead of the grid: time N batches of each arm against SegNet steps, write arm_cost.json")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """Run the missing runs of the grid; returns the results dict with ``trained``: the runs done now."""
    args = parse_args(argv)
    torch.set_num_threads(args.threads)
    command = "benchmarks/bench_downstream.py " + " ".join(sys.argv[1:] if argv is None else argv)
    use_drawn = args.drawn or not (args.data / "train").is_dir()
    if use_drawn and not args.drawn:
        print(f"{args.data}/train not found: using drawn street scenes", flush=True)
    data = load_data(None if use_drawn else args.data, tuple(args.size), args.drawn_n)
    args.out.mkdir(parents=True, exist_ok=True)
    results = read_results(args.out / "downstream.json", setup_of(args, data))
    args.commit = git_commit()
    arms = [a for a in ARMS if a in args.arms]
    grid = results.setdefault("grid", {"arms": [], "seeds": [], "budgets": []})
    for key, values in (("arms", arms), ("seeds", args.seeds), ("budgets", args.budgets)):
        grid[key] = sorted(set(grid[key]) | set(values), key=arm_order if key == "arms" else None)
    args.bundle_infos = bundle_infos(arms, args, results)
    for arm in arms:
        reason = unavailable(arm, bundle_for(arm, args) if arm in args.bundle_infos else None)
        if reason is not None:
            results["not_run"][arm] = reason
            print(f"not run: {reason}", flush=True)
        else:
            results["not_run"].pop(arm, None)
    arms = [a for a in arms if a not in results["not_run"]]
    if args.cost:
        cost = arm_cost(arms, data, args, args.cost)
        write_atomic(args.out / "arm_cost.json", (json.dumps(cost, indent=1) + "\n").encode())
        print(f"SegNet step {cost['segnet_step_seconds']:.3f} s at batch {args.batch_size}; load average "
              f"{cost['load_average_1min_before']:.2f} -> {cost['load_average_1min_after']:.2f}, "
              f"{cost['torch_threads']} thread(s)")
        for arm, c in cost["arms"].items():
            print(f"{arm:8s} {1000 * c['seconds_per_batch']:7.1f} ms per batch "
                  f"({100 * c['fraction_of_step']:.1f}% of a step), "
                  f"built in {c['build_seconds']:.1f} s")
        return {**results, "trained": [], "cost": cost}
    weights = median_frequency_weights(data["train"][1], NUM_CLASSES, IGNORE_INDEX)
    done = done_keys(results)
    todo = [(a, b, s) for b in args.budgets for s in args.seeds for a in arms if (a, b, s) not in done]
    print(f"{len(todo)} runs to do ({len(results['runs'])} recorded in {args.out / 'downstream.json'}); "
          f"data: {data['source']}", flush=True)
    setup = results["setup"]
    results = record(args.out, setup, command, grid=grid, not_run=results["not_run"], runnable=tuple(arms))
    trained = []
    for arm, budget, seed in tqdm(todo, desc="downstream runs", unit="run"):
        if not claim(args.out, (arm, budget, seed), setup):
            tqdm.write(f"{arm} budget {budget} seed {seed}: recorded or started by another process; skipped")
            continue
        run = run_one(arm, budget, seed, data, weights, args)
        results = record(args.out, setup, command, grid=grid, not_run={}, run=run)
        trained.append((arm, budget, seed))
        tqdm.write(f"{arm:8s} budget {budget:5d} seed {seed}: val mIoU {100 * run['miou']:.1f}, pixel acc "
                   f"{100 * run['pixel_accuracy']:.1f}, {run['seconds']:.0f} s ({run['seconds_per_step']:.2f} s/step, "
                   f"pool {run['pool_seconds']:.1f} s), load {run['provenance']['load_average_1min_after']:.2f}")
    print(markdown(results, command))
    return {**results, "trained": trained}


if __name__ == "__main__":
    main()
