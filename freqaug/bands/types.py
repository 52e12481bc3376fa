"""Literal aliases and band containers shared by every band transform."""
from __future__ import annotations

from typing import Literal, NamedTuple

from torch import Tensor

Kind = Literal["dwt", "dct", "fourier"]
"""Which frequency transform a :class:`~freqaug.bands.BandSpec` uses."""

Mode = Literal[
    "zero", "constant", "symmetric", "reflect", "periodic", "smooth", "antisymmetric", "periodization"
]
"""DWT boundary extension modes, with pywavelets' names and semantics."""

CutoffShape = Literal["radial", "rect"]
"""Shape of the low-pass region in a DCT or Fourier split."""

Domain = Literal["image", "coeff"]
"""Whether a DCT split returns its bands as spatial images or as masked DCT coefficients."""

KINDS: tuple[str, ...] = ("dwt", "dct", "fourier")
MODES: tuple[str, ...] = Mode.__args__  # type: ignore[attr-defined]
CUTOFF_SHAPES: tuple[str, ...] = ("radial", "rect")
DOMAINS: tuple[str, ...] = ("image", "coeff")


class Detail(NamedTuple):
    """The three detail bands of one DWT level, in the patent's naming.

    ``LH`` = low vertical / high horizontal (pywt ``cV``), ``HL`` = high vertical / low horizontal
    (pywt ``cH``), ``HH`` = high in both (pywt ``cD``).
    """

    LH: Tensor
    HL: Tensor
    HH: Tensor


class Split(NamedTuple):
    """A two-band low/high split (DCT or Fourier)."""

    low: Tensor
    high: Tensor
