"""Process-level tuning for applications (the ``freqaug`` CLI calls it; libraries should not).

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

__all__ = ["default_threads", "keep_freed_memory", "usable_cores", "use_threads"]

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
    import torch

    count = default_threads() if n is None else n
    if count < 1:
        raise ValueError(f"--threads: expected an integer >= 1, got {count}")
    torch.set_num_threads(count)
    return count
