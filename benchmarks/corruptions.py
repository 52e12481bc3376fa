"""A common-corruption suite for segmentation val sets ("CamVid-C val"), built from albumentations 2.0.8.

15 corruptions in four families, 3 severities each, in the spirit of ImageNet-C (Hendrycks &
Dietterich, 2019) and Cityscapes-C, with severities scaled to 128x96 driving frames. Each corrupted
image is seeded from (suite seed, corruption, severity, image index), so a suite is the same on
every machine and in every process; :func:`load_suite` builds it once and caches it as one
safetensors file (uint8, no pickle) keyed by a hash of the images, the table and the seed. Labels
are never corrupted (the elastic warp is small, as in Cityscapes-C).

    .venv/bin/python benchmarks/corruptions.py --data ../shared/data/camvid/128x96 --png docs/corruptions.png

writes the picture of one val image under every corruption and severity and prints the table of
parameters that ``docs/robustness.md`` shows.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch
from torch import Tensor

os.environ.setdefault("NO_ALBUMENTATIONS_UPDATE", "1")

FAMILIES: dict[str, tuple[str, ...]] = {
    "noise": ("gaussian_noise", "shot_noise", "impulse_noise"),
    "blur": ("defocus_blur", "motion_blur", "zoom_blur", "glass_blur"),
    "weather": ("snow", "rain", "fog", "brightness"),
    "digital": ("contrast", "elastic", "pixelate", "jpeg"),
}
SEVERITIES = (1, 2, 3)


@dataclass(frozen=True)
class Corruption:
    """One corruption: its family and, per severity, the albumentations transform's keyword arguments."""

    name: str
    family: str
    transform: str
    params: tuple[dict[str, Any], ...]  # severity 1, 2, 3

    def build(self, severity: int) -> Any:
        """The albumentations transform of ``severity`` (1-based), always applied."""
        import albumentations as A
        import cv2

        kwargs = dict(self.params[severity - 1])
        if self.transform == "Downscale":
            kwargs["interpolation_pair"] = {"downscale": cv2.INTER_AREA, "upscale": cv2.INTER_NEAREST}
        return getattr(A, self.transform)(**kwargs, p=1.0)


def _same(low: float, high: float | None = None) -> tuple[float, float]:
    return (low, low if high is None else high)


TABLE: tuple[Corruption, ...] = (
    Corruption("gaussian_noise", "noise", "GaussNoise", tuple({"std_range": _same(s)} for s in (0.04, 0.08, 0.16))),
    Corruption("shot_noise", "noise", "ShotNoise", tuple({"scale_range": _same(s)} for s in (0.005, 0.015, 0.04))),
    Corruption("impulse_noise", "noise", "SaltAndPepper", tuple({"amount": _same(a)} for a in (0.01, 0.03, 0.07))),
    Corruption("defocus_blur", "blur", "Defocus",
               tuple({"radius": (r, r), "alias_blur": _same(0.1)} for r in (1, 2, 3))),
    Corruption("motion_blur", "blur", "MotionBlur", tuple({"blur_limit": (k, k)} for k in (3, 5, 9))),
    Corruption("zoom_blur", "blur", "ZoomBlur",
               tuple({"max_factor": _same(f), "step_factor": _same(0.02)} for f in (1.06, 1.11, 1.21))),
    Corruption("glass_blur", "blur", "GlassBlur",
               tuple({"sigma": s, "max_delta": d, "iterations": i} for s, d, i in ((0.5, 1, 1), (0.7, 1, 2), (1.0, 2, 2)))),
    Corruption("snow", "weather", "RandomSnow",
               tuple({"snow_point_range": _same(v), "brightness_coeff": 2.5, "method": "bleach"} for v in (0.1, 0.2, 0.3))),
    Corruption("rain", "weather", "RandomRain",
               tuple({"rain_type": t, "drop_length": 8, "blur_value": 3, "brightness_coefficient": 0.8}
                     for t in ("drizzle", "heavy", "torrential"))),
    Corruption("fog", "weather", "RandomFog", tuple({"fog_coef_range": _same(c), "alpha_coef": 0.1} for c in (0.3, 0.5, 0.8))),
    Corruption("brightness", "weather", "RandomBrightnessContrast",
               tuple({"brightness_limit": _same(b), "contrast_limit": _same(0.0)} for b in (0.2, 0.35, 0.5))),
    Corruption("contrast", "digital", "ColorJitter",  # blends towards the image's mean grey, as ImageNet-C does
               tuple({"brightness": _same(1.0), "contrast": _same(c), "saturation": _same(1.0), "hue": _same(0.0)}
                     for c in (0.5, 0.3, 0.15))),
    Corruption("elastic", "digital", "ElasticTransform",
               tuple({"alpha": a, "sigma": 5.0, "border_mode": 4} for a in (40.0, 80.0, 150.0))),
    Corruption("pixelate", "digital", "Downscale", tuple({"scale_range": _same(s)} for s in (0.6, 0.4, 0.25))),
    Corruption("jpeg", "digital", "ImageCompression",
               tuple({"quality_range": (q, q), "compression_type": "jpeg"} for q in (30, 15, 7))),
)
BY_NAME = {c.name: c for c in TABLE}
assert [c.name for c in TABLE] == [n for names in FAMILIES.values() for n in names]


