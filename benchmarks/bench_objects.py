"""Objects in layout-conditional scenes: an independent judge reads trained recipes' bundles (issue 22).

    .venv/bin/python benchmarks/bench_objects.py --data ../shared/data/camvid/128x96/val \
        --segnet runs/objects/judge_dilated.safetensors \
        --run recipe=runs/objects/recipe --train-seconds recipe=6100 [--out benchmarks/results/objects]

Each ``--run NAME=DIR`` is a finished ``freqaug train --conditional`` run folder (its bundle.safetensors
and config.json); ``--train-seconds NAME=S`` is the wall-clock its training took, as measured by the
person who ran it (summed over interruptions). The judge (``--segnet``) must not be the segnet a run
trained against (``freqaug eval`` refuses it) and should be of another family (``train-segnet --arch
dilated``). For every run, ``freqaug eval``'s scoring (:func:`freqaug.evaluate.score_bundle`) on the
val layouts: layout mIoU, pixel accuracy and per-class IoU of the judge's reading of the generated
scenes against their layouts, beside the judge on the real val images (the ceiling), SWD; its full
evaluation goes to ``OUT/NAME_eval/`` (eval.md, layouts.png: layout, generated, judge's reading, real,
on the val layouts richest in rare classes). ``objects.json`` collects the runs (resumable: a rerun
adds or replaces the named runs; another judge or data folder is refused) and ``objects.md`` tables them.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import torch

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from _results import locked, read_resumable  # noqa: E402

from freqaug._files import sha256_file, write_atomic  # noqa: E402
from freqaug.evaluate import score_bundle, write_outputs  # noqa: E402
from freqaug.metrics import SegNetFileError, load_segnet  # noqa: E402

FORMAT = "freqaug-bench-objects"
NAME = "objects"


def _pairs(values: list[str], option: str, convert=str) -> dict[str, Any]:
    """``NAME=VALUE`` strings -> {name: convert(value)}; anything else stops naming the option."""
    out = {}
    for value in values:
        name, sep, rest = value.partition("=")
        try:
            if not sep or not name:
                raise ValueError
            out[name] = convert(rest)
        except ValueError:
            raise SystemExit(f"{option} {value!r}: expected NAME=VALUE ({option} recipe=...)") from None
    return out


def run_entry(name: str, run_dir: Path, seconds: float, args: argparse.Namespace) -> dict[str, Any]:
    """Score one run's bundle with the judge, write its full evaluation, return its objects.json entry."""
    bundle, config_file = run_dir / "bundle.safetensors", run_dir / "config.json"
    for path in (bundle, config_file):
        if not path.is_file():
            raise SystemExit(f"--run {name}={run_dir}: no {path.name} (a finished freqaug train --conditional run "
                             "folder holds bundle.safetensors and config.json)")
    config = json.loads(config_file.read_text())
    result = score_bundle(bundle, args.data, n=args.n, seed=args.seed, segnet=args.segnet, batch_size=args.batch_size)
    layout = result.report["metrics"]["layout"]
    if layout["status"] != "ok":
        raise SystemExit(f"--run {name}={run_dir}: no layout fidelity ({layout.get('reason')})")
    write_outputs(result, args.out / f"{name}_eval")
    return {
        "run": str(run_dir), "bundle": result.report["bundle"], "bundle_sha256": sha256_file(bundle),
        "steps": {"stage1": config["stage1_steps"], "stage2": config["stage2_steps"]},
        "train_seconds": seconds, "semantic": config["train"].get("semantic", 0.0),
        "semantic_segnet": config["train"].get("semantic_segnet"),
        "layout": {k: layout["generated"][k] for k in ("miou", "pixel_accuracy", "iou")},
        "real": {k: layout["real"][k] for k in ("miou", "pixel_accuracy", "iou")},
        "classes": layout["classes"], "swd_mean": result.report["metrics"]["swd"]["mean"],
        "eval": f"{name}_eval/eval.md", "grid": f"{name}_eval/layouts.png",
    }


