"""Resume state of a training run: one safetensors file, written atomically, never unpickled.

Tensors (model, EMA, discriminators, optimiser moments, RNG state) are safetensors entries; the
rest (format version, configs, step counters, optimiser scalars) is JSON in the file's metadata.
Loading restores *everything* saved, so N steps + resume + N steps equals 2N steps.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file

from freqaug._files import write_tensors

if TYPE_CHECKING:
    from freqaug.train.trainer import Trainer

__all__ = [
    "CHECKPOINT_NAME", "CheckpointError", "STAGE2_FIELDS", "load_checkpoint", "load_stage1", "read_checkpoint_meta",
    "save_checkpoint",
]

FORMAT = "freqaug-checkpoint"
STAGE2_FIELDS = ("baseline_input", "alpha", "alpha_init")  # model settings stage 1 does not depend on
STAGE2_MODULES = ("baseline.", "blend.", "image.")  # parameter prefixes that stage 2 trains from new
VERSION = 1
CHECKPOINT_NAME = "checkpoint.safetensors"


class CheckpointError(ValueError):
    """A checkpoint is missing, damaged or does not fit the trainer; the message names the file."""


def _modules(trainer: Trainer) -> dict[str, torch.nn.Module]:
    return {"model": trainer.model, "ema": trainer.ema, "disc": trainer.discriminators}


def save_checkpoint(trainer: Trainer, path: str | Path) -> Path:
    """Write the trainer's full state to ``path`` (temp file + fsync + rename)."""
    path = Path(path)
    tensors: dict[str, torch.Tensor] = {}
    for prefix, module in _modules(trainer).items():
        for key, value in module.state_dict().items():
            tensors[f"{prefix}/{key}"] = value.detach().cpu().contiguous()
    optimizer_meta = {}
    for name, opt in trainer.opt.items():
        state = opt.state_dict()
        scalars = {}
        for index, entry in state["state"].items():
            for key, value in entry.items():
                if isinstance(value, torch.Tensor):
                    tensors[f"opt/{name}/{index}/{key}"] = value.detach().cpu().contiguous()
                else:
                    scalars[f"{index}/{key}"] = value
        optimizer_meta[name] = {"params": sorted(state["state"]), "scalars": scalars}
    tensors["rng/trainer"] = trainer.rng.get_state().cpu()
    meta = {
        "format": FORMAT,
        "version": VERSION,
        "step": trainer.step,
        "model_config": trainer.model.config.to_dict(),
        "train_config": trainer.config.to_dict(),
        "optimizers": optimizer_meta,
    }
    return write_tensors(path, tensors, {"freqaug": json.dumps(meta)})


