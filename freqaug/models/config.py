"""Model configuration: plain frozen dataclasses, JSON round trip, validated with errors naming the field."""
from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from typing import Any, Literal, Mapping, cast

from freqaug._json import known_fields, parse_json
from freqaug.bands import BandSpec
from freqaug.data.classes import ClassSet
from freqaug._checks import check_int

__all__ = ["FreqGANConfig", "LayoutConfig", "NetConfig", "cascade_order", "coarse_to_fine_cascade"]

BASELINE = "baseline"  # noise block and generator of the conventional (claim 7) generator
BASELINE_INPUTS = ("noise", "band_image")  # what the baseline generator takes beside its noise
IMAGE_DISCRIMINATORS = ("concat", "oasis")  # LayoutConfig.image_discriminator


@dataclass(frozen=True)
class NetConfig:
    """Width and depth of one convolutional generator or discriminator.

    base_channels: channels at the output (generator) / input (discriminator) resolution, doubled
    per halving of the resolution up to max_channels; min_size: the smaller side of the coarsest grid.
    source_width: channels of a cascade generator's *source path*, three 3x3 convs at the band's
    own resolution from its sources to its output, added to it, so detail is drawn where the
    sources have edges (docs/experiments.md, ``diagnose_detail_bands``); 0: none. Generators only;
    omitted from JSON at 0, so configs written before it existed load unchanged.
    """

    base_channels: int = 32
    max_channels: int = 256
    min_size: int = 4
    source_width: int = 0

    def __post_init__(self) -> None:
        for name in ("base_channels", "max_channels", "min_size"):
            check_int(getattr(self, name), f"{type(self).__name__}.{name}", 1)
        check_int(self.source_width, "NetConfig.source_width", 0)
        if self.max_channels < self.base_channels:
            raise ValueError(
                f"NetConfig.max_channels: expected >= base_channels ({self.base_channels}), got {self.max_channels}"
            )


