"""``freqaug eval``: how close a bundle's images are to a folder of real ones, and at which frequencies.

Generates N images from a bundle, compares them with the real images of a folder and writes
``eval.json``, ``eval.md`` and three PNGs (samples, per-channel spectra, per-band energy). A
layout-conditional bundle generates from the folder's label maps (so every metric compares like
with like) and is also scored for layout fidelity (SPADE/OASIS protocol: a segnet's mIoU between
its prediction on the generated images and the input layouts, next to the real images' ceiling and
an unconditional bundle's floor; ``layouts.png``). A reference folder (typically the bundle's
training images) is scored against the data with the same metrics: what a generator that copied its
training distribution exactly would get, which shows how much of a score is the shift between the
two folders rather than the generator. Metrics
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
from typing import Any, Callable, Mapping, NamedTuple, Sequence, cast

import numpy as np
import torch
from torch import Tensor
from freqaug._progress import progress_bar

from freqaug._files import sha256_file, write_atomic
from freqaug.bands import BandSpec, decompose
from freqaug.data import (
    CAMVID, IMAGE_EXTENSIONS, ClassSet, DataError, SegmentationFolder, colorize_images, load_images, load_segmentation,
    random_subset, read_image,
)
from freqaug.metrics import (
    band_energy,
    band_kurtosis,
    evaluate_segmentation,
    feature_stats,
    frechet_distance,
    kid,
    confusion_matrix,
    load_segnet,
    precision_recall,
    predict_labels,
    radial_power_spectrum,
    save_segnet,
    scores_from_confusion,
    segnet_features,
    spectrum_distance,
    swd,
    train_segnet,
)

__all__ = ["EVAL_FILES", "FORMAT", "LAYOUT_FILE", "Evaluation", "band_groups", "default_out_dir", "evaluate_bundle",
           "layout_scores", "load_real_images", "markdown_report", "output_files", "score_bundle", "swd_levels",
           "train_segnet_on_folder", "write_outputs"]

FORMAT = "freqaug-eval"
VERSION = 1
EVAL_FILES = ("eval.json", "eval.md", "samples.png", "spectra.png", "band_energy.png")
LAYOUT_FILE = "layouts.png"  # written too when the layout-fidelity section was computed
SEGNET_HOW = "pass --segnet FILE (make one with: freqaug train-segnet --data TRAIN_DIR --out FILE)"
LAYOUT_NOTE = ("SPADE/OASIS protocol: the segnet segments each image and its prediction is compared with the layout "
               "the image was generated from (ignore id left out; mIoU over the classes present in the layouts); "
               "real = the data's own images against their labels (the ceiling), floor = an unconditional bundle's "
               "images against the same layouts; comparable only with numbers from the same segnet file")
REFERENCE_HOW = ("pass --reference DIR (the bundle's training images): they are scored against the data like the "
                 "generated ones, which shows how much of each score is the shift between the two folders")
REFERENCE_NOTE = ("a random subset of the reference folder (the seed's), as many images as were generated, scored "
                  "against the data exactly like the generated images: a generator that reproduced the reference "
                  "distribution would score about this")
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


def _check_dir(data: Path) -> Path:
    """``data`` if it is a directory, else DataError naming it."""
    if not data.is_dir():
        what = "is not a directory" if data.exists() else "does not exist"
        raise DataError(f"{data}: data folder {what}; expected a folder of images or one holding images/ (and labels/)")
    return data


def load_real_images(data: str | os.PathLike[str]) -> Tensor:
    """The images of ``data`` as (N, 3, H, W) float32 in [0, 1] at their file size: ``data/images/``
    (CamVid layout) if it exists, else the image files directly in ``data``."""
    data = _check_dir(Path(data))
    if (data / "images").is_dir():
        return load_images(data)
    files = sorted(p for p in data.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_EXTENSIONS)
    if not files:
        raise DataError(f"{data}: no image files and no images/ folder; expected {data}/*.png or {data}/images/*.png")
    images = [read_image(p) for p in progress_bar(files, desc=f"loading {data.name}", unit="img", disable=len(files) < 50)]
    for path, img in zip(files, images):
        if img.shape != images[0].shape:
            raise DataError(f"{path}: image is {img.shape[1]}x{img.shape[0]} (WxH) but {files[0].name} is "
                            f"{images[0].shape[1]}x{images[0].shape[0]}; expected one size")
    return torch.from_numpy(np.stack(images)).permute(0, 3, 1, 2).float().div_(255.0).contiguous()


def _load_data(data: Path, classes: ClassSet | None) -> tuple[Tensor, Tensor | None]:
    """The real images of ``data`` and, for a layout-conditional bundle (``classes`` not None), its
    label maps (N, H, W): the layouts to generate from."""
    if classes is None:
        return load_real_images(data), None
    if not (_check_dir(data) / "labels").is_dir():
        raise DataError(f"{data}: no labels/ folder, but a layout-conditional bundle needs layouts; expected a "
                        f"CamVid-layout folder ({data}/images/ and {data}/labels/ with the same names) of class ids "
                        f"0..{classes.num_classes - 1} (ignore id {classes.ignore_index})")
    return load_segmentation(data, num_classes=classes.num_classes, ignore_index=classes.ignore_index)


def _check_real(real: Tensor, data: Path, bundle_path: Path, size: tuple[int, int]) -> None:
    """Raise unless the real set has enough images of the bundle's size."""
    if real.shape[0] < _MIN_IMAGES:
        raise DataError(f"{data}: {real.shape[0]} image(s); eval needs at least {_MIN_IMAGES}")
    h, w = real.shape[-2:]
    if (h, w) != tuple(size):
        raise DataError(f"{data}: images are {w}x{h} (WxH) but {bundle_path} generates {size[1]}x{size[0]}; "
                        f"pass a folder at the bundle's size (e.g. camvid/{size[1]}x{size[0]}/val)")


