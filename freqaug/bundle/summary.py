"""A human summary of a loaded bundle's manifest (``freqaug inspect``)."""
from __future__ import annotations

from typing import Any, Mapping, cast

from freqaug.bundle.core import Bundle
from freqaug.models.config import BASELINE

__all__ = ["describe_bundle"]


def _numbers(values: list[float]) -> str:
    """A short list of numbers, 4 significant digits each."""
    return "[" + ", ".join(f"{v:.4g}" for v in values) + "]"


def _band_lines(bundle: Bundle) -> list[str]:
    """One line per band: shape, parameters, cascade sources, normalisation centre and scale."""
    manifest = bundle.manifest
    lines = []
    for name in bundle.spec.band_names:
        h, w = manifest["band_shapes"][name]
        stats = manifest["band_stats"][name]
        sources = bundle.model.sources(name)
        cascade = f"  <- {', '.join(sources)}" if sources else ""
        lines.append(
            f"  {name:<6} {h:>4}x{w:<4} {manifest['parameters'][name]:>10,} params  "
            f"center {_numbers(stats['center'])} scale {_numbers(stats['scale'])}{cascade}"
        )
    return lines


def _provenance_lines(provenance: dict[str, Any]) -> list[str]:
    """Data folder, steps, run config hash, date and torch version, as far as they are recorded."""
    lines = []
    data = provenance.get("data")
    if isinstance(data, dict):
        lines.append(f"  data     {data.get('path')} ({data.get('images')} images, names sha256 "
                     f"{str(data.get('names_sha256'))[:16]}...)")
    for key in ("steps", "run_config_sha256", "run", "created", "torch"):
        if provenance.get(key) is not None:
            lines.append(f"  {key:<8} {provenance[key]}")
    others = sorted(set(provenance) - {"data", "steps", "run_config_sha256", "run", "created", "torch"})
    lines += [f"  {key:<8} {provenance[key]}" for key in others]
    return lines or ["  (none recorded)"]


def describe_bundle(bundle: Bundle) -> str:
    """Sizes, bands with shapes, parameters per generator, alpha, cascade, noise and provenance."""
    manifest, config = bundle.manifest, bundle.config
    h, w = bundle.image_size
    size = bundle.path.stat().st_size
    bands_cascade = cast("Mapping[str, tuple[str, ...]]", config.cascade)  # a mapping after FreqGANConfig.__post_init__
    cascade = "; ".join(f"{band} <- {', '.join(src)}" for band, src in bands_cascade.items()) or "none"
    noise = manifest["noise"]
    lines = [
        f"{bundle.path}  ({size:,} bytes; {manifest['format']} format {manifest['format_version']}, "
        f"written by freqaug {manifest['freqaug_version']})",
        f"image      {h}x{w} (HxW), {bundle.channels} channel(s); z_dim {config.z_dim} "
        f"({len(noise['generators'])} orthogonal blocks of {noise['block_dim']})",
        f"bands      {bundle.spec.describe()}: {len(bundle.spec.band_names)} band generators",
        *_band_lines(bundle),
        f"baseline   {manifest['parameters'][BASELINE]:,} params (full-image generator)",
        f"parameters {manifest['parameters']['total']:,} in total",
        f"alpha      {_numbers(manifest['alpha'])} ({config.alpha})",
        f"cascade    {cascade}; generation order {', '.join(bundle.model.order)}",
        f"noise      seed {noise['seed']}, projection sha256 {noise['sha256'][:16]}...",
        f"weights    {manifest['weights']['count']} float32 tensors, sha256 {manifest['weights']['sha256'][:16]}...",
        f"classes    {manifest['classes'] or 'none (unconditional: synthetic images have no labels)'}",
        "provenance",
        *_provenance_lines(manifest["provenance"]),
    ]
    return "\n".join(lines)
