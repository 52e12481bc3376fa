"""Where a DWT round trip spends its time: per-op profile and page faults, one thread.

    .venv/bin/python benchmarks/profile_dwt.py [--out benchmarks/results/dwt_profile.md]

Explains the gap to the targets in bench_bands.py: each level is a gather, a 4->4 channel
convolution (or a 4x4 matmul for Haar) and, on the way back, a stack and an interleaving gather.
"""
from __future__ import annotations

import argparse
import resource
import time
from pathlib import Path

import torch

from freqaug.bands.dwt import wavedec2, waverec2

WORKLOADS = [("haar", 1, "periodization"), ("db4", 3, "periodization"), ("db4", 3, "symmetric")]


def round_trip(x, wavelet, level, mode):
    return waverec2(wavedec2(x, wavelet, level=level, mode=mode), wavelet, mode=mode)


def faults() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt


def profile(x, wavelet, level, mode, repeats):
    for _ in range(3):
        round_trip(x, wavelet, level, mode)
    start_faults, start = faults(), time.perf_counter()
    for _ in range(repeats):
        round_trip(x, wavelet, level, mode)
    wall_ms = (time.perf_counter() - start) * 1e3 / repeats
    faults_per_call = (faults() - start_faults) / repeats
    clone_ms = min(_time(lambda: x.clone()) for _ in range(repeats))
    with torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CPU]) as prof:
        for _ in range(repeats):
            round_trip(x, wavelet, level, mode)
    rows = []
    for event in sorted(prof.key_averages(), key=lambda e: -e.self_cpu_time_total)[:8]:
        rows.append((event.key, event.count / repeats, event.self_cpu_time_total / 1e3 / repeats))
    return wall_ms, faults_per_call, clone_ms, rows


def _time(fn) -> float:
    start = time.perf_counter()
    fn()
    return (time.perf_counter() - start) * 1e3


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results" / "dwt_profile.md")
    parser.add_argument("--repeats", type=int, default=10)
    args = parser.parse_args()
    torch.set_num_threads(1)
    x = torch.rand(32, 3, 192, 256)
    lines = ["# DWT round trip profile (32x3x192x256 float32, 1 thread)", "",
             f"torch {torch.__version__}; `x.clone()` (best of {args.repeats}) is the memory pass.", ""]
    for wavelet, level, mode in WORKLOADS:
        wall, per_call_faults, clone_ms, rows = profile(x, wavelet, level, mode, args.repeats)
        lines += [f"## {wavelet} L{level} {mode}: {wall:.1f} ms per round trip "
                  f"({wall / clone_ms:.0f} memory passes of {clone_ms:.2f} ms), "
                  f"{per_call_faults:.0f} minor page faults per call", "",
                  "| op | calls per round trip | self ms per round trip |", "|---|---|---|"]
        lines += [f"| {name} | {calls:g} | {ms:.2f} |" for name, calls, ms in rows]
        lines.append("")
    text = "\n".join(lines)
    print(text)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    tmp = args.out.with_name(f".{args.out.name}.tmp")
    tmp.write_text(text + "\n")
    tmp.replace(args.out)


if __name__ == "__main__":
    main()
