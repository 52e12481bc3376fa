"""Watching a training run with the tools teams already use: callbacks and TensorBoard.

A *callback* is any callable ``callback(record, trainer)`` that :func:`freqaug.train.run.train_run`
calls after every optimiser step (on rank 0 only): ``record`` is the step's log line (``stage``,
``step`` and the losses, as in ``log.jsonl``) and ``trainer`` the :class:`~freqaug.train.Trainer`
(its ``step`` counters, ``ema`` model, ...). Returning True stops the run as a signal would: the
checkpoint is saved and the run can be resumed. :class:`TensorBoardLogger` is one such callback.
"""
from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Callable, Protocol

import torch

__all__ = ["TensorBoardLogger", "TrainCallback"]

log = logging.getLogger("freqaug.train")


class TrainCallback(Protocol):
    def __call__(self, record: dict[str, Any], trainer: Any) -> bool | None: ...


class TensorBoardLogger:
    """Write a run's losses, blend weight alpha and sample grids as TensorBoard event files.

    Scalars ``{stage}/{loss}`` (``stage1/d1``, ``stage2/g2``, ...) and ``alpha`` (the mean blend weight)
    every step, at the global step (stage-1 + stage-2 steps); ``samples``: ``n_images`` images of
    the EMA generator from fixed target vectors every ``image_every`` steps (0: never). Needs the
    ``tensorboard`` package (``pip install 'freqaug[tensorboard]'``); view with ``tensorboard --logdir``.
    """

    def __init__(self, log_dir: str | Path, *, image_every: int = 200, n_images: int = 8,
                 sample: Callable[[Any, int], torch.Tensor] | None = None) -> None:
        try:
            from torch.utils.tensorboard import SummaryWriter
        except ImportError as err:  # torch's writer needs the tensorboard package
            raise ImportError("TensorBoard logging needs the tensorboard package: pip install 'freqaug[tensorboard]' "
                              f"({err})") from None
        self.log_dir = Path(log_dir)
        self.writer = SummaryWriter(str(self.log_dir))
        self.image_every = image_every
        self.n_images = n_images
        self._sample = sample

    def __call__(self, record: dict[str, Any], trainer: Any) -> None:
        step = sum(trainer.step.values())
        for key, value in record.items():
            if isinstance(value, float):
                self.writer.add_scalar(f"{record['stage']}/{key}", value, step)
        self.writer.add_scalar("alpha", float(trainer.ema.blend.alpha.detach().float().mean()), step)
        if self.image_every and step % self.image_every == 0 and self._sample is not None:
            images = self._sample(trainer, self.n_images)
            self.writer.add_images("samples", images.clamp(0, 1).cpu(), step)
        self.writer.flush()

    def close(self) -> None:
        self.writer.close()
