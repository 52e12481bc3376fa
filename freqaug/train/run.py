"""A training run on disk: config.json, checkpoint.safetensors, log.jsonl and sample grids.

Checkpoints are written every ``checkpoint_every`` steps, at the end, and on SIGINT/SIGTERM;
``resume=True`` continues from the run folder's checkpoint with the saved configs. The single-GAN
control and stage-2 comparisons on one stage 1 are experiments: the benchmarks build their
``Trainer`` themselves (``benchmarks/bench_band_vs_single.py``), a run config does not carry them.
"""
from __future__ import annotations

import dataclasses
import json
import logging
import os
import signal
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

import torch
import torch.distributed as dist
from torch import Tensor

from freqaug._files import atomic_output, write_atomic
from freqaug._json import known_fields, parse_json
from freqaug.train.observe import TrainCallback
from freqaug.models import FreqGANConfig
from freqaug.train.checkpoint import (
    CHECKPOINT_NAME, load_checkpoint, read_checkpoint_meta, save_checkpoint,
)
from freqaug.train.trainer import TrainConfig, Trainer

log = logging.getLogger("freqaug.train")

__all__ = ["RunConfig", "SampleWriter", "sample_images", "save_layout_grid", "save_samples", "train_run"]

SampleWriter = Callable[[Trainer, Path], None]
"""``on_sample(trainer, path)``: what :func:`train_run` calls at its sample points (e.g. :func:`save_samples`)."""


@dataclass(frozen=True)
class RunConfig:
    """Model, optimisation and schedule of one run (``config.json`` in the run folder)."""

    model: FreqGANConfig = field(default_factory=FreqGANConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    stage1_steps: int = 300
    stage2_steps: int = 100
    checkpoint_every: int = 200
    sample_every: int = 200

    def __post_init__(self) -> None:
        for key in ("stage1_steps", "stage2_steps", "checkpoint_every", "sample_every"):
            value = getattr(self, key)
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ValueError(f"RunConfig.{key}: expected an integer >= 0, got {value!r}")

    def to_dict(self) -> dict[str, Any]:
        data = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        return data | {"model": self.model.to_dict(), "train": self.train.to_dict()}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> RunConfig:
        """Build and validate; unknown fields are named. A config.json written before the experiment
        controls left (``single: false``) loads; one of such an experiment is refused, naming it."""
        if isinstance(data, Mapping) and "single" in data:
            data = dict(data)
            if data.pop("single") is not False:
                raise ValueError("RunConfig.single: the single-GAN control is an experiment, no longer a run config; "
                                 "benchmarks/bench_band_vs_single.py trains it")
        if isinstance(data, Mapping) and "stage1_from" in data:
            raise ValueError("RunConfig.stage1_from: starting stage 2 from another run's band GANs is an experiment, no "
                             "longer a run config (freqaug.train.load_stage1 on a new Trainer does it)")
        data = known_fields(data, cls, "RunConfig")
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
    write_atomic(path, text.encode())


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
    resume: bool = False, device: str = "cpu", progress: bool = True, callbacks: Sequence[TrainCallback] = (),
    on_sample: SampleWriter | None = None,
) -> Trainer:
    """Train (or resume) the run in ``run_dir`` on ``images`` ((N, C, H, W) in [-1, 1]) and, for a
    conditional model, their label maps ``labels`` ((N, H, W) class ids).

    ``resume`` continues from the run's checkpoint with the run's own config.json; a ``config`` that
    differs from it only in larger ``stage1_steps`` / ``stage2_steps`` extends the run (stage 1 only
    while stage 2 has not started), and config.json records the new totals. ``callbacks``
    (:mod:`freqaug.train.observe`) see every step's record on rank 0; one returning True stops the
    run with its checkpoint saved. ``on_sample(trainer, path)`` is called every ``sample_every`` steps
    and at the end with ``RUN/samples/step_NNNNNN.png`` / ``latest.png``: training draws no picture
    itself (the CLI passes :func:`save_samples`)."""
    run_dir = Path(run_dir)
    rank = dist.get_rank() if dist.is_available() and dist.is_initialized() else 0
    main_rank = rank == 0  # only rank 0 writes the run folder
    checkpoint = run_dir / CHECKPOINT_NAME
    if resume:
        if not checkpoint.is_file():
            raise ValueError(f"{checkpoint}: --resume given but the run folder has no checkpoint")
        meta = read_checkpoint_meta(checkpoint)
        saved = saved_run_config(run_dir / "config.json")
        config = saved if config is None else _extended(run_dir / "config.json", saved, config, meta["step"])
    else:
        config = config or RunConfig()
        if checkpoint.exists():
            raise ValueError(f"{checkpoint}: the run folder already holds a run; pass --resume or another --out")
    if main_rank:
        run_dir.mkdir(parents=True, exist_ok=True)
        _write_atomic(run_dir / "config.json", json.dumps(config.to_dict(), indent=2, sort_keys=True) + "\n")
    trainer = Trainer(config.model, config.train, images, labels=labels, device=device)
    if resume:
        load_checkpoint(trainer, checkpoint)
        log.info("resumed from %s at %s", checkpoint, meta["step"])

    def after_step(record: dict) -> bool:
        done = sum(trainer.step.values())
        asked = False
        if main_rank:
            _append_jsonl(run_dir / "log.jsonl", record)
            if config.checkpoint_every and done % config.checkpoint_every == 0:
                save_checkpoint(trainer, checkpoint)
            if on_sample is not None and config.sample_every and done % config.sample_every == 0:
                on_sample(trainer, run_dir / "samples" / f"step_{done:06d}.png")
            asked = any([bool(callback(record, trainer)) for callback in callbacks])  # every callback sees the step
        return _any_rank(stop.signal is not None or asked, trainer.device)

    with _StopFlag() as stop:
        trainer.fit(config.stage1_steps, config.stage2_steps, progress=progress and main_rank, callback=after_step)
    if main_rank:
        save_checkpoint(trainer, checkpoint)
        if on_sample is not None:
            on_sample(trainer, run_dir / "samples" / "latest.png")
    if dist.is_available() and dist.is_initialized():
        dist.barrier()  # no rank tears the group down while rank 0 is still writing
    if stop.signal is not None:
        raise KeyboardInterrupt(f"stopped by signal {stop.signal}; checkpoint saved to {checkpoint}")
    return trainer