def _cell(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def markdown(report: dict[str, Any]) -> str:
    """The per-class table: every run's generated scenes and the real val images under the same judge."""
    runs = report["runs"]
    classes = next(iter(runs.values()))["classes"]
    setup = report["setup"]
    rows = ["# Objects in layout-conditional scenes, read by an independent judge", "",
            f"Judge `{setup['segnet']}` ({setup['judge']['arch']}, width {setup['judge']['width']}, sha256 "
            f"{setup['segnet_sha256'][:12]}); layouts and real images: `{setup['data']}`. Produced by "
            "`benchmarks/bench_objects.py`; each run's full evaluation (SWD, spectra, layouts.png) in `NAME_eval/`. "
            "IoU per class of the judge's reading against the layouts (`-`: class absent from the layouts).", "",
            "| bundle | steps (stage 1 + 2) | train time | layout mIoU | pixel acc. | SWD | "
            + " | ".join(classes) + " |",
            "|---|---|---:|---:|---:|---:|" + "---:|" * len(classes)]
    for name, e in runs.items():
        rows.append(f"| {name} | {e['steps']['stage1']} + {e['steps']['stage2']} | {e['train_seconds'] / 60:.0f} min | "
                    f"{e['layout']['miou']:.3f} | {e['layout']['pixel_accuracy']:.3f} | {e['swd_mean']:.0f} | "
                    + " | ".join(_cell(v) for v in e["layout"]["iou"]) + " |")
    real = next(iter(runs.values()))["real"]
    rows.append(f"| real val (ceiling) | | | {real['miou']:.3f} | {real['pixel_accuracy']:.3f} | | "
                + " | ".join(_cell(v) for v in real["iou"]) + " |")
    return "\n".join(rows) + "\n"


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, required=True, help="val folder with images/ and labels/")
    parser.add_argument("--segnet", type=Path, required=True, help="the judge (freqaug train-segnet --arch dilated)")
    parser.add_argument("--run", action="append", default=[], required=True, help="NAME=RUN_DIR (repeatable)")
    parser.add_argument("--train-seconds", action="append", default=[], help="NAME=SECONDS of training, per --run")
    parser.add_argument("--out", type=Path, default=HERE / "results" / "objects")
    parser.add_argument("--n", type=int, default=None, help="scenes to generate (default: one per val layout)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--threads", type=int, default=1, help="torch threads (1 on a shared machine)")
    args = parser.parse_args(argv)
    runs = _pairs(args.run, "--run", Path)
    seconds = _pairs(args.train_seconds, "--train-seconds", float)
    if set(seconds) != set(runs):
        raise SystemExit(f"--train-seconds: expected one per --run ({sorted(runs)}), got {sorted(seconds)}")
    try:
        judge = load_segnet(args.segnet).config  # before any scoring
    except SegNetFileError as err:
        raise SystemExit(f"--segnet: {err} (make a judge with freqaug train-segnet --arch dilated)") from None
    torch.set_num_threads(args.threads)
    args.out.mkdir(parents=True, exist_ok=True)
    setup = {"data": str(args.data), "segnet": str(args.segnet), "segnet_sha256": sha256_file(args.segnet),
             "judge": judge.to_dict(), "n": args.n, "seed": args.seed}
    path = args.out / f"{NAME}.json"
    read_resumable(path, setup, {})  # another judge or data folder is refused before minutes of scoring
    entries = {name: run_entry(name, run_dir, seconds[name], args) for name, run_dir in runs.items()}
    with locked(args.out):
        report = read_resumable(path, setup, {"format": FORMAT, "version": 1, "runs": {}})
        report["runs"].update(entries)
        write_atomic(path, (json.dumps(report, indent=2) + "\n").encode())
        write_atomic(args.out / f"{NAME}.md", markdown(report).encode())
    print(markdown(report))
    return report


if __name__ == "__main__":
    main()
