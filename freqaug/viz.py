"""Pictures people look at: band grids and spectrum plots, written as PNG files.

Figures are built with matplotlib's object API (``matplotlib.figure.Figure``), never pyplot: no
backend is chosen, no global figure registry is touched, so importing or drawing never changes the
matplotlib state of a notebook or application around it.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping

import numpy as np
import torch
from matplotlib.figure import Figure
from torch import Tensor

from freqaug._files import atomic_output
from freqaug.bands import BandSpec

__all__ = ["save_augment_grid", "save_band_energy_plot", "save_band_grid", "save_channel_spectra", "save_image_grid",
           "save_image_rows", "save_sample_grid", "save_spectrum_plot"]


def _image(x: Tensor) -> np.ndarray:
    """(C, H, W) in [0, 1] -> (H, W, C) or (H, W) array for imshow."""
    arr = x.detach().float().clamp(0, 1).cpu().numpy()
    return arr[0] if arr.shape[0] == 1 else arr.transpose(1, 2, 0)


def _stretch(band: Tensor) -> np.ndarray:
    """Approximation band -> [0, 1] per channel by its 1st..99th percentile."""
    arr = band.detach().double().cpu().numpy()
    lo = np.percentile(arr, 1, axis=(1, 2), keepdims=True)
    hi = np.percentile(arr, 99, axis=(1, 2), keepdims=True)
    out = np.clip((arr - lo) / np.maximum(hi - lo, 1e-12), 0, 1)
    return out[0] if out.shape[0] == 1 else out.transpose(1, 2, 0)


def _magnitude(band: Tensor) -> np.ndarray:
    """Detail band -> mean |value| over channels, scaled by its 99th percentile."""
    arr = band.detach().double().abs().mean(0).cpu().numpy()
    return np.clip(arr / max(np.percentile(arr, 99), 1e-12), 0, 1)


def _show(ax, picture: np.ndarray, title: str, cmap: str | None = None) -> None:
    ax.imshow(picture, cmap=cmap if picture.ndim == 2 else None, interpolation="nearest")
    ax.set_title(title, fontsize=9)
    ax.set_xticks([])
    ax.set_yticks([])


def _histogram(ax, band: Tensor, title: str) -> None:
    values = band.detach().double().flatten().cpu().numpy()
    ax.hist(values, bins=101, color="tab:blue", log=True)
    ax.set_title(title, fontsize=9)
    ax.tick_params(labelsize=7)


def save_band_grid(
    image: Tensor, bands: Mapping[str, Tensor], spec: BandSpec, path: str | Path, *,
    reconstruction: Tensor | None = None, title: str = "",
) -> Path:
    """One image and its bands as a PNG: DWT as one row per level, DCT/Fourier as low | high.

    ``image`` (C, H, W) in [0, 1]; ``bands`` hold (C, h, w) tensors of that image. Detail bands
    are shown as magnitudes, with a histogram of their (heavy-tailed) values beside them.
    """
    rows: list[list[tuple[str, np.ndarray | Tensor]]] = []  # (title, picture, or values for a histogram)
    first: list[tuple[str, np.ndarray | Tensor]] = [("image", _image(image))]
    if reconstruction is not None:
        error = (reconstruction.detach().double() - image.detach().double()).abs().amax(0)
        first.append((f"|x - compose(decompose(x))|, max {float(error.max()):.1e}", error.cpu().numpy()))
    if spec.kind == "dwt":
        ll = f"LL{spec.levels}"
        rows.append(first + [(f"{ll} {tuple(bands[ll].shape[-2:])}", _stretch(bands[ll]))])
        for q in range(spec.levels, 0, -1):
            names = [f"{d}{q}" for d in ("LH", "HL", "HH")]
            row: list[tuple[str, np.ndarray | Tensor]] = [
                (f"{n} {tuple(bands[n].shape[-2:])}", _magnitude(bands[n])) for n in names
            ]
            rows.append(row + [(f"values of level {q}", torch.cat([bands[n].flatten() for n in names]))])
    else:
        low, high = bands["low"], bands["high"]
        low_pic = _stretch(low) if spec.domain == "image" else _magnitude(low.abs().add(1e-12).log())
        rows.append(first + [("low", low_pic)])
        rows.append([("|high|", _magnitude(high)), ("high (signed, stretched)", _stretch(high)),
                     ("values of high", high.flatten())])
    ncols = max(len(r) for r in rows)
    fig, axes = _subplots(len(rows), ncols, figsize=(3.2 * ncols, 2.7 * len(rows)), squeeze=False)
    for r, row in enumerate(rows):
        for c in range(ncols):
            ax = axes[r][c]
            if c >= len(row):
                ax.axis("off")
                continue
            name, content = row[c]
            if isinstance(content, Tensor):
                _histogram(ax, content, name)
            else:
                _show(ax, content, name, cmap="magma" if "|" in name or name[:2] in ("LH", "HL", "HH") else "gray")
    fig.suptitle(title or spec.describe(), fontsize=10)
    fig.tight_layout(rect=(0, 0, 1, 0.97))  # leave the top strip to the title
    return _save(fig, path)


def save_spectrum_plot(
    curves: Mapping[str, tuple[Tensor, Tensor]], path: str | Path, *, cutoff: float | None = None, title: str = ""
) -> Path:
    """Radially averaged log power spectra (from ``radial_power_spectrum``), one line per curve."""
    fig, ax = _subplots(figsize=(7, 4.5))
    for label, (freqs, power) in curves.items():
        ax.semilogy(freqs.cpu().numpy(), power.mean(0).clamp_min(1e-20).cpu().numpy(), label=label)
    if cutoff is not None:
        ax.axvline(cutoff, color="gray", linestyle="--", linewidth=1, label=f"cutoff {cutoff:g}")
    ax.set_xlabel("radial frequency (fraction of Nyquist)")
    ax.set_ylabel("mean power (log)")
    ax.set_title(title or "radially averaged power spectrum")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return _save(fig, path)


def save_sample_grid(output, spec: BandSpec, path: str | Path) -> Path:
    """Generated samples as a PNG: rows blend, band image, baseline, then every band (stretched).

    ``output`` is a FreqGANOutput of N samples (images in [-1, 1]); bands are shown at their own
    resolution, upsampled to the image size.
    """
    rows = [("blend (output)", output.image), ("band image", output.band_image), ("baseline", output.baseline)]
    size = output.image.shape[-2:]
    for name in spec.band_names:
        band = output.bands[name].detach().float()
        lo = band.flatten(1).quantile(0.01, dim=1).view(-1, 1, 1, 1)
        hi = band.flatten(1).quantile(0.99, dim=1).view(-1, 1, 1, 1)
        stretched = ((band - lo) / (hi - lo).clamp_min(1e-12)).clamp(0, 1) * 2 - 1
        rows.append((name, torch.nn.functional.interpolate(stretched, size=tuple(size), mode="nearest")))
    n = output.image.shape[0]
    fig, axes = _subplots(len(rows), n, figsize=(1.6 * n, 1.3 * len(rows)), squeeze=False)
    for r, (label, images) in enumerate(rows):
        for c in range(n):
            _show(axes[r][c], _image(images[c].detach().float().clamp(-1, 1) * 0.5 + 0.5), "")
        axes[r][0].set_ylabel(label, fontsize=8)
    fig.tight_layout(pad=0.2)
    return _save(fig, path)


def save_augment_grid(columns: Mapping[str, Tensor], path: str | Path, *, title: str = "") -> Path:
    """Scenes as rows, versions as titled columns (e.g. original, then each augmentation mode), as one PNG.

    ``columns`` maps a column title to (N, C, H, W) images in [0, 1]; every column holds the same N
    scenes, row r of each column being scene r. Used by ``make demo`` and the augmentation examples.
    """
    if not columns:
        raise ValueError("columns: expected at least one column of images")
    counts = {name: int(images.shape[0]) for name, images in columns.items()}
    if len(set(counts.values())) != 1 or 0 in counts.values():
        raise ValueError(f"columns: expected the same number (> 0) of images in every column, got {counts}")
    n, ncols = next(iter(counts.values())), len(columns)
    height, width = next(iter(columns.values())).shape[-2:]
    tile = (2.2, 2.2 * height / width)  # inches per image, the images' aspect
    fig_height = tile[1] * n + 0.3 + (0.35 if title else 0)
    fig, axes = _subplots(n, ncols, figsize=(tile[0] * ncols, fig_height), squeeze=False)
    for c, (name, images) in enumerate(columns.items()):
        for r in range(n):
            _show(axes[r][c], _image(images[r].detach().float().clamp(0, 1)), name if r == 0 else "")
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout(pad=0.3, rect=(0, 0, 1, 1 - (0.35 / fig_height if title else 0)))  # the title's strip
    return _save(fig, path)


def save_image_grid(images: Tensor, path: str | Path, *, nrow: int = 8, title: str = "") -> Path:
    """Images (N, C, H, W) in [0, 1] as one PNG grid, written atomically."""
    n = images.shape[0]
    cols = min(nrow, n)
    rows = -(-n // cols)
    fig, axes = _subplots(rows, cols, figsize=(1.6 * cols, 1.3 * rows + (0.3 if title else 0)), squeeze=False)
    for k, ax in enumerate(axes.flat):
        if k < n:
            _show(ax, _image(images[k].detach().float().clamp(0, 1)), "")
        else:
            ax.axis("off")
    if title:
        fig.suptitle(title, fontsize=9)
    fig.tight_layout(pad=0.2)
    return _save(fig, path)


def save_image_rows(rows: Mapping[str, Tensor], path: str | Path, *, title: str = "") -> Path:
    """Image sets as labelled rows (e.g. real, then generated) of (N, C, H, W) images in [0, 1], one PNG."""
    if not rows or not all(len(images) for images in rows.values()):
        raise ValueError(f"rows: expected at least one non-empty set of images, got {[len(v) for v in rows.values()]}")
    n = max(len(images) for images in rows.values())
    height, width = next(iter(rows.values())).shape[-2:]
    tile = (1.8, 1.8 * height / width)
    fig, axes = _subplots(len(rows), n, figsize=(tile[0] * n + 0.4, tile[1] * len(rows) + (0.4 if title else 0.1)),
                             squeeze=False)
    for r, (label, images) in enumerate(rows.items()):
        for c, ax in enumerate(axes[r]):
            if c < len(images):
                _show(ax, _image(images[c].detach().float().clamp(0, 1)), "")
            else:
                ax.axis("off")
        axes[r][0].set_ylabel(label, fontsize=9)
    if title:
        fig.suptitle(title, fontsize=9)
    fig.tight_layout(pad=0.3)
    return _save(fig, path)


def save_channel_spectra(
    freqs, log10_power: Mapping[str, object], path: str | Path, *, channel_names: tuple[str, ...] = ("R", "G", "B"),
    title: str = "",
) -> Path:
    """Radially averaged log10 power spectra, one panel per channel, one line per set (e.g. real, generated).

    ``freqs`` (bins,) as a fraction of Nyquist; ``log10_power`` maps a set's name to its (C, bins) values.
    """
    curves = {name: np.asarray(values, dtype=np.float64) for name, values in log10_power.items()}
    channels = next(iter(curves.values())).shape[0]
    fig, axes = _subplots(1, channels, figsize=(4.2 * channels, 3.6), squeeze=False, sharey=True)
    for c, ax in enumerate(axes[0]):
        for name, values in curves.items():
            ax.plot(np.asarray(freqs), values[c], label=name)
        ax.set_title(channel_names[c] if c < len(channel_names) else f"channel {c}", fontsize=10)
        ax.set_xlabel("radial frequency (fraction of Nyquist)", fontsize=8)
        ax.grid(True, alpha=0.3)
    axes[0][0].set_ylabel("log10 mean power")
    axes[0][0].legend(fontsize=8)
    fig.suptitle(title or "radially averaged power spectrum per channel", fontsize=10)
    fig.tight_layout()
    return _save(fig, path)


def save_band_energy_plot(shares: Mapping[str, Mapping[str, float]], path: str | Path, *, title: str = "") -> Path:
    """Grouped bars (log scale) of the share of energy per band, one bar colour per set (e.g. real, generated)."""
    sets = list(shares)
    bands = list(shares[sets[0]])
    x = np.arange(len(bands))
    width = 0.8 / len(sets)
    fig, ax = _subplots(figsize=(max(5.0, 0.7 * len(bands) * len(sets) + 1.5), 4.0))
    for i, name in enumerate(sets):
        values = [max(shares[name][band], 1e-12) for band in bands]
        ax.bar(x + (i - (len(sets) - 1) / 2) * width, values, width, label=name)
    ax.set_yscale("log")
    ax.set_xticks(x, bands)
    ax.set_ylabel("share of total energy")
    ax.set_title(title or "energy per band", fontsize=10)
    ax.grid(True, axis="y", which="both", alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return _save(fig, path)


def _subplots(*grid: int, figsize: tuple[float, float], **options: Any) -> tuple[Figure, Any]:
    """A new figure of ``figsize`` inches and its axes (``Figure.subplots(*grid, **options)``)."""
    fig = Figure(figsize=figsize)
    return fig, fig.subplots(*grid, **options)


def _save(fig, path: str | Path) -> Path:
    """Write the figure atomically (temp file + rename)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_output(path) as tmp:
        fig.savefig(tmp, dpi=110, format="png")
    return path
