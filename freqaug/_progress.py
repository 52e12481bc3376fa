"""Progress bars for long work: one switch silences every bar the library draws.

``set_quiet()`` (the CLI's ``--quiet``) or the environment variable ``TQDM_DISABLE=1`` (read at each
bar, so it may be set after import) turn them off; results and errors are still printed.
"""
from __future__ import annotations

import os
from typing import Any

__all__ = ["progress_bar", "quiet", "set_quiet"]

_QUIET = False


def set_quiet(value: bool = True) -> None:
    """Silence (or restore) every progress bar freqaug draws in this process."""
    global _QUIET
    _QUIET = bool(value)


def quiet() -> bool:
    """True when bars are off: :func:`set_quiet` or ``TQDM_DISABLE`` set to anything but '', '0' or 'false'."""
    return _QUIET or os.environ.get("TQDM_DISABLE", "").strip().lower() not in ("", "0", "false")


def progress_bar(iterable: Any = None, *, disable: bool = False, **kwargs: Any) -> Any:
    """``tqdm.auto.tqdm(iterable, **kwargs)``, disabled when ``disable`` or :func:`quiet`."""
    from tqdm.auto import tqdm

    return tqdm(iterable, disable=disable or quiet(), **kwargs)
