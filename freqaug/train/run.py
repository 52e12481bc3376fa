"""A training run on disk: config.json, checkpoint.safetensors, log.jsonl and sample grids.

Checkpoints are written every ``checkpoint_every`` steps, at the end, and on SIGINT/SIGTERM;
``resume=True`` continues from the run folder's checkpoint with the saved configs.
``stage1_from`` starts a new run at stage 2 with the band GANs of another run's checkpoint.
"""
from __future__ import annotations

import dataclasses
import json
import os
import signal
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

import torch
import torch.distributed as dist
from torch import Tensor

from freqaug._json import parse_json
from freqaug.models import FreqGANConfig
from freqaug.train.checkpoint import (
    CHECKPOINT_NAME, load_checkpoint, load_stage1, read_checkpoint_meta, save_checkpoint,
)
from freqaug.train.trainer import TrainConfig, Trainer

__all__ = ["RunConfig", "save_layout_grid", "train_run"]


@dataclass(frozen=True)
class RunConfig:
    """Model, optimisation and schedule of one run (``config.json`` in the run folder)."""

    model: FreqGANConfig = field(default_factory=FreqGANConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    stage1_steps: int = 300
    stage2_steps: int = 100
    checkpoint_every: int = 200
    sample_every: int = 200
    single: bool = False  # the single-GAN control: the baseline generator alone, stage1 + stage2 steps
    stage1_from: str | None = None  # checkpoint whose band GANs this run's stage 2 starts from (None: omitted)

    def __post_init__(self) -> None:
        if self.stage1_from is not None and not (isinstance(self.stage1_from, str) and self.stage1_from):
            raise ValueError(f"RunConfig.stage1_from: expected null or a checkpoint path, got {self.stage1_from!r}")
        for key in ("stage1_steps", "stage2_steps", "checkpoint_every", "sample_every"):
            value = getattr(self, key)
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ValueError(f"RunConfig.{key}: expected an integer >= 0, got {value!r}")
        if not isinstance(self.single, bool):
            raise ValueError(f"RunConfig.single: expected true or false, got {self.single!r}")

    def to_dict(self) -> dict[str, Any]:
        data = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        if self.stage1_from is None:  # configs of runs that train their own stage 1 stay as they were
            del data["stage1_from"]
        return data | {"model": self.model.to_dict(), "train": self.train.to_dict()}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> RunConfig:
        """Build and validate; unknown fields are named."""
        unknown = sorted(set(data) - {f.name for f in dataclasses.fields(cls)})
        if unknown:
            raise ValueError(f"RunConfig: unknown field(s) {unknown}")
        data = dict(data)
        if "model" in data:
            data["model"] = FreqGANConfig.from_dict(data["model"])
        if "train" in data:
            data["train"] = TrainConfig.from_dict(data["train"])
        return cls(**data)

    @classmethod
    def from_file(cls, path: str | Path) -> RunConfig:
        """Read a JSON config file; errors name the file."""
        path = Path(path)
        try:
            return cls.from_dict(parse_json(path.read_text(), str(path)))
        except FileNotFoundError:
            raise ValueError(f"{path}: config file not found") from None
        except (TypeError, ValueError) as err:
            message = str(err)
            raise ValueError(message if message.startswith(str(path)) else f"{path}: {message}") from None


def saved_run_config(path: Path) -> RunConfig:
    """A run folder's config.json as that run trained: one written before ``band_updates`` existed
    (no such field) meant one update per band, not today's default."""
    config = RunConfig.from_file(path)
    train = parse_json(path.read_text(), str(path)).get("train", {})
    if isinstance(train, Mapping) and "band_updates" not in train:
        config = dataclasses.replace(config, train=dataclasses.replace(config.train, band_updates={}))
    return config


def _write_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


def _append_jsonl(path: Path, record: dict) -> None:
    with open(path, "a") as handle:
        handle.write(json.dumps(record) + "\n")
        handle.flush()
        os.fsync(handle.fileno())


class _StopFlag:
    """Turns SIGINT/SIGTERM into a flag checked after every step (the step in flight finishes)."""

    def __init__(self) -> None:
        self.signal: int | None = None
        self._previous: dict[int, Any] = {}

    def __enter__(self) -> _StopFlag:
        for sig in (signal.SIGINT, signal.SIGTERM):
            self._previous[sig] = signal.signal(sig, self._handle)
        return self

    def _handle(self, signum, frame) -> None:
        self.signal = signum

    def __exit__(self, *exc) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)


