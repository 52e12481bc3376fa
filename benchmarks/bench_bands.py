#!/usr/bin/env python
"""Forward + inverse round trips of freqaug's band transforms against peer libraries.

For every input shape and workload (DWT with a wavelet / level / mode, DCT split, Fourier split)
all implementations, and a plain memory pass (``x.clone()``), are timed interleaved: after a
warm-up, each repeat times one call of every implementation in turn. The report gives, per
implementation, the median time, its ratio to the fastest peer (any implementation that is not
freqaug), its ratio to the memory pass and its round-trip error.

Each thread setting runs in its own subprocess, so that thread-pool environment variables are set
before numpy / torch load:

* "1 thread": ``OMP/MKL/OPENBLAS_NUM_THREADS=1``, ``torch.set_num_threads(1)``, scipy.fft
  ``workers=1`` (pywavelets is always single-threaded);
* "all threads": torch's default thread count and scipy.fft ``workers=-1``.

``--malloc-tuned`` adds both settings again with glibc's malloc told to keep freed memory
(``MALLOC_*`` below), so the report shows how much of each time is page faults on fresh buffers.

Usage: ``python benchmarks/bench_bands.py [--quick] [--repeats N] [--out DIR] [--malloc-tuned]``.
Writes ``bands.md`` and ``bands.json`` to ``--out`` and prints the tables.
"""
from __future__ import annotations

import argparse
import dataclasses
import datetime
import gc
import json
import math
import os
import platform
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any, Callable

HERE = Path(__file__).resolve().parent

SHAPES: list[tuple[int, int, int, int]] = [(32, 3, 192, 256), (8, 3, 384, 512)]
CUTOFF = 0.25  # DCT / Fourier low-pass edge, as a fraction of Nyquist (radial)
SEED = 0

THREAD_ENV = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")
MALLOC_TUNED_ENV = {
    "MALLOC_MMAP_THRESHOLD_": "4294967296",
    "MALLOC_TRIM_THRESHOLD_": "68719476736",
    "MALLOC_TOP_PAD_": "1073741824",
}
TUNED_ENV_TEXT = " ".join(f"{k}={v}" for k, v in MALLOC_TUNED_ENV.items())

MEMORY = "memory (x.clone)"
FREQAUG = "freqaug"


# ------------------------------------------------------------------------------------------------
# Workloads


@dataclasses.dataclass(frozen=True)
class Workload:
    kind: str  # "dwt", "dct" or "fourier"
    wavelet: str = ""
    level: int = 0
    mode: str = ""

    @property
    def label(self) -> str:
        if self.kind == "dwt":
            return f"dwt {self.wavelet} L{self.level} {self.mode}"
        return f"{self.kind} split r{CUTOFF:g}"


WORKLOADS: list[Workload] = [
    *(
        Workload("dwt", wavelet, level, mode)
        for wavelet in ("haar", "db4")
        for level in (1, 3)
        for mode in ("periodization", "symmetric")
    ),
    Workload("dct"),
    Workload("fourier"),
]


@dataclasses.dataclass(frozen=True)
class Context:
    """What an implementation needs besides the workload and the input."""

    workers: int  # scipy.fft workers: 1 or -1 (all)


class Skip(Exception):
    """Raised by a builder when its implementation cannot run the workload."""


# ------------------------------------------------------------------------------------------------
# Implementations: each builder returns a no-argument callable doing one full round trip and
# returning the reconstruction. Imports are local so that a missing optional peer is a skipped
# row, not a crash.


def build_memory(wl: Workload, x, ctx: Context) -> Callable[[], Any]:
    return x.clone


def build_freqaug_dwt(wl: Workload, x, ctx: Context) -> Callable[[], Any]:
    from freqaug.bands.dwt import wavedec2, waverec2

    def run():
        return waverec2(wavedec2(x, wl.wavelet, level=wl.level, mode=wl.mode), wl.wavelet, mode=wl.mode)

    return run


