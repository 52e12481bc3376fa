"""The main job on the embedded default: real (or drawn) driving scenes through freqaug.

1. Decompose a batch of scenes with a DWT, a DCT and a Fourier split, rebuild them, and write
   band grids, a spectrum plot and the reconstruction errors.
2. Train a FreqGAN briefly (band GANs, then baseline + alpha) and write its sample grids: a short,
   unconverged run that shows the pipeline end to end, not the quality of a full run.
3. Export that run's bundle, draw scenes from it, and augment a batch of training scenes with it in
   every mode (``augment_grid.png``).

The scenes come from ``--data DIR`` (a folder holding ``images/``), else from the folder named by the
environment variable ``FREQAUG_DEMO_DATA`` (e.g. ``camvid/256x192/train``), else they are drawn street
scenes embedded in the package: no default points outside it.
"""
from __future__ import annotations

import json
import os
import shutil
import time
from pathlib import Path

import torch
from freqaug._files import write_atomic
from freqaug._progress import progress_bar

from freqaug.bands import BandSpec, compose, decompose
from freqaug.data import load_images, synthetic_batch
from freqaug.metrics import band_energy, radial_power_spectrum
from freqaug.viz import save_band_grid, save_spectrum_plot

DEMO_SPECS = {
    "dwt": BandSpec(kind="dwt", wavelet="db4", levels=3, mode="periodization"),
    "dct": BandSpec(kind="dct", cutoff=0.25, shape="radial"),
    "fourier": BandSpec(kind="fourier", cutoff=0.25, shape="radial", transition=0.1),
}
DATA_ENV = "FREQAUG_DEMO_DATA"  # a folder with images/ the demo uses when --data is not given
TRAIN_SIZE = (96, 128)
AUGMENT_ROWS = 4  # scenes in the demo's augment_grid.png


def default_data_dir() -> Path | None:
    """The folder named by ``$FREQAUG_DEMO_DATA`` (one holding ``images/``), or None when it is unset or empty.

    A set variable that names no such folder is an error that names it, not a silent fallback.
    """
    value = os.environ.get(DATA_ENV, "").strip()
    if not value:
        return None
    folder = Path(value).expanduser()
    if not (folder / "images").is_dir():
        raise ValueError(f"${DATA_ENV}={value}: expected a folder with images/ (e.g. camvid/256x192/train); "
                         f"unset it to use drawn scenes")
    return folder


def resolve_data(data: Path | None) -> Path | None:
    """The demo's scenes: ``data`` (``--data``), else ``$FREQAUG_DEMO_DATA``, else None (drawn street scenes)."""
    return data if data is not None else default_data_dir()


def load_scenes(data: Path | None, n: int, seed: int) -> tuple[torch.Tensor, str]:
    """n scenes (N, 3, H, W) in [0, 1] from ``data`` or, without it, drawn street scenes."""
    if data is not None:
        return load_images(data, limit=n), f"{data} (first {n} images)"
    images, _ = synthetic_batch(n, size=(192, 256), seed=seed)
    return images, f"synthetic street scenes (seed {seed}; no --data or ${DATA_ENV})"


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


def run_demo(
    out: Path, *, data: Path | None = None, n: int = 8, seed: int = 0, train_steps: tuple[int, int] = (0, 0),
    train_config=None,
) -> dict:
    """Write band grids, spectra and reconstruction errors for ``n`` scenes to ``out``, then
    (if ``train_steps`` are given) a short FreqGAN training run to ``out/train``.

    The scenes come from :func:`resolve_data`: ``data``, else ``$FREQAUG_DEMO_DATA``, else drawn ones."""
    data = resolve_data(data)  # before anything is written: a bad $FREQAUG_DEMO_DATA leaves no empty folder
    out.mkdir(parents=True, exist_ok=True)
    images, source = load_scenes(data, n, seed)
    report: dict = {"source": source, "images": list(images.shape), "specs": {}}
    curves = {"image": radial_power_spectrum(images)}
    for name, spec in progress_bar(DEMO_SPECS.items(), desc="band transforms", unit="spec"):
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
    if any(train_steps):
        report["training"] = run_training_demo(out / "train", data, train_steps, seed, train_config)
    _write_json(out / "reconstruction.json", report)
    return report