@dataclass(frozen=True)
class LayoutConfig:
    """The semantic layout a conditional FreqGAN is drawn from (SPADE-style, per block).

    classes: the label space (names = ids 0..K-1, palette, ignore id; e.g. ``freqaug.data.CAMVID``).
    A label map becomes a K-channel one-hot; the ignore id is all-zero (no class). hidden: channels
    of the shared 3x3 conv that turns the resized one-hot into each block's scale and shift.
    image_discriminator: how the full-image discriminator uses the layout: ``"concat"`` (default;
    the one-hot as K extra input channels, one real/fake logit) or ``"oasis"`` (a U-Net segmenting
    the image into K classes + "fake" per pixel, Schoenfeld et al. 2021); omitted from
    :meth:`to_dict` at its default, so existing configs (and their hashes) are unchanged.
    """

    classes: ClassSet
    hidden: int = 32
    image_discriminator: Literal["concat", "oasis"] = "concat"

    def __post_init__(self) -> None:
        if not isinstance(self.classes, ClassSet):
            raise TypeError(f"LayoutConfig.classes: expected a ClassSet, got {type(self.classes).__name__}")
        check_int(self.hidden, "LayoutConfig.hidden", 1)
        if self.image_discriminator not in IMAGE_DISCRIMINATORS:
            raise ValueError(f"LayoutConfig.image_discriminator: expected one of {list(IMAGE_DISCRIMINATORS)}, "
                             f"got {self.image_discriminator!r}")

    @property
    def num_classes(self) -> int:
        """One-hot channels K (the ignore id has none)."""
        return self.classes.num_classes

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict."""
        data = {"classes": self.classes.to_dict(), "hidden": self.hidden}
        if self.image_discriminator != "concat":
            data["image_discriminator"] = self.image_discriminator
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> LayoutConfig:
        """Build and validate; unknown fields are named."""
        data = known_fields(data, cls, "FreqGANConfig.layout")
        if "classes" not in data:
            raise ValueError("FreqGANConfig.layout.classes: missing; expected {names, palette, ignore_index, ...}")
        if not isinstance(data["classes"], Mapping):
            raise TypeError(f"FreqGANConfig.layout.classes: expected a mapping, got {data['classes']!r}")
        try:
            data["classes"] = ClassSet.from_dict(data["classes"])
        except ValueError as err:
            raise ValueError(f"FreqGANConfig.layout.classes: {err}") from None
        return cls(**data)


@dataclass(frozen=True)
class FreqGANConfig:
    """Everything needed to rebuild a :class:`~freqaug.models.FreqGAN`.

    z_dim: size D of the target vector; each band generator and the baseline generator get an
    orthogonal block of ``block_dim`` (default D // (bands + 1)). cascade: band -> source bands
    whose generated outputs it takes as extra input (a DAG); ``"auto"`` (default) resolves to
    :func:`coarse_to_fine_cascade`, ``"none"`` to independent generators. alpha: ``"scalar"`` or
    ``"channel"`` (one learned alpha per colour channel); alpha_init in (0, 1). layout: None (the
    unconditional model) or a :class:`LayoutConfig`: every generator and discriminator then also
    takes a label map; omitted from :meth:`to_dict` when None, so unconditional configs (and their
    hashes) are unchanged. baseline_input: what the baseline generator
    takes beside its own noise block: ``"noise"`` (nothing: an independent image, the patent's
    "another generator") or ``"band_image"`` (the band image as condition maps, so both blended
    images show one scene: the baseline adds a learned correction to it, zero at the start);
    ``"noise"``, the default, is omitted from :meth:`to_dict`.
    """

    spec: BandSpec = field(default_factory=lambda: BandSpec(kind="dwt", wavelet="haar", levels=2))
    image_size: tuple[int, int] = (96, 128)
    channels: int = 3
    z_dim: int = 128
    block_dim: int | None = None
    cascade: Mapping[str, tuple[str, ...]] | str = "auto"
    generator: NetConfig = field(default_factory=lambda: NetConfig(source_width=32))
    discriminator: NetConfig = field(default_factory=NetConfig)
    band_generators: Mapping[str, NetConfig] = field(default_factory=dict)
    alpha: str = "scalar"
    alpha_init: float = 0.5
    noise_seed: int = 0
    band_norm: str = "robust"
    decorrelate_colors: bool = True
    layout: LayoutConfig | None = None
    baseline_input: str = "noise"

    def __post_init__(self) -> None:
        if self.layout is not None and not isinstance(self.layout, LayoutConfig):
            raise TypeError(f"FreqGANConfig.layout: expected None or a LayoutConfig, got {type(self.layout).__name__}")
        if not isinstance(self.spec, BandSpec):
            raise TypeError(f"FreqGANConfig.spec: expected a BandSpec, got {type(self.spec).__name__}")
        size = self.image_size
        if not (isinstance(size, (tuple, list)) and len(size) == 2):
            raise ValueError(f"FreqGANConfig.image_size: expected (height, width), got {size!r}")
        object.__setattr__(self, "image_size", tuple(size))
        for value, name in zip(size, ("height", "width")):
            check_int(value, f"FreqGANConfig.image_size {name}", 8)
        self.spec.band_shapes(*self.image_size)  # raises if the spec does not fit the size
        check_int(self.channels, "FreqGANConfig.channels", 1)
        check_int(self.z_dim, "FreqGANConfig.z_dim", 1)
        if self.block_dim is not None:
            check_int(self.block_dim, "FreqGANConfig.block_dim", 1)
        if self.noise_block_dim < 1 or self.noise_block_dim * (len(self.spec.band_names) + 1) > self.z_dim:
            raise ValueError(
                f"FreqGANConfig.z_dim: {self.z_dim} cannot hold {len(self.spec.band_names) + 1} orthogonal "
                f"blocks of {self.noise_block_dim} (bands + baseline)"
            )
        overrides = dict(self.band_generators)
        for band, net in overrides.items():
            if band not in self.spec.band_names:
                raise ValueError(f"FreqGANConfig.band_generators: unknown band {band!r}; the spec has "
                                 f"{list(self.spec.band_names)}")
            if not isinstance(net, NetConfig):
                raise TypeError(f"FreqGANConfig.band_generators[{band!r}]: expected a NetConfig, got {net!r}")
        object.__setattr__(self, "band_generators", overrides)
        if isinstance(self.cascade, str):
            if self.cascade not in ("auto", "none"):
                raise ValueError(f"FreqGANConfig.cascade: expected 'auto', 'none' or a mapping band -> [sources], "
                                 f"got {self.cascade!r}")
            object.__setattr__(self, "cascade", coarse_to_fine_cascade(self.spec) if self.cascade == "auto" else {})
        cascade = {k: tuple(v) for k, v in dict(cast("Mapping[str, tuple[str, ...]]", self.cascade)).items()}
        object.__setattr__(self, "cascade", cascade)
        cascade_order(self.spec.band_names, cascade)  # raises for unknown bands and cycles
        shapes = self.spec.band_shapes(*self.image_size)
        for band, sources in cascade.items():  # stacked as channels: a band's sources share one size
            sizes = {s: shapes[s] for s in sources}
            if len(set(sizes.values())) > 1:
                raise ValueError(f"FreqGANConfig.cascade: the sources of band {band!r} must share one size (they are "
                                 f"stacked as channels), got {', '.join(f'{s} {h}x{w}' for s, (h, w) in sizes.items())}")
        if self.band_norm not in ("robust", "std"):
            raise ValueError(f"FreqGANConfig.band_norm: expected 'robust' or 'std', got {self.band_norm!r}")
        if not isinstance(self.decorrelate_colors, bool):
            raise ValueError(f"FreqGANConfig.decorrelate_colors: expected true or false, got {self.decorrelate_colors!r}")
        if self.baseline_input not in BASELINE_INPUTS:
            raise ValueError(f"FreqGANConfig.baseline_input: expected one of {list(BASELINE_INPUTS)}, got "
                             f"{self.baseline_input!r}")
        if self.alpha not in ("scalar", "channel"):
            raise ValueError(f"FreqGANConfig.alpha: expected 'scalar' or 'channel', got {self.alpha!r}")
        if isinstance(self.alpha_init, bool) or not isinstance(self.alpha_init, (int, float)) or not (
            0 < self.alpha_init < 1
        ):
            raise ValueError(f"FreqGANConfig.alpha_init: expected a number in (0, 1), got {self.alpha_init!r}")

    def generator_net(self, band: str) -> NetConfig:
        """Width and depth of the generator of ``band``."""
        return self.band_generators.get(band, self.generator)

    @property
    def noise_block_dim(self) -> int:
        """Noise dimensions each generator receives."""
        return self.block_dim or self.z_dim // (len(self.spec.band_names) + 1)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict."""
        data = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        data.update(
            spec=self.spec.to_dict(),
            image_size=list(self.image_size),
            cascade={k: list(v) for k, v in cast("Mapping[str, tuple[str, ...]]", self.cascade).items()},
            generator=_net_to_dict(self.generator),
            discriminator=_net_to_dict(self.discriminator),
            band_generators={k: _net_to_dict(v) for k, v in self.band_generators.items()},
        )
        if self.baseline_input == "noise":
            del data["baseline_input"]
        if self.layout is None:
            del data["layout"]
        else:
            data["layout"] = self.layout.to_dict()
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> FreqGANConfig:
        """Build and validate a config from a dict; unknown or mistyped fields are named."""
        data = known_fields(data, cls, "FreqGANConfig")
        if "spec" in data:
            data["spec"] = BandSpec.from_dict(data["spec"])
        for key in ("generator", "discriminator"):
            if key in data:
                data[key] = _net_from_dict(data[key], key)
        if "band_generators" in data:
            if not isinstance(data["band_generators"], Mapping):
                raise TypeError(f"FreqGANConfig.band_generators: expected a mapping band -> net, got "
                                f"{data['band_generators']!r}")
            data["band_generators"] = {
                k: _net_from_dict(v, f"band_generators[{k!r}]") for k, v in data["band_generators"].items()
            }
        if data.get("layout") is not None:
            if not isinstance(data["layout"], Mapping):
                raise TypeError(f"FreqGANConfig.layout: expected null or a mapping, got {data['layout']!r}")
            data["layout"] = LayoutConfig.from_dict(data["layout"])
        if "cascade" in data and not isinstance(data["cascade"], (Mapping, str)):
            raise TypeError(f"FreqGANConfig.cascade: expected a mapping band -> [sources], got {data['cascade']!r}")
        return cls(**data)

    def to_json(self) -> str:
        """The config as JSON text."""
        return json.dumps(self.to_dict(), indent=2, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> FreqGANConfig:
        """Inverse of :meth:`to_json`."""
        return cls.from_dict(parse_json(text, "FreqGANConfig"))


def _net_to_dict(net: NetConfig) -> dict[str, Any]:
    """A NetConfig as JSON-ready dict, without source_width at 0 (see :class:`NetConfig`)."""
    data = dataclasses.asdict(net)
    if not data["source_width"]:
        del data["source_width"]
    return data


def _net_from_dict(data: Any, key: str) -> NetConfig:
    if not isinstance(data, Mapping):
        raise TypeError(f"FreqGANConfig.{key}: expected a mapping, got {data!r}")
    unknown = sorted(set(data) - {f.name for f in dataclasses.fields(NetConfig)})
    if unknown:
        raise ValueError(f"FreqGANConfig.{key}: unknown field(s) {unknown}")
    return NetConfig(**data)


def coarse_to_fine_cascade(spec: BandSpec) -> dict[str, tuple[str, ...]]:
    """The default cascade: every detail band is generated given the coarsest approximation and
    the detail bands one level coarser (DWT), or the high band given the low band (DCT, Fourier),
    so edges and texture are drawn where the layout has them."""
    names = spec.band_names
    if spec.kind != "dwt":
        return {"high": ("low",)}
    top = f"LL{spec.levels}"
    details = {q: tuple(f"{b}{q}" for b in ("LH", "HL", "HH")) for q in range(1, spec.levels + 1)}
    cascade = {}
    for q, bands in details.items():
        sources = (top, *details.get(q + 1, ()))
        cascade.update({band: sources for band in bands})
    assert set(cascade) | {top} == set(names)
    return cascade


def cascade_order(names: tuple[str, ...], cascade: Mapping[str, tuple[str, ...]]) -> list[str]:
    """Band names in an order where every band comes after its cascade sources (Kahn's algorithm,
    ties in ``names`` order); raises naming an unknown band or the bands on a cycle."""
    known = set(names)
    for band, sources in cascade.items():
        for name in (band, *sources):
            if name not in known:
                raise ValueError(f"cascade: unknown band {name!r}; the spec has {list(names)}")
        if band in sources:
            raise ValueError(f"cascade: band {band!r} lists itself as a source")
    order: list[str] = []
    remaining = list(names)
    while remaining:
        ready = [b for b in remaining if all(s in order for s in cascade.get(b, ()))]
        if not ready:
            raise ValueError(f"cascade: the sources of {remaining} form a cycle; a cascade must be acyclic")
        order.append(ready[0])
        remaining.remove(ready[0])
    return order