def build_pywt(wl: Workload, x, ctx: Context) -> Callable[[], Any]:
    import pywt

    xn = x.numpy()

    def run():
        coeffs = pywt.wavedec2(xn, wl.wavelet, mode=wl.mode, level=wl.level, axes=(-2, -1))
        return pywt.waverec2(coeffs, wl.wavelet, mode=wl.mode, axes=(-2, -1))

    return run


def build_ptwt(wl: Workload, x, ctx: Context) -> Callable[[], Any]:
    if wl.mode == "periodization":
        raise Skip("ptwt has no periodization mode (its 'periodic' is pywt's: circular padding, longer bands)")
    import ptwt
    import pywt

    wavelet = pywt.Wavelet(wl.wavelet)
    mode = wl.mode  # ptwt's symmetric/reflect/zero/periodic are pywt's modes of the same name

    def run():
        return ptwt.waverec2(ptwt.wavedec2(x, wavelet, level=wl.level, mode=mode), wavelet)

    return run


def build_pytorch_wavelets(wl: Workload, x, ctx: Context) -> Callable[[], Any]:
    from pytorch_wavelets import DWTForward, DWTInverse

    forward = DWTForward(J=wl.level, wave=wl.wavelet, mode=wl.mode)
    inverse = DWTInverse(wave=wl.wavelet, mode=wl.mode)

    def run():
        return inverse(forward(x))

    return run


def build_freqaug_dct(wl: Workload, x, ctx: Context) -> Callable[[], Any]:
    from freqaug.bands.dct import dct_merge, dct_split

    def run():
        return dct_merge(dct_split(x, cutoff=CUTOFF, shape="radial"))

    return run


def build_freqaug_fourier(wl: Workload, x, ctx: Context) -> Callable[[], Any]:
    from freqaug.bands.fourier import fourier_merge, fourier_split

    def run():
        return fourier_merge(fourier_split(x, cutoff=CUTOFF, shape="radial"))

    return run


def radial_mask(fy, fx):
    """Low-pass mask from per-axis frequencies given as fractions of Nyquist."""
    return (fy[:, None] ** 2 + fx[None, :] ** 2 <= CUTOFF**2).astype("float32")


def build_scipy_dct(wl: Workload, x, ctx: Context) -> Callable[[], Any]:
    import numpy as np
    import scipy.fft as sfft

    xn = x.numpy()
    h, w = xn.shape[-2:]
    mask = radial_mask(np.arange(h) / h, np.arange(w) / w)  # DCT-II index k is k/n of Nyquist
    axes, workers = (-2, -1), ctx.workers

    def run():
        spectrum = sfft.dctn(xn, norm="ortho", axes=axes, workers=workers)
        spectrum *= mask
        low = sfft.idctn(spectrum, norm="ortho", axes=axes, workers=workers, overwrite_x=True)
        high = xn - low
        return low + high

    return run


def build_scipy_fourier(wl: Workload, x, ctx: Context) -> Callable[[], Any]:
    import numpy as np
    import scipy.fft as sfft

    xn = x.numpy()
    h, w = xn.shape[-2:]
    mask = radial_mask(2 * np.fft.fftfreq(h), 2 * np.fft.rfftfreq(w))
    axes, workers = (-2, -1), ctx.workers

    def run():
        spectrum = sfft.rfft2(xn, axes=axes, workers=workers)
        spectrum *= mask
        low = sfft.irfft2(spectrum, s=(h, w), axes=axes, workers=workers, overwrite_x=True)
        high = xn - low
        return low + high

    return run


def build_torch_fourier(wl: Workload, x, ctx: Context) -> Callable[[], Any]:
    import numpy as np
    import torch

    h, w = x.shape[-2:]
    mask = torch.from_numpy(radial_mask(2 * np.fft.fftfreq(h), 2 * np.fft.rfftfreq(w)))

    def run():
        spectrum = torch.fft.rfft2(x)
        spectrum *= mask
        low = torch.fft.irfft2(spectrum, s=(h, w))
        high = x - low
        return low + high

    return run


@dataclasses.dataclass(frozen=True)
class Impl:
    name: str
    kind: str  # the workload kind it runs ("*" for every kind)
    build: Callable[[Workload, Any, Context], Callable[[], Any]]

    @property
    def is_peer(self) -> bool:
        return self.name not in (FREQAUG, MEMORY)


