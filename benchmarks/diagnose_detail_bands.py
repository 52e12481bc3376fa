"""Why generated detail bands look like dense periodic texture: one cascade band GAN, trained alone.

    .venv/bin/python benchmarks/diagnose_detail_bands.py [--band LH2] [--steps 300] [--variants ...]

Real wavelet detail bands are sparse (most coefficients near zero, large ones along edges:
kurtosis 30-100 in the generators' normalised space on CamVid), and where they are large follows
the low band's edges. This trains one detail-band GAN of the default config (its generator takes
the real LL2 as cascade input, its discriminator judges the band given LL2) on CamVid train for
a few hundred steps, once per generator variant, and prints every ``--every`` steps:

* kurtosis of the generated band (real: printed in the header; Gaussian noise: 3);
* alignment: per image, the correlation between the local energy maps (|band| averaged over
  channels and a 3x3 window) of the generated and the real band *for the same LL2*, averaged
  (real vs itself: 1; unrelated images: ~0);
* the discriminator's loss (2 ln 2 = 1.39 when it cannot tell).

Variants (generator only; data, discriminator, optimiser and seeds are the same): ``source``
(the default generator, with its source path: ``NetConfig.source_width``), ``nosource`` (without
it, the generator before that existed), and "+"-joined with ``nonorm`` (pixel norm removed from
its blocks) or ``expand`` (output y mapped to sign(y) y^2).
"""
from __future__ import annotations

import argparse
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from freqaug.bands import BandStatsAccumulator, decompose
from freqaug.data import load_images
from freqaug.models import FreqGAN, FreqGANConfig, NetConfig, build_discriminators
from freqaug.train import d_logistic_loss, diff_augment, g_nonsaturating_loss, r1_penalty

DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "camvid" / "128x96" / "train"


def kurtosis(x: torch.Tensor) -> float:
    x = x - x.mean()
    return (x.pow(4).mean() / x.pow(2).mean().square()).item()


def energy_map(band: torch.Tensor) -> torch.Tensor:
    return F.avg_pool2d(band.abs().mean(1, keepdim=True), 3, stride=1, padding=1).flatten(1)


def alignment(fake: torch.Tensor, real: torch.Tensor) -> float:
    """Mean per-image correlation of the local energy maps of two band batches."""
    a, b = energy_map(fake), energy_map(real)
    a, b = a - a.mean(1, keepdim=True), b - b.mean(1, keepdim=True)
    return (a * b).sum(1).div(a.norm(dim=1) * b.norm(dim=1) + 1e-12).mean().item()


class _Expanded(nn.Module):
    """A generator whose output y becomes sign(y) y^2: Gaussian-like outputs turn heavy-tailed."""

    def __init__(self, generator: nn.Module) -> None:
        super().__init__()
        self.generator = generator

    def forward(self, *args):
        y = self.generator(*args)
        return y.sign() * y.square()


def variant(generator: nn.Module, name: str) -> nn.Module:
    """The generator changed as ``name`` says ("+"-joined parts; source / nosource act in :func:`config_of`)."""
    for part in name.split("+"):
        if part == "nonorm":
            for block in generator.blocks:
                block.norm = nn.Identity()
        elif part == "expand":
            generator = _Expanded(generator)
        elif part not in ("source", "nosource"):
            raise ValueError(f"--variants: unknown part {part!r}; expected source, nosource, nonorm or expand")
    return generator


def config_of(name: str) -> FreqGANConfig:
    """The default config, without the generators' source path when ``name`` has "nosource"."""
    if "nosource" in name.split("+"):
        return FreqGANConfig(generator=NetConfig(source_width=0))
    return FreqGANConfig()


def train_one(name: str, args, real_bands: dict[str, torch.Tensor]) -> None:
    torch.manual_seed(args.seed)
    model = FreqGAN(config_of(name))
    source_names = model.sources(args.band)
    generator = variant(model.generators[args.band], name)
    disc = build_discriminators(model)[args.band]
    opt_g = torch.optim.Adam(generator.parameters(), lr=0.002, betas=(0.0, 0.99))
    opt_d = torch.optim.Adam(disc.parameters(), lr=0.002, betas=(0.0, 0.99))
    target = real_bands[args.band]
    cond_all = torch.cat([real_bands[s] for s in source_names], dim=1)
    rng = torch.Generator().manual_seed(args.seed)
    probe = torch.arange(64)
    probe_noise = torch.randn(64, model.config.noise_block_dim, generator=rng)

    def judge(x, cond):
        cond = F.interpolate(cond, size=x.shape[-2:], mode="bilinear", align_corners=False)
        both = diff_augment(torch.cat([x, cond], 1), ("translation", "cutout"), generator=rng)
        return disc(both[:, : x.shape[1]], both[:, x.shape[1]:])

    start, d_avg = time.perf_counter(), []
    for step in range(1, args.steps + 1):
        index = torch.randint(len(target), (16,), generator=rng)
        real, cond = target[index], cond_all[index]
        noise = torch.randn(16, model.config.noise_block_dim, generator=rng)
        with torch.no_grad():
            fake = generator(noise, cond)
        r1 = step % 4 == 0
        real_in = real.detach().requires_grad_(r1)
        real_logits = judge(real_in, cond)
        d_loss = d_logistic_loss(real_logits, judge(fake, cond))
        if r1:
            d_loss = d_loss + args.r1_gamma / 2 * 4 * r1_penalty(real_logits, real_in)
        opt_d.zero_grad(set_to_none=True)
        d_loss.backward()
        opt_d.step()
        d_avg.append(d_loss.item())
        for p in disc.parameters():
            p.requires_grad_(False)
        g_loss = g_nonsaturating_loss(judge(generator(noise, cond), cond))
        opt_g.zero_grad(set_to_none=True)
        g_loss.backward()
        opt_g.step()
        for p in disc.parameters():
            p.requires_grad_(True)
        if step % args.every == 0:
            with torch.no_grad():
                fake = generator(probe_noise, cond_all[probe])
            print(f"{name:>10} step {step:4d}  kurtosis {kurtosis(fake):6.1f}  alignment "
                  f"{alignment(fake, target[probe]):5.2f}  D loss {sum(d_avg) / len(d_avg):.2f}  "
                  f"({time.perf_counter() - start:.0f} s)", flush=True)
            d_avg = []


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--band", default="LH2")
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--every", type=int, default=50)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--r1-gamma", type=float, default=1.0)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--variants", nargs="+", default=["nosource", "source"])
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    images = load_images(args.data, size=(96, 128)) * 2 - 1
    model = FreqGAN(FreqGANConfig())
    acc = BandStatsAccumulator()
    for batch in images.split(64):
        acc.update(decompose(batch, model.config.spec))
    model.set_band_stats(acc.result())
    with torch.no_grad():
        real_bands = {k: model.normalize_band(k, v) for k, v in decompose(images, model.config.spec).items()}
    probe = real_bands[args.band][:64]
    print(f"{args.band} given {list(model.sources(args.band))}: real kurtosis {kurtosis(probe):.1f}, "
          f"alignment of real with itself 1, with images 32 frames away {alignment(probe, probe.roll(32, 0)):.2f}")
    for name in args.variants:
        train_one(name, args, real_bands)


if __name__ == "__main__":
    main()