def _load_reference(path: Path | None, bundle_path: Path, size: tuple[int, int], n: int, seed: int) -> Tensor | None:
    """A random subset (``seed``'s) of ``n`` images of the reference folder (all of them if it holds
    fewer), or None when no folder is given; a folder that cannot serve is a DataError naming it."""
    if path is None:
        return None
    images = load_real_images(path)
    _check_real(images, path, bundle_path, size)
    return random_subset(images, n, seed)


def swd_levels(height: int, width: int) -> int:
    """Pyramid levels for SWD: up to 4, each level at least as large as the 7x7 patch."""
    levels, side = 1, min(height, width)
    while levels < _MAX_SWD_LEVELS and math.ceil(side / 2) >= _PATCH:
        side, levels = math.ceil(side / 2), levels + 1
    return levels


def _generate(bundle, n: int, seed: int, batch_size: int, layouts: Tensor | None = None) -> Tensor:
    """Images 0..n-1 of ``seed`` on the CPU (image i from ``layouts[i]`` for a conditional bundle), one
    tqdm step per batch (same images whatever ``batch_size``)."""
    chunks = [bundle.generate(min(batch_size, n - first) if layouts is None else layouts[first: first + batch_size],
                              seed=seed, start=first, batch_size=batch_size).cpu()
              for first in progress_bar(range(0, n, batch_size), desc="generate", unit="batch")]
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
    """Share of the energy and kurtosis per band, and energy per level, real vs generated, in the
    model's [-1, 1] space."""
    bands = {name: decompose(x.double() * 2 - 1, spec) for name, x in (("real", real), ("generated", fake))}
    shares = {name: band_energy(b) for name, b in bands.items()}
    kurtosis = {name: band_kurtosis(b) for name, b in bands.items()}
    groups = band_groups(spec)
    per_level = {name: {g: sum(s[b] for b in bands) for g, bands in groups.items()} for name, s in shares.items()}
    return {"status": "ok", "spec": spec.describe(), "bands": shares, "levels": per_level, "kurtosis": kurtosis}


