"""Export a training run folder (config.json + checkpoint.safetensors) as a bundle: EMA weights only.

Training writes bundles (the run's last step exports one); the bundle layer knows only the file
format, never the trainer."""
from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

from safetensors.torch import safe_open

from freqaug._files import sha256_file
from freqaug._json import parse_json
from freqaug.bundle.core import build_model, save_bundle
from freqaug.bundle.manifest import BundleError
from freqaug.data import data_summary
from freqaug.models import FreqGAN, FreqGANConfig

__all__ = ["BUNDLE_NAME", "export_run"]

BUNDLE_NAME = "bundle.safetensors"  # what `freqaug train` writes into its run folder
EMA_PREFIX = "ema/"


def _run_config(run_dir: Path) -> tuple[Any, str]:
    """The run's config.json and its sha256 in canonical form (sorted keys, no whitespace)."""
    path = run_dir / "config.json"
    if not path.is_file():
        raise BundleError(f"{path}: run config not found; expected the run folder of `freqaug train`")
    try:
        config = parse_json(path.read_text(), str(path))
    except ValueError as err:
        raise BundleError(str(err)) from None
    return config, hashlib.sha256(json.dumps(config, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def _semantic_segnet_sha256(config: Any) -> str | None:
    """sha256 of the segnet the run's semantic-consistency loss read (None without one, or if it is gone):
    ``freqaug eval`` refuses to score the bundle with that segnet."""
    train = config.get("train") if isinstance(config, dict) else None
    path = train.get("semantic_segnet") if isinstance(train, dict) else None
    return sha256_file(path) if isinstance(path, str) and Path(path).is_file() else None


def _ema_model(checkpoint: Path, meta: dict[str, Any]) -> FreqGAN:
    """The checkpoint's EMA generator, rebuilt from its model config."""
    if "single" in meta.get("step", {}):
        raise BundleError(
            f"{checkpoint}: a single-GAN control run (--single) has no band GAN to export; bundles hold FreqGANs"
        )
    try:
        model = build_model(FreqGANConfig.from_dict(meta["model_config"]))
        with safe_open(str(checkpoint), framework="pt", device="cpu") as handle:
            state = {k[len(EMA_PREFIX):]: handle.get_tensor(k) for k in handle.keys() if k.startswith(EMA_PREFIX)}
        model.load_state_dict(state, strict=True)
    except (KeyError, TypeError, ValueError, RuntimeError) as err:
        raise BundleError(f"{checkpoint}: cannot rebuild the EMA generator ({err})") from None
    return model.eval()


def export_run(
    run_dir: str | os.PathLike[str], out_path: str | os.PathLike[str], *, data: str | os.PathLike[str] | None = None
) -> Path:
    """Write the EMA generator of the run in ``run_dir`` to the bundle ``out_path`` (atomically).

    ``data``, the training data folder, is summarised in the provenance when given.
    """
    from freqaug.train.checkpoint import CHECKPOINT_NAME, CheckpointError, read_checkpoint_meta  # noqa: PLC0415

    run_dir = Path(run_dir)
    checkpoint = run_dir / CHECKPOINT_NAME
    try:
        meta = read_checkpoint_meta(checkpoint)
    except CheckpointError as err:
        raise BundleError(f"{err} (expected the run folder of `freqaug train`)") from None
    config, config_sha256 = _run_config(run_dir)
    provenance = {
        "run": str(run_dir.resolve()),
        "steps": meta.get("step"),
        "run_config_sha256": config_sha256,
        "data": data_summary(data) if data is not None else None,
    }
    semantic = _semantic_segnet_sha256(config)
    if semantic is not None:
        provenance["semantic_segnet_sha256"] = semantic
    return save_bundle(_ema_model(checkpoint, meta), out_path, provenance=provenance)
