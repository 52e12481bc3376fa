"""freqaug in a PyTorch Lightning loop: augmentation on the device in ``on_after_batch_transfer``.

    .venv/bin/python examples/lightning_segmentation.py BUNDLE [--data DIR | --drawn] [--steps 40] \\
        [--batch 8] [--mode coarse] [--accelerator auto] [--out lightning_metrics.json]

BUNDLE is a bundle file (``freqaug export RUN OUT.safetensors``; ``make demo`` leaves one in
demo_out/train/bundle.safetensors). A ``LightningDataModule`` serves (image, label map) pairs from
--data (a CamVid-layout folder; default ../shared/data/camvid/128x96/train when it exists) or drawn
street scenes; a ``LightningModule`` trains freqaug's small SegNet on them. Batches reach the module
on its device, and ``on_after_batch_transfer`` -- where the Lightning docs put GPU augmentation --
applies ``FreqAugBatch`` to the training batches only (one generator call per batch, on the GPU when
training there). Labels stay valid in the label-keeping modes (``bands``, ``coarse``,
``blend``). Needs ``pip install 'freqaug[lightning]'``. Writes the logged metrics as JSON and prints them.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from _common import DEFAULT_DATA, scene_dataset  # noqa: E402
from torch.utils.data import DataLoader, Subset  # noqa: E402

try:
    import lightning as L  # noqa: E402
except ImportError:  # pragma: no cover - the example says what to install
    L = None

from freqaug.augment import FreqAugBatch  # noqa: E402
from freqaug.metrics.segnet import SegNet, SegNetConfig, evaluate_segmentation  # noqa: E402

NUM_CLASSES, IGNORE_INDEX = 11, 11  # CamVid


def _require_lightning() -> None:
    if L is None:
        raise SystemExit("examples/lightning_segmentation.py needs PyTorch Lightning: pip install 'freqaug[lightning]'")


def build(args):
    """(data module, lightning module) for the parsed ``args``."""
    _require_lightning()

    class Scenes(L.LightningDataModule):
        def setup(self, stage: str | None = None) -> None:
            scenes = scene_dataset(None if args.drawn else args.data, args.n)
            split = max(1, len(scenes) // 5)
            self.val, self.train = Subset(scenes, range(split)), Subset(scenes, range(split, len(scenes)))

        def train_dataloader(self) -> DataLoader:
            return DataLoader(self.train, batch_size=args.batch, shuffle=True, drop_last=True)

        def val_dataloader(self) -> DataLoader:
            return DataLoader(self.val, batch_size=args.batch)

    class Segmenter(L.LightningModule):
        def __init__(self) -> None:
            super().__init__()
            self.net = SegNet(SegNetConfig(NUM_CLASSES, width=8))
            self.freqaug = FreqAugBatch(args.bundle, mode=args.mode, p=0.5, seed=args.seed)
            self.augmented_batches = 0

        def on_after_batch_transfer(self, batch: dict, dataloader_idx: int) -> dict:
            if self.trainer.training:  # augment training batches on the module's device; never validation
                layouts = batch["label"] if self.freqaug.augmenter.conditional else None  # a conditional bundle's
                batch["image"] = self.freqaug(batch["image"], masks=layouts)
                self.augmented_batches += 1
            return batch

        def training_step(self, batch: dict, batch_idx: int) -> torch.Tensor:
            loss = F.cross_entropy(self.net(batch["image"]), batch["label"], ignore_index=IGNORE_INDEX)
            self.log("train_loss", loss, prog_bar=True)
            return loss

        def validation_step(self, batch: dict, batch_idx: int) -> None:
            scores = evaluate_segmentation(self.net, batch["image"], batch["label"], num_classes=NUM_CLASSES,
                                           ignore_index=IGNORE_INDEX)
            self.log("val_miou", scores["miou"], batch_size=len(batch["image"]))

        def configure_optimizers(self):
            return torch.optim.AdamW(self.parameters(), lr=2e-3)

    return Scenes(), Segmenter()


def main(argv: list[str] | None = None) -> dict:
    from _common import parser

    p = parser(__doc__, n_default=48, out_default="lightning_metrics.json")
    p.add_argument("--steps", type=int, default=40, help="optimiser steps")
    p.add_argument("--batch", type=int, default=8, help="images per batch")
    p.add_argument("--mode", default="coarse", help="freqaug mode (a label-keeping one)")
    p.add_argument("--accelerator", default="auto", help="Lightning accelerator: auto, cpu, gpu")
    args = p.parse_args(argv)
    data, model = build(args)
    L.seed_everything(args.seed, verbose=False)
    trainer = L.Trainer(max_steps=args.steps, accelerator=args.accelerator, devices=1, logger=False,
                        enable_checkpointing=False, enable_progress_bar=False, enable_model_summary=False,
                        val_check_interval=None, check_val_every_n_epoch=None, num_sanity_val_steps=0)
    trainer.fit(model, datamodule=data)
    train_loss = float(trainer.callback_metrics["train_loss"])
    metrics = {k: float(v) for k, v in trainer.validate(model, datamodule=data, verbose=False)[0].items()}
    metrics |= {"train_loss": train_loss, "steps": trainer.global_step, "augmented_batches": model.augmented_batches,
                "device": str(model.device), "mode": args.mode,
                "scenes": str(args.data) if args.data and not args.drawn else "drawn street scenes"}
    args.out.write_text(json.dumps(metrics, indent=1) + "\n")
    print(f"{metrics['steps']} steps on {metrics['device']} with freqaug '{args.mode}' in on_after_batch_transfer "
          f"({metrics['scenes']}): train loss {metrics['train_loss']:.3f}, val mIoU {metrics['val_miou']:.3f}; "
          f"wrote {args.out}")
    return metrics


if __name__ == "__main__":
    main()
