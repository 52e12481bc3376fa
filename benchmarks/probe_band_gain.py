"""Are the generated detail bands too weak? Each band's energy against the real one, and the images after matching it.

    .venv/bin/python benchmarks/probe_band_gain.py BUNDLE [--data ../shared/data/camvid/128x96] [--out DIR]

Draws as many samples as DATA/val holds (seed 0) from an unconditional bundle. For each band and
colour channel it measures the standard deviation of the generated band over that of the real
train band (1 means the right energy). Then it rescales every detail band (all but the coarse
band) about its mean to the real standard deviation: a post-hoc per-band gain that only a band
decomposition allows. It scores the band image before and after, against val and against as many
random train images (the distribution the GANs learn), with the metrics of ``diagnose_blend.py``.
Writes ``band_gain.json``, ``band_gain.md`` and ``band_gain.png`` (rows: band image, calibrated,
random train images).
"""
from __future__ import annotations

import argparse
import importlib.util
import json
from pathlib import Path
from typing import Mapping

import torch
from torch import Tensor
from torchvision.utils import save_image

from freqaug._files import write_atomic
from freqaug.bands import BandSpec, compose, decompose
from freqaug.bundle import load_bundle
from freqaug.data import load_images, random_subset
from freqaug.metrics import swd

HERE = Path(__file__).resolve().parent
DEFAULT_DATA = HERE.parent.parent / "shared" / "data" / "camvid" / "128x96"


def _diagnose_blend():
    """benchmarks/diagnose_blend.py as a module (the benchmarks are scripts, not a package)."""
    spec = importlib.util.spec_from_file_location("diagnose_blend", HERE / "diagnose_blend.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def channel_std(band: Tensor) -> Tensor:
    """Standard deviation per channel over samples and pixels, shaped (1, C, 1, 1)."""
    return band.std(dim=(0, 2, 3), keepdim=True)


def std_ratios(generated: Mapping[str, Tensor], real: Mapping[str, Tensor]) -> dict[str, list[float]]:
    """Per band, generated over real standard deviation per channel (1: the right energy)."""
    return {k: (channel_std(v) / channel_std(real[k])).flatten().tolist() for k, v in generated.items()}


def calibrate(generated: Mapping[str, Tensor], real: Mapping[str, Tensor], spec: BandSpec) -> dict[str, Tensor]:
    """Every band but the coarse one rescaled about its per-channel mean to the real band's standard deviation."""
    out = {}
    for name, band in generated.items():
        if name == spec.coarse_band:
            out[name] = band
            continue
        center = band.mean(dim=(0, 2, 3), keepdim=True)
        out[name] = (band - center) * (channel_std(real[name]) / channel_std(band)) + center
    return out


def markdown(report: dict) -> str:
    lines = ["# Generated band energy and a per-band gain", "",
             f"Bundle `{report['bundle']}`; {report['samples']} samples (seed 0) against `{report['data']}`. "
             "std ratio: generated over real train standard deviation per channel (R, G, B).", "",
             "| band | std ratio R | G | B |", "|---|---|---|---|"]
    lines += [f"| {k} | " + " | ".join(f"{x:.3f}" for x in v) + " |" for k, v in report["std_ratio"].items()]
    lines += ["", "| images | vs val: SWD mean | SWD finest | spectrum | vs train: SWD mean | SWD finest | SWD coarsest "
              "| spectrum | brightness |", "|---|---|---|---|---|---|---|---|---|"]
    for name, s in report["scores"].items():
        v, t = s["val"], s["train"]
        lines.append(f"| {name} | {v['swd_mean']:.1f} | {v['swd_finest']:.1f} | {v['spectrum']:.3f} | {t['swd_mean']:.1f} | "
                     f"{t['swd_finest']:.1f} | {t['swd_coarsest']:.1f} | {t['spectrum']:.3f} | {v['brightness']:.3f} |")
    return "\n".join(lines + [""])


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("bundle", type=Path)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="folder with train/ and val/ (images/ each)")
    parser.add_argument("--out", type=Path, default=HERE / "results" / "band_gain")
    parser.add_argument("--swd-levels", type=int, default=4)
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    bundle = load_bundle(args.bundle)
    if bundle.classes is not None:
        raise SystemExit(f"{args.bundle}: a layout-conditional bundle; this probe draws unconditional samples")
    model, spec = bundle.model, bundle.spec
    train, val = (load_images(args.data / split, size=bundle.image_size) for split in ("train", "val"))
    real_bands = decompose(train * 2 - 1, spec)
    n = len(val)
    train_ref = random_subset(train, n, 0)
    with torch.no_grad():
        out = model(bundle.z_for(0, range(n)))
    calibrated = compose(calibrate(out.bands, real_bands, spec), spec, size=bundle.image_size)
    images = {"band image": (out.band_image.clamp(-1, 1) + 1) / 2, "calibrated": (calibrated.clamp(-1, 1) + 1) / 2}
    diagnose = _diagnose_blend()
    scores = {}
    for name, x in images.items():
        val_scores = diagnose.score_parts(val, {"x": x}, levels=args.swd_levels)["x"]
        train_scores = diagnose.score_parts(train_ref, {"x": x[: len(train_ref)]}, levels=args.swd_levels)["x"]
        coarsest = swd(train_ref, x[: len(train_ref)], levels=args.swd_levels)[f"level{args.swd_levels - 1}"]
        scores[name] = {"val": val_scores, "train": train_scores | {"swd_coarsest": coarsest}}
    report = {"bundle": str(args.bundle), "data": str(args.data), "samples": n,
              "std_ratio": std_ratios(out.bands, real_bands), "scores": scores}
    args.out.mkdir(parents=True, exist_ok=True)
    write_atomic(args.out / "band_gain.json", (json.dumps(report, indent=1) + "\n").encode())
    write_atomic(args.out / "band_gain.md", markdown(report).encode())
    k = min(8, n)
    save_image(torch.cat([images["band image"][:k], images["calibrated"][:k], train_ref[:k]]), args.out / "band_gain.png",
               nrow=k)
    print(markdown(report))
    return report


if __name__ == "__main__":
    main()
