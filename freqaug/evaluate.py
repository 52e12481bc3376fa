"""``freqaug eval``: how close a bundle's images are to a folder of real ones, and at which frequencies.

Generates N images from a bundle, compares them with the real images of a folder and writes
``eval.json``, ``eval.md`` and three PNGs (samples, per-channel spectra, per-band energy). Metrics
whose input is absent (a segnet file, the Inception weights) are reported as skipped with the
reason and what to pass; a file that was given but cannot be used is an error naming it.
``train_segnet_on_folder`` makes the segnet file from a labelled folder (``freqaug train-segnet``).

Layer: beside :mod:`freqaug.demo`, above ``bundle/`` and ``metrics/`` (which never import this).
"""
from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any, Callable, Mapping, NamedTuple

import numpy as np
import torch
from torch import Tensor
from tqdm.auto import tqdm

from freqaug._files import sha256_file, write_atomic
from freqaug.bands import BandSpec, decompose
from freqaug.data import CAMVID, IMAGE_EXTENSIONS, DataError, SegmentationFolder, load_images, read_image
from freqaug.metrics import (
    band_energy,
    evaluate_segmentation,
    feature_stats,
    frechet_distance,
    kid,
    load_segnet,
    precision_recall,
    radial_power_spectrum,
    save_segnet,
    segnet_features,
    spectrum_distance,
    swd,
    train_segnet,
)

__all__ = ["EVAL_FILES", "FORMAT", "Evaluation", "band_groups", "default_out_dir", "evaluate_bundle",
           "load_real_images", "markdown_report", "score_bundle", "swd_levels", "train_segnet_on_folder",
           "write_outputs"]

FORMAT = "freqaug-eval"
VERSION = 1
EVAL_FILES = ("eval.json", "eval.md", "samples.png", "spectra.png", "band_energy.png")
SEGNET_NOTE = ("domain-specific: features of the segnet file named here, trained on the user's data; "
               "comparable only with numbers from the same file, never with published FID")
_MIN_IMAGES = 2  # feature statistics need two vectors
_PATCH = 7  # SWD neighbourhood size (ProGAN)
_MAX_SWD_LEVELS = 4
_PR_K = 3
_KID_SUBSETS = 100
_SAMPLE_COUNT = 8


# ---- inputs --------------------------------------------------------------------------------------

def default_out_dir(bundle: str | os.PathLike[str]) -> Path:
    """``<bundle folder>/<bundle stem>_eval``: where eval writes when --out is not given."""
    bundle = Path(bundle)
    return bundle.with_name(f"{bundle.stem}_eval")


def load_real_images(data: str | os.PathLike[str]) -> Tensor:
    """The images of ``data`` as (N, 3, H, W) float32 in [0, 1] at their file size: ``data/images/``
    (CamVid layout) if it exists, else the image files directly in ``data``."""
    data = Path(data)
    if not data.is_dir():
        what = "is not a directory" if data.exists() else "does not exist"
        raise DataError(f"{data}: data folder {what}; expected a folder of images or one holding images/ (and labels/)")
    if (data / "images").is_dir():
        return load_images(data)
    files = sorted(p for p in data.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_EXTENSIONS)
    if not files:
        raise DataError(f"{data}: no image files and no images/ folder; expected {data}/*.png or {data}/images/*.png")
    images = [read_image(p) for p in tqdm(files, desc=f"loading {data.name}", unit="img", disable=len(files) < 50)]
    for path, img in zip(files, images):
        if img.shape != images[0].shape:
            raise DataError(f"{path}: image is {img.shape[1]}x{img.shape[0]} (WxH) but {files[0].name} is "
                            f"{images[0].shape[1]}x{images[0].shape[0]}; expected one size")
    return torch.from_numpy(np.stack(images)).permute(0, 3, 1, 2).float().div_(255.0).contiguous()


def _check_real(real: Tensor, data: Path, bundle_path: Path, size: tuple[int, int]) -> None:
    """Raise unless the real set has enough images of the bundle's size."""
    if real.shape[0] < _MIN_IMAGES:
        raise DataError(f"{data}: {real.shape[0]} image(s); eval needs at least {_MIN_IMAGES}")
    h, w = real.shape[-2:]
    if (h, w) != tuple(size):
        raise DataError(f"{data}: images are {w}x{h} (WxH) but {bundle_path} generates {size[1]}x{size[0]}; "
                        f"pass a folder at the bundle's size (e.g. camvid/{size[1]}x{size[0]}/val)")


