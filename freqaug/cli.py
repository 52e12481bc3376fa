"""The ``freqaug`` command line: one entry point, one sub-command per job."""
from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path
from typing import Any


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

    from freqaug.data import load_images, load_segmentation
    from freqaug.train.run import RunConfig, save_samples, train_run

    config = None
    if args.classes and not args.conditional:
        print("freqaug train: --classes sets the class list of a --conditional model; add --conditional", file=sys.stderr)
        return 2
    if args.oasis and not args.conditional:
        print("freqaug train: --oasis sets the image discriminator of a --conditional model; add --conditional",
              file=sys.stderr)
        return 2
    if not args.resume:
        config = RunConfig.from_file(args.config) if args.config else RunConfig()
        overrides = {k: v for k, v in (("stage1_steps", args.stage1_steps), ("stage2_steps", args.stage2_steps)) if v is not None}
        if args.conditional:
            overrides["model"] = _conditional(config.model, args.classes, oasis=args.oasis)
        if args.labelmix is not None:
            overrides["train"] = dataclasses.replace(config.train, labelmix=args.labelmix)
        if args.semantic is not None:
            if not args.semantic.is_file():
                print(f"freqaug train: --semantic {args.semantic}: no such segnet file (make one with: freqaug "
                      "train-segnet --data TRAIN_DIR --out FILE)", file=sys.stderr)
                return 1
            overrides["train"] = dataclasses.replace(overrides.get("train", config.train), semantic_segnet=str(args.semantic),
                                                     semantic=args.semantic_weight)
        if args.band_updates is not None:
            overrides["train"] = dataclasses.replace(overrides.get("train", config.train),
                                                     band_updates=dict(args.band_updates))
        if args.baseline_input is not None:
            overrides["model"] = dataclasses.replace(overrides.get("model", config.model), baseline_input=args.baseline_input)
        config = dataclasses.replace(config, **overrides)
        if config.train.semantic_segnet is not None and config.model.layout is None:
            print("freqaug train: --semantic compares generated images with the layouts they were drawn from; add "
                  "--conditional", file=sys.stderr)
            return 2
    elif (args.config or args.conditional or args.labelmix is not None or args.semantic is not None
          or args.baseline_input is not None or args.band_updates is not None):
        print("freqaug train: --resume continues with the run's own config.json; drop --config/"
              "--conditional/--oasis/--labelmix/--semantic/--baseline-input/--band-updates (--stage1-steps and "
              "--stage2-steps may extend the run)", file=sys.stderr)
        return 2
    elif args.stage1_steps is not None or args.stage2_steps is not None:  # extend a run: larger totals
        from freqaug.train.run import saved_run_config

        saved = saved_run_config(_run_config_path(args.out))
        config = dataclasses.replace(saved, stage1_steps=_given(args.stage1_steps, saved.stage1_steps),
                                     stage2_steps=_given(args.stage2_steps, saved.stage2_steps))
    from freqaug.train.checkpoint import CHECKPOINT_NAME

    if not args.resume and (args.out / CHECKPOINT_NAME).exists():  # refused before the data is read
        raise ValueError(f"{args.out / CHECKPOINT_NAME}: the run folder already holds a run; pass --resume or another --out")
    model = config.model if config else _saved_model(args.out)
    labels = None
    if model.layout is None:
        images = load_images(args.data, size=model.image_size, skip_bad=args.skip_bad) * 2 - 1
    else:  # (image, label map) pairs of the CamVid layout: images/ and labels/ with the same names
        classes = model.layout.classes
        images, labels = load_segmentation(args.data, model.image_size, num_classes=classes.num_classes,
                                           ignore_index=classes.ignore_index, skip_bad=args.skip_bad)
        images = images * 2 - 1
    device = _init_distributed(args.device)
    try:
        callbacks = [] if args.tensorboard is None else [_tensorboard(args, config or _saved_config(args.out))]
        try:
            trainer = train_run(args.out, images, config, labels=labels, resume=args.resume, device=device,
                                callbacks=callbacks, on_sample=save_samples)
        finally:
            for callback in callbacks:
                callback.close()
    except KeyboardInterrupt as stop:
        print(f"freqaug train: {stop}", file=sys.stderr)
        return 130
    finally:
        import torch.distributed as dist

        if dist.is_initialized():
            dist.destroy_process_group()
    print(f"trained to {trainer.step}; run folder {args.out}/ (checkpoint.safetensors, log.jsonl, samples/)")
    _export_after_training(args, trainer)
    return 0


