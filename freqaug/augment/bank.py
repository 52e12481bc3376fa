"""SyntheticBank: a pool of generated images that a background thread keeps refreshing.

When the generator is slower than the loader, generating one image per synthetic sample stalls
the loader. The bank generates a pool once, serves random images from it at the cost of a copy,
and replaces ``refresh`` pool images per image served, oldest first, in a background thread (in
batches, off the loader's path). Served images are not a function of the index: which image a
draw returns depends on timing, so a loader using a bank is not deterministic.
"""
from __future__ import annotations

import os
import threading
import weakref
from typing import Any

import torch
from torch import Tensor

from freqaug.augment.core import load_cached, mix_seeds, process_generator
from freqaug.augment.params import check_device
from freqaug.bundle import Bundle

__all__ = ["SyntheticBank"]


class _Pool:
    """One process's pool, its counters and the condition the refresh thread waits on."""

    def __init__(self, images: Tensor, generator: torch.Generator) -> None:
        self.images = images
        self.generator = generator  # target vectors, used by the refresh thread only
        self.picker = torch.Generator().manual_seed(mix_seeds(generator.initial_seed(), 1))
        self.cond = threading.Condition()
        self.oldest = 0
        self.owed = 0.0
        self.served = 0
        self.refreshed = 0
        self.stopped = False
        self.error: BaseException | None = None  # what ended the refresh thread, if it failed
        self.thread: threading.Thread | None = None


def _stop(pool: _Pool) -> None:
    """Ask ``pool``'s refresh thread to end after its current batch."""
    with pool.cond:
        pool.stopped = True
        pool.cond.notify_all()


def _generate(bundle: Bundle, count: int, generator: torch.Generator) -> Tensor:
    """``count`` generated images (CPU float, [0, 1]) for target vectors drawn from ``generator``."""
    z = torch.randn(count, bundle.z_dim, generator=generator)
    return bundle.images_from_z(z).cpu()


def _refresh_loop(pool: _Pool, bundle: Bundle, batch_size: int) -> None:
    """Run :func:`_refresh`; a failure is kept for :meth:`SyntheticBank.draw` to raise."""
    try:
        _refresh(pool, bundle, batch_size)
    except BaseException as err:  # noqa: BLE001 - re-raised in the loader's thread by draw()
        with pool.cond:
            pool.error = err


def _refresh(pool: _Pool, bundle: Bundle, batch_size: int) -> None:
    """Replace the oldest pool images, a batch at a time, whenever draws have made some owed."""
    while True:
        with pool.cond:
            pool.cond.wait_for(lambda: pool.stopped or pool.owed >= 1)
            if pool.stopped:
                return
            count = min(batch_size, int(pool.owed))
        fresh = _generate(bundle, count, pool.generator)
        with pool.cond:
            slots = (pool.oldest + torch.arange(count)) % len(pool.images)
            pool.images[slots] = fresh
            pool.oldest = int(slots[-1] + 1) % len(pool.images)
            pool.owed -= count
            pool.refreshed += count
            pool.cond.notify_all()


class SyntheticBank:
    """``size`` generated images served at random, ``refresh`` of them replaced per image served.

    The pool is built on the first :meth:`draw` in each process (a DataLoader worker builds its
    own), with the bundle on ``device``; images are kept on the CPU as float32 (``size`` x C x H x W
    x 4 bytes). ``seed`` seeds the target vectors (per worker, like ``AugmentConfig.seed``). Pickling
    keeps the configuration only. Call :meth:`close` (or use ``with``) to stop the thread; it also
    stops when the bank is garbage collected and at interpreter exit.
    """

    def __init__(
        self,
        bundle_path: str | os.PathLike[str],
        *,
        size: int = 256,
        refresh: float = 0.25,
        batch_size: int = 16,
        device: str = "cpu",
        seed: int = 0,
    ) -> None:
        for value, name in ((size, "size"), (batch_size, "batch_size")):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name}: expected an integer >= 1, got {value!r}")
        if isinstance(refresh, bool) or not isinstance(refresh, (int, float)) or not 0 <= refresh <= 1:
            raise ValueError(f"refresh: expected a number in [0, 1] (pool images replaced per image served), got {refresh!r}")
        if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
            raise ValueError(f"seed: expected an integer >= 0, got {seed!r}")
        self.bundle_path = os.fspath(bundle_path)
        self.size, self.refresh, self.batch_size, self.seed = size, float(refresh), batch_size, seed
        self.device = check_device(device, "device") or "cpu"
        classes = load_cached(self.bundle_path, "cpu").classes  # a missing or damaged bundle fails here, not in a worker
        if classes is not None:
            raise ValueError(f"bundle_path: {self.bundle_path} is layout-conditional ({classes.num_classes} classes) and "
                             "draws each scene from a label map; a SyntheticBank generates without layouts (use "
                             "SyntheticMix without a bank, or PooledSyntheticPairs)")
        self._pool: _Pool | None = None
        self._pool_pid: int | None = None

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state.update(_pool=None, _pool_pid=None)
        return state

    def __enter__(self) -> SyntheticBank:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return (f"SyntheticBank({self.bundle_path!r}, size={self.size}, refresh={self.refresh}, "
                f"batch_size={self.batch_size}, device={self.device!r}, seed={self.seed})")

    def _started(self) -> _Pool:
        """This process's pool, filled and with its refresh thread running (built on first use)."""
        if self._pool is not None and self._pool_pid == os.getpid():
            return self._pool
        bundle = load_cached(self.bundle_path, self.device)
        generator = process_generator(self.seed)
        images = torch.cat([_generate(bundle, min(self.batch_size, self.size - start), generator)
                            for start in range(0, self.size, self.batch_size)])
        pool = _Pool(images, generator)
        pool.thread = threading.Thread(target=_refresh_loop, args=(pool, bundle, self.batch_size),
                                       name="freqaug-bank", daemon=True)
        pool.thread.start()
        weakref.finalize(self, _stop, pool)
        self._pool, self._pool_pid = pool, os.getpid()
        return pool

    def draw(self, count: int = 1) -> Tensor:
        """``count`` random pool images: float (count, C, H, W) in [0, 1] on the CPU (copies)."""
        if isinstance(count, bool) or not isinstance(count, int) or count < 1:
            raise ValueError(f"count: expected an integer >= 1, got {count!r}")
        pool = self._started()
        with pool.cond:
            if pool.error is not None:
                raise RuntimeError(f"SyntheticBank: the refresh thread failed: {pool.error!r}") from pool.error
            if pool.stopped:
                raise RuntimeError("SyntheticBank.draw: the bank was closed")
            picked = pool.images[torch.randint(len(pool.images), (count,), generator=pool.picker)]
            pool.served += count
            pool.owed += count * self.refresh
            pool.cond.notify_all()
        return picked

    def stats(self) -> dict[str, int]:
        """This process's counts: images ``served`` and ``refreshed`` so far, and the pool ``size``."""
        pool = self._pool if self._pool_pid == os.getpid() else None
        if pool is None:
            return {"served": 0, "refreshed": 0, "size": self.size}
        with pool.cond:
            return {"served": pool.served, "refreshed": pool.refreshed, "size": self.size}

    def close(self, timeout: float | None = 30.0) -> None:
        """Stop this process's refresh thread and wait up to ``timeout`` s for it to end."""
        if self._pool is None or self._pool_pid != os.getpid():
            return
        _stop(self._pool)
        if self._pool.thread is not None:
            self._pool.thread.join(timeout)
