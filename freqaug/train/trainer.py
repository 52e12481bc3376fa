"""Two-stage training of a FreqGAN (patent claim 2 and [0016]).

Stage 1: every band GAN learns its own band of the real images, each generator with its own
Gaussian noise; cascade generators are conditioned on the real source bands. Stage 2: the baseline generator and alpha (optionally the
band generators too) learn full images through the inverse transform against the image
discriminator. Non-saturating logistic loss with lazy R1 (or hinge), Adam, EMA of the generator,
DiffAugment for small data sets. A conditional model (``config.layout``) trains on (image, label
map) pairs: in both stages the fake samples of a step are drawn from the real batch's label maps,
and every discriminator sees the layout beside its input, or, with ``layout.image_discriminator ==
"oasis"``, the image discriminator segments each pixel into the K classes or "fake" (OASIS's losses;
the trainer's loss choice and R1 then apply to the band discriminators only). With
``semantic_segnet``, a frozen segnet trained by freqaug on the labelled data also segments the
generated images (stage 1: the image the first round's bands compose; stage 2: the blend), and the
generators minimise its class-balanced cross-entropy against the layouts (``semantic`` weight).
"""
from __future__ import annotations

import copy
import functools
import dataclasses
import json
from dataclasses import dataclass
from typing import Any, Callable, Mapping, Sequence, cast

import torch
import torch.distributed as dist
from torch import Tensor, nn
from freqaug._progress import progress_bar

from freqaug._checks import check_bool, check_int, check_number, check_pair_of
from freqaug._json import known_fields
from freqaug.bands import COARSE, BandSpec, BandStats, BandStatsAccumulator, compose, decompose
from freqaug.metrics.segnet import load_segnet
from freqaug.models import FreqGAN, FreqGANConfig, build_discriminators
from freqaug.models.config import BASELINE
from freqaug.models.layers import resize_to
from freqaug.train.diffaugment import POLICIES, diff_augment
from freqaug.train.losses import (
    d_hinge_loss, d_logistic_loss, d_oasis_loss, g_hinge_loss, g_nonsaturating_loss, g_oasis_loss, labelmix_loss,
    labelmix_mask, r1_penalty, semantic_loss,
)

IMAGE_STATS = "image"  # key of the full images' statistics beside the bands'

__all__ = ["TrainConfig", "Trainer", "ema_update", "requires_grad", "resolve_band_updates"]