def _export_after_training(args: argparse.Namespace, trainer) -> None:
    """Rank 0 writes RUN_DIR/bundle.safetensors."""
    if trainer.rank != 0:
        return
    from freqaug.train.export import BUNDLE_NAME, export_run

    path = export_run(args.out, args.out / BUNDLE_NAME, data=args.data)
    print(f"exported the EMA generator to {path} (freqaug inspect / generate / expand read it)")


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


def _band_count(text: str) -> tuple[str, int]:
    """``"LL2=8"`` -> ("LL2", 8), for --band-updates."""
    band, _, count = text.partition("=")
    if not band or not count.isdigit() or int(count) < 1:
        raise argparse.ArgumentTypeError(f"{text!r}: expected BAND=N with N a positive integer, e.g. LL2=8")
    return band, int(count)


def _run_config_path(run_dir: Path) -> Path:
    """``run_dir``/config.json, which --resume needs."""
    config = run_dir / "config.json"
    if not config.is_file():
        raise ValueError(f"{config}: --resume needs the run folder of an earlier run")
    return config


def _saved_config(run_dir: Path):
    """The config of the run in ``run_dir`` (for --resume)."""
    from freqaug.train.run import RunConfig

    return RunConfig.from_file(_run_config_path(run_dir))


def _saved_model(run_dir: Path):
    """The model config of the run in ``run_dir`` (for --resume)."""
    return _saved_config(run_dir).model


def _given(value, default):
    return default if value is None else value


def _tensorboard(args: argparse.Namespace, config):
    """The TensorBoard callback of ``--tensorboard [DIR]`` (default DIR: RUN/tensorboard)."""
    from freqaug.train.observe import TensorBoardLogger
    from freqaug.train.run import sample_images

    log_dir = args.out / "tensorboard" if args.tensorboard is True else Path(args.tensorboard)
    return TensorBoardLogger(log_dir, image_every=config.sample_every, sample=sample_images)


def _conditional(model, classes_path: Path | None, *, oasis: bool = False):
    """``model`` made layout-conditional on the classes of ``classes_path`` (a ClassSet JSON file:
    names, palette, ignore_index, ...), on the CamVid classes without one, or on its own layout;
    ``oasis``: with OASIS's per-pixel segmentation image discriminator."""
    import dataclasses

    from freqaug._json import parse_json
    from freqaug.data import CAMVID, ClassSet
    from freqaug.models import LayoutConfig

    if classes_path is None:
        classes = model.layout.classes if model.layout else CAMVID
    else:
        try:
            classes = ClassSet.from_dict(parse_json(classes_path.read_text(), str(classes_path)))
        except FileNotFoundError:
            raise ValueError(f"{classes_path}: classes file not found") from None
        except (TypeError, ValueError, AttributeError) as err:
            message = str(err)
            raise ValueError(message if message.startswith(str(classes_path)) else f"{classes_path}: {message}") from None
    layout = dataclasses.replace(model.layout, classes=classes) if model.layout else LayoutConfig(classes)
    if oasis:
        layout = dataclasses.replace(layout, image_discriminator="oasis")
    return dataclasses.replace(model, layout=layout)


# ---- bundles: export, inspect, generate, expand ---------------------------------------------------