def train_run(
    run_dir: str | Path, images: Tensor, config: RunConfig | None = None, *, labels: Tensor | None = None,
    resume: bool = False, device: str = "cpu", progress: bool = True,
) -> Trainer:
    """Train (or resume) the run in ``run_dir`` on ``images`` ((N, C, H, W) in [-1, 1]) and, for a
    conditional model, their label maps ``labels`` ((N, H, W) class ids)."""
    from freqaug.viz import save_sample_grid

    run_dir = Path(run_dir)
    rank = dist.get_rank() if dist.is_available() and dist.is_initialized() else 0
    main_rank = rank == 0  # only rank 0 writes the run folder
    checkpoint = run_dir / CHECKPOINT_NAME
    if resume:
        if not checkpoint.is_file():
            raise ValueError(f"{checkpoint}: --resume given but the run folder has no checkpoint")
        meta = read_checkpoint_meta(checkpoint)
        saved = saved_run_config(run_dir / "config.json")
        if config is not None and config != saved:
            raise ValueError(f"{run_dir / 'config.json'}: differs from the given config; resume uses the run's own")
        config = saved
    else:
        config = config or RunConfig()
        if checkpoint.exists():
            raise ValueError(f"{checkpoint}: the run folder already holds a run; pass --resume or another --out")
    if main_rank:
        run_dir.mkdir(parents=True, exist_ok=True)
        _write_atomic(run_dir / "config.json", json.dumps(config.to_dict(), indent=2, sort_keys=True) + "\n")
    trainer = Trainer(config.model, config.train, images, labels=labels, device=device, single=config.single)
    if resume:
        load_checkpoint(trainer, checkpoint)
        print(f"resumed from {checkpoint} at {meta['step']}")
    elif config.stage1_from is not None:
        _start_from_stage1(trainer, config)
    fixed_z = trainer.model.sample_z(8, generator=torch.Generator(trainer.device).manual_seed(12345))
    if trainer.labels is not None:  # each drawn with one of the fixed z
        fixed_z = fixed_z[: len(trainer.labels)]

    def after_step(record: dict) -> bool:
        done = sum(trainer.step.values())
        if main_rank:
            _append_jsonl(run_dir / "log.jsonl", record)
            if config.checkpoint_every and done % config.checkpoint_every == 0:
                save_checkpoint(trainer, checkpoint)
            if config.sample_every and done % config.sample_every == 0:
                _samples(trainer, fixed_z, run_dir / "samples" / f"step_{done:06d}.png", save_sample_grid)
        return _any_rank(stop.signal is not None, trainer.device)

    with _StopFlag() as stop:
        trainer.fit(config.stage1_steps, config.stage2_steps, progress=progress and main_rank, callback=after_step)
    if main_rank:
        save_checkpoint(trainer, checkpoint)
        _samples(trainer, fixed_z, run_dir / "samples" / "latest.png", save_sample_grid)
    if dist.is_available() and dist.is_initialized():
        dist.barrier()  # no rank tears the group down while rank 0 is still writing
    if stop.signal is not None:
        raise KeyboardInterrupt(f"stopped by signal {stop.signal}; checkpoint saved to {checkpoint}")
    return trainer


def _start_from_stage1(trainer: Trainer, config: RunConfig) -> None:
    """Load another run's band GANs; its stage-1 step count must be the config's (one source of truth)."""
    meta = load_stage1(trainer, config.stage1_from)
    if trainer.step["stage1"] != config.stage1_steps:
        raise ValueError(f"RunConfig.stage1_steps = {config.stage1_steps}, but the stage 1 of {config.stage1_from} has "
                         f"{trainer.step['stage1']} steps; set it to {trainer.step['stage1']}")
    print(f"stage 1 from {config.stage1_from} ({meta['step']['stage1']} steps); training stage 2")


def _any_rank(flag: bool, device) -> bool:
    """True on every rank when ``flag`` is true on any (so all ranks stop after the same step)."""
    if not (dist.is_available() and dist.is_initialized()):
        return flag
    value = torch.tensor([float(flag)], device=device)
    dist.all_reduce(value, op=dist.ReduceOp.MAX)
    return bool(value.item())


@torch.no_grad()
def _samples(trainer: Trainer, z: Tensor, path: Path, save) -> None:
    # training pairs spread over the set (neighbouring video frames look alike)
    index = torch.linspace(0, len(trainer.images) - 1, len(z)).round().long().to(trainer.device)
    labels = None if trainer.labels is None else trainer.labels[index]
    if trainer.single:
        from torchvision.utils import save_image

        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.tmp")
        ema = trainer.ema
        save_image(ema.baseline_image(ema.noise(z)["baseline"], ema.one_hot(labels)) * 0.5 + 0.5, tmp, nrow=8,
                   format="png")
        os.replace(tmp, path)
        return
    output = trainer.ema(z, labels)
    save(output, trainer.ema.config.spec, path)
    if labels is not None:
        save_layout_grid(labels, output.image, trainer.images[index], trainer.ema.config.layout.classes,
                         path.with_name(f"{path.stem}_layouts.png"))


def save_layout_grid(labels: Tensor, generated: Tensor, real: Tensor, classes, path: Path) -> Path:
    """Three rows as one PNG: the colourised label maps, the images generated from them, the real
    images they belong to (images in [-1, 1])."""
    from freqaug.data import colorize_images
    from freqaug.viz import save_image_grid

    rows = [colorize_images(labels, classes), generated.detach().cpu() * 0.5 + 0.5, real.detach().cpu() * 0.5 + 0.5]
    return save_image_grid(torch.cat(rows), path, nrow=len(labels), title="layout / generated / real")