IMPLS: list[Impl] = [
    Impl(FREQAUG, "dwt", build_freqaug_dwt),
    Impl("pywt", "dwt", build_pywt),
    Impl("ptwt", "dwt", build_ptwt),
    Impl("pytorch_wavelets", "dwt", build_pytorch_wavelets),
    Impl(FREQAUG, "dct", build_freqaug_dct),
    Impl("scipy.fft", "dct", build_scipy_dct),
    Impl(FREQAUG, "fourier", build_freqaug_fourier),
    Impl("scipy.fft", "fourier", build_scipy_fourier),
    Impl("torch.fft", "fourier", build_torch_fourier),
    Impl(MEMORY, "*", build_memory),
]


# ------------------------------------------------------------------------------------------------
# Measuring (worker process)


def minor_faults() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt


def time_interleaved(calls: dict[str, Callable[[], Any]], repeats: int, warmup: int):
    """Seconds and minor page faults of each call, one call of each per repeat, rotating the order."""
    for fn in calls.values():
        for _ in range(warmup):
            fn()
    names = list(calls)
    seconds: dict[str, list[float]] = {name: [] for name in names}
    faults: dict[str, list[int]] = {name: [] for name in names}
    gc.collect()
    gc.disable()
    try:
        for r in range(repeats):
            shift = r % len(names)
            for name in names[shift:] + names[:shift]:
                fn = calls[name]
                f0 = minor_faults()
                t0 = time.perf_counter()
                out = fn()
                t1 = time.perf_counter()
                faults[name].append(minor_faults() - f0)
                seconds[name].append(t1 - t0)
                del out
    finally:
        gc.enable()
    return seconds, faults


def max_rel_error(out, x) -> float | None:
    """Max |out - x| over the input's value range, in float64."""
    import torch

    got = torch.as_tensor(out).to(torch.float64)
    ref = x.to(torch.float64)
    if got.shape != ref.shape:
        return None
    return float((got - ref).abs().max() / (ref.max() - ref.min()))


def prepare(impl: Impl, wl: Workload, x, ctx: Context) -> Callable[[], Any] | str:
    """The implementation's round-trip callable, or why it cannot run the workload."""
    try:
        return impl.build(wl, x, ctx)
    except Skip as exc:
        return str(exc)
    except ImportError as exc:
        return f"not importable ({exc})"
    except Exception as exc:  # e.g. a module that fails to load: report it, keep benchmarking the rest
        return f"unavailable ({type(exc).__name__}: {exc})"


def bench_workload(wl: Workload, x, ctx: Context, repeats: int, warmup: int) -> dict:
    prepared = {impl: prepare(impl, wl, x, ctx) for impl in IMPLS if impl.kind in ("*", wl.kind)}
    calls = {impl.name: fn for impl, fn in prepared.items() if callable(fn)}
    seconds, faults = time_interleaved(calls, repeats, warmup)
    rows = []
    for impl, fn in prepared.items():
        row: dict[str, Any] = {"impl": impl.name, "peer": impl.is_peer}
        if isinstance(fn, str):
            row["skipped"] = fn
        else:
            times_ms = [1e3 * t for t in seconds[impl.name]]
            row.update(
                median_ms=statistics.median(times_ms),
                min_ms=min(times_ms),
                times_ms=[round(t, 4) for t in times_ms],
                minor_faults_median=statistics.median(faults[impl.name]),
                max_rel_error=max_rel_error(fn(), x),
            )
        rows.append(row)
    return {"workload": wl.label, **dataclasses.asdict(wl), "rows": rows}


def versions() -> dict[str, str]:
    from importlib import metadata

    out = {}
    for name, dist in [
        ("torch", "torch"),
        ("numpy", "numpy"),
        ("pywt", "PyWavelets"),
        ("ptwt", "ptwt"),
        ("pytorch_wavelets", "pytorch_wavelets"),
        ("scipy", "scipy"),
    ]:
        try:
            out[name] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


