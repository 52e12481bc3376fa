"""How much a generator's output still depends on z during the first training steps.

    .venv/bin/python benchmarks/diagnose_z_dependence.py [--steps 8] [--data ../shared/data/camvid/128x96/train]

Trains the single-GAN control (the baseline generator) and prints, after every step, the
standard deviation across z of each block's activations and of the output (same 16 z each time).
A healthy generator keeps them near their initial values; a collapsing one drives them to ~0
(real CamVid images have a per-image pixel std of ~0.44 in [-1, 1]).
"""
from __future__ import annotations

import argparse
from pathlib import Path

import torch
import torch.nn.functional as F

from freqaug.data import load_images, synthetic_batch
from freqaug.models import FreqGANConfig
from freqaug.train import TrainConfig, Trainer

DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "camvid" / "128x96" / "train"


@torch.no_grad()
def z_spread(generator, z) -> list[float]:
    """Std across the batch of z, averaged over positions, after fc, every block and the output."""
    h = F.leaky_relu(generator.fc(z), 0.2).view(z.shape[0], -1, *generator.start)
    spread = [h.std(0).mean().item()]
    for block in generator.blocks:
        h = block(h, None)
        spread.append(h.std(0).mean().item())
    spread.append(torch.tanh(generator.to_out(h)).std(0).mean().item())
    return spread


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=8)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--lr", type=float, default=2e-4)
    args = parser.parse_args()
    config = FreqGANConfig()
    if (args.data / "images").is_dir():
        images = load_images(args.data, size=config.image_size, limit=64) * 2 - 1
    else:
        images = synthetic_batch(64, size=config.image_size, seed=0)[0] * 2 - 1
    trainer = Trainer(config, TrainConfig(batch_size=16, lr_g=args.lr, lr_d=args.lr, betas=(0.5, 0.99)), images, single=True)
    generator = trainer.model.baseline
    z = torch.randn(16, config.noise_block_dim, generator=torch.Generator().manual_seed(0))
    names = ["fc"] + [f"block{i}" for i in range(len(generator.blocks))] + ["output"]
    print("step  " + "  ".join(f"{n:>7s}" for n in names))
    for step in range(args.steps + 1):
        if step:
            trainer.single_step()
        print(f"{step:4d}  " + "  ".join(f"{v:7.3f}" for v in z_spread(generator, z)))


if __name__ == "__main__":
    main()
