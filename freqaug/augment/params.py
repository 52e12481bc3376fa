"""The augmentation's configuration and its sampler: per-sample parameters from an explicit torch.Generator.

:class:`AugmentConfig` is validated once, at construction, and round-trips through JSON
(``to_dict`` / ``from_dict``);
:func:`sample_params` draws everything random about one batch (whether each sample is augmented,
its strength, its target vector), so a call can be replayed from its parameters.
"""
from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass
from typing import Any, Literal, Mapping, cast

import torch
from torch import Tensor

from freqaug._json import known_fields
from freqaug._checks import check_unit
from freqaug.data.classes import CAMVID

__all__ = ["MODES", "AugmentConfig", "Mode", "sample_params"]

Mode = Literal["bands", "coarse", "blend", "replace"]
"""``bands``: take bands from a generated image; ``coarse``: take its illumination, colour and global contrast
(below 1/16 of the Nyquist frequency) and keep the real detail; ``blend``: mix whole images; ``replace``: swap
the image."""

MODES: tuple[str, ...] = ("bands", "coarse", "blend", "replace")


def _check_strength(value: object) -> tuple[float, float]:
    """``value`` as (lo, hi) with 0 <= lo <= hi <= 1."""
    if isinstance(value, str) or not isinstance(value, (tuple, list)) or len(value) != 2:
        raise ValueError(f"AugmentConfig.strength: expected a pair (lo, hi) with 0 <= lo <= hi <= 1, got {value!r}")
    lo, hi = (check_unit(v, "AugmentConfig.strength") for v in value)
    if lo > hi:
        raise ValueError(f"AugmentConfig.strength: expected lo <= hi, got {tuple(value)!r}")
    return lo, hi


def check_device(value: object, name: str = "AugmentConfig.device") -> str | None:
    """``value`` as a device string torch understands, or None; never touches the device itself."""
    if value is None:
        return None
    try:
        return str(torch.device(cast("str | torch.device | int", value)))  # torch rejects other values below
    except (RuntimeError, TypeError):
        raise ValueError(f"{name}: expected None or a torch device such as 'cpu' or 'cuda', got {value!r}") from None


@dataclass(frozen=True)
class AugmentConfig:
    """Everything an augmentation front-end needs, as plain JSON-ready values (the bundle by path).

    mode: ``bands`` (take ``bands`` from a generated image with strength s), ``coarse`` (take its
    content below 1/16 of the Nyquist frequency with strength s: the scene's illumination, colour and
    global contrast; the real image keeps its layout and detail), ``blend``
    (``w * generated + (1 - w) * real`` with w = s * ``weight``, ``weight`` None = the bundle's
    alpha) or ``replace`` (the generated image; the sample's labels no longer apply). p: chance
    that a sample is augmented. strength: the range s is drawn from, uniformly, per sample.
    bands: band names (None = the high-frequency bands, ``functional.default_bands``). device:
    where the generator runs (None = the images' device). seed: None = torch's global RNG (which a
    DataLoader seeds per worker), an int = a generator per process seeded from (seed, worker id).
    ignore_index: the mask value of samples whose labels no longer apply.
    """

    bundle_path: str
    mode: str = "bands"
    p: float = 0.5
    strength: tuple[float, float] = (1.0, 1.0)
    bands: tuple[str, ...] | None = None
    weight: float | None = None
    device: str | None = "cpu"
    seed: int | None = None
    ignore_index: int = cast(int, CAMVID.ignore_index)  # one default for every front-end and data set (CamVid's 11)

    def __post_init__(self) -> None:
        path = self.bundle_path
        if not isinstance(path, (str, os.PathLike)) or not str(path):
            raise ValueError(f"AugmentConfig.bundle_path: expected the path of a bundle file, got {path!r}")
        self._set("bundle_path", os.fspath(path))
        if self.mode not in MODES:
            raise ValueError(f"AugmentConfig.mode: expected one of {', '.join(map(repr, MODES))}, got {self.mode!r}")
        self._set("p", check_unit(self.p, "AugmentConfig.p"))
        self._set("strength", _check_strength(self.strength))
        self._set("bands", self._checked_bands())
        if self.weight is not None:
            self._set("weight", check_unit(self.weight, "AugmentConfig.weight"))
            self._only_for("weight", "blend")
        self._set("device", check_device(self.device))
        if self.seed is not None and (isinstance(self.seed, bool) or not isinstance(self.seed, int) or self.seed < 0):
            raise ValueError(f"AugmentConfig.seed: expected None or an integer >= 0, got {self.seed!r}")
        if isinstance(self.ignore_index, bool) or not isinstance(self.ignore_index, int):
            raise ValueError(f"AugmentConfig.ignore_index: expected an integer, got {self.ignore_index!r}")

    def _set(self, name: str, value: Any) -> None:
        object.__setattr__(self, name, value)

    def _only_for(self, name: str, mode: str) -> None:
        """Raise if field ``name`` is set although only ``mode`` uses it."""
        if self.mode != mode:
            raise ValueError(f"AugmentConfig.{name}: only mode={mode!r} uses it; got mode={self.mode!r} (leave it None)")

    def _checked_bands(self) -> tuple[str, ...] | None:
        """``bands`` as a tuple of strings, or None (names are checked against the bundle when it loads)."""
        bands = self.bands
        if bands is None:
            return None
        if isinstance(bands, str) or not isinstance(bands, (tuple, list)) or not bands or not all(
            isinstance(b, str) for b in bands
        ):
            raise ValueError(f"AugmentConfig.bands: expected None or a non-empty list of band names, got {bands!r}")
        self._only_for("bands", "bands")
        return tuple(bands)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready dict of every field."""
        data = dataclasses.asdict(self)
        data["strength"] = list(self.strength)
        data["bands"] = None if self.bands is None else list(self.bands)
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> AugmentConfig:
        """Build and validate a config from a dict (e.g. ``json.loads`` of ``to_dict``); unknown fields are named."""
        data = known_fields(data, cls, "AugmentConfig")
        if "bundle_path" not in data:
            raise ValueError("AugmentConfig: field 'bundle_path' is missing")
        return cls(**data)


def sample_params(batch: int, config: AugmentConfig, generator: torch.Generator, *, z_dim: int) -> dict[str, Tensor]:
    """Random parameters of ``batch`` samples, all drawn from ``generator`` on its device.

    ``apply`` (B,) bool: augment the sample (probability ``config.p``); ``strength`` (B,) uniform in
    ``config.strength``; ``z`` (B, z_dim) target vectors ~ N(0, I). Every sample's values are
    drawn whether or not it is applied, so the stream consumed depends on ``batch`` only.
    """
    if isinstance(batch, bool) or not isinstance(batch, int) or batch < 0:
        raise ValueError(f"batch: expected an integer >= 0, got {batch!r}")
    if not isinstance(generator, torch.Generator):
        raise TypeError(f"generator: expected a torch.Generator, got {type(generator).__name__}")
    device = generator.device
    lo, hi = config.strength
    apply = torch.rand(batch, generator=generator, device=device) < config.p
    strength = torch.rand(batch, generator=generator, device=device).mul_(hi - lo).add_(lo)
    z = torch.randn(batch, z_dim, generator=generator, device=device)
    return {"apply": apply, "strength": strength, "z": z}