def load_average() -> list[float]:
    """1/5/15-minute load averages: other processes on the machine skew the timings."""
    try:
        return [float(v) for v in Path("/proc/loadavg").read_text().split()[:3]]
    except OSError:
        return []


def worker(args: argparse.Namespace) -> None:
    warnings.filterwarnings("ignore")  # pytorch_wavelets imports the deprecated pkg_resources
    import torch
    from tqdm import tqdm

    if args.threads == "1":
        torch.set_num_threads(1)
    ctx = Context(workers=1 if args.threads == "1" else -1)
    shapes = SHAPES[:1] if args.quick else SHAPES
    generator = torch.Generator().manual_seed(SEED)
    results = []
    load_before = load_average()
    with torch.no_grad(), tqdm(total=len(shapes) * len(WORKLOADS), desc=args.label, file=sys.stderr) as bar:
        for shape in shapes:
            x = torch.rand(shape, generator=generator)
            for wl in WORKLOADS:
                bar.set_postfix_str(f"{'x'.join(map(str, shape))} {wl.label}")
                result = bench_workload(wl, x, ctx, args.repeats, args.warmup)
                results.append({"shape": list(shape), **result})
                bar.update()
    payload = {
        "threads": args.threads,
        "torch_threads": torch.get_num_threads(),
        "scipy_workers": ctx.workers,
        "versions": versions(),
        "load_average": {"before": load_before, "after": load_average()},
        "results": results,
    }
    Path(args.json_out).write_text(json.dumps(payload))


# ------------------------------------------------------------------------------------------------
# Orchestration (parent process)


@dataclasses.dataclass(frozen=True)
class Setting:
    threads: str  # "1" or "all"
    malloc: str  # "default" or "tuned"

    @property
    def label(self) -> str:
        threads = "1 thread" if self.threads == "1" else "all threads"
        return threads if self.malloc == "default" else f"{threads}, malloc tuned"

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if k not in THREAD_ENV and k not in MALLOC_TUNED_ENV}
        if self.threads == "1":
            env.update(dict.fromkeys(THREAD_ENV, "1"))
        if self.malloc == "tuned":
            env.update(MALLOC_TUNED_ENV)
        return env


def run_setting(setting: Setting, args: argparse.Namespace) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        json_out = Path(tmp) / "result.json"
        cmd = [
            sys.executable, str(Path(__file__).resolve()), "--worker",
            "--threads", setting.threads, "--repeats", str(args.repeats), "--warmup", str(args.warmup),
            "--label", setting.label, "--json-out", str(json_out),
        ]  # fmt: skip
        if args.quick:
            cmd.append("--quick")
        subprocess.run(cmd, env=setting.env(), check=True)
        payload = json.loads(json_out.read_text())
    payload["setting"] = {"threads": setting.threads, "malloc": setting.malloc, "label": setting.label}
    return payload


def add_ratios(result: dict) -> None:
    """x fastest peer and memory passes for every timed row of one workload."""
    timed = [row for row in result["rows"] if "median_ms" in row]
    peers = [row["median_ms"] for row in timed if row["peer"]]
    fastest_peer = min(peers, default=None)
    memory = next((row["median_ms"] for row in timed if row["impl"] == MEMORY), None)
    for row in timed:
        row["x_fastest_peer"] = row["median_ms"] / fastest_peer if fastest_peer else None
        row["memory_passes"] = row["median_ms"] / memory if memory else None


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def shape_label(shape) -> str:
    return "x".join(map(str, shape))


# ------------------------------------------------------------------------------------------------
# Report


def header(runs: list[dict], args: argparse.Namespace) -> str:
    v = runs[0]["versions"]
    threads = "; ".join(
        f"{run['setting']['label']}: torch {run['torch_threads']} thread(s), scipy.fft workers={run['scipy_workers']}"
        for run in runs
        if run["setting"]["malloc"] == "default"
    )
    loads = ", ".join(
        f"{run['setting']['label']} {run['load_average']['before'][0]:.2f}->{run['load_average']['after'][0]:.2f}"
        for run in runs
        if run["load_average"]["before"]
    )
    date = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    return (
        f"{date} · torch {v['torch']} · numpy {v['numpy']} · pywt {v['pywt']} · ptwt {v['ptwt']} · "
        f"pytorch_wavelets {v['pytorch_wavelets']} · scipy {v['scipy']} · CPU: {cpu_model()} "
        f"({os.cpu_count()} logical cores) · threads: {threads} · float32, {args.repeats} interleaved "
        f"repeats after {args.warmup} warm-up call(s), median · 1-min load average before->after: {loads}"
    )