def _export(args: argparse.Namespace) -> int:
    from freqaug.train.export import export_run

    path = export_run(args.run_dir, args.out_bundle, data=args.data)
    print(f"exported {args.run_dir} -> {path} ({path.stat().st_size:,} bytes)")
    return 0


def _inspect(args: argparse.Namespace) -> int:
    import json

    from freqaug.bundle import load_bundle
    from freqaug.bundle.summary import describe_bundle

    bundle = load_bundle(args.bundle)
    print(json.dumps(bundle.manifest, indent=2, sort_keys=True) if args.json else describe_bundle(bundle))
    return 0


def _load_for_writing(path: Path, device: str):
    """The bundle on ``device`` (main has checked that the device exists)."""
    from freqaug.bundle import load_bundle

    return load_bundle(path, device=device)


def _generate(args: argparse.Namespace) -> int:
    from freqaug.offline.generate import generate_to_folder

    bundle = _load_for_writing(args.bundle, args.device)
    report = generate_to_folder(bundle, args.out, n=args.n, seed=args.seed, batch_size=args.batch_size,
                                fmt=args.format, with_bands=args.with_bands, layouts=args.layouts)
    print(f"{args.out}/: {report.total} images ({report.written} written in {report.seconds:.1f} s, "
          f"{report.images_per_second:.1f} images/s; {report.reused} kept from an earlier run); "
          f"index {args.out}/index.jsonl")
    return 0


def _expand(args: argparse.Namespace) -> int:
    from freqaug.offline.expand import expand_dataset

    bundle = _load_for_writing(args.bundle, args.device)
    edit: dict[str, Any] = {}
    if args.label_aug:  # flip, shift, class-preserving copy-paste of the real label maps (freqaug.augment)
        from freqaug.augment.labelmaps import LabelAugConfig, edit_labels

        config = LabelAugConfig()
        edit = {"label_edit": lambda labels, donors, gen: edit_labels(labels, donors, config, gen),
                "label_edit_config": {"label_aug": config.to_dict()}}
    report = expand_dataset(args.data, bundle, args.out, ratio=args.ratio, seed=args.seed, link=args.link,
                            batch_size=args.batch_size, **edit)
    print(f"{args.out}/: {report.real} real images ({report.linked} files linked, {report.copied} copied) + "
          f"{report.synthetic.total} synthetic ({report.synthetic.written} written, {report.synthetic.reused} kept); "
          f"manifest {report.manifest}")
    return 0


def _count(minimum: int):
    """An argparse type: an integer >= ``minimum`` (a usage error otherwise)."""
    def parse(text: str) -> int:
        value = int(text)
        if value < minimum:
            raise argparse.ArgumentTypeError(f"expected an integer >= {minimum}, got {value}")
        return value

    parse.__name__ = f"integer >= {minimum}"
    return parse


_DEVICE_HELP = "cpu, cuda or cuda:N (default cpu)"


