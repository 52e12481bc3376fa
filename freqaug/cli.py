"""The ``freqaug`` command line: one entry point, one sub-command per job."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path


def _demo(args: argparse.Namespace) -> int:
    from freqaug.demo import run_demo

    report = run_demo(args.out, data=args.data, n=args.n, seed=args.seed, train_steps=tuple(args.train_steps))
    print(f"source: {report['source']}")
    for name, entry in report["specs"].items():
        err = entry["max_rel_error"]
        print(f"{name:8s} round trip {entry['round_trip_ms_float32']:7.1f} ms  "
              f"max rel error float32 {err['float32']:.1e}  float64 {err['float64']:.1e}")
    if "training" in report:
        t = report["training"]
        print(f"trained {t['steps']} steps on {t['source']} in {t['seconds']} s; samples: {t['samples']}")
    print(f"wrote {', '.join(sorted(p.name for p in args.out.iterdir() if not p.name.startswith('.')))} to {args.out}/")
    return 0


def _train(args: argparse.Namespace) -> int:
    import dataclasses

    from freqaug.data import load_images
    from freqaug.train.run import RunConfig, train_run

    config = None
    if not args.resume:
        config = RunConfig.from_file(args.config) if args.config else RunConfig()
        overrides = {k: v for k, v in (("stage1_steps", args.stage1_steps), ("stage2_steps", args.stage2_steps)) if v is not None}
        if args.single:
            overrides["single"] = True
        config = dataclasses.replace(config, **overrides)
    elif args.config or args.single or args.stage1_steps is not None or args.stage2_steps is not None:
        print("freqaug train: --resume continues with the run's own config.json; drop --config/--stage*-steps",
              file=sys.stderr)
        return 2
    size = (config.model.image_size if config else _saved_size(args.out))
    images = load_images(args.data, size=size, skip_bad=args.skip_bad) * 2 - 1
    device = _init_distributed(args.device)
    try:
        trainer = train_run(args.out, images, config, resume=args.resume, device=device)
    except KeyboardInterrupt as stop:
        print(f"freqaug train: {stop}", file=sys.stderr)
        return 130
    finally:
        import torch.distributed as dist

        if dist.is_initialized():
            dist.destroy_process_group()
    print(f"trained to {trainer.step}; run folder {args.out}/ (checkpoint.safetensors, log.jsonl, samples/)")
    return 0


def _init_distributed(device: str) -> str:
    """Under torchrun (WORLD_SIZE > 1) join the process group: NCCL on CUDA, gloo on the CPU."""
    import os

    import torch
    import torch.distributed as dist

    if int(os.environ.get("WORLD_SIZE", "1")) <= 1:
        return device
    if device.startswith("cuda"):
        local_rank = int(os.environ.get("LOCAL_RANK", "0"))
        torch.cuda.set_device(local_rank)
        dist.init_process_group("nccl")
        return f"cuda:{local_rank}"
    dist.init_process_group("gloo")
    return device


def _saved_size(run_dir: Path) -> tuple[int, int]:
    from freqaug.train.run import RunConfig

    config = run_dir / "config.json"
    if not config.is_file():
        raise ValueError(f"{config}: --resume needs the run folder of an earlier run")
    return RunConfig.from_file(config).model.image_size


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="freqaug", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    demo = sub.add_parser("demo", help="decompose driving scenes into bands; write PNGs and JSON")
    demo.add_argument("--out", type=Path, default=Path("demo_out"), help="output folder (default demo_out)")
    demo.add_argument("--data", type=Path, default=None,
                      help="folder with images/ (default: ../shared/data/camvid/256x192/train, else drawn scenes)")
    demo.add_argument("--n", type=int, default=8, help="number of scenes (default 8)")
    demo.add_argument("--seed", type=int, default=0, help="seed of the drawn scenes (default 0)")
    demo.add_argument("--train-steps", type=int, nargs=2, default=(80, 40), metavar=("STAGE1", "STAGE2"),
                      help="steps of the short demo training (default 80 40; 0 0 skips it)")
    demo.set_defaults(func=_demo)

    train = sub.add_parser("train", help="train a FreqGAN on a folder of images (stage 1 bands, stage 2 blend)")
    train.add_argument("--data", type=Path, required=True, help="folder with images/ (e.g. camvid/128x96/train)")
    train.add_argument("--out", type=Path, required=True, help="run folder: config.json, checkpoint, log, samples")
    train.add_argument("--config", type=Path, default=None, help="RunConfig JSON (model, train, steps)")
    train.add_argument("--stage1-steps", type=int, default=None, help="total stage-1 steps (overrides the config)")
    train.add_argument("--stage2-steps", type=int, default=None, help="total stage-2 steps (overrides the config)")
    train.add_argument("--resume", action="store_true", help="continue the run in --out from its checkpoint")
    train.add_argument("--single", action="store_true",
                       help="train the single-GAN control: the baseline generator alone on full images")
    train.add_argument("--device", default="cpu", help="cpu or cuda (default cpu)")
    train.add_argument("--skip-bad", action="store_true",
                       help="leave unreadable or corrupt image files out (with a warning and a count) instead of stopping")
    train.set_defaults(func=_train)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Parse ``argv`` and run the sub-command; exit code 0 on success, 1 on a clear error, 2 on usage."""
    args = build_parser().parse_args(argv)
    from freqaug.runtime import keep_freed_memory

    keep_freed_memory()  # an application may tune its allocator: fewer page faults, steadier speed
    try:
        return args.func(args)
    except (ValueError, TypeError, FileNotFoundError) as err:
        print(f"freqaug {args.command}: error: {err}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