def _segnet_features(model, images: Tensor, desc: str, batch_size: int) -> Tensor:
    """:func:`segnet_features` of ``images``, one tqdm step per batch."""
    chunks = progress_bar(images.split(batch_size), desc=desc, unit="batch")
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
        return _skipped("no segnet file given", SEGNET_HOW)
    assert path is not None  # the model was loaded from it (_load_segnet)
    feats = [_segnet_features(model, images, f"segnet {name}", batch_size)
             for name, images in (("real", real), ("generated", fake))]
    return {"status": "ok", **_feature_scores(*feats), "segnet": str(path), "segnet_sha256": sha256_file(path),
            "feature_dim": int(feats[0].shape[1]), "note": SEGNET_NOTE}


def layout_scores(model, images: Tensor, layouts: Tensor, classes: ClassSet, *,
                  batch_size: int = 64) -> tuple[dict[str, Any], Tensor]:
    """(mIoU, pixel accuracy and per-class IoU of the segnet's prediction on ``images`` against
    ``layouts`` (ignore id left out), the predictions (N, H, W)): one image set's layout fidelity."""
    pred = predict_labels(model, images, batch_size=batch_size)
    scores = scores_from_confusion(confusion_matrix(pred, layouts.cpu(), classes.num_classes, classes.ignore_index))
    return {k: scores[k] for k in ("miou", "pixel_accuracy", "iou")}, pred


def _load_floor(path: Path | None, bundle, bundle_path: Path, segnet: Path | None, device: str):
    """The unconditional bundle of ``--floor`` (None if not given), checked against the evaluated one."""
    if path is None:
        return None
    from freqaug.bundle import load_bundle

    if bundle.classes is None or segnet is None:
        what = f"{bundle_path} is unconditional" if bundle.classes is None else "no --segnet was given"
        raise ValueError(f"floor {path}: the floor is a part of layout fidelity, which needs a layout-conditional "
                         f"bundle and a segnet, but {what}")
    floor = load_bundle(path, device=device)
    if floor.classes is not None:
        raise ValueError(f"floor {path}: a layout-conditional bundle; expected an unconditional one (its images "
                         "ignore the layouts, which makes them the floor)")
    if floor.image_size != bundle.image_size:
        (h, w), (fh, fw) = bundle.image_size, floor.image_size
        raise ValueError(f"floor {path}: generates {fw}x{fh} (WxH) but {bundle_path} generates {w}x{h}")
    return floor


def _check_segnet_classes(model, path: Path | None, classes: ClassSet | None) -> None:
    """Raise, naming the segnet file, unless it predicts the conditional bundle's classes."""
    if model is not None and classes is not None and model.config.num_classes != classes.num_classes:
        raise ValueError(f"{path}: the segnet predicts {model.config.num_classes} classes but the bundle is "
                         f"conditional on {classes.num_classes} ({', '.join(classes.names)})")


def _check_independent(path: Path | None, manifest: dict[str, Any], bundle_path: Path) -> None:
    """Raise unless the segnet at ``path`` differs from the one the bundle's semantic-consistency loss read."""
    trained = manifest.get("provenance", {}).get("semantic_segnet_sha256")
    if path is not None and trained is not None and sha256_file(path) == trained:
        raise ValueError(f"{path}: {bundle_path} was trained to please this very segnet (provenance "
                         "semantic_segnet_sha256), so its reading would flatter the bundle; score it with a segnet of "
                         "another seed and width (freqaug train-segnet --seed 1 --width 32)")


class _Layouts(NamedTuple):
    """What layout fidelity reads: the data's labels, the layouts of the generated images, the class set."""

    labels: Tensor
    used: Tensor
    classes: ClassSet