def run_training_demo(run_dir: Path, data: Path | None, steps: tuple[int, int], seed: int, config=None) -> dict:
    """Train a FreqGAN for ``steps`` = (stage 1, stage 2) steps on ``data`` (or drawn scenes)."""
    from freqaug.train import TrainConfig
    from freqaug.train.run import RunConfig, save_samples, train_run

    if config is None:
        config = RunConfig(train=TrainConfig(batch_size=16, seed=seed))
    size = config.model.image_size
    config = RunConfig.from_dict(config.to_dict() | {
        "stage1_steps": steps[0], "stage2_steps": steps[1], "checkpoint_every": 0,
        "sample_every": max(1, sum(steps) // 3),
    })
    if data is not None and (data / "images").is_dir():
        import warnings

        with warnings.catch_warnings():  # the demo shrinks the scenes to its small model on purpose
            warnings.filterwarnings("ignore", message=".*resized .* image", category=UserWarning)
            images, source = load_images(data, size=size), str(data)
    else:
        images, _ = synthetic_batch(256, size=size, seed=seed)
        source = f"256 synthetic street scenes (seed {seed})"
    if run_dir.exists():  # the demo's own output from an earlier run
        shutil.rmtree(run_dir)
    start = time.perf_counter()
    trainer = train_run(run_dir, images * 2 - 1, config, progress=True, on_sample=save_samples)
    seconds = round(time.perf_counter() - start, 1)
    bundle_path, grid = export_and_sample(run_dir, data if source == str(data) else None, seed)
    augment_grid = save_mode_grid(bundle_path, images[:AUGMENT_ROWS], run_dir / "augment_grid.png", seed)
    last = {}
    for line in (run_dir / "log.jsonl").read_text().splitlines():
        record = json.loads(line)
        last[record["stage"]] = record
    return {
        "source": source, "steps": trainer.step, "seconds": seconds, "bundle": str(bundle_path),
        "bundle_samples": str(grid), "augment_grid": str(augment_grid),
        "alpha": trainer.model.blend.alpha.tolist(), "last_losses": last,
        "samples": str(run_dir / "samples" / "latest.png"),
    }


def export_and_sample(run_dir: Path, data: Path | None, seed: int, n: int = 16) -> tuple[Path, Path]:
    """Export the run's EMA generator as a bundle, load it back and draw a grid of ``n`` scenes."""
    from freqaug.bundle import load_bundle
    from freqaug.train.export import BUNDLE_NAME, export_run
    from freqaug.viz import save_image_grid

    path = export_run(run_dir, run_dir / BUNDLE_NAME, data=data)
    bundle = load_bundle(path)
    grid = save_image_grid(bundle.generate(n, seed=seed), run_dir / "bundle_samples.png",
                           title=f"{n} scenes from {path.name} (seed {seed})")
    return path, grid


def save_mode_grid(bundle_path: Path, scenes: torch.Tensor, path: Path, seed: int) -> Path:
    """A batch of ``scenes`` (N, 3, H, W) in [0, 1] augmented by the bundle in every mode (p = 1), as a PNG grid.

    Columns: the original, then every mode of ``MODES`` (``replace``'s samples are flagged
    unlabelled), each from :class:`~freqaug.augment.FreqAugBatch` with the same seed.
    """
    from freqaug.augment import MODES, FreqAugBatch
    from freqaug.viz import save_augment_grid

    columns = {"original": scenes}
    for mode in MODES:
        title = "replace (flagged unlabelled)" if mode == "replace" else mode
        columns[title] = FreqAugBatch(bundle_path, mode=mode, p=1.0, seed=seed)(scenes)
    return save_augment_grid(columns, path, title=f"an augmented batch: FreqAugBatch(p=1) with {bundle_path.name}")


def _write_json(path: Path, data: dict) -> None:
    """Atomic JSON write (temp file + rename)."""
    write_atomic(path, (json.dumps(data, indent=2) + "\n").encode())