@dataclass(frozen=True)
class TrainConfig:
    """Optimisation settings; one source of truth for a run (saved beside its checkpoints).

    ``band_updates`` gives named bands more than one D+G update per stage-1 step, each on a fresh
    batch: band GANs train independently (claim 2), and the coarse band that sets a scene's layout
    costs a fraction of the fine ones (CamVid 128x96: LL2 about 5% of a step), so it can take many
    more updates in the same wall-clock. ``"coarse"`` names that band under any transform (``LL{K}``
    or ``low``); ``{}`` gives every band one update. A config without the field gets this default,
    but a resumed run keeps what it trained with (``train.run.saved_run_config``)."""

    batch_size: int = 16
    lr_g: float = 2e-3
    lr_d: float = 2e-3
    lr_alpha: float = 0.1  # one logit (or one per channel): Adam moves it <= lr per step, so 0.1 lets it cross (0, 1) in a short stage 2
    betas: tuple[float, float] = (0.0, 0.99)
    loss: str = "logistic"
    r1_gamma: float = 1.0
    r1_every: int = 4
    ema_half_life_images: int = 2000
    ema_rampup: float = 0.1  # half-life at most this fraction of the images seen in the stage (0: off)
    band_augment: tuple[str, ...] = ("translation", "cutout")
    image_augment: tuple[str, ...] = ("color", "translation", "cutout")
    labelmix: float = 0.0  # weight of OASIS's LabelMix consistency loss (OASIS uses 10); needs the OASIS image D
    semantic: float = 0.0  # weight of the semantic-consistency loss through the frozen segnet ``semantic_segnet``
    semantic_segnet: str | None = None  # segnet file (freqaug train-segnet) that reads the generated images; conditional models
    finetune_bands: bool = False
    band_updates: Mapping[str, int] = dataclasses.field(default_factory=lambda: {COARSE: 8})  # band -> D+G updates per stage-1 step
    amp: str = "off"  # "bf16": forward passes under bfloat16 autocast (CUDA, or CPU with bf16 support)
    seed: int = 0

    def __post_init__(self) -> None:
        object.__setattr__(self, "betas", check_pair_of(self.betas, "TrainConfig.betas", minimum=0, below=1))
        object.__setattr__(self, "band_augment", tuple(self.band_augment))
        object.__setattr__(self, "image_augment", tuple(self.image_augment))
        if self.loss not in ("logistic", "hinge"):
            raise ValueError(f"TrainConfig.loss: expected 'logistic' or 'hinge', got {self.loss!r}")
        if self.amp not in ("off", "bf16"):
            raise ValueError(f"TrainConfig.amp: expected 'off' or 'bf16', got {self.amp!r}")
        for key in ("band_augment", "image_augment"):
            unknown = [p for p in getattr(self, key) if p not in POLICIES]
            if unknown:
                raise ValueError(f"TrainConfig.{key}: unknown op(s) {unknown}; expected some of {list(POLICIES)}")
        for key in ("batch_size", "r1_every", "ema_half_life_images"):
            check_int(getattr(self, key), f"TrainConfig.{key}", 1)
        check_number(self.labelmix, "TrainConfig.labelmix", minimum=0)
        check_number(self.semantic, "TrainConfig.semantic", minimum=0)
        if self.semantic_segnet is not None and not isinstance(self.semantic_segnet, str):
            raise ValueError(f"TrainConfig.semantic_segnet: expected a segnet file path (str) or null, got "
                             f"{self.semantic_segnet!r}")
        if (self.semantic > 0) != (self.semantic_segnet is not None):
            raise ValueError(f"TrainConfig.semantic = {self.semantic} and semantic_segnet = {self.semantic_segnet!r}: "
                             "the semantic-consistency loss needs both a weight > 0 and a segnet file "
                             "(freqaug train-segnet --data LABELLED_TRAIN --out FILE); give both or neither")
        if not isinstance(self.band_updates, Mapping):
            raise ValueError(f"TrainConfig.band_updates: expected a mapping band -> updates, e.g. {{'coarse': 8}}, got "
                             f"{self.band_updates!r}")
        updates = dict(self.band_updates)
        for band, count in updates.items():
            if isinstance(count, bool) or not isinstance(count, int) or count < 1:
                raise ValueError(f"TrainConfig.band_updates[{band!r}]: expected a positive integer, got {count!r}")
        object.__setattr__(self, "band_updates", updates)
        check_number(self.ema_rampup, "TrainConfig.ema_rampup", minimum=0, maximum=1)
        for key in ("lr_g", "lr_d", "lr_alpha"):
            check_number(getattr(self, key), f"TrainConfig.{key}", above=0)
        check_number(self.r1_gamma, "TrainConfig.r1_gamma", minimum=0)
        check_int(self.seed, "TrainConfig.seed", 0, 2**63 - 1)
        check_bool(self.finetune_bands, "TrainConfig.finetune_bands")

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict of every field."""
        return {k: list(v) if isinstance(v, tuple) else v for k, v in dataclasses.asdict(self).items()}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> TrainConfig:
        """Build and validate; unknown fields are named."""
        data = dict(data) if isinstance(data, Mapping) else data
        if isinstance(data, dict) and data.get("cascade_inputs", "real") == "real":  # configs written before the
            data.pop("cascade_inputs", None)  # knob went: "real" is what every cascade trains on now
        return cls(**known_fields(data, cls, "TrainConfig"))

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, sort_keys=True)


def resolve_band_updates(updates: Mapping[str, int], spec: BandSpec) -> dict[str, int]:
    """``TrainConfig.band_updates`` with ``"coarse"`` replaced by the spec's coarse band; unknown or twice-named bands are errors."""
    resolved: dict[str, int] = {}
    for name, count in updates.items():
        band = spec.coarse_band if name == COARSE else name
        if band not in spec.band_names:
            raise ValueError(f"TrainConfig.band_updates: unknown band {name!r}; the model has "
                             f"{list(spec.band_names)} (or {COARSE!r} for {spec.coarse_band})")
        if band in resolved:
            raise ValueError(f"TrainConfig.band_updates: {COARSE!r} is {band} in this model, and both are given; "
                             "give one of them")
        resolved[band] = count
    return resolved