def _layout_entry(real: Tensor, fake: Tensor, layouts: _Layouts | None, model, path: Path | None, floor,
                  floor_path: Path | None, seed: int, batch_size: int) -> tuple[dict[str, Any], Tensor | None]:
    """(Layout fidelity of the generated images next to the real ceiling and the unconditional floor, or
    skipped; the segnet's predictions on the generated images, for the grid)."""
    if layouts is None:
        return _skipped("the bundle is unconditional (manifest 'classes' is null); layout fidelity applies to "
                        "layout-conditional bundles only",
                        "evaluate a bundle trained with freqaug train --conditional"), None
    if model is None:
        return _skipped("no segnet file given", SEGNET_HOW), None
    assert path is not None  # the model was loaded from it (_load_segnet)

    def score(images: Tensor, labels: Tensor) -> tuple[dict[str, Any], Tensor]:
        return layout_scores(model, images, labels, layouts.classes, batch_size=batch_size)

    generated, pred = score(fake, layouts.used)
    if floor is None:
        floor_entry = _skipped("no floor bundle given", "pass --floor BUNDLE (an unconditional bundle of the same size)")
    else:
        floor_images = _generate(floor, len(fake), seed, batch_size)
        floor_entry = {"status": "ok", **score(floor_images, layouts.used)[0], "bundle": str(floor_path),
                       "weights_sha256": floor.manifest["weights"]["sha256"]}
    entry = {"status": "ok", "generated": generated, "real": score(real, layouts.labels)[0], "floor": floor_entry,
             "classes": list(layouts.classes.names), "ignore_index": layouts.classes.ignore_index,
             "layouts": len(layouts.labels), "images": len(fake), "segnet": str(path),
             "segnet_sha256": sha256_file(path), "note": LAYOUT_NOTE}
    return entry, pred


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
    """What :func:`score_bundle` measured: the JSON report, the two image sets it compared and, for a
    conditional bundle, the layouts of the generated images and the segnet's predictions on them, and
    the reference images scored beside them."""

    report: dict[str, Any]
    real: Tensor
    generated: Tensor
    layouts: Tensor | None = None
    predicted: Tensor | None = None
    classes: ClassSet | None = None
    reference: Tensor | None = None


def score_bundle(
    bundle_path: str | os.PathLike[str], data: str | os.PathLike[str], *, n: int | None = None, seed: int = 0,
    segnet: str | os.PathLike[str] | None = None, inception: str | os.PathLike[str] | None = None,
    floor: str | os.PathLike[str] | None = None, reference: str | os.PathLike[str] | None = None,
    device: str = "cpu", batch_size: int = 64,
) -> Evaluation:
    """Generate ``n`` images (default: as many as the real ones) and score them against the images of
    ``data``; writes nothing (see :func:`evaluate_bundle`). A layout-conditional bundle draws image k
    from label map k mod L of ``data`` (CamVid layout, labels required); ``floor`` is an unconditional
    bundle whose images, scored against the same layouts, give the layout-fidelity floor; the images of
    ``reference`` (a folder) are scored like the generated ones, a reference point for every metric."""
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
    _check_segnet_classes(seg_model, seg_path, bundle.classes)
    _check_independent(seg_path, bundle.manifest, bundle_path)
    floor_path = None if floor is None else Path(floor)
    floor_bundle = _load_floor(floor_path, bundle, bundle_path, seg_path, device)
    real, labels = _load_data(data, bundle.classes)
    _check_real(real, data, bundle_path, bundle.image_size)
    n = len(real) if n is None else n
    reference_path = None if reference is None else Path(reference)
    reference_images = _load_reference(reference_path, bundle_path, bundle.image_size, n, seed)
    layouts = None if labels is None else _Layouts(labels, labels[torch.arange(n) % len(labels)],
                                                   cast(ClassSet, bundle.classes))  # labels: a conditional bundle
    fake = _generate(bundle, n, seed, batch_size, None if layouts is None else layouts.used)
    layout_entry, predicted = _layout_entry(real, fake, layouts, seg_model, seg_path, floor_bundle, floor_path, seed,
                                            batch_size)
    def image_metrics(images: Tensor) -> dict[str, Any]:
        return {
            "swd": _swd_entry(real, images, seed),
            "spectrum": _spectrum_entry(real, images),
            "band_energy": _band_entry(real, images, bundle.spec),
            "segnet": _segnet_entry(real, images, seg_model, seg_path, batch_size),
            "inception": (inception_found if net is None  # the skipped entry
                          else _inception_entry(real, images, net, inception_found, device, batch_size, seed)),
        }

    metrics = {**image_metrics(fake), "layout": layout_entry}
    reference_entry: dict[str, Any]
    if reference_images is None:
        reference_entry = _skipped("no reference folder given", REFERENCE_HOW)
    else:
        reference_entry = {"status": "ok", "path": str(reference_path), "images": len(reference_images),
                           "note": REFERENCE_NOTE, "metrics": image_metrics(reference_images)}
    generated = {"images": n, "seed": seed}
    if layouts is not None:
        generated["from_layouts"] = len(layouts.labels)  # image k from label map k mod L of data
    report = {
        "format": FORMAT, "version": VERSION,
        "bundle": {"path": str(bundle_path), "weights_sha256": bundle.manifest["weights"]["sha256"],
                   "image_size": list(bundle.image_size), "spec": bundle.spec.describe()},
        "data": {"path": str(data), "images": len(real)},
        "generated": generated,
        "metrics": metrics,
        "reference": reference_entry,
    }
    if layouts is None:
        return Evaluation(report, real, fake, reference=reference_images)
    return Evaluation(report, real, fake, layouts.used, predicted, layouts.classes, reference_images)


