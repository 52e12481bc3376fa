"""Pictures people look at: band grids and spectrum plots, written as PNG files (matplotlib, Agg)."""
from __future__ import annotations

from pathlib import Path
from typing import Mapping

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402
from torch import Tensor  # noqa: E402

from freqaug.bands import BandSpec  # noqa: E402

__all__ = ["save_band_grid", "save_sample_grid", "save_spectrum_plot"]


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
    rows: list[list[tuple[str, object]]] = []
    first = [("image", _image(image))]
    if reconstruction is not None:
        error = (reconstruction.detach().double() - image.detach().double()).abs().amax(0)
        first.append((f"|x - compose(decompose(x))|, max {float(error.max()):.1e}", error.cpu().numpy()))
    if spec.kind == "dwt":
        ll = f"LL{spec.levels}"
        rows.append(first + [(f"{ll} {tuple(bands[ll].shape[-2:])}", _stretch(bands[ll]))])
        for q in range(spec.levels, 0, -1):
            names = [f"{d}{q}" for d in ("LH", "HL", "HH")]
            row = [(f"{n} {tuple(bands[n].shape[-2:])}", _magnitude(bands[n])) for n in names]
            rows.append(row + [(f"values of level {q}", torch.cat([bands[n].flatten() for n in names]))])
    else:
        low, high = bands["low"], bands["high"]
        low_pic = _stretch(low) if spec.domain == "image" else _magnitude(low.abs().add(1e-12).log())
        rows.append(first + [("low", low_pic)])
        rows.append([("|high|", _magnitude(high)), ("high (signed, stretched)", _stretch(high)),
                     ("values of high", high.flatten())])
    ncols = max(len(r) for r in rows)
    fig, axes = plt.subplots(len(rows), ncols, figsize=(3.2 * ncols, 2.7 * len(rows)), squeeze=False)
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
    fig, ax = plt.subplots(figsize=(7, 4.5))
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
    fig, axes = plt.subplots(len(rows), n, figsize=(1.6 * n, 1.3 * len(rows)), squeeze=False)
    for r, (label, images) in enumerate(rows):
        for c in range(n):
            _show(axes[r][c], _image(images[c].detach().float().clamp(-1, 1) * 0.5 + 0.5), "")
        axes[r][0].set_ylabel(label, fontsize=8)
    fig.tight_layout(pad=0.2)
    return _save(fig, path)


def save_image_grid(images: Tensor, path: str | Path, *, nrow: int = 8, title: str = "") -> Path:
    """Images (N, C, H, W) in [0, 1] as one PNG grid, written atomically."""
    n = images.shape[0]
    cols = min(nrow, n)
    rows = -(-n // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(1.6 * cols, 1.3 * rows + (0.3 if title else 0)), squeeze=False)
    for k, ax in enumerate(axes.flat):
        if k < n:
            _show(ax, _image(images[k].detach().float().clamp(0, 1)), "")
        else:
            ax.axis("off")
    if title:
        fig.suptitle(title, fontsize=9)
    fig.tight_layout(pad=0.2)
    return _save(fig, path)


def _save(fig, path: str | Path) -> Path:
    """Write the figure atomically (temp file + rename) and close it."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    fig.savefig(tmp, dpi=110, format="png")
    plt.close(fig)
    tmp.replace(path)
    return path