def _seed(seed: int, corruption: int, severity: int, image: int) -> int:
    state = np.random.SeedSequence([seed, corruption, severity, image]).generate_state(1, np.uint32)
    return int(state[0])


def to_uint8(images: Tensor) -> np.ndarray:
    """(N, 3, H, W) float in [0, 1] -> (N, H, W, 3) uint8 (rounded)."""
    return (images.clamp(0, 1) * 255).round().to(torch.uint8).permute(0, 2, 3, 1).contiguous().numpy()


def corrupt(images: np.ndarray, name: str, severity: int, *, seed: int = 0) -> np.ndarray:
    """``images`` (N, H, W, 3) uint8 under corruption ``name`` at ``severity`` (1-3); deterministic by ``seed``."""
    if name not in BY_NAME:
        raise ValueError(f"corruption: expected one of {', '.join(BY_NAME)}, got {name!r}")
    if severity not in SEVERITIES:
        raise ValueError(f"severity: expected one of {SEVERITIES}, got {severity!r}")
    if not isinstance(images, np.ndarray) or images.dtype != np.uint8 or images.ndim != 4 or images.shape[-1] != 3:
        got = f"{images.dtype} {images.shape}" if isinstance(images, np.ndarray) else type(images).__name__
        raise ValueError(f"images: expected uint8 (N, H, W, 3), got {got}")
    transform = BY_NAME[name].build(severity)
    index = [c.name for c in TABLE].index(name)
    out = np.empty_like(images)
    for i, image in enumerate(images):
        transform.set_random_seed(_seed(seed, index, severity, i))
        out[i] = transform(image=np.ascontiguousarray(image))["image"]
    return out


def suite_key(images: np.ndarray, seed: int) -> str:
    """Hash of the images, the table and the seed: the cache file's name."""
    digest = hashlib.sha256(images.tobytes())
    digest.update(json.dumps([[c.name, c.transform, c.params] for c in TABLE], sort_keys=True).encode())
    digest.update(f"seed={seed};shape={images.shape}".encode())
    return digest.hexdigest()[:16]


def build_suite(images: np.ndarray, *, seed: int = 0,
                progress: Callable[[str], None] | None = None) -> dict[tuple[str, int], np.ndarray]:
    """Every (corruption, severity) of :data:`TABLE` applied to ``images`` (N, H, W, 3) uint8."""
    suite = {}
    for corruption in TABLE:
        for severity in SEVERITIES:
            if progress is not None:
                progress(f"{corruption.name} {severity}")
            suite[corruption.name, severity] = corrupt(images, corruption.name, severity, seed=seed)
    return suite