def fmt(value: float | None, spec: str, suffix: str = "") -> str:
    return "—" if value is None or math.isnan(value) else f"{value:{spec}}{suffix}"


def table(results: list[dict], baseline: dict[tuple, float] | None = None) -> list[str]:
    """Markdown table of one (shape, setting); ``baseline`` adds the default-malloc median column."""
    columns = ["workload", "impl", "median ms", "x fastest peer", "memory passes", "max rel error"]
    if baseline is not None:
        columns.insert(3, "default-env ms")
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    notes: list[str] = []
    for result in results:
        for row in result["rows"]:
            if "skipped" in row:
                if row["skipped"] not in notes:
                    notes.append(row["skipped"])
                mark = "¹²³⁴⁵⁶⁷⁸⁹"[notes.index(row["skipped"])]
                cells = [result["workload"], row["impl"], "—", "—", "—", f"skipped{mark}"]
                if baseline is not None:
                    cells.insert(3, "—")
            else:
                cells = [
                    result["workload"],
                    row["impl"],
                    fmt(row["median_ms"], ".2f"),
                    fmt(row["x_fastest_peer"], ".2f", "x"),
                    fmt(row["memory_passes"], ".1f"),
                    fmt(row["max_rel_error"], ".1e"),
                ]
                if baseline is not None:
                    cells.insert(3, fmt(baseline.get((result["workload"], row["impl"])), ".2f"))
            lines.append("| " + " | ".join(cells) + " |")
    lines += [""] + [f"{'¹²³⁴⁵⁶⁷⁸⁹'[i]} {note}" for i, note in enumerate(notes)]
    return lines


def targets(result: dict) -> list[tuple[str, str, bool]]:
    """(target, measured, met) for freqaug on one workload: the targets of benchmarks/README.md."""
    rows = {row["impl"]: row for row in result["rows"] if "median_ms" in row}
    ours = rows.get(FREQAUG)
    if ours is None:
        return [("—", "freqaug not available", False)]
    if result["kind"] == "dwt":
        if ours["x_fastest_peer"] is None:
            return [("—", "no peer available", False)]
        speedup = 1 / ours["x_fastest_peer"]
        checks = [(">= 2x faster than the fastest peer", f"{speedup:.2f}x faster", speedup >= 2.0)]
        if result["wavelet"] == "haar" and ours["memory_passes"] is not None:
            passes = ours["memory_passes"]
            checks.append(("<= 10 memory passes", f"{passes:.1f} passes", passes <= 10.0))
        return checks
    if "scipy.fft" not in rows:
        return [("—", "scipy.fft not available", False)]
    ratio = ours["median_ms"] / rows["scipy.fft"]["median_ms"]
    return [("<= 1.2x scipy.fft", f"{ratio:.2f}x scipy.fft", ratio <= 1.2)]


def target_table(results: list[dict]) -> list[str]:
    lines = ["| workload | target | measured | met |", "|---|---|---|---|"]
    for result in results:
        for target, measured, met in targets(result):
            lines.append(f"| {result['workload']} | {target} | {measured} | {'yes' if met else 'no'} |")
    return lines


def medians(run: dict, shape: tuple) -> dict[tuple[str, str], float | None]:
    """(workload, impl) -> median ms of one run and shape."""
    return {
        (result["workload"], row["impl"]): row.get("median_ms")
        for result in run["results"]
        if tuple(result["shape"]) == shape
        for row in result["rows"]
    }