def swd_levels(height: int, width: int) -> int:
    """Pyramid levels for SWD: up to 4, each level at least as large as the 7x7 patch."""
    levels, side = 1, min(height, width)
    while levels < _MAX_SWD_LEVELS and math.ceil(side / 2) >= _PATCH:
        side, levels = math.ceil(side / 2), levels + 1
    return levels


def _generate(bundle, n: int, seed: int, batch_size: int) -> Tensor:
    """Images 0..n-1 of ``seed`` on the CPU, one tqdm step per batch (same images whatever ``batch_size``)."""
    chunks = [bundle.generate(min(batch_size, n - first), seed=seed, start=first, batch_size=batch_size).cpu()
              for first in tqdm(range(0, n, batch_size), desc="generate", unit="batch")]
    return torch.cat(chunks)


# ---- metrics ---------------------------------------------------------------------------------------

def _skipped(reason: str, how: str) -> dict[str, str]:
    """A metric that was not computed: why, and what to pass to get it."""
    return {"status": "skipped", "reason": reason, "how": how}


def _swd_entry(real: Tensor, fake: Tensor, seed: int) -> dict[str, Any]:
    """SWD x1e3 per pyramid level and mean on the first min(N_real, N_fake) images of each set."""
    m = min(len(real), len(fake))
    levels = swd_levels(*real.shape[-2:])
    scores = swd(real[:m], fake[:m], levels=levels, seed=seed)
    return {"status": "ok", **scores, "pyramid_levels": levels, "images": m}


