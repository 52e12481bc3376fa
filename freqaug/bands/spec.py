"""BandSpec, the one description of a frequency decomposition, and decompose/compose over it.

Every later layer (band GANs, bundles, augmentations) names bands and sizes only through this
module: ``decompose(x, spec)`` gives a dict of bands with stable names, ``compose(bands, spec)``
rebuilds the image, ``spec.band_shapes(H, W)`` says what each band looks like.
"""
from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from typing import Any, Mapping, Sequence, TypedDict

from torch import Tensor

from freqaug._json import parse_json
from freqaug.bands import dct as _dct
from freqaug.bands import fourier as _fourier
from freqaug.bands._checks import check_choice, check_cutoff, check_image, check_transition
from freqaug.bands.dwt import check_level, coeff_length, dwt_max_level, filter_length, wavedec2, waverec2
from freqaug.bands.types import CUTOFF_SHAPES, DOMAINS, KINDS, MODES, Detail, Split

__all__ = ["COARSE", "BandSpec", "compose", "decompose"]

DETAIL_NAMES = ("LH", "HL", "HH")
COARSE = "coarse"  # the coarsest band under any transform: ``LL{K}`` for DWT, ``low`` otherwise


class _SplitOptions(TypedDict):
    """The keyword arguments a DCT or Fourier split takes from a spec."""

    cutoff: float
    shape: str
    transition: float


