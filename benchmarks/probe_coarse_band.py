"""How the coarse band GAN learns a scene's layout with more updates: LL2 trained alone.

    .venv/bin/python benchmarks/probe_coarse_band.py --config runs/camvid_src/config.json \
        --updates 450 1200 2400 3600 [--out benchmarks/results/band_updates]

Trains the GAN of one band (``--band``, default the coarse band) of a run config alone on
CamVid train, with the config's losses, augmentation and EMA, and at each count in ``--updates``
scores the EMA generator's band (as many samples as ``--data`` holds, fixed noise) against the real
band of ``--data`` by SWD (2 pyramid levels at the band's size, 1 below 14 pixels) and draws it as
an image with every other band zero (top row: real). Writes ``coarse_band.json``, ``coarse_band.md`` and
``coarse_band_<updates>.png``. The question it answers: is the coarse band's quality limited by its
number of updates, which ``TrainConfig.band_updates`` can raise at a small cost per step?
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch
import torchvision.utils as vutils
from tqdm.auto import tqdm

from freqaug._files import write_atomic
from freqaug.bands import compose, decompose
from freqaug.data import load_images
from freqaug.metrics import swd
from freqaug.train.run import RunConfig
from freqaug.train.trainer import Trainer

ROOT = Path(__file__).resolve().parents[1]
CAMVID = ROOT.parent / "shared" / "data" / "camvid" / "128x96"


def band_as_image(band: torch.Tensor, name: str, like: dict[str, torch.Tensor], spec) -> torch.Tensor:
    """The image whose band ``name`` is ``band`` and whose other bands are zero, in [0, 1]."""
    bands = {k: band if k == name else band.new_zeros(band.shape[0], *v.shape[1:]) for k, v in like.items()}
    return ((compose(bands, spec) + 1) / 2).clamp(0, 1)


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", type=Path, required=True, help="a run's config.json (model and training settings)")
    parser.add_argument("--band", default=None, help="the band to train alone (default: the coarse band, BandSpec.coarse_band)")
    parser.add_argument("--updates", type=int, nargs="+", default=[450, 1200, 2400, 3600])
    parser.add_argument("--train", type=Path, default=CAMVID / "train")
    parser.add_argument("--data", type=Path, default=CAMVID / "val", help="real images the samples are scored against")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "band_updates")
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    config = RunConfig.from_file(args.config)
    size = config.model.image_size
    train = load_images(args.train, size=size) * 2 - 1
    real = load_images(args.data, size=size) * 2 - 1
    trainer = Trainer(config.model, config.train, train)
    name = args.band or trainer.model.config.spec.coarse_band
    if name not in trainer.model.band_names:
        raise SystemExit(f"--band {name}: the model has bands {list(trainer.model.band_names)}")
    spec = config.model.spec
    real_bands = decompose(real, spec)
    levels = 2 if min(real_bands[name].shape[-2:]) >= 14 else 1  # SWD's 7x7 patches must fit the coarser level
    noise = torch.randn(len(real), config.model.noise_block_dim, generator=torch.Generator().manual_seed(123))
    args.out.mkdir(parents=True, exist_ok=True)
    rows, start = [], time.perf_counter()
    for update in tqdm(range(1, max(args.updates) + 1), desc=f"{name} alone", unit="update"):
        trainer.band_step([name])  # this band's D and G only
        if update not in args.updates:
            continue
        with torch.no_grad():
            fake = trainer.ema.denormalize_band(name, trainer.ema.generate_band(name, noise, {}, None))
        score = swd(real_bands[name], fake, levels=levels)
        rows.append({"updates": update, "seconds": round(time.perf_counter() - start, 1),
                     "swd_mean": score["mean"], "swd_finest": score["level0"], "swd_coarse": score.get("level1")})
        tqdm.write(json.dumps(rows[-1]))
        grid = torch.cat([band_as_image(real_bands[name][:8], name, real_bands, spec),
                          band_as_image(fake[:16], name, real_bands, spec)])
        vutils.save_image(grid, args.out / f"coarse_band_{update:05d}.png", nrow=8, padding=2)
    result = {"config": str(args.config), "band": name, "train": str(args.train), "data": str(args.data),
              "threads": args.threads, "rows": rows}
    write_atomic(args.out / "coarse_band.json", (json.dumps(result, indent=1) + "\n").encode())
    lines = [f"# {name} GAN trained alone ({args.config})", "",
             f"SWD x1e3 of the EMA generator's {name} against {args.data} ({len(real)} images; {levels} level(s) at the "
             f"band's size; lower is better). {args.threads} thread(s).", "",
             "| updates | seconds | SWD mean | finest | coarse |", "|---|---|---|---|---|"]
    lines += [f"| {r['updates']} | {r['seconds']} | {r['swd_mean']:.1f} | {r['swd_finest']:.1f} | "
              f"{'-' if r['swd_coarse'] is None else format(r['swd_coarse'], '.1f')} |"
              for r in rows]
    write_atomic(args.out / "coarse_band.md", ("\n".join(lines) + "\n").encode())
    return result


if __name__ == "__main__":
    main()