def _spectrum_entry(real: Tensor, fake: Tensor) -> dict[str, Any]:
    """Spectrum distance per channel and the radially averaged log10 power of both sets."""
    bins = max(1, min(64, min(real.shape[-2:]) // 2))  # rings no finer than the frequency grid: none empty
    freqs, p_real = radial_power_spectrum(real.double(), bins=bins)
    _, p_fake = radial_power_spectrum(fake.double(), bins=bins)
    log = {name: p.clamp_min(1e-20).log10().tolist() for name, p in (("real", p_real), ("generated", p_fake))}
    return {"status": "ok", "distance": spectrum_distance(real.double(), fake.double(), bins=bins),
            "freqs": freqs.tolist(), "log10_power": log}


def band_groups(spec: BandSpec) -> dict[str, list[str]]:
    """Bands grouped per DWT level (``LL{K}`` alone, then ``level q`` = LH, HL, HH of q); else each band."""
    if spec.kind != "dwt":
        return {name: [name] for name in spec.band_names}
    groups = {f"LL{spec.levels}": [f"LL{spec.levels}"]}
    groups.update({f"level{q}": [f"{d}{q}" for d in ("LH", "HL", "HH")] for q in range(spec.levels, 0, -1)})
    return groups


def _band_entry(real: Tensor, fake: Tensor, spec: BandSpec) -> dict[str, Any]:
    """Share of the energy per band and per level, real vs generated, in the model's [-1, 1] space."""
    shares = {name: band_energy(decompose(x.double() * 2 - 1, spec))
              for name, x in (("real", real), ("generated", fake))}
    groups = band_groups(spec)
    per_level = {name: {g: sum(s[b] for b in bands) for g, bands in groups.items()} for name, s in shares.items()}
    return {"status": "ok", "spec": spec.describe(), "bands": shares, "levels": per_level}


def _segnet_features(model, images: Tensor, desc: str, batch_size: int) -> Tensor:
    """:func:`segnet_features` of ``images``, one tqdm step per batch."""
    chunks = tqdm(images.split(batch_size), desc=desc, unit="batch")
    return torch.cat([segnet_features(model, chunk, batch_size=batch_size) for chunk in chunks])


def _feature_scores(real: Tensor, fake: Tensor) -> dict[str, float]:
    """Fréchet distance and k-NN precision/recall of two feature sets."""
    k = min(_PR_K, len(real) - 1, len(fake) - 1)
    pr = precision_recall(real, fake, k=k)
    fd = frechet_distance(*feature_stats(real), *feature_stats(fake))
    return {"frechet_distance": fd, "precision": pr.precision, "recall": pr.recall, "k": k}


def _load_segnet(path: Path | None, device: str):
    """The segnet of ``path`` (None if not given); SegNetFileError naming the file if missing or broken."""
    if path is None:
        return None
    model = load_segnet(path, device=device)
    if model.config.in_channels != 3:
        raise ValueError(f"{path}: the segnet reads {model.config.in_channels} channel(s); expected 3 (RGB)")
    return model


def _segnet_entry(real: Tensor, fake: Tensor, model, path: Path | None, batch_size: int) -> dict[str, Any]:
    """Domain Fréchet distance and precision/recall in a segnet's bottleneck features, or skipped."""
    if model is None:
        return _skipped("no segnet file given",
                        "pass --segnet FILE (make one with: freqaug train-segnet --data TRAIN_DIR --out FILE)")
    feats = [_segnet_features(model, images, f"segnet {name}", batch_size)
             for name, images in (("real", real), ("generated", fake))]
    return {"status": "ok", **_feature_scores(*feats), "segnet": str(path), "segnet_sha256": sha256_file(path),
            "feature_dim": int(feats[0].shape[1]), "note": SEGNET_NOTE}


def _load_inception(path: Path | None, device: str):
    """(network, weights file) from ``path`` or $FREQAUG_INCEPTION_WEIGHTS, or (None, skipped entry)
    when neither is given; a file that was given but is missing or wrong raises, naming it."""
    from freqaug.metrics import inception

    explicit = path is not None or bool(os.environ.get(inception.ENV_VAR))
    try:
        file = inception.resolve_weights_path(path)
    except inception.InceptionWeightsNotFoundError as err:
        if explicit:
            raise
        how = f"pass --inception /path/to/{inception.WEIGHTS_FILE} or set {inception.ENV_VAR}"
        return None, _skipped(str(err), how)
    return inception.load_fid_inception(file, device=device), file


def _inception_entry(real: Tensor, fake: Tensor, net, file: Path, device: str, batch_size: int,
                     seed: int) -> dict[str, Any]:
    """FID, KID and precision/recall in the Inception pool features."""
    from freqaug.metrics import inception

    feats = [inception.inception_features(x, net, batch_size=batch_size, device=device) for x in (real, fake)]
    scores = _feature_scores(*feats)
    kid_score = kid(*feats, subsets=_KID_SUBSETS, subset_size=1000, seed=seed)
    return {"status": "ok", "fid": scores["frechet_distance"], "kid_mean": kid_score.mean, "kid_std": kid_score.std,
            "precision": scores["precision"], "recall": scores["recall"], "k": scores["k"],
            "weights": str(file), "images": [len(real), len(fake)],
            "note": "comparable to published FID only with the standard weights file, the same N and image size"}


# ---- the command -------------------------------------------------------------------------------------

class Evaluation(NamedTuple):
    """What :func:`score_bundle` measured: the JSON report and the two image sets it compared."""

    report: dict[str, Any]
    real: Tensor
    generated: Tensor


def score_bundle(
    bundle_path: str | os.PathLike[str], data: str | os.PathLike[str], *, n: int | None = None, seed: int = 0,
    segnet: str | os.PathLike[str] | None = None, inception: str | os.PathLike[str] | None = None,
    device: str = "cpu", batch_size: int = 64,
) -> Evaluation:
    """Generate ``n`` images (default: as many as the real ones) and score them against the images of
    ``data``; writes nothing (see :func:`evaluate_bundle`)."""
    from freqaug.bundle import load_bundle

    bundle_path, data = Path(bundle_path), Path(data)
    if n is not None and (isinstance(n, bool) or not isinstance(n, int) or n < _MIN_IMAGES):
        raise ValueError(f"n: expected an integer >= {_MIN_IMAGES}, got {n!r}")
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise ValueError(f"device {device}: no CUDA device is available here; use cpu")
    # Files named by the user are read before the minutes of generation.
    seg_path = None if segnet is None else Path(segnet)
    seg_model = _load_segnet(seg_path, device)
    net, inception_found = _load_inception(None if inception is None else Path(inception), device)
    bundle = load_bundle(bundle_path, device=device)
    real = load_real_images(data)
    _check_real(real, data, bundle_path, bundle.image_size)
    n = len(real) if n is None else n
    fake = _generate(bundle, n, seed, batch_size)
    metrics = {
        "swd": _swd_entry(real, fake, seed),
        "spectrum": _spectrum_entry(real, fake),
        "band_energy": _band_entry(real, fake, bundle.spec),
        "segnet": _segnet_entry(real, fake, seg_model, seg_path, batch_size),
        "inception": (inception_found if net is None  # the skipped entry
                      else _inception_entry(real, fake, net, inception_found, device, batch_size, seed)),
    }
    report = {
        "format": FORMAT, "version": VERSION,
        "bundle": {"path": str(bundle_path), "weights_sha256": bundle.manifest.get("weights_sha256"),
                   "image_size": list(bundle.image_size), "spec": bundle.spec.describe()},
        "data": {"path": str(data), "images": len(real)},
        "generated": {"images": n, "seed": seed},
        "metrics": metrics,
    }
    return Evaluation(report, real, fake)


def evaluate_bundle(
    bundle_path: str | os.PathLike[str], data: str | os.PathLike[str], out: str | os.PathLike[str] | None = None,
    **options: Any,
) -> dict[str, Any]:
    """:func:`score_bundle` (same keyword options), then :data:`EVAL_FILES` written into ``out``
    (default :func:`default_out_dir`); returns the JSON report."""
    result = score_bundle(bundle_path, data, **options)
    write_outputs(result, default_out_dir(bundle_path) if out is None else Path(out))
    return result.report


def write_outputs(result: Evaluation, out: Path) -> list[Path]:
    """eval.json, eval.md and the three PNGs in ``out``, each written atomically."""
    from freqaug.viz import save_band_energy_plot, save_channel_spectra, save_image_rows

    report, real, fake = result
    out.mkdir(parents=True, exist_ok=True)
    metrics = report["metrics"]
    spectrum = metrics["spectrum"]
    k = min(_SAMPLE_COUNT, len(real), len(fake))
    spread = torch.linspace(0, len(real) - 1, k).round().long()
    return [
        write_atomic(out / "eval.json", (json.dumps(report, indent=2) + "\n").encode()),
        write_atomic(out / "eval.md", markdown_report(report).encode()),
        save_image_rows({"real": real[spread], "generated": fake[:k]}, out / "samples.png",
                        title=f"{Path(report['bundle']['path']).name}: {k} real images spread over the folder "
                              f"(video frames in a row look alike), the first {k} generated"),
        save_channel_spectra(spectrum["freqs"], spectrum["log10_power"], out / "spectra.png"),
        save_band_energy_plot(metrics["band_energy"]["bands"], out / "band_energy.png",
                              title=f"share of energy per band ({metrics['band_energy']['spec']})"),
    ]


# ---- Markdown ------------------------------------------------------------------------------------------

def _fmt(value: float) -> str:
    """A number for a table: 4 significant digits."""
    return f"{value:.4g}"


def _table(header: tuple[str, ...], rows: list[tuple[str, ...]]) -> list[str]:
    """Markdown table lines."""
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return lines + ["| " + " | ".join(row) + " |" for row in rows]


def _section(title: str, body: list[str]) -> list[str]:
    """A Markdown section: heading, body, blank line."""
    return [f"## {title}", "", *body, ""]


def _swd_lines(s: Mapping[str, Any]) -> list[str]:
    levels = [k for k in s if k.startswith("level")]
    return _section("SWD (x1e3, Laplacian pyramid; level0 finest; lower is better)", [
        *_table(("", *levels, "mean"), [("SWD", *(_fmt(s[k]) for k in levels), _fmt(s["mean"]))]), "",
        f"On the first {s['images']} images of each set, {s['pyramid_levels']} levels."])


def _spectrum_lines(d: Mapping[str, float]) -> list[str]:
    channels = [k for k in d if k.startswith("channel")]
    names = ["RGB"[i] if len(channels) == 3 else f"channel {i}" for i in range(len(channels))]
    row = ("distance", *(_fmt(d[c]) for c in channels), _fmt(d["low"]), _fmt(d["high"]), _fmt(d["mean"]))
    return _section("Spectrum distance (mean |log10 P_real - log10 P_gen| over radial bins; lower is better)", [
        *_table(("", *names, "low (< 0.25 Nyquist)", "high", "mean"), [row]), "", "Per-channel spectra: spectra.png."])


def _band_lines(e: Mapping[str, Any]) -> list[str]:
    real, gen = e["bands"]["real"], e["bands"]["generated"]
    bands = [(name, _fmt(r), _fmt(gen[name]), _fmt(gen[name] / r) if r else "-") for name, r in real.items()]
    levels = [(name, _fmt(r), _fmt(e["levels"]["generated"][name])) for name, r in e["levels"]["real"].items()]
    return _section(f"Energy per band ({e['spec']}; share of the total, images in [-1, 1])", [
        *_table(("band", "real", "generated", "generated / real"), bands), "",
        *_table(("level", "real", "generated"), levels), "", "Bars: band_energy.png."])


def _feature_lines(entry: Mapping[str, Any], title: str, rows: Callable[[], list[tuple[str, str]]]) -> list[str]:
    """A section for a feature-space metric: its table, or why it was skipped and what to pass."""
    if entry["status"] != "ok":
        return _section(title, [f"**Skipped**: {entry['reason']}", "", f"To compute it: {entry['how']}."])
    return _section(title, [*_table(("metric", "value"), rows()), "", entry["note"] + "."])


def markdown_report(report: Mapping[str, Any]) -> str:
    """eval.md: the numbers of the JSON report as tables a person reads."""
    m, b, g = report["metrics"], report["bundle"], report["generated"]
    seg, inc = m["segnet"], m["inception"]
    lines = [f"# freqaug eval: {Path(b['path']).name}", "",
             f"{g['images']} generated images (seed {g['seed']}) vs {report['data']['images']} real images from "
             f"`{report['data']['path']}`, {b['image_size'][1]}x{b['image_size'][0]} (WxH), bands {b['spec']}.", "",
             *_swd_lines(m["swd"]), *_spectrum_lines(m["spectrum"]["distance"]), *_band_lines(m["band_energy"])]
    lines += _feature_lines(seg, "Domain Fréchet distance and precision/recall (segnet features)", lambda: [
        ("Fréchet distance", _fmt(seg["frechet_distance"])), ("precision", _fmt(seg["precision"])),
        ("recall", _fmt(seg["recall"])), ("k (neighbours)", str(seg["k"])),
        ("segnet", f"`{seg['segnet']}` (sha256 {seg['segnet_sha256'][:12]})")])
    lines += _feature_lines(inc, "FID and KID (Inception-v3)", lambda: [
        ("FID", _fmt(inc["fid"])), ("KID", f"{_fmt(inc['kid_mean'])} ± {_fmt(inc['kid_std'])}"),
        ("precision", _fmt(inc["precision"])), ("recall", _fmt(inc["recall"])), ("weights", f"`{inc['weights']}`")])
    return "\n".join([*lines, "Samples (real, spread over the folder, above generated): samples.png.", ""])


# ---- the segnet file ---------------------------------------------------------------------------------

def train_segnet_on_folder(
    data: str | os.PathLike[str], out: str | os.PathLike[str], *, steps: int = 300, seed: int = 0,
    batch_size: int = 16, device: str = "cpu",
) -> dict[str, Any]:
    """Train a :class:`~freqaug.metrics.SegNet` on a labelled CamVid-layout folder (11 classes, id 11
    ignored), save it to ``out`` and return its scores on that training folder."""
    folder = SegmentationFolder(data, labels=True, num_classes=CAMVID.num_classes, ignore_index=CAMVID.ignore_index)
    items = [folder[i] for i in tqdm(range(len(folder)), desc=f"loading {folder.root.name}", unit="img")]
    images = torch.stack([item["image"] for item in items])
    labels = torch.stack([item["label"] for item in items])
    model = train_segnet(images, labels, num_classes=CAMVID.num_classes, ignore_index=CAMVID.ignore_index,
                         steps=steps, batch_size=batch_size, seed=seed, device=device)
    path = save_segnet(model, out)
    scores = evaluate_segmentation(model, images, labels, num_classes=CAMVID.num_classes,
                                   ignore_index=CAMVID.ignore_index)
    return {"path": str(path), "images": len(images), "steps": steps, "seed": seed,
            "train_miou": scores["miou"], "train_pixel_accuracy": scores["pixel_accuracy"]}