def _distributed() -> tuple[int, int]:
    """(rank, world size) of an initialised torch.distributed group, else (0, 1)."""
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


def requires_grad(module: nn.Module, flag: bool) -> None:
    """Switch gradients of all parameters of ``module``."""
    for p in module.parameters():
        p.requires_grad_(flag)


@torch.no_grad()
def ema_update(ema: nn.Module, model: nn.Module, beta: float) -> None:
    """ema <- beta * ema + (1 - beta) * model for parameters that require grad (those trained now;
    frozen ones keep their average, e.g. the band generators during stage 2); buffers are copied."""
    for e, m in zip(ema.parameters(), model.parameters()):
        if m.requires_grad:
            e.lerp_(m.detach(), 1 - beta)
    for buf, src in zip(ema.buffers(), model.buffers()):
        buf.copy_(src)


def _mixed_precision(step):
    """Run a step function's forward passes under bfloat16 autocast when ``config.amp == "bf16"``
    (no loss scaling needed: bf16 has float32's range); weights and optimiser state stay float32."""

    @functools.wraps(step)
    def wrapped(self: Trainer, *args, **kwargs):
        with torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=self.config.amp == "bf16"):
            return step(self, *args, **kwargs)

    return wrapped


class Trainer:
    """Holds a FreqGAN, its EMA copy, the discriminators and optimisers; steps both stages.

    ``images``: the training set as one (N, C, H, W) float tensor in [-1, 1] (CamVid 128x96 is
    367 x 3 x 96 x 128 floats, 54 MB), already at the model's image size. ``labels``: their label
    maps (N, H, W) of class ids, required by (and only by) a conditional model.
    """

    def __init__(
        self, model_config: FreqGANConfig, config: TrainConfig, images: Tensor, *, labels: Tensor | None = None,
        device="cpu", single: bool = False,
    ) -> None:
        expected = (model_config.channels, *model_config.image_size)
        if images.ndim != 4 or tuple(images.shape[1:]) != expected:
            raise ValueError(f"images: expected (N, {expected[0]}, {expected[1]}, {expected[2]}), got {tuple(images.shape)}")
        if labels is not None and len(labels) != len(images):
            raise ValueError(f"labels: {len(labels)} label maps for {len(images)} images; expected one each")
        if single and model_config.baseline_input != "noise":
            raise ValueError(f"FreqGANConfig.baseline_input = {model_config.baseline_input!r}: the single-GAN control "
                             "trains the baseline generator alone, with no band image to take; set it to 'noise'")
        self.config, self.device, self.single = config, torch.device(device), single
        self.images = images.to(self.device)
        torch.manual_seed(config.seed)
        self.model = FreqGAN(model_config).to(self.device)
        self.model.check_labels(labels)  # a conditional model needs valid label maps; an unconditional none
        self.band_updates = resolve_band_updates(config.band_updates, model_config.spec)
        self.labels = labels.to(self.device) if labels is not None else None
        self.model.set_band_stats(*self._band_stats(images))
        self.ema = copy.deepcopy(self.model).eval()
        requires_grad(self.ema, False)
        self.discriminators = build_discriminators(self.model).to(self.device)
        band_gens = list(self.model.generators.parameters())
        stage2: list[dict[str, Any]] = [
            {"params": [*self.model.baseline.parameters(), *(band_gens if config.finetune_bands else [])]}
        ]
        if not single:  # the single-GAN control trains the baseline generator alone: no blend
            stage2.append({"params": list(self.model.blend.parameters()), "lr": config.lr_alpha})
        band_discs = [p for name, d in self.discriminators.items() if name != "image" for p in d.parameters()]
        self.opt = {
            "g1": torch.optim.Adam(band_gens, lr=config.lr_g, betas=config.betas),
            "d1": torch.optim.Adam(band_discs, lr=config.lr_d, betas=config.betas),
            "g2": torch.optim.Adam(stage2, lr=config.lr_g, betas=config.betas),
            "d2": torch.optim.Adam(self.discriminators["image"].parameters(), lr=config.lr_d, betas=config.betas),
        }
        self.rank, self.world_size = _distributed()
        if self.world_size > 1:  # identical start on every rank; each rank then draws its own data and noise
            for module in (self.model, self.ema, self.discriminators):
                for tensor in [*module.parameters(), *module.buffers()]:
                    dist.broadcast(tensor.data, src=0)
        self.rng = torch.Generator(self.device).manual_seed(config.seed + 1_000_003 * self.rank)
        self.step = {"single": 0} if single else {"stage1": 0, "stage2": 0}
        self._d_loss = d_logistic_loss if config.loss == "logistic" else d_hinge_loss
        layout = model_config.layout
        self.oasis = layout is not None and layout.image_discriminator == "oasis"  # image D segments pixels
        if config.labelmix > 0 and not self.oasis:
            raise ValueError(f"TrainConfig.labelmix = {config.labelmix}: LabelMix needs the OASIS image discriminator "
                             "(a conditional model with LayoutConfig.image_discriminator='oasis'); set labelmix to 0")
        self._g_loss = g_nonsaturating_loss if config.loss == "logistic" else g_hinge_loss
        self.segmenter = self._load_segmenter(config, model_config)

    def _load_segmenter(self, config: TrainConfig, model_config: FreqGANConfig) -> nn.Module | None:
        """The frozen segnet of the semantic-consistency loss (None without one), checked against the model."""
        if config.semantic_segnet is None:
            return None
        if model_config.layout is None:
            raise ValueError(f"TrainConfig.semantic = {config.semantic}: the semantic-consistency loss compares "
                             "generated images with the layouts they were drawn from; it needs a conditional model "
                             "(freqaug train --conditional)")
        segnet = load_segnet(config.semantic_segnet, device=self.device)
        if segnet.config.num_classes != model_config.layout.num_classes or segnet.config.in_channels != model_config.channels:
            raise ValueError(f"{config.semantic_segnet}: the segnet reads {segnet.config.in_channels} channel(s) and "
                             f"predicts {segnet.config.num_classes} classes; the model has {model_config.channels} and "
                             f"{model_config.layout.num_classes} ({', '.join(model_config.layout.classes.names)})")
        requires_grad(segnet.eval(), False)
        return segnet

    def _semantic(self, images: Tensor, layout: Tensor | None) -> Tensor | None:
        """The weighted semantic-consistency loss of generated ``images`` in [-1, 1], augmented with the
        image discriminator's policy (the layout moves with them), or None without a segmenter."""
        if self.segmenter is None or layout is None:
            return None
        logits, moved = self._segment(self.segmenter, (images.clamp(-1, 1) + 1) / 2, self.config.image_augment, layout)
        return self.config.semantic * semantic_loss(logits, moved)

    # ---- data ----------------------------------------------------------------------------

    def _band_stats(self, images: Tensor) -> tuple[dict, BandStats]:
        """Statistics of every band and of the full images over the training set."""
        acc = BandStatsAccumulator()
        for batch in images.split(64):
            batch = batch.to(self.device)
            acc.update({**decompose(batch, self.model.config.spec), IMAGE_STATS: batch})
        stats = acc.result()
        return stats, stats.pop(IMAGE_STATS)

    def sample_pairs(self) -> tuple[Tensor, Tensor | None]:
        """A random batch of real images and their label maps (None when unconditional)."""
        index = torch.randint(len(self.images), (self.config.batch_size,), generator=self.rng, device=self.device)
        return self.images[index], None if self.labels is None else self.labels[index]

    def _real(self, real: Tensor | None, labels: Tensor | None) -> tuple[Tensor, Tensor | None]:
        """The step's real batch (drawn when ``real`` is None) and its one-hot layout (None when unconditional)."""
        if real is None:
            real, labels = self.sample_pairs()
        return real, self.model.one_hot(labels)

    def _noise(self, n: int) -> Tensor:
        return torch.randn(n, self.model.config.noise_block_dim, generator=self.rng, device=self.device)

    def _aug(self, x: Tensor, policy: tuple[str, ...]) -> Tensor:
        return diff_augment(x, policy, generator=self.rng)

    def _judge(self, disc: nn.Module, x: Tensor, policy: tuple[str, ...], cond: Tensor | None = None,
               layout: Tensor | None = None) -> Tensor:
        """Logits of ``disc`` for augmented ``x`` given its cascade sources and layout, moved with it."""
        x, (cond, layout) = self._aug_aligned(x, policy, (cond, layout))
        return disc(x, cond) if layout is None else disc(x, cond, layout)

    def _aug_aligned(self, x: Tensor, policy: tuple[str, ...], maps: tuple[Tensor | None, ...]):
        """(augmented x, maps): every map (cascade sources, a layout) is resized to x's grid and moved
        by the same spatial ops, colour ops touch x alone, so a discriminator judges aligned pairs
        (a real band shifted against its real sources would teach it that alignment does not matter)."""
        if "color" in policy:
            x = self._aug(x, ("color",))
        spatial = tuple(p for p in policy if p != "color")
        present = [resize_to(m, x.shape[-2:]) for m in maps if m is not None]
        if not spatial or not present:
            return (self._aug(x, spatial) if spatial else x), maps
        moved = self._aug(torch.cat([x, *present], dim=1), spatial).split(
            [x.shape[1], *(m.shape[1] for m in present)], dim=1)
        parts = iter(moved[1:])
        return moved[0], tuple(None if m is None else next(parts) for m in maps)

    def _segment(self, disc: nn.Module, x: Tensor, policy: tuple[str, ...], layout: Tensor) -> tuple[Tensor, Tensor]:
        """(per-pixel logits, target layout) of a segmentation discriminator for augmented ``x``:
        the layout moves with the image, and pixels translation or cutout emptied have no class."""
        x, (moved,) = self._aug_aligned(x, policy, (layout,))
        return disc(x), moved

    def _r1_due(self, step: int) -> bool:
        return self.config.loss == "logistic" and self.config.r1_gamma > 0 and step % self.config.r1_every == 0

    # ---- stage 1 -------------------------------------------------------------------------

    @_mixed_precision
    def stage1_step(self, real: Tensor | None = None, labels: Tensor | None = None) -> dict[str, float]:
        """One D and one G update of every band GAN on its own band of a real batch (and, for a
        conditional model, its label maps: the fakes are drawn from them), then the extra updates of
        ``config.band_updates``, round by round, each round on a new batch (``real``, when given,
        serves every round). Returns the first round's losses."""
        step = self.step["stage1"]
        record = self._band_update(self.model.band_names, *self._real(real, labels), step)
        for extra in range(1, max(self.band_updates.values(), default=1)):
            names = [n for n in self.model.band_names if self.band_updates.get(n, 1) > extra]
            self._band_update(names, *self._real(real, labels), step, extra)
        self._ema_step(step)
        self.step["stage1"] += 1
        return record

    def _band_update(self, names: Sequence[str], real: Tensor, layout: Tensor | None, step: int,
                     extra: int = 0) -> dict[str, float]:
        """One D and one G update of the band GANs ``names``; lazy R1 counts each band's own updates."""
        model, cfg = self.model, self.config
        with torch.no_grad():
            real_bands = {k: model.normalize_band(k, v) for k, v in decompose(real, model.config.spec).items()}
        order = [n for n in model.order if n in names]
        noises = {name: self._noise(real.shape[0]) for name in model.band_names if name in names}  # own noise

        def generate() -> dict[str, Tensor]:  # every cascade generator draws from the real source bands
            return {name: model.generate_band(name, noises[name], real_bands, layout) for name in order}

        def cond(name: str, bands: Mapping[str, Tensor]) -> Tensor | None:
            sources = model.sources(name)
            return torch.cat([bands[s] for s in sources], dim=1) if sources else None

        # discriminators
        requires_grad(self.discriminators, True)
        with torch.no_grad():
            fakes = generate()
        d_loss = real.new_zeros(())
        for name in names:
            disc = self.discriminators[name]
            r1 = self._r1_due(step * self.band_updates.get(name, 1) + extra)
            real_in = real_bands[name].detach().requires_grad_(r1)
            real_logits = self._judge(disc, real_in, cfg.band_augment, cond(name, real_bands), layout)
            fake_logits = self._judge(disc, fakes[name], cfg.band_augment, cond(name, real_bands), layout)
            d_loss = d_loss + self._d_loss(real_logits, fake_logits)
            if r1:
                d_loss = d_loss + cfg.r1_gamma / 2 * cfg.r1_every * r1_penalty(real_logits, real_in)
        self._update("d1", d_loss)
        # generators
        requires_grad(self.discriminators, False)
        fakes = generate()
        g_loss = cast(Tensor, sum(  # a sum of tensors: ``names`` is never empty
            self._g_loss(self._judge(self.discriminators[n], fakes[n], cfg.band_augment, cond(n, real_bands), layout))
            for n in names
        ))
        record = {"d1": d_loss.item(), "g1": g_loss.item()}
        if self.segmenter is not None and extra == 0:  # the round of every band: the image they compose
            image = compose({n: model.denormalize_band(n, fakes[n]) for n in model.band_names},
                            model.config.spec, size=model.config.image_size)
            semantic = cast(Tensor, self._semantic(image, layout))
            g_loss = g_loss + semantic
            record["sem1"] = semantic.item()
        self._update("g1", g_loss)
        return record

    # ---- stage 2 and the single-GAN control: full images against the image discriminator ----

    @_mixed_precision
    def stage2_step(self, real: Tensor | None = None, labels: Tensor | None = None) -> dict[str, float]:
        """One D and one G update of the full image: baseline generator and alpha (claim 7)."""
        model = self.model
        requires_grad(model.generators, self.config.finetune_bands)
        if self.config.finetune_bands:
            real, layout = self._real(real, labels)
            generate = lambda n: model.blend(*self._full_images(model.noise(model.sample_z(n, generator=self.rng)),  # noqa: E731
                                                                  layout))
        else:  # frozen band generators: one band image (no graph) serves both the D and the G update
            noises = model.noise(model.sample_z(self.config.batch_size if real is None else real.shape[0],
                                                generator=self.rng))
            real, layout = self._real(real, labels)
            with torch.no_grad():
                band_image, _ = model.synthesize(noises, layout)
            generate = lambda n: model.blend(band_image, model.baseline_image(noises[BASELINE], layout, band_image))  # noqa: E731
        record = self._image_gan_step("stage2", generate, real, layout)
        requires_grad(model.generators, True)
        return record | {"alpha": model.blend.alpha.mean().item()}

    def _full_images(self, noises: Mapping[str, Tensor], layout: Tensor | None) -> tuple[Tensor, Tensor]:
        """(band image, baseline image) of one set of noises, with gradients through both."""
        band_image = self.model.synthesize(noises, layout)[0]
        return band_image, self.model.baseline_image(noises[BASELINE], layout, band_image)

    @_mixed_precision
    def single_step(self, real: Tensor | None = None, labels: Tensor | None = None) -> dict[str, float]:
        """One D and one G update of the baseline generator alone on full images (the control)."""
        real, layout = self._real(real, labels)
        return self._image_gan_step("single", lambda n: self.model.baseline_image(self._noise(n), layout), real, layout)

    def _image_gan_step(self, stage: str, generate, real: Tensor, layout: Tensor | None = None) -> dict[str, float]:
        """D then G update with ``generate(n)`` images against the image discriminator."""
        disc, n = self.discriminators["image"], real.shape[0]
        requires_grad(disc, True)
        with torch.no_grad():
            fake = generate(n)
        d_loss = self._image_d_loss(disc, real, fake, layout, self.step[stage])
        self._update("d2", d_loss)
        requires_grad(disc, False)
        fake = generate(n)
        g_loss = self._image_g_loss(disc, fake, layout)
        semantic = self._semantic(fake, layout)
        if semantic is not None:
            g_loss = g_loss + semantic
        self._update("g2", g_loss)
        self._ema_step(self.step[stage])
        self.step[stage] += 1
        return {"d2": d_loss.item(), "g2": g_loss.item()} | ({} if semantic is None else {"sem2": semantic.item()})

    def _image_d_loss(self, disc: nn.Module, real: Tensor, fake: Tensor, layout: Tensor | None, step: int) -> Tensor:
        """The image discriminator's loss: logistic / hinge with lazy R1, or OASIS's per-pixel
        (K+1)-class loss without R1 (OASIS uses none: the class-balanced cross-entropy on real
        pixels already anchors D, and R1 through K+1 maps per pixel would cost about a D step more)."""
        cfg = self.config
        if self.oasis:
            assert layout is not None  # OASIS implies a conditional model: _real always gives it a layout
            real_logits, real_layout = self._segment(disc, real.detach(), cfg.image_augment, layout)
            d_loss = d_oasis_loss(real_logits, real_layout, self._segment(disc, fake, cfg.image_augment, layout)[0])
            return d_loss + cfg.labelmix * self._labelmix(disc, real.detach(), fake, layout) if cfg.labelmix else d_loss
        r1 = self._r1_due(step)
        real_in = real.detach().requires_grad_(r1)
        real_logits = self._judge(disc, real_in, cfg.image_augment, layout=layout)
        d_loss = self._d_loss(real_logits, self._judge(disc, fake, cfg.image_augment, layout=layout))
        if r1:
            d_loss = d_loss + cfg.r1_gamma / 2 * cfg.r1_every * r1_penalty(real_logits, real_in)
        return d_loss

    def _labelmix(self, disc: nn.Module, real: Tensor, fake: Tensor, layout: Tensor) -> Tensor:
        """OASIS's LabelMix term on unaugmented images (a mix must see the same pixels as its parts):
        one discriminator pass over real, fake and their class-wise mix."""
        mask = labelmix_mask(layout, self.rng)
        mixed = mask * real + (1 - mask) * fake
        real_logits, fake_logits, mixed_logits = disc(torch.cat([real, fake, mixed])).chunk(3)
        return labelmix_loss(mixed_logits, real_logits, fake_logits, mask)

    def _image_g_loss(self, disc: nn.Module, fake: Tensor, layout: Tensor | None) -> Tensor:
        """The generator's loss against the image discriminator (OASIS: its fakes segmented as their layout)."""
        if self.oasis:
            assert layout is not None  # OASIS implies a conditional model: _real always gives it a layout
            return g_oasis_loss(*self._segment(disc, fake, self.config.image_augment, layout))
        return self._g_loss(self._judge(disc, fake, self.config.image_augment, layout=layout))

    def _update(self, name: str, loss: Tensor) -> None:
        """Backward, average gradients over ranks (synchronous data parallel, as DDP does), step."""
        opt = self.opt[name]
        opt.zero_grad(set_to_none=True)
        with torch.autocast(self.device.type, enabled=False):
            loss.backward()
        if self.world_size > 1:
            for group in opt.param_groups:
                for p in group["params"]:
                    if p.grad is not None:
                        dist.all_reduce(p.grad)
                        p.grad.div_(self.world_size)
        opt.step()

    def _ema_step(self, step: int) -> None:
        """EMA update; the half-life ramps up with the images seen in the current stage
        (StyleGAN2-ADA's rampup), so a generator trained from scratch is not averaged with its
        random initialisation in short runs."""
        cfg = self.config
        half_life: float = cfg.ema_half_life_images
        if cfg.ema_rampup > 0:
            half_life = min(half_life, cfg.ema_rampup * (step + 1) * cfg.batch_size)
        ema_update(self.ema, self.model, 0.5 ** (cfg.batch_size / half_life))

    # ---- loop ----------------------------------------------------------------------------

    def schedule(
        self, stage1_steps: int, stage2_steps: int
    ) -> list[tuple[str, int, Callable[[], dict[str, float]]]]:
        """(stage, total steps, step function) in order; the single-GAN control gets the same
        number of optimiser steps as both stages together."""
        if self.single:
            return [("single", stage1_steps + stage2_steps, self.single_step)]
        return [("stage1", stage1_steps, self.stage1_step), ("stage2", stage2_steps, self.stage2_step)]

    def fit(self, stage1_steps: int, stage2_steps: int, *, progress: bool = True, callback=None) -> list[dict]:
        """Train until the stage counters reach ``stage1_steps`` and ``stage2_steps`` (totals, so a
        resumed trainer continues where it stopped). Returns one record of losses per step;
        ``callback(record)`` is called after each step and stops training by returning True."""
        records: list[dict] = []
        for stage, total, step_fn in self.schedule(stage1_steps, stage2_steps):
            bar = progress_bar(range(self.step[stage], total), desc=stage, disable=not progress, initial=self.step[stage],
                       total=total)
            for _ in bar:
                record = {"stage": stage, **step_fn()}
                record["step"] = self.step[stage]
                records.append(record)
                bar.set_postfix({k: f"{v:.3f}" for k, v in record.items() if isinstance(v, float)})
                if callback is not None and callback(record):
                    return records
        return records