def render(runs: list[dict], args: argparse.Namespace) -> str:
    out = [
        "# freqaug band transforms: round-trip benchmark",
        "",
        header(runs, args),
        "",
        "Each row times one forward + inverse round trip of a float32 (N, C, H, W) batch (DCT/Fourier: "
        "split into low + high, then merge). *x fastest peer*: median over the fastest non-freqaug "
        "implementation's median; *memory passes*: median over the median of `x.clone()` on the same "
        "tensor; *max rel error*: max |round trip - x| / (max x - min x), in float64. "
        f"Split cutoff {CUTOFF:g} of Nyquist, radial. Produced by `benchmarks/bench_bands.py`.",
        "",
    ]
    default_runs = {run["setting"]["threads"]: run for run in runs if run["setting"]["malloc"] == "default"}
    for run in runs:
        setting = run["setting"]
        tuned = setting["malloc"] == "tuned"
        for shape in dict.fromkeys(tuple(result["shape"]) for result in run["results"]):
            results = [result for result in run["results"] if tuple(result["shape"]) == shape]
            title = f"## {shape_label(shape)}, {setting['label']}"
            baseline = None
            if tuned:
                title += f" ({TUNED_ENV_TEXT})"
                if setting["threads"] in default_runs:
                    baseline = medians(default_runs[setting["threads"]], shape)
            out += [title, "", *table(results, baseline), ""]
            if setting["threads"] == "1" and not tuned:
                out += [f"Targets, {shape_label(shape)}, 1 thread:", "", *target_table(results), ""]
    return "\n".join(out).rstrip() + "\n"


# ------------------------------------------------------------------------------------------------
# CLI


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="smoke run: first shape only, few repeats")
    parser.add_argument(
        "--repeats", type=int, default=None, help="timed calls per implementation (default 11, --quick 3)"
    )
    parser.add_argument("--warmup", type=int, default=None, help="untimed calls first (default 2, --quick 1)")
    parser.add_argument("--out", type=Path, default=HERE / "results", help="output folder (default benchmarks/results)")
    parser.add_argument(
        "--malloc-tuned", action="store_true", help=f"also run with glibc malloc keeping freed memory ({TUNED_ENV_TEXT})"
    )
    # Internal: one subprocess per setting.
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--threads", choices=("1", "all"), default="1", help=argparse.SUPPRESS)
    parser.add_argument("--label", default="", help=argparse.SUPPRESS)
    parser.add_argument("--json-out", default="", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.repeats is None:
        args.repeats = 3 if args.quick else 11
    if args.warmup is None:
        args.warmup = 1 if args.quick else 2
    if args.repeats < 1 or args.warmup < 0:
        parser.error("--repeats must be >= 1 and --warmup >= 0")
    return args


def to_json(report: dict) -> str:
    """Indented JSON with every list of numbers (the per-call samples) on one line."""
    text = json.dumps(report, indent=1, allow_nan=False)
    return re.sub(r"\[[\d\s.,eE+-]+\]", lambda m: re.sub(r"\s+", "", m.group(0)).replace(",", ", "), text) + "\n"


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    if args.worker:
        worker(args)
        return
    settings = [Setting(threads, "default") for threads in ("1", "all")]
    if args.malloc_tuned:
        settings += [Setting(threads, "tuned") for threads in ("1", "all")]
    started = time.perf_counter()
    runs = [run_setting(setting, args) for setting in settings]
    for run in runs:
        for result in run["results"]:
            add_ratios(result)
    markdown = render(runs, args)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "bands.md").write_text(markdown)
    report = {
        "generated": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "cpu": cpu_model(),
        "logical_cores": os.cpu_count(),
        "shapes": [list(s) for s in (SHAPES[:1] if args.quick else SHAPES)],
        "cutoff": CUTOFF,
        "repeats": args.repeats,
        "warmup": args.warmup,
        "quick": args.quick,
        "malloc_tuned_env": MALLOC_TUNED_ENV if args.malloc_tuned else None,
        "versions": runs[0]["versions"],
        "runs": runs,
        "wall_s": round(time.perf_counter() - started, 1),
    }
    (args.out / "bands.json").write_text(to_json(report))
    print(markdown)
    print(f"wrote {args.out / 'bands.md'} and {args.out / 'bands.json'} in {report['wall_s']:.0f} s")


if __name__ == "__main__":
    main()
