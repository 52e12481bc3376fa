"""The main job on the embedded default: split real (or drawn) driving scenes into frequency bands.

For now (the foundation step) it decomposes a batch of scenes with a DWT, a DCT and a Fourier
split, rebuilds them, and writes band grids, a spectrum plot and the reconstruction errors.
"""
from __future__ import annotations

import json
import os
import time
from pathlib import Path

import torch
from tqdm import tqdm

from freqaug.bands import BandSpec, compose, decompose
from freqaug.data import load_images, synthetic_batch
from freqaug.metrics import band_energy, radial_power_spectrum
from freqaug.viz import save_band_grid, save_spectrum_plot

DEMO_SPECS = {
    "dwt": BandSpec(kind="dwt", wavelet="db4", levels=3, mode="periodization"),
    "dct": BandSpec(kind="dct", cutoff=0.25, shape="radial"),
    "fourier": BandSpec(kind="fourier", cutoff=0.25, shape="radial", transition=0.1),
}
CAMVID_SUBDIR = Path("256x192") / "train"


def default_data_dir() -> Path | None:
    """CamVid's 256x192 train split in ../shared/data/camvid (beside the checkout), if present."""
    here = Path(__file__).resolve().parents[1]
    for base in (Path.cwd().parent, here.parent):
        candidate = base / "shared" / "data" / "camvid" / CAMVID_SUBDIR
        if (candidate / "images").is_dir():
            return candidate
    return None


def load_scenes(data: Path | None, n: int, seed: int) -> tuple[torch.Tensor, str]:
    """n scenes (N, 3, H, W) in [0, 1] from ``data`` or, without it, drawn street scenes."""
    if data is not None:
        return load_images(data, limit=n), f"{data} (first {n} images)"
    images, _ = synthetic_batch(n, size=(192, 256), seed=seed)
    return images, f"synthetic street scenes (seed {seed}; no data folder found)"


def _errors(x: torch.Tensor, spec: BandSpec) -> dict[str, float]:
    """Max reconstruction error relative to the input range, in float32 and float64."""
    out = {}
    for dtype in (torch.float32, torch.float64):
        xd = x.to(dtype)
        rec = compose(decompose(xd, spec), spec, size=tuple(x.shape[-2:]))
        rng = float(x.max() - x.min()) or 1.0
        out[str(dtype).replace("torch.", "")] = float((rec.double() - x.double()).abs().max()) / rng
    return out


def _timed_round_trip(x: torch.Tensor, spec: BandSpec, repeats: int = 3) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        compose(decompose(x, spec), spec, size=tuple(x.shape[-2:]))
        times.append(time.perf_counter() - start)
    return sorted(times)[len(times) // 2]


def run_demo(out: Path, *, data: Path | None = None, n: int = 8, seed: int = 0) -> dict:
    """Write band grids, spectra and reconstruction errors for ``n`` scenes to ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    data = data if data is not None else default_data_dir()
    images, source = load_scenes(data, n, seed)
    report: dict = {"source": source, "images": list(images.shape), "specs": {}}
    curves = {"image": radial_power_spectrum(images)}
    for name, spec in tqdm(DEMO_SPECS.items(), desc="band transforms", unit="spec"):
        bands = decompose(images, spec)
        rec = compose(bands, spec, size=tuple(images.shape[-2:]))
        save_band_grid(images[0], {k: v[0] for k, v in bands.items()}, spec, out / f"bands_{name}.png",
                       reconstruction=rec[0], title=spec.describe())
        if spec.kind != "dwt":
            curves[f"{name} low"] = radial_power_spectrum(bands["low"])
            curves[f"{name} high"] = radial_power_spectrum(bands["high"])
        report["specs"][name] = {
            "spec": spec.to_dict(),
            "band_shapes": {k: list(v.shape[-2:]) for k, v in bands.items()},
            "energy_fraction": band_energy(bands),
            "max_rel_error": _errors(images, spec),
            "round_trip_ms_float32": 1e3 * _timed_round_trip(images, spec),
        }
    save_spectrum_plot(curves, out / "spectrum.png", cutoff=DEMO_SPECS["dct"].cutoff,
                       title=f"power spectra of {images.shape[0]} scenes and their low/high bands")
    _write_json(out / "reconstruction.json", report)
    return report


def _write_json(path: Path, data: dict) -> None:
    """Atomic JSON write (temp file + rename)."""
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(data, indent=2) + "\n")
    os.replace(tmp, path)
