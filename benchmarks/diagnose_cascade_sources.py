"""Where a trained run's detail-band energy goes missing: real vs generated cascade sources, EMA vs raw.

    .venv/bin/python benchmarks/diagnose_cascade_sources.py [--run runs/camvid_src] [--n 128]

Loads RUN/checkpoint.safetensors (the trained and the EMA generators) and prints, per band, the
energy of the generated band over that of the real training images' band (denormalised, the same
128 images and target vectors): drawn as when sampling (every cascade generator fed the bands
generated before it) and given the *real* images' source bands (as in stage-1 training with
``cascade_inputs="real"``). A band that is near 1 given real sources but far below it given
generated ones loses its detail to the train / sample mismatch of the cascade, not to the GAN.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import torch
from safetensors.torch import load_file

from freqaug.bands import decompose
from freqaug.data import load_images
from freqaug.models import FreqGAN, FreqGANConfig

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DATA = ROOT.parent / "shared" / "data" / "camvid" / "128x96" / "train"


def load_generators(run: Path, prefix: str) -> FreqGAN:
    """The run's FreqGAN with the ``model/`` (trained) or ``ema/`` weights of its checkpoint."""
    config = FreqGANConfig.from_dict(json.loads((run / "config.json").read_text())["model"])
    state = load_file(run / "checkpoint.safetensors")
    model = FreqGAN(config).eval()
    model.load_state_dict({k[len(prefix):]: v for k, v in state.items() if k.startswith(prefix)})
    return model


@torch.no_grad()
def energy_ratios(model: FreqGAN, real: torch.Tensor, z: torch.Tensor) -> dict[str, tuple[float, float]]:
    """band -> (energy ratio with generated sources, with the real images' sources)."""
    real_bands = {k: model.normalize_band(k, v) for k, v in decompose(real, model.config.spec).items()}
    noises = model.noise(z)
    sampled = model.generate_bands(noises)
    out = {}
    for name in model.band_names:
        given_real = model.generate_band(name, noises[name], real_bands)
        target = model.denormalize_band(name, real_bands[name]).square().mean()
        out[name] = tuple(float(model.denormalize_band(name, b).square().mean() / target)
                          for b in (sampled[name], given_real))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--run", type=Path, default=ROOT / "runs" / "camvid_src")
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--n", type=int, default=128)
    args = parser.parse_args()
    torch.set_num_threads(1)
    if not (args.run / "checkpoint.safetensors").is_file():
        raise SystemExit(f"{args.run}: no checkpoint.safetensors; train a run first (freqaug train --out {args.run})")
    real = load_images(args.data, size=(96, 128), limit=args.n) * 2 - 1
    print("band   energy generated / real: sampled (generated sources) | given real sources")
    for prefix in ("model/", "ema/"):
        model = load_generators(args.run, prefix)
        z = torch.randn(len(real), model.config.z_dim, generator=torch.Generator().manual_seed(0))
        for name, (sampled, given_real) in energy_ratios(model, real, z).items():
            print(f"{prefix:7s}{name:5s} {sampled:6.2f} | {given_real:6.2f}")


if __name__ == "__main__":
    main()