def evaluate_bundle(
    bundle_path: str | os.PathLike[str], data: str | os.PathLike[str], out: str | os.PathLike[str] | None = None,
    **options: Any,
) -> dict[str, Any]:
    """:func:`score_bundle` (same keyword options), then :data:`EVAL_FILES` written into ``out``
    (default :func:`default_out_dir`); returns the JSON report."""
    result = score_bundle(bundle_path, data, **options)
    write_outputs(result, default_out_dir(bundle_path) if out is None else Path(out))
    return result.report


def output_files(report: Mapping[str, Any]) -> tuple[str, ...]:
    """The names :func:`write_outputs` writes for ``report``: :data:`EVAL_FILES`, and
    :data:`LAYOUT_FILE` when layout fidelity was computed."""
    return EVAL_FILES + ((LAYOUT_FILE,) if report["metrics"]["layout"]["status"] == "ok" else ())


def _spread(n: int, k: int) -> Tensor:
    """``k`` indices spread evenly over 0..n-1 (neighbouring video frames look alike)."""
    return torch.linspace(0, n - 1, k).round().long()


def rare_class_showcase(layouts: Tensor, k: int, num_classes: int) -> Tensor:
    """Indices of the ``k`` layouts (N, H, W) that show most of the set's rare classes, in set order: each
    layout scores the sum over classes of its share of that class's pixels in the set (ids outside
    0..num_classes-1 count for none), so a layout holding a fifth of all pedestrian pixels outranks
    one holding a fifth of the road. Datasets of video frames hold runs of near-identical layouts, so
    the picks keep at least N // (2k) positions apart while enough layouts allow it (the best-scoring
    first; the rest of the k filled by score)."""
    n = len(layouts)
    ids = layouts.reshape(n, -1).long()
    valid = (ids >= 0) & (ids < num_classes)
    counts = torch.zeros(n, num_classes, dtype=torch.float64)
    counts.scatter_add_(1, ids.where(valid, 0), valid.double())
    share = counts / counts.sum(0, keepdim=True).clamp(min=1)
    order = share.sum(1).argsort(descending=True, stable=True).tolist()
    gap, picked = max(1, n // (2 * max(k, 1))), list[int]()
    for i in order:
        if len(picked) < k and all(abs(i - j) >= gap for j in picked):
            picked.append(i)
    picked += [i for i in order if i not in picked][: max(0, min(k, n) - len(picked))]
    return torch.tensor(sorted(picked), dtype=torch.long)


def _save_layout_grid(result: Evaluation, path: Path) -> Path:
    """layouts.png: rows layout (the bundle's palette), generated, segnet on generated, real, for
    the 8 generated images whose layouts show most of the rare classes (cars, pedestrians, signs
    in a street scene: :func:`rare_class_showcase`)."""
    from freqaug.viz import save_image_rows

    report, real, fake, layouts, predicted, classes, _ = result
    # set for a conditional bundle's evaluation, the only one with predictions (see write_outputs)
    layouts, predicted, classes = cast(Tensor, layouts), cast(Tensor, predicted), cast(ClassSet, classes)
    index = rare_class_showcase(layouts, _SAMPLE_COUNT, classes.num_classes)
    rows = {"layout": colorize_images(layouts[index], classes), "generated": fake[index],
            "segnet on generated": colorize_images(predicted[index], classes),
            "real": real[index % len(real)]}  # generated image i comes from the layout of real image i mod L
    scores = report["metrics"]["layout"]
    return save_image_rows(rows, path, title=f"{Path(report['bundle']['path']).name}: layout mIoU generated "
                                             f"{scores['generated']['miou']:.3f}, real {scores['real']['miou']:.3f}")


def write_outputs(result: Evaluation, out: Path) -> list[Path]:
    """eval.json, eval.md, the three PNGs and (layout fidelity computed) layouts.png in ``out``,
    each written atomically."""
    from freqaug.viz import save_band_energy_plot, save_channel_spectra, save_image_rows

    report, real, fake = result[:3]
    out.mkdir(parents=True, exist_ok=True)
    metrics = report["metrics"]
    spectrum = metrics["spectrum"]
    k = min(_SAMPLE_COUNT, len(real), len(fake))
    spread = _spread(len(real), k)
    rows = {"real": real[spread], "generated": fake[:k]}
    if result.reference is not None:
        rows["reference"] = result.reference[:k]
    files = [
        write_atomic(out / "eval.json", (json.dumps(report, indent=2) + "\n").encode()),
        write_atomic(out / "eval.md", markdown_report(report).encode()),
        save_image_rows(rows, out / "samples.png",
                        title=f"{Path(report['bundle']['path']).name}: {k} real images spread over the folder "
                              f"(video frames in a row look alike), the first {k} generated"
                              + (", reference images" if result.reference is not None else "")),
        save_channel_spectra(spectrum["freqs"], spectrum["log10_power"], out / "spectra.png"),
        save_band_energy_plot(metrics["band_energy"]["bands"], out / "band_energy.png",
                              title=f"share of energy per band ({metrics['band_energy']['spec']})"),
    ]
    if result.predicted is not None:
        files.append(_save_layout_grid(result, out / LAYOUT_FILE))
    return files


# ---- Markdown ------------------------------------------------------------------------------------------

def _fmt(value: float) -> str:
    """A number for a table: 4 significant digits."""
    return f"{value:.4g}"


def _table(header: tuple[str, ...], rows: Sequence[tuple[str, ...]]) -> list[str]:
    """Markdown table lines."""
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return lines + ["| " + " | ".join(row) + " |" for row in rows]


def _section(title: str, body: list[str]) -> list[str]:
    """A Markdown section: heading, body, blank line."""
    return [f"## {title}", "", *body, ""]


def _ok(entry: Mapping[str, Any] | None) -> Mapping[str, Any] | None:
    """``entry`` if it was computed, else None."""
    return entry if entry is not None and entry.get("status", "ok") == "ok" else None


def _rows(gen: Mapping[str, Any], ref: Mapping[str, Any] | None,
          cells: Callable[[Mapping[str, Any]], tuple[str, ...]]) -> list[tuple[str, ...]]:
    """Table rows of the generated images and, when scored, the reference images."""
    return [("generated", *cells(gen))] + ([] if ref is None else [("reference (real)", *cells(ref))])


def _swd_lines(s: Mapping[str, Any], ref: Mapping[str, Any] | None = None) -> list[str]:
    levels = [k for k in s if k.startswith("level")]
    return _section("SWD (x1e3, Laplacian pyramid; level0 finest; lower is better)", [
        *_table(("images", *levels, "mean"), _rows(s, ref, lambda e: (*(_fmt(e[k]) for k in levels), _fmt(e["mean"])))),
        "", f"On the first {s['images']} images of each set, {s['pyramid_levels']} levels."])


def _spectrum_lines(d: Mapping[str, float], ref: Mapping[str, float] | None = None) -> list[str]:
    channels = [k for k in d if k.startswith("channel")]
    names = ["RGB"[i] if len(channels) == 3 else f"channel {i}" for i in range(len(channels))]
    cells = lambda e: (*(_fmt(e[c]) for c in channels), _fmt(e["low"]), _fmt(e["high"]), _fmt(e["mean"]))  # noqa: E731
    return _section("Spectrum distance (mean |log10 P_real - log10 P_gen| over radial bins; lower is better)", [
        *_table(("images", *names, "low (< 0.25 Nyquist)", "high", "mean"), _rows(d, ref, cells)), "",
        "Per-channel spectra: spectra.png."])


def _band_lines(e: Mapping[str, Any], ref: Mapping[str, Any] | None = None) -> list[str]:
    real, gen = e["bands"]["real"], e["bands"]["generated"]
    kr, kg = e["kurtosis"]["real"], e["kurtosis"]["generated"]
    extra = () if ref is None else ("reference",)
    share = lambda name: () if ref is None else (_fmt(ref["bands"]["generated"][name]),)  # noqa: E731
    bands = [(name, _fmt(r), _fmt(gen[name]), *share(name), _fmt(gen[name] / r) if r else "-", _fmt(kr[name]),
              _fmt(kg[name])) for name, r in real.items()]
    level = lambda name: () if ref is None else (_fmt(ref["levels"]["generated"][name]),)  # noqa: E731
    levels = [(name, _fmt(r), _fmt(e["levels"]["generated"][name]), *level(name)) for name, r in e["levels"]["real"].items()]
    return _section(f"Energy per band ({e['spec']}; share of the total, images in [-1, 1])", [
        *_table(("band", "real", "generated", *extra, "generated / real", "kurtosis real", "kurtosis generated"), bands),
        "", *_table(("level", "real", "generated", *extra), levels), "",
        "Kurtosis 3: Gaussian noise; real detail bands are sparse (edges), far above 3. Bars: band_energy.png."])


def _skipped_lines(entry: Mapping[str, Any]) -> list[str]:
    """Why a metric was skipped and what to pass to get it."""
    return [f"**Skipped**: {entry['reason']}", "", f"To compute it: {entry['how']}."]


def _feature_lines(entry: Mapping[str, Any], ref: Mapping[str, Any] | None, title: str,
                   cells: Callable[[Mapping[str, Any]], tuple[str, ...]], header: tuple[str, ...],
                   source: Callable[[Mapping[str, Any]], str]) -> list[str]:
    """A section for a feature-space metric: its table (generated, and reference when scored), or why
    it was skipped and what to pass."""
    if entry["status"] != "ok":
        return _section(title, _skipped_lines(entry))
    return _section(title, [*_table(("images", *header), _rows(entry, _ok(ref), cells)), "",
                            f"{source(entry)}. {entry['note']}."])


def _layout_lines(e: Mapping[str, Any]) -> list[str]:
    """Layout fidelity: mIoU and pixel accuracy per image set, IoU per class, or why it was skipped."""
    title = "Layout fidelity (segnet mIoU against the input layouts; higher is better)"
    if e["status"] != "ok":
        return _section(title, _skipped_lines(e))
    floor = e["floor"]
    sets = [("generated", "generated from the layouts", e["generated"]), ("real", "real images (ceiling)", e["real"])]
    if floor["status"] == "ok":
        sets.append(("floor", f"floor: `{Path(floor['bundle']).name}` (unconditional)", floor))
    rows = [(long, _fmt(s["miou"]), _fmt(s["pixel_accuracy"])) for _, long, s in sets]
    iou = lambda v: "-" if v is None else _fmt(v)  # noqa: E731
    per_class = [(c, *(iou(s["iou"][i]) for *_, s in sets)) for i, c in enumerate(e["classes"])]
    return _section(title, [
        *_table(("images", "mIoU", "pixel accuracy"), rows), "",
        *_table(("class IoU", *(short for short, *_ in sets)), per_class), "",
        *([] if floor["status"] == "ok" else [f"Floor skipped: {floor['reason']}; {floor['how']}.", ""]),
        f"{e['images']} generated images from {e['layouts']} layouts; segnet `{e['segnet']}` "
        f"(sha256 {e['segnet_sha256'][:12]}). {e['note']}. Grid: {LAYOUT_FILE}."])


def _reference_lines(r: Mapping[str, Any]) -> list[str]:
    """What the reference rows are, or how to get them."""
    title = "Reference (real images scored like the generated ones)"
    if r["status"] != "ok":
        return _section(title, _skipped_lines(r))
    return _section(title, [f"{r['images']} images of `{r['path']}`: {r['note']}."])


def markdown_report(report: Mapping[str, Any]) -> str:
    """eval.md: the numbers of the JSON report as tables a person reads."""
    m, b, g = report["metrics"], report["bundle"], report["generated"]
    r = report.get("reference", _skipped("no reference folder given", REFERENCE_HOW))  # reports written before it
    ref = r["metrics"] if r["status"] == "ok" else {}
    seg, inc = m["segnet"], m["inception"]
    source = (f" drawn from the {g['from_layouts']} label maps of the data (image k from map k mod "
              f"{g['from_layouts']})" if "from_layouts" in g else "")
    lines = [f"# freqaug eval: {Path(b['path']).name}", "",
             f"{g['images']} generated images (seed {g['seed']}){source} vs {report['data']['images']} real images "
             f"from `{report['data']['path']}`, {b['image_size'][1]}x{b['image_size'][0]} (WxH), bands {b['spec']}.", "",
             *_reference_lines(r),
             *_swd_lines(m["swd"], ref.get("swd")), *_spectrum_lines(m["spectrum"]["distance"], _distance(ref)),
             *_band_lines(m["band_energy"], ref.get("band_energy"))]
    lines += _feature_lines(
        seg, ref.get("segnet"), "Domain Fréchet distance and precision/recall (segnet features)",
        lambda e: (_fmt(e["frechet_distance"]), _fmt(e["precision"]), _fmt(e["recall"])),
        ("Fréchet distance", "precision", "recall"),
        lambda e: f"k = {e['k']} neighbours; segnet `{e['segnet']}` (sha256 {e['segnet_sha256'][:12]})")
    lines += _feature_lines(
        inc, ref.get("inception"), "FID and KID (Inception-v3)",
        lambda e: (_fmt(e["fid"]), f"{_fmt(e['kid_mean'])} ± {_fmt(e['kid_std'])}", _fmt(e["precision"]), _fmt(e["recall"])),
        ("FID", "KID", "precision", "recall"), lambda e: f"weights `{e['weights']}`")
    lines += _layout_lines(m["layout"])
    rows = "real, spread over the folder, above generated" + (", then reference" if ref else "")
    return "\n".join([*lines, f"Samples ({rows}): samples.png.", ""])


def _distance(metrics: Mapping[str, Any]) -> Mapping[str, float] | None:
    """The spectrum distances of a metrics dict, if it has them."""
    return metrics["spectrum"]["distance"] if "spectrum" in metrics else None


# ---- the segnet file ---------------------------------------------------------------------------------

def train_segnet_on_folder(
    data: str | os.PathLike[str], out: str | os.PathLike[str], *, steps: int = 300, seed: int = 0,
    batch_size: int = 16, device: str = "cpu", width: int = 24, arch: str = "unet",
) -> dict[str, Any]:
    """Train a :class:`~freqaug.metrics.SegNet` of base ``width`` and architecture ``arch`` on a labelled
    CamVid-layout folder (11 classes, id 11 ignored), save it to ``out`` and return its scores on that
    training folder."""
    folder = SegmentationFolder(data, labels=True, num_classes=CAMVID.num_classes, ignore_index=CAMVID.ignore_index)
    items = [folder[i] for i in progress_bar(range(len(folder)), desc=f"loading {folder.root.name}", unit="img")]
    images = torch.stack([cast(Tensor, item["image"]) for item in items])
    labels = torch.stack([cast(Tensor, item["label"]) for item in items])
    model = train_segnet(images, labels, num_classes=CAMVID.num_classes, ignore_index=CAMVID.ignore_index,
                         steps=steps, batch_size=batch_size, seed=seed, device=device, width=width,
                         arch=arch)
    path = save_segnet(model, out)
    scores = evaluate_segmentation(model, images, labels, num_classes=CAMVID.num_classes,
                                   ignore_index=CAMVID.ignore_index)
    return {"path": str(path), "images": len(images), "steps": steps, "seed": seed, "width": width,
            "arch": arch, "train_miou": scores["miou"], "train_pixel_accuracy": scores["pixel_accuracy"]}
