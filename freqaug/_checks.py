"""Validation of plain values (numbers, choices, devices), shared by every layer: each error names the
argument or config field and says what was expected. Tensor checks live in ``freqaug.bands._checks``."""
from __future__ import annotations

import math
import re
from collections.abc import Collection
from typing import Any

__all__ = ["check_bool", "check_choice", "check_device", "check_int", "check_number", "check_pair_of",
           "check_positive_int", "check_unit", "is_number", "require_device"]

_DEVICE = re.compile(r"cpu|cuda(:\d+)?")


def is_number(value: object) -> bool:
    """True for an int or float that is not a bool (numpy scalars included: they subclass neither, so no)."""
    return not isinstance(value, bool) and isinstance(value, (int, float))


def _as_int(value: object) -> int | None:
    """``value`` as a Python int if it is an integer (``int`` or a numpy integer), not a bool; else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    index = getattr(value, "__index__", None)  # numpy.int64 and friends
    if index is not None and type(value).__module__ == "numpy":
        return int(index())
    return None


def check_int(value: object, name: str, minimum: int, maximum: int | None = None) -> int:
    """``value`` as an int if it is an integer in [minimum, maximum] (numpy integers accepted, bools not)."""
    number = _as_int(value)
    if number is None or number < minimum or (maximum is not None and number > maximum):
        upper = "" if maximum is None else (" and < 2**63" if maximum == 2**63 - 1 else f" and <= {maximum}")
        raise ValueError(f"{name}: expected an integer >= {minimum}{upper}, got {value!r}")
    return number


def check_positive_int(value: object, name: str) -> int:
    """``value`` as an int if it is an integer >= 1."""
    number = _as_int(value)
    if number is None or number < 1:
        raise ValueError(f"{name}: expected a positive integer, got {value!r}")
    return number


def check_number(value: object, name: str, *, minimum: float | None = None, maximum: float | None = None,
                 above: float | None = None, below: float | None = None) -> float:
    """``value`` as a float if it is a finite number within the given bounds (``minimum``/``maximum``
    inclusive, ``above``/``below`` exclusive), else a ValueError naming ``name`` and the range."""
    ok = is_number(value) and math.isfinite(value)  # type: ignore[arg-type]
    if ok:
        x = float(value)  # type: ignore[arg-type]
        ok = ((minimum is None or x >= minimum) and (maximum is None or x <= maximum)
              and (above is None or x > above) and (below is None or x < below))
    if not ok:
        bounds = [f">= {minimum:g}" if minimum is not None else "", f"> {above:g}" if above is not None else "",
                  f"<= {maximum:g}" if maximum is not None else "", f"< {below:g}" if below is not None else ""]
        wanted = " and ".join(b for b in bounds if b)
        raise ValueError(f"{name}: expected a finite number{' ' + wanted if wanted else ''}, got {value!r}")
    return float(value)  # type: ignore[arg-type]


def check_unit(value: object, name: str) -> float:
    """``value`` as a float if it is a number in [0, 1]."""
    if not is_number(value) or not 0.0 <= float(value) <= 1.0:  # type: ignore[arg-type]
        raise ValueError(f"{name}: expected a number in [0, 1], got {value!r}")
    return float(value)  # type: ignore[arg-type]


def check_bool(value: object, name: str) -> bool:
    """``value`` if it is True or False (not 0/1, not a string)."""
    if not isinstance(value, bool):
        raise ValueError(f"{name}: expected true or false, got {value!r}")
    return value


def check_choice(value: object, name: str, choices: Collection[str]) -> str:
    """``value`` if it is one of ``choices``."""
    if not isinstance(value, str) or value not in choices:
        raise ValueError(f"{name}: expected one of {', '.join(map(repr, choices))}, got {value!r}")
    return value


def check_pair_of(value: object, name: str, *, minimum: float, below: float) -> tuple[float, float]:
    """``value`` as a pair of floats, each in [minimum, below) (e.g. Adam's betas)."""
    if isinstance(value, (str, bytes)) or not isinstance(value, (tuple, list)) or len(value) != 2:
        raise ValueError(f"{name}: expected a pair [a, b] of numbers in [{minimum:g}, {below:g}), got {value!r}")
    a, b = (check_number(v, f"{name}[{i}]", minimum=minimum, below=below) for i, v in enumerate(value))
    return a, b


def check_device(value: object, name: str = "device") -> str:
    """``value`` as a device string if it reads ``cpu``, ``cuda`` or ``cuda:N`` (a torch.device is accepted);
    never touches the device itself."""
    text = str(value) if type(value).__name__ == "device" else value
    if not isinstance(text, str) or _DEVICE.fullmatch(text) is None:
        raise ValueError(f"{name}: expected 'cpu', 'cuda' or 'cuda:N', got {value!r}")
    return text


def require_device(value: object, name: str = "device") -> str:
    """:func:`check_device`, and for ``cuda`` also that this machine has that CUDA device: call it before any
    work, so that a missing GPU is one line, not a traceback after the data has loaded."""
    text = check_device(value, name)
    if text.startswith("cuda"):
        import torch

        count = torch.cuda.device_count() if torch.cuda.is_available() else 0
        index = int(text.partition(":")[2] or 0)
        if index >= count:
            have = "no CUDA device is available here" if not count else f"this machine has {count} CUDA device(s)"
            raise ValueError(f"{name} {text}: {have}; use --device cpu" if name.startswith("--")
                             else f"{name}={text!r}: {have}; use 'cpu'")
    return text