def read_checkpoint_meta(path: str | Path) -> dict:
    """The JSON metadata of a checkpoint (configs, steps), checked for format and version."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{path}: no checkpoint file")
    try:
        from safetensors import safe_open

        with safe_open(str(path), framework="pt") as handle:
            raw = (handle.metadata() or {}).get("freqaug")
    except (SafetensorError, OSError) as err:
        raise CheckpointError(f"{path}: not a readable safetensors file ({err})") from None
    if raw is None:
        raise CheckpointError(f"{path}: metadata field 'freqaug' missing; not a freqaug checkpoint")
    meta = json.loads(raw)
    if meta.get("format") != FORMAT or meta.get("version") != VERSION:
        raise CheckpointError(
            f"{path}: format {meta.get('format')!r} version {meta.get('version')!r}; this freqaug reads "
            f"{FORMAT!r} version {VERSION}"
        )
    return meta


def _read_tensors(path: Path, device: torch.device) -> dict[str, torch.Tensor]:
    """Every tensor of a checkpoint file on ``device``; a damaged file is a CheckpointError naming it."""
    try:
        return load_file(str(path), device=str(device))
    except (SafetensorError, OSError) as err:
        raise CheckpointError(f"{path}: cannot read tensors ({err})") from None


def _module_state(tensors: dict[str, torch.Tensor], prefix: str) -> dict[str, torch.Tensor]:
    """The entries of ``prefix/`` (a module of :func:`_modules`) with the prefix dropped."""
    return {k[len(prefix) + 1:]: v for k, v in tensors.items() if k.startswith(prefix + "/")}


def load_checkpoint(trainer: Trainer, path: str | Path) -> dict:
    """Restore a trainer built from the checkpoint's configs; returns the metadata."""
    path = Path(path)
    meta = read_checkpoint_meta(path)
    if set(meta["step"]) != set(trainer.step):
        kind = "single-GAN control" if "single" in meta["step"] else "band GAN"
        raise CheckpointError(f"{path}: a {kind} checkpoint (stages {sorted(meta['step'])}) does not fit this trainer")
    if meta["model_config"] != trainer.model.config.to_dict():
        raise CheckpointError(f"{path}: model_config differs from the trainer's; build the trainer from it")
    tensors = _read_tensors(path, trainer.device)
    for prefix, module in _modules(trainer).items():
        try:
            module.load_state_dict(_module_state(tensors, prefix), strict=True)
        except RuntimeError as err:
            raise CheckpointError(f"{path}: tensors of {prefix!r} do not fit ({err})") from None
    for name, opt in trainer.opt.items():
        info = meta["optimizers"][name]
        state = {}
        for index in info["params"]:
            entry = {k.split("/", 1)[1]: v for k, v in info["scalars"].items() if k.split("/", 1)[0] == str(index)}
            prefix = f"opt/{name}/{index}/"
            entry.update({k[len(prefix):]: v for k, v in tensors.items() if k.startswith(prefix)})
            state[int(index)] = entry
        opt.load_state_dict({"state": state, "param_groups": opt.state_dict()["param_groups"]})
    trainer.rng.set_state(tensors["rng/trainer"].cpu())
    trainer.step = {k: int(v) for k, v in meta["step"].items()}
    return meta


def load_stage1(trainer: Trainer, path: str | Path) -> dict:
    """Start ``trainer``'s stage 2 from the band GANs of another run's checkpoint, so stage-2 settings
    can be compared on one stage 1: band generators (and their EMA), band statistics, noise matrix and
    band discriminators come from ``path``; the baseline generator, the blend and the image
    discriminator stay new. The model configs may differ only in :data:`STAGE2_FIELDS`. Returns the metadata."""
    path = Path(path)
    meta = read_checkpoint_meta(path)
    if trainer.single or "stage1" not in meta["step"]:
        raise CheckpointError(f"{path}: load_stage1 needs a band-GAN checkpoint and a band-GAN trainer")
    if trainer.step != {"stage1": 0, "stage2": 0}:
        raise CheckpointError(f"{path}: load_stage1 needs a new trainer; this one is at {trainer.step}")
    ours = {k: v for k, v in trainer.model.config.to_dict().items() if k not in STAGE2_FIELDS}
    theirs = {k: v for k, v in meta["model_config"].items() if k not in STAGE2_FIELDS}
    differ = sorted(k for k in ours.keys() | theirs.keys() if ours.get(k) != theirs.get(k))
    if differ:
        raise CheckpointError(f"{path}: model_config differs in {differ}; only {list(STAGE2_FIELDS)} may differ "
                              "from the run whose stage 1 is reused")
    tensors = _read_tensors(path, trainer.device)
    for prefix, module in _modules(trainer).items():
        fresh = {k for k in module.state_dict() if k.startswith(STAGE2_MODULES)}
        state = {k: v for k, v in _module_state(tensors, prefix).items() if not k.startswith(STAGE2_MODULES)}
        missing, unexpected = module.load_state_dict(state, strict=False)
        if set(missing) - fresh or unexpected:
            raise CheckpointError(f"{path}: tensors of {prefix!r} do not fit (missing {sorted(set(missing) - fresh)[:5]}, "
                                  f"unexpected {sorted(unexpected)[:5]})")
    trainer.step["stage1"] = int(meta["step"]["stage1"])
    return meta