def load_suite(images: np.ndarray, cache: Path | None, *, seed: int = 0) -> dict[tuple[str, int], np.ndarray]:
    """:func:`build_suite`, read from / written to ``cache`` (a folder; None: no cache) as safetensors."""
    from safetensors.numpy import load_file, save_file

    path = None if cache is None else Path(cache) / f"suite-{suite_key(images, seed)}.safetensors"
    if path is not None and path.is_file():
        stored = load_file(str(path))
        return {(name, int(sev)): stored[f"{name}/{sev}"] for name, sev in (k.split("/") for k in stored)}
    suite = build_suite(images, seed=seed)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        save_file({f"{name}/{sev}": np.ascontiguousarray(a) for (name, sev), a in suite.items()}, str(tmp))
        os.replace(tmp, path)
    return suite


def robustness_scores(score: Callable[[np.ndarray], float], suite: dict[tuple[str, int], np.ndarray],
                      clean: float) -> dict[str, Any]:
    """mIoU of ``score`` on every suite entry, mPC (mean over corruptions x severities), rPC = mPC / clean
    and mPC per family and per corruption."""
    per = {f"{name}/{sev}": score(images) for (name, sev), images in suite.items()}
    by_corruption = {c.name: float(np.mean([per[f"{c.name}/{s}"] for s in SEVERITIES])) for c in TABLE}
    families = {f: float(np.mean([by_corruption[n] for n in names])) for f, names in FAMILIES.items()}
    mpc = float(np.mean(list(per.values())))
    return {"mpc": mpc, "rpc": mpc / clean if clean > 0 else None, "families": families,
            "corruptions": by_corruption, "per_severity": per}


def markdown_table() -> str:
    """The parameters of every corruption and severity, as a Markdown table."""
    lines = ["| family | corruption | albumentations | severity 1 | severity 2 | severity 3 |", "|---|---|---|---|---|---|"]
    for c in TABLE:
        cells = [", ".join(f"{k}={v}" for k, v in p.items()) for p in c.params]
        lines.append(f"| {c.family} | {c.name} | `A.{c.transform}` | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def suite_png(image: np.ndarray, path: Path, *, seed: int = 0) -> Path:
    """One image (H, W, 3) uint8 under every corruption (rows) and severity (columns), the clean one first."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(len(TABLE), 4, figsize=(4 * 1.6, len(TABLE) * 1.25))
    for row, c in enumerate(TABLE):
        cells = [image] + [corrupt(image[None], c.name, s, seed=seed)[0] for s in SEVERITIES]
        for col, cell in enumerate(cells):
            ax = axes[row, col]
            ax.imshow(cell)
            ax.set_xticks([])
            ax.set_yticks([])
            if row == 0:
                ax.set_title("clean" if col == 0 else f"severity {col}", fontsize=8)
            if col == 0:
                ax.set_ylabel(f"{c.name}\n({c.family})", fontsize=7)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.stem}.{os.getpid()}.tmp.png")
    fig.savefig(tmp, dpi=110)
    plt.close(fig)
    os.replace(tmp, path)
    return path


def main(argv: list[str] | None = None) -> None:
    from freqaug.data import load_segmentation

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, required=True, help="folder with val/ (CamVid layout)")
    parser.add_argument("--size", nargs=2, type=int, default=[96, 128], metavar=("H", "W"))
    parser.add_argument("--index", type=int, default=0, help="which val image the picture shows")
    parser.add_argument("--png", type=Path, default=Path("docs/corruptions.png"))
    args = parser.parse_args(argv)
    images, _ = load_segmentation(args.data / "val", tuple(args.size))
    suite_png(to_uint8(images[args.index:args.index + 1])[0], args.png)
    print(markdown_table())
    print(f"wrote {args.png}")


if __name__ == "__main__":
    main()
