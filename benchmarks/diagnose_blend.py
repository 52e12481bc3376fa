"""What the learned blend does to a bundle's images: the blend against its two parts, scored alike.

    .venv/bin/python benchmarks/diagnose_blend.py BUNDLE [BUNDLE ...] [--data ../shared/data/camvid/128x96/val]

For each bundle, generates as many images as ``--data`` holds (seed 0) and scores three image sets
against the real ones with the same metrics as `freqaug eval`: the blended output
``alpha * band_image + (1 - alpha) * baseline`` (what a bundle generates), the band image alone
(the inverse transform of the generated bands) and the baseline generator's image alone. Prints
a Markdown table: if the band image alone scores better than the blend, the blend's alpha or the
baseline is what holds the output back.
"""
from __future__ import annotations

import argparse
from pathlib import Path

import torch

from freqaug.bundle import load_bundle
from freqaug.data import load_images
from freqaug.metrics import spectrum_distance, swd

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DATA = ROOT.parent / "shared" / "data" / "camvid" / "128x96" / "val"
PARTS = ("image", "band_image", "baseline")  # FreqGANOutput fields: the blend and its two inputs


@torch.no_grad()
def model_parts(model, z: torch.Tensor, batch: int = 64) -> dict[str, torch.Tensor]:
    """The blend, band image and baseline of a FreqGAN for target vectors z, in [0, 1]."""
    out: dict[str, list[torch.Tensor]] = {p: [] for p in PARTS}
    for chunk in z.split(batch):
        result = model(chunk)
        for part in PARTS:
            out[part].append((getattr(result, part).clamp(-1, 1) + 1) / 2)
    return {p: torch.cat(v) for p, v in out.items()}


def generate_parts(path: Path, n: int) -> tuple[dict[str, torch.Tensor], float]:
    """The blend, band image and baseline of n samples of a bundle (seed 0), and its mean alpha."""
    bundle = load_bundle(path)
    if bundle.classes is not None:
        raise SystemExit(f"{path}: a layout-conditional bundle; this diagnosis draws unconditional samples")
    return model_parts(bundle.model, bundle.z_for(0, range(n))), bundle.alpha.mean().item()


def score_parts(real: torch.Tensor, parts: dict[str, torch.Tensor], levels: int = 4) -> dict[str, dict[str, float]]:
    """SWD, spectrum distance and mean brightness of each part against the real images."""
    scores = {}
    for part, fake in parts.items():
        s, d = swd(real, fake, levels=levels), spectrum_distance(real, fake)
        scores[part] = {"swd_mean": s["mean"], "swd_finest": s["level0"], "spectrum": d["mean"], "spectrum_low": d["low"],
                        "spectrum_high": d["high"], "brightness": fake.mean().item()}
    return scores


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("bundles", type=Path, nargs="+")
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="folder of real images (images/)")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    real = load_images(args.data, size=None)
    print(f"{len(real)} real images from {args.data}; {len(real)} samples per bundle (seed 0)\n")
    print("| bundle | alpha | images | SWD mean | SWD finest | spectrum dist. | low | high | mean brightness |")
    print("|---|---|---|---|---|---|---|---|---|")
    print(f"| real | | | | | | | | {real.mean():.3f} |")
    for path in args.bundles:
        parts, alpha = generate_parts(path, len(real))
        for part, c in score_parts(real, parts).items():
            print(f"| {path} | {alpha:.3f} | {part} | {c['swd_mean']:.1f} | {c['swd_finest']:.1f} | {c['spectrum']:.3f} | "
                  f"{c['spectrum_low']:.3f} | {c['spectrum_high']:.3f} | {c['brightness']:.3f} |", flush=True)


if __name__ == "__main__":
    main()
