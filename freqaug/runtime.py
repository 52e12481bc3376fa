"""Process-level tuning for applications (the ``freqaug`` CLI calls it; libraries should not).

DataLoader workers: a spawned worker's torch threads are set so that the workers share the cores,
a forked one keeps one (:func:`tune_worker_threads`); a worker forked after CUDA was initialised
is refused CUDA with an error that says how to fix it (:func:`check_cuda_fork`).

Threads: torch's default is one thread per core the machine has, whatever else runs on them; on a
shared 2-core machine two torch threads beside two busy 1-thread jobs made one training step 26x
slower here. :func:`default_threads` counts the cores this process may run on (its affinity mask,
which ``taskset``, cgroups' cpusets and container runtimes narrow), and :func:`use_threads` applies
a count (``--threads N`` on every long-running command).

glibc hands big freed blocks back to the kernel and faults them in again on the next
allocation: with the large temporaries of band transforms and GAN steps that costs 10-50% of the
time here (about 1 us per 4 KiB page). Keeping freed memory in the heap removes it.
"""
from __future__ import annotations

import ctypes
import ctypes.util
import os
import sys

import torch
from torch.utils.data import get_worker_info

__all__ = ["check_cuda_fork", "default_threads", "is_forked", "keep_freed_memory", "tune_worker_threads",
           "usable_cores", "use_threads", "worker_threads"]

_TUNED_PIDS: set[int] = set()
_IMPORT_PID = os.getpid()  # the process that imported freqaug's runtime; a forked worker inherits it

_M_TRIM_THRESHOLD, _M_TOP_PAD, _M_MMAP_THRESHOLD = -1, -2, -3


def keep_freed_memory(top_pad: int = 256 << 20) -> bool:
    """Tell glibc's malloc to keep freed memory (no trimming, big blocks from the heap, ``top_pad``
    bytes of slack). Same effect as the MALLOC_*_ environment variables; True if applied."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):  # not glibc (musl, ...): nothing to tune
        return False
    settings = ((_M_MMAP_THRESHOLD, 1 << 30), (_M_TRIM_THRESHOLD, 2**31 - 1), (_M_TOP_PAD, top_pad))
    return all(mallopt(option, value) == 1 for option, value in settings)


def usable_cores() -> int:
    """CPU cores this process may run on (its affinity mask, which containers and taskset narrow)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def default_threads() -> int:
    """torch intra-op threads for a command that was not given ``--threads``: the usable cores."""
    return usable_cores()


def use_threads(n: int | None) -> int:
    """Run torch's intra-op work on ``n`` threads (None: :func:`default_threads`); returns the count."""
    count = default_threads() if n is None else n
    if count < 1:
        raise ValueError(f"--threads: expected an integer >= 1, got {count}")
    torch.set_num_threads(count)
    return count


def worker_threads(num_workers: int) -> int:
    """torch intra-op threads for each of ``num_workers`` DataLoader workers: ``max(1, cores // workers)``."""
    return max(1, usable_cores() // max(1, num_workers))


def is_forked() -> bool:
    """Whether this process is a fork of the one that imported freqaug (spawn / forkserver workers are not)."""
    return os.getpid() != _IMPORT_PID


def tune_worker_threads() -> None:
    """Once per DataLoader worker: a spawned / forkserver worker gets ``worker_threads(num_workers)``
    torch threads; a forked one keeps the single thread DataLoader gives it, because torch's
    OpenMP pool is not fork-safe (more threads after a fork deadlock the first parallel op)."""
    info = get_worker_info()
    pid = os.getpid()
    if info is None or pid in _TUNED_PIDS:
        return
    _TUNED_PIDS.add(pid)
    if not is_forked():
        torch.set_num_threads(worker_threads(info.num_workers))


def check_cuda_fork(device: torch.device) -> None:
    """Raise before any CUDA call if ``device`` is CUDA and this process was forked after CUDA was initialised."""
    if device.type == "cuda" and torch.cuda._is_in_bad_fork():
        raise RuntimeError(
            "freqaug: this process (a DataLoader worker?) was forked after CUDA was initialised in its parent, "
            f"so it cannot generate on {device}. Pass multiprocessing_context='spawn' (or 'forkserver') to the "
            "DataLoader, or use device='cpu' in workers and FreqAugBatch on the GPU after the batch is transferred."
        )