def _extended(path: Path, saved: RunConfig, config: RunConfig, done: Mapping[str, int]) -> RunConfig:
    """``config`` if it is the run's ``saved`` config with stage totals no smaller than the steps ``done``
    (stage 1 unchanged once stage 2 has begun); anything else is refused naming the field."""
    totals: dict[str, Any] = {"stage1_steps": config.stage1_steps, "stage2_steps": config.stage2_steps}
    if dataclasses.replace(saved, **totals) != config:
        raise ValueError(f"{path}: differs from the given config; resume uses the run's own (only stage1_steps and "
                         "stage2_steps may grow, to extend the run)")
    for key, stage in (("stage1_steps", "stage1"), ("stage2_steps", "stage2")):
        if totals[key] < done.get(stage, 0):
            raise ValueError(f"--{key.replace('_', '-')} {totals[key]}: the run has done {done[stage]} {stage} steps; "
                             "a resumed run can extend, not shorten")
    if config.stage1_steps != saved.stage1_steps and done.get("stage2", 0) > 0:
        raise ValueError(f"--stage1-steps {config.stage1_steps}: stage 2 has begun ({done['stage2']} steps) on "
                         f"{saved.stage1_steps} stage-1 steps; only --stage2-steps can extend this run")
    if config != saved:
        log.info("extending %s: stage 1 %d -> %d steps, stage 2 %d -> %d steps", path.parent, saved.stage1_steps,
                 config.stage1_steps, saved.stage2_steps, config.stage2_steps)
    return config


def _any_rank(flag: bool, device) -> bool:
    """True on every rank when ``flag`` is true on any (so all ranks stop after the same step)."""
    if not (dist.is_available() and dist.is_initialized()):
        return flag
    value = torch.tensor([float(flag)], device=device)
    dist.all_reduce(value, op=dist.ReduceOp.MAX)
    return bool(value.item())


def _sample_index(trainer: Trainer, n: int) -> Tensor:
    """``n`` training pairs spread over the set (neighbouring video frames look alike)."""
    return torch.linspace(0, len(trainer.images) - 1, n).round().long().to(trainer.device)


def _sample_labels(trainer: Trainer, n: int) -> Tensor | None:
    """Layouts of the :func:`_sample_index` pairs, or None for an unconditional model."""
    return None if trainer.labels is None else trainer.labels[_sample_index(trainer, n)]


def _fixed_z(trainer: Trainer, n: int) -> Tensor:
    """The run's fixed target vectors of its sample grids (at most one per training pair of a conditional model)."""
    z = trainer.model.sample_z(n, generator=torch.Generator(trainer.device).manual_seed(12345))
    return z if trainer.labels is None else z[: len(trainer.labels)]


@torch.no_grad()
def sample_images(trainer: Trainer, n: int = 8) -> Tensor:
    """``n`` images in [0, 1] of the trainer's EMA generator from the run's fixed target vectors."""
    z = _fixed_z(trainer, n)
    labels, ema = _sample_labels(trainer, len(z)), trainer.ema
    if trainer.single:
        return ema.baseline_image(ema.noise(z)["baseline"], ema.one_hot(labels)) * 0.5 + 0.5
    return ema(z, labels).image * 0.5 + 0.5


@torch.no_grad()
def save_samples(trainer: Trainer, path: Path, n: int = 8) -> None:
    """The run's sample pictures at ``path`` (an ``on_sample`` for :func:`train_run`): the EMA generator's
    images from the fixed target vectors with their bands (``freqaug.viz.save_sample_grid``), and for
    a conditional model ``*_layouts.png`` (layout / generated / real); the single control: its images."""
    from freqaug.viz import save_sample_grid

    z = _fixed_z(trainer, n)
    if trainer.single:
        from torchvision.utils import save_image

        path.parent.mkdir(parents=True, exist_ok=True)
        with atomic_output(path) as tmp:
            save_image(sample_images(trainer, len(z)), tmp, nrow=8, format="png")
        return
    labels = _sample_labels(trainer, len(z))
    output = trainer.ema(z, labels)
    save_sample_grid(output, trainer.ema.config.spec, path)
    if labels is not None:
        assert trainer.ema.config.layout is not None  # label maps: a conditional model
        save_layout_grid(labels, output.image, trainer.images[_sample_index(trainer, len(z))],
                         trainer.ema.config.layout.classes,
                         path.with_name(f"{path.stem}_layouts.png"))


def save_layout_grid(labels: Tensor, generated: Tensor, real: Tensor, classes, path: Path) -> Path:
    """Three rows as one PNG: the colourised label maps, the images generated from them, the real
    images they belong to (images in [-1, 1])."""
    from freqaug.data import colorize_images
    from freqaug.viz import save_image_grid

    rows = [colorize_images(labels, classes), generated.detach().cpu() * 0.5 + 0.5, real.detach().cpu() * 0.5 + 0.5]
    return save_image_grid(torch.cat(rows), path, nrow=len(labels), title="layout / generated / real")