@dataclass(frozen=True)
class BandSpec:
    """How an image is split into frequency bands (patent claims 3, 5, 6).

    kind: ``"dwt"`` (K-level wavelet transform, bands ``LL{K}`` and ``LH{q}``/``HL{q}``/``HH{q}``
    for q = K..1, level 1 the finest), ``"dct"`` or ``"fourier"`` (bands ``low`` and ``high``).
    wavelet, levels, mode: DWT only, with pywavelets' names. cutoff: DCT/Fourier low-pass edge as
    a fraction of the Nyquist frequency, in (0, 1); shape: ``"radial"`` or ``"rect"``; transition:
    width of a raised-cosine edge (0 = hard). domain: DCT bands as spatial ``"image"`` or as masked
    ``"coeff"`` (DCT coefficients).
    """

    kind: str = "dwt"
    wavelet: str = "haar"
    levels: int = 1
    mode: str = "periodization"
    cutoff: float = 0.25
    shape: str = "radial"
    transition: float = 0.0
    domain: str = "image"

    def __post_init__(self) -> None:
        check_choice(self.kind, "kind", KINDS)
        if self.kind == "dwt":
            filter_length(self.wavelet)  # raises for an unknown wavelet
            check_choice(self.mode, "mode", MODES)
            if isinstance(self.levels, bool) or not isinstance(self.levels, int) or self.levels < 1:
                raise ValueError(f"levels: expected an integer >= 1, got {self.levels!r}")
        else:
            check_cutoff(self.cutoff)
            check_choice(self.shape, "shape", CUTOFF_SHAPES)
            check_transition(self.transition, self.cutoff)
            check_choice(self.domain, "domain", DOMAINS)
            if self.kind == "fourier" and self.domain != "image":
                raise ValueError(
                    "domain: the Fourier split returns spatial images only (use amplitude_phase for a "
                    f"spectral view); expected 'image', got {self.domain!r}"
                )

    # ---- names and sizes ---------------------------------------------------------------------

    @property
    def band_names(self) -> tuple[str, ...]:
        """Band names in a stable order: coarse to fine for DWT, ``low``, ``high`` otherwise."""
        if self.kind != "dwt":
            return ("low", "high")
        names = [f"LL{self.levels}"]
        for q in range(self.levels, 0, -1):
            names += [f"{d}{q}" for d in DETAIL_NAMES]
        return tuple(names)

    @property
    def coarse_band(self) -> str:
        """The band that carries a scene's layout and colour (``LL{K}`` or ``low``): what ``"coarse"`` names."""
        return self.band_names[0]

    def max_levels(self, height: int, width: int) -> int:
        """Deepest DWT level this spec's wavelet allows for an image of ``height`` x ``width``."""
        return dwt_max_level(min(height, width), self.wavelet)

    def band_shapes(self, height: int, width: int) -> dict[str, tuple[int, int]]:
        """Spatial (h, w) of every band for an image of ``height`` x ``width``."""
        for value, name in ((height, "height"), (width, "width")):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name}: expected a positive integer, got {value!r}")
        if self.kind != "dwt":
            return {name: (height, width) for name in self.band_names}
        check_level(self.levels, self.max_levels(height, width), (height, width), self.wavelet)
        shapes: dict[str, tuple[int, int]] = {}
        h, w = height, width
        for q in range(1, self.levels + 1):
            h, w = coeff_length(h, self.wavelet, self.mode), coeff_length(w, self.wavelet, self.mode)
            shapes.update({f"{d}{q}": (h, w) for d in DETAIL_NAMES})
        shapes[f"LL{self.levels}"] = (h, w)
        return {name: shapes[name] for name in self.band_names}

    def describe(self) -> str:
        """A short human description, e.g. ``dwt db4, 3 levels, periodization``."""
        if self.kind == "dwt":
            return f"dwt {self.wavelet}, {self.levels} level{'s' * (self.levels > 1)}, {self.mode}"
        edge = f", transition {self.transition:g}" if self.transition else ", hard edge"
        domain = f", {self.domain} domain" if self.kind == "dct" else ""
        return f"{self.kind} cutoff {self.cutoff:g} {self.shape}{edge}{domain}"

    # ---- serialisation -----------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready dict of every field."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> BandSpec:
        """Build and validate a spec from a dict; unknown keys and wrong types are named."""
        if not isinstance(data, Mapping):
            raise TypeError(f"BandSpec: expected a mapping of fields, got {type(data).__name__}")
        fields = {f.name: f for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - set(fields))
        if unknown:
            raise ValueError(f"BandSpec: unknown field(s) {unknown}; expected some of {sorted(fields)}")
        for key, value in data.items():
            types: dict[str, type | tuple[type, ...]] = {
                "levels": int, "cutoff": (int, float), "transition": (int, float)
            }
            expected = types.get(key, str)
            if isinstance(value, bool) or not isinstance(value, expected):
                raise TypeError(f"BandSpec.{key}: expected {_type_name(expected)}, got {value!r}")
        return cls(**data)

    def to_json(self) -> str:
        """The spec as a JSON string."""
        return json.dumps(self.to_dict(), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> BandSpec:
        """Inverse of :meth:`to_json`."""
        return cls.from_dict(parse_json(text, "BandSpec"))


def _type_name(expected) -> str:
    if isinstance(expected, tuple):
        return "a number"
    return {int: "an integer", str: "a string"}[expected]


# ----------------------------------------------------------------------------------------------


def decompose(x: Tensor, spec: BandSpec, *, check_finite: bool = False) -> dict[str, Tensor]:
    """Split a (N, C, H, W) float tensor into the bands of ``spec``, keyed by ``spec.band_names``.

    NaN/Inf are not checked by default (a full pass and, on GPU, a sync): they propagate to the
    bands they touch. ``check_finite=True`` checks once and raises a ValueError instead.
    """
    check_image(x, check_finite=check_finite)
    _check_spec(spec)
    if spec.kind == "dwt":
        check_level(spec.levels, spec.max_levels(*x.shape[-2:]), x.shape[-2:], spec.wavelet)
        coeffs = wavedec2(x, spec.wavelet, level=spec.levels, mode=spec.mode)
        bands = {f"LL{spec.levels}": coeffs[0]}
        for q, detail in zip(range(spec.levels, 0, -1), coeffs[1:]):
            bands.update({f"{d}{q}": t for d, t in zip(DETAIL_NAMES, detail)})
        return bands
    if not x.shape[0]:  # an empty batch: empty bands (the FFT back-ends refuse zero-length transforms)
        return {"low": x.new_empty(x.shape), "high": x.new_empty(x.shape)}
    options: _SplitOptions = dict(cutoff=spec.cutoff, shape=spec.shape, transition=spec.transition)
    if spec.kind == "dct":
        split = _dct.dct_split(x, domain=spec.domain, **options)
    else:
        split = _fourier.fourier_split(x, **options)
    return {"low": split.low, "high": split.high}


def _check_spec(spec: object) -> None:
    """Raise a TypeError naming what was passed if ``spec`` is not a BandSpec (a wavelet name, say)."""
    if not isinstance(spec, BandSpec):
        hint = f"; for a wavelet name use BandSpec(wavelet={spec!r})" if isinstance(spec, str) else ""
        raise TypeError(f"spec: expected a BandSpec, got {type(spec).__name__} {spec!r}{hint}")


def compose(bands: Mapping[str, Tensor], spec: BandSpec, *, size: Sequence[int] | None = None) -> Tensor:
    """Rebuild the image from ``bands`` (the exact inverse of :func:`decompose`).

    ``size`` = (H, W) of the original image; needed only to undo the one-pixel padding a DWT adds
    to odd sizes (without it the natural, possibly one larger, size is returned).
    """
    _check_spec(spec)
    _check_bands(bands, spec, size)
    if spec.kind == "dwt":
        coeffs: list[Tensor | Detail] = [bands[f"LL{spec.levels}"]]
        for q in range(spec.levels, 0, -1):
            coeffs.append(Detail(*(bands[f"{d}{q}"] for d in DETAIL_NAMES)))
        out = waverec2(coeffs, spec.wavelet, mode=spec.mode)
        if size is not None:
            out = out[..., : size[0], : size[1]]
        return out
    split = Split(bands["low"], bands["high"])
    if spec.kind == "dct":
        return _dct.dct_merge(split, domain=spec.domain)
    return _fourier.fourier_merge(split)


def _check_bands(bands: Mapping[str, Tensor], spec: BandSpec, size: Sequence[int] | None) -> None:
    """Raise naming the band if ``bands`` is not a complete, consistent set for ``spec``."""
    if not isinstance(bands, Mapping):
        raise TypeError(f"bands: expected a dict of band name -> tensor, got {type(bands).__name__}")
    missing = [name for name in spec.band_names if name not in bands]
    if missing:
        raise ValueError(f"bands: missing band(s) {missing}; a {spec.kind} spec needs {list(spec.band_names)}")
    extra = sorted(set(bands) - set(spec.band_names))
    if extra:
        raise ValueError(f"bands: unexpected band(s) {extra}; a {spec.kind} spec has {list(spec.band_names)}")
    first = spec.band_names[0]
    for name in spec.band_names:
        check_image(bands[name], f"bands[{name!r}]")
    ref = bands[first]
    for name in spec.band_names[1:]:
        t = bands[name]
        if t.shape[:2] != ref.shape[:2] or t.dtype != ref.dtype or t.device != ref.device:
            raise ValueError(
                f"bands[{name!r}]: expected batch/channels {tuple(ref.shape[:2])}, dtype {ref.dtype} and "
                f"device {ref.device} like bands[{first!r}], got {tuple(t.shape[:2])}, {t.dtype}, {t.device}"
            )
    if size is None:
        size = _natural_size(bands, spec)
    elif not (isinstance(size, (tuple, list)) and len(size) == 2):
        raise ValueError(f"size: expected (height, width), got {size!r}")
    expected = spec.band_shapes(*size)
    for name, shape in expected.items():
        if tuple(bands[name].shape[-2:]) != shape:
            raise ValueError(
                f"bands[{name!r}]: expected spatial shape {shape} for an image of size {tuple(size)}, "
                f"got {tuple(bands[name].shape[-2:])}"
            )


def _natural_size(bands: Mapping[str, Tensor], spec: BandSpec) -> tuple[int, int]:
    """The (even) image size that the finest bands imply."""
    if spec.kind != "dwt":
        return tuple(bands["low"].shape[-2:])  # type: ignore[return-value]
    h, w = bands["LH1"].shape[-2:]
    if spec.mode == "periodization":
        return 2 * h, 2 * w
    length = filter_length(spec.wavelet)
    return max(2 * h - length + 2, 1), max(2 * w - length + 2, 1)