def _device(text: str) -> str:
    """An argparse type: ``cpu``, ``cuda`` or ``cuda:N`` (a usage error otherwise, not a torch traceback)."""
    from freqaug._checks import check_device

    try:
        return check_device(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: expected cpu, cuda or cuda:N") from None


def _ratio(text: str) -> float:
    """An argparse type: a finite number >= 0."""
    value = float(text)
    if not 0 <= value < float("inf"):
        raise argparse.ArgumentTypeError(f"expected a number >= 0, got {text}")
    return value


def _add_bundle_commands(sub) -> None:
    """The export, inspect, generate and expand sub-commands."""
    export = sub.add_parser("export", help="write the EMA generator of a training run as a bundle file")
    export.add_argument("run_dir", type=Path, help="run folder of freqaug train (config.json, checkpoint.safetensors)")
    export.add_argument("out_bundle", type=Path, help="bundle file to write, e.g. camvid.safetensors")
    export.add_argument("--data", type=Path, default=None, help="the training data folder, summarised in the provenance")
    export.set_defaults(func=_export)

    inspect = sub.add_parser("inspect", help="check a bundle and summarise its manifest")
    inspect.add_argument("bundle", type=Path, help="bundle file (.safetensors)")
    inspect.add_argument("--json", action="store_true", help="print the whole manifest as JSON")
    inspect.set_defaults(func=_inspect)

    generate = sub.add_parser("generate", help="write N generated images to a folder (resumable after a crash)")
    generate.add_argument("bundle", type=Path, help="bundle file (.safetensors)")
    generate.add_argument("--n", type=_count(0), required=True, help="number of images: files 000000 .. N-1")
    _add_generation_options(generate)
    generate.add_argument("--with-bands", action="store_true", help="also write a band grid per batch to OUT/bands/")
    generate.add_argument("--format", choices=("png", "jpg"), default="png", help="image file format (default png)")
    generate.add_argument("--layouts", type=Path, default=None,
                          help="a layout-conditional bundle's folder of label PNGs: image k is drawn from file k %% count "
                               "(sorted), its label map written to OUT/labels/")
    generate.set_defaults(func=_generate)

    expand = sub.add_parser("expand", help="copy a training set (images/, labels/) and add synthetic images")
    expand.add_argument("--data", type=Path, required=True, help="CamVid-layout folder with images/ (and labels/)")
    expand.add_argument("--bundle", type=Path, required=True, help="bundle file (.safetensors)")
    expand.add_argument("--ratio", type=_ratio, required=True, help="synthetic images per real image (e.g. 0.5)")
    how = expand.add_mutually_exclusive_group()
    how.add_argument("--link", action="store_true",
                     help="hard-link the real files instead of copying them (no space taken, but editing the copy edits "
                          "the source data set; copies where links are impossible)")
    how.add_argument("--copy", action="store_true", help="copy the real files (the default)")
    expand.add_argument("--label-aug", action="store_true",
                        help="a layout-conditional bundle: edit the real label maps first (flip, shift, class-preserving "
                             "copy-paste; freqaug.augment.LabelAugConfig defaults)")
    _add_generation_options(expand)
    expand.set_defaults(func=_expand)


# ---- evaluation: eval, train-segnet -------------------------------------------------------------------

def _eval(args: argparse.Namespace) -> int:
    from freqaug.evaluate import default_out_dir, evaluate_bundle, output_files

    out = args.out or default_out_dir(args.bundle)
    report = evaluate_bundle(args.bundle, args.data, out, n=args.n, seed=args.seed, segnet=args.segnet,
                             inception=args.inception, floor=args.floor, reference=args.reference, device=args.device,
                             batch_size=args.batch_size)
    m = report["metrics"]
    print(f"SWD x1e3 mean {m['swd']['mean']:.1f}; spectrum distance {m['spectrum']['distance']['mean']:.3f}")
    if report["reference"]["status"] == "ok":
        r = report["reference"]["metrics"]
        print(f"reference ({report['reference']['images']} real images of {args.reference}): SWD x1e3 mean "
              f"{r['swd']['mean']:.1f}; spectrum distance {r['spectrum']['distance']['mean']:.3f}")
    for name in ("segnet", "inception"):
        entry = m[name]
        if entry["status"] == "skipped":
            print(f"{name}: skipped ({entry['how']})")
        else:
            scores = {k: entry[k] for k in ("frechet_distance", "fid", "kid_mean", "precision", "recall") if k in entry}
            print(f"{name}: " + ", ".join(f"{k} {v:.4g}" for k, v in scores.items()))
    layout = m["layout"]
    if layout["status"] == "skipped":
        print(f"layout fidelity: skipped ({layout['how']})")
    else:
        sets = [(k, layout[k]) for k in ("generated", "real", "floor") if layout[k].get("status", "ok") == "ok"]
        for metric in ("miou", "pixel_accuracy"):
            print(f"layout {metric}: " + ", ".join(f"{k} {s[metric]:.3f}" for k, s in sets))
    print(f"wrote {', '.join(output_files(report))} to {out}/")
    return 0


def _train_segnet(args: argparse.Namespace) -> int:
    from freqaug.evaluate import train_segnet_on_folder

    result = train_segnet_on_folder(args.data, args.out, steps=args.steps, seed=args.seed,
                                    batch_size=args.batch_size, device=args.device, width=args.width, arch=args.arch)
    print(f"trained a {result['arch']} segnet (width {result['width']}) for {result['steps']} steps on "
          f"{result['images']} images; on them: mIoU "
          f"{result['train_miou']:.3f}, pixel accuracy {result['train_pixel_accuracy']:.3f}; wrote {result['path']}")
    return 0


def _add_eval_commands(sub) -> None:
    """The eval and train-segnet sub-commands."""
    from freqaug.metrics.segnet import ARCHS as SEGNET_ARCHS

    ev = sub.add_parser("eval", help="score a bundle against real images: SWD, spectra, band energy, FD/PR, FID/KID, layout mIoU")
    ev.add_argument("bundle", type=Path, help="bundle file (.safetensors)")
    ev.add_argument("--data", type=Path, required=True,
                    help="real images at the bundle's size: a folder of images, or one holding images/ (CamVid layout)")
    ev.add_argument("--out", type=Path, default=None, help="output folder (default: <bundle stem>_eval beside the bundle)")
    ev.add_argument("--n", type=_count(2), default=None, help="images to generate (default: as many as the real ones)")
    ev.add_argument("--seed", type=_count(0), default=0, help="seed of the generated images and of SWD (default 0)")
    ev.add_argument("--segnet", type=Path, default=None,
                    help="segnet file (freqaug train-segnet) for the domain Fréchet distance and precision/recall")
    ev.add_argument("--inception", type=Path, default=None,
                    help="FID Inception weights (pt_inception-2015-12-05-6726825d.pth) for FID/KID; "
                         "default $FREQAUG_INCEPTION_WEIGHTS, else skipped")
    ev.add_argument("--floor", type=Path, default=None,
                    help="unconditional bundle whose images, scored against the same layouts, give the layout-fidelity "
                         "floor (a layout-conditional bundle and --segnet only)")
    ev.add_argument("--reference", type=Path, default=None,
                    help="real images (typically the bundle's training set) scored against --data like the generated "
                         "ones: how much of each score is the shift between the two folders")
    ev.add_argument("--device", type=_device, default="cpu", help=_DEVICE_HELP)
    ev.add_argument("--batch-size", type=_count(1), default=64, help="images per generator / network call (default 64)")
    ev.set_defaults(func=_eval)

    seg = sub.add_parser("train-segnet", help="train the small segmentation network whose features eval --segnet uses")
    seg.add_argument("--data", type=Path, required=True, help="CamVid-layout folder with images/ and labels/ (id 11 ignored)")
    seg.add_argument("--out", type=Path, required=True, help="segnet file to write, e.g. segnet.safetensors")
    seg.add_argument("--steps", type=_count(0), default=300, help="optimiser steps (default 300)")
    seg.add_argument("--seed", type=_count(0), default=0, help="seed of the initial weights and batch order (default 0)")
    seg.add_argument("--batch-size", type=_count(1), default=16, help="images per step (default 16)")
    seg.add_argument("--width", type=_count(1), default=24,
                     help="base channels (default 24); a judge that differs from a training loss's segnet in width "
                          "and seed scores a bundle trained with --semantic")
    seg.add_argument("--arch", choices=SEGNET_ARCHS, default="unet",
                     help="unet (default) or dilated: a network of another family (no skip connections, dilated "
                          "context), the better judge of a bundle trained with --semantic through a unet")
    seg.add_argument("--device", type=_device, default="cpu", help=_DEVICE_HELP)
    seg.set_defaults(func=_train_segnet)


def _add_runtime_options(parser: argparse.ArgumentParser, *, threads: bool = True) -> None:
    """Options every command takes: --quiet, and --threads for the ones that compute."""
    parser.add_argument("--quiet", action="store_true", help="no progress bars (TQDM_DISABLE=1 does the same)")
    if threads:
        parser.add_argument("--threads", type=_count(1), default=None, metavar="N",
                            help="torch threads (default: the cores this process may run on; 1 on a machine shared "
                                 "with other jobs)")


def _add_generation_options(parser: argparse.ArgumentParser) -> None:
    """Options shared by generate and expand: output folder, seed, batch size, device."""
    parser.add_argument("--out", type=Path, required=True, help="output folder (new or empty, or an earlier run's)")
    parser.add_argument("--seed", type=_count(0), default=0, help="seed of the target vectors (default 0)")
    parser.add_argument("--batch-size", type=_count(1), default=64, help="images per generator call (default 64)")
    parser.add_argument("--device", type=_device, default="cpu", help=_DEVICE_HELP)


def build_parser() -> argparse.ArgumentParser:
    from freqaug._version import __version__

    parser = argparse.ArgumentParser(prog="freqaug", description=__doc__)
    parser.add_argument("--version", action="version", version=f"freqaug {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    demo = sub.add_parser("demo", help="decompose driving scenes into bands; write PNGs and JSON")
    demo.add_argument("--out", type=Path, default=Path("demo_out"), help="output folder (default demo_out)")
    demo.add_argument("--data", type=Path, default=None,
                      help="folder with images/, e.g. camvid/256x192/train (default: $FREQAUG_DEMO_DATA if set, "
                           "else drawn street scenes)")
    demo.add_argument("--n", type=int, default=8, help="number of scenes (default 8)")
    demo.add_argument("--seed", type=int, default=0, help="seed of the drawn scenes (default 0)")
    demo.add_argument("--train-steps", type=int, nargs=2, default=(120, 40), metavar=("STAGE1", "STAGE2"),
                      help="steps of the short demo training (default 120 40; 0 0 skips it)")
    demo.set_defaults(func=_demo)

    train = sub.add_parser("train", help="train a FreqGAN on a folder of images (stage 1 bands, stage 2 blend)")
    train.add_argument("--data", type=Path, required=True, help="folder with images/ (e.g. camvid/128x96/train)")
    train.add_argument("--out", type=Path, required=True, help="run folder: config.json, checkpoint, log, samples")
    train.add_argument("--config", type=Path, default=None, help="RunConfig JSON (model, train, steps)")
    train.add_argument("--stage1-steps", type=_count(0), default=None,
                       help="total stage-1 steps (overrides the config; with --resume: extends the run)")
    train.add_argument("--stage2-steps", type=_count(0), default=None,
                       help="total stage-2 steps (overrides the config; with --resume: extends a finished run)")
    train.add_argument("--resume", action="store_true", help="continue the run in --out from its checkpoint")
    train.add_argument("--conditional", action="store_true",
                       help="train a layout-conditional model on (image, label map) pairs from --data's images/ and "
                            "labels/ (same file names)")
    train.add_argument("--classes", type=Path, default=None,
                       help="with --conditional: class list JSON {names, palette, ignore_index} (default: CamVid 11)")
    train.add_argument("--oasis", action="store_true",
                       help="with --conditional: OASIS's per-pixel (K+1)-class segmentation discriminator for the full "
                            "image instead of the layout-concatenating one (docs/models.md)")
    train.add_argument("--labelmix", type=float, default=None, metavar="WEIGHT",
                       help="with an OASIS discriminator: weight of its LabelMix consistency loss (OASIS uses 10; "
                            "default: the config's train.labelmix, 0)")
    train.add_argument("--semantic", type=Path, default=None, metavar="SEGNET",
                       help="with --conditional: a segnet file (freqaug train-segnet on the labelled data) that segments "
                            "the generated images; the generators learn to match their layouts (semantic consistency). "
                            "Score the bundle with a different segnet (freqaug eval --segnet)")
    train.add_argument("--semantic-weight", type=float, default=1.0, metavar="W",
                       help="with --semantic: weight of the semantic-consistency loss (default 1)")
    train.add_argument("--baseline-input", choices=["noise", "band_image"], default=None,
                       help="what the baseline generator takes beside its noise: nothing (an independent image) or the "
                            "band image, which it then refines (default: the config's model.baseline_input)")
    train.add_argument("--band-updates", type=_band_count, nargs="+", default=None, metavar="BAND=N",
                       help="D+G updates per stage-1 step for the named bands, replacing the config's "
                            "train.band_updates (default coarse=8: the coarse band, LL2 or low, is cheap and sets the "
                            "layout; coarse=1 gives every band one update)")
    train.add_argument("--device", type=_device, default="cpu", help=_DEVICE_HELP)
    train.add_argument("--tensorboard", nargs="?", const=True, default=None, metavar="DIR",
                       help="also write losses, alpha and sample grids as TensorBoard events to DIR (default "
                            "OUT/tensorboard; needs pip install 'freqaug[tensorboard]')")
    train.add_argument("--skip-bad", action="store_true",
                       help="leave unreadable or corrupt image files (with --conditional also pairs with a missing, "
                            "mis-sized or invalid label map) out, with a warning and a count, instead of stopping")
    train.set_defaults(func=_train)
    _add_bundle_commands(sub)
    _add_eval_commands(sub)
    for name, command in sub.choices.items():
        _add_runtime_options(command, threads=name not in ("inspect", "export"))
    return parser


def main(argv: list[str] | None = None) -> int:
    """Parse ``argv`` and run the sub-command; exit code 0 on success, 1 on a clear error, 2 on usage."""
    args = build_parser().parse_args(argv)
    import torch

    from freqaug._progress import quiet, set_quiet
    from freqaug.runtime import keep_freed_memory, use_threads

    keep_freed_memory()  # an application may tune its allocator: fewer page faults, steadier speed
    _log_to_stderr(quiet=args.quiet)
    was_quiet, was_threads = quiet(), torch.get_num_threads()
    try:
        set_quiet(was_quiet or args.quiet)
        if hasattr(args, "threads"):
            use_threads(args.threads)
        _check_before_work(args)
        return args.func(args)
    except (ValueError, TypeError, OSError) as err:
        print(f"freqaug {args.command}: error: {err}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"freqaug {args.command}: interrupted; what was written is kept, rerun the command to resume",
              file=sys.stderr)
        return 130
    finally:  # a caller in the same process (a notebook, a test) gets its settings back
        set_quiet(was_quiet)
        torch.set_num_threads(was_threads)


_FOLDER_OUT = ("demo", "train", "generate", "expand", "eval")


def _log_to_stderr(*, quiet: bool) -> None:
    """The library logs through ``logging`` (logger ``freqaug``); the command shows its INFO lines on stderr
    (warnings only with --quiet), unless the caller has configured that logger already."""
    import logging

    logger = logging.getLogger("freqaug")
    logger.setLevel(logging.WARNING if quiet else logging.INFO)
    if not logger.handlers:
        logger.addHandler(_StderrHandler())


class _StderrHandler(logging.Handler):
    """A log handler writing ``freqaug: message`` lines to the sys.stderr of the moment (not of its creation)."""

    def emit(self, record) -> None:
        print(f"freqaug: {record.getMessage()}", file=sys.stderr)


def _check_before_work(args: argparse.Namespace) -> None:
    """What can be refused before any data is read: a missing CUDA device, an --out folder that is a file."""
    from freqaug._checks import require_device

    if getattr(args, "device", None):
        require_device(args.device, "--device")
    out = getattr(args, "out", None)
    if args.command in _FOLDER_OUT and out is not None and out.exists() and not out.is_dir():
        raise ValueError(f"--out {out}: is a file; expected a folder (new, empty, or one this command wrote before)")


if __name__ == "__main__":
    sys.exit(main())
