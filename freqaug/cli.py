"""The ``freqaug`` command line: one entry point, one sub-command per job."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path


def _demo(args: argparse.Namespace) -> int:
    from freqaug.demo import run_demo

    report = run_demo(args.out, data=args.data, n=args.n, seed=args.seed)
    print(f"source: {report['source']}")
    for name, entry in report["specs"].items():
        err = entry["max_rel_error"]
        print(f"{name:8s} round trip {entry['round_trip_ms_float32']:7.1f} ms  "
              f"max rel error float32 {err['float32']:.1e}  float64 {err['float64']:.1e}")
    print(f"wrote {', '.join(sorted(p.name for p in args.out.iterdir() if not p.name.startswith('.')))} to {args.out}/")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="freqaug", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    demo = sub.add_parser("demo", help="decompose driving scenes into bands; write PNGs and JSON")
    demo.add_argument("--out", type=Path, default=Path("demo_out"), help="output folder (default demo_out)")
    demo.add_argument("--data", type=Path, default=None,
                      help="folder with images/ (default: ../shared/data/camvid/256x192/train, else drawn scenes)")
    demo.add_argument("--n", type=int, default=8, help="number of scenes (default 8)")
    demo.add_argument("--seed", type=int, default=0, help="seed of the drawn scenes (default 0)")
    demo.set_defaults(func=_demo)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Parse ``argv`` and run the sub-command; exit code 0 on success, 1 on a clear error, 2 on usage."""
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except (ValueError, TypeError, FileNotFoundError) as err:
        print(f"freqaug {args.command}: error: {err}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
