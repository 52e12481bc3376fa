"""Process-level tuning for applications (the ``freqaug`` CLI calls it; libraries should not).

glibc hands big freed blocks back to the kernel and faults them in again on the next
allocation: with the large temporaries of band transforms and GAN steps that costs 10-50% of the
time here (about 1 us per 4 KiB page). Keeping freed memory in the heap removes it.
"""
from __future__ import annotations

import ctypes
import ctypes.util
import sys

__all__ = ["keep_freed_memory"]

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
