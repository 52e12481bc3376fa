"""Differentiable augmentation (DiffAugment, Zhao et al. 2020) for GANs on small data sets.

The same random transform family is applied to real and generated inputs of a discriminator, so
it cannot memorise the 367 CamVid images; gradients flow through to the generator. Colour ops
suit images only; translation and cutout suit bands too. Randomness comes from an explicit
``torch.Generator`` (replayable).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

__all__ = ["POLICIES", "diff_augment"]

POLICIES = ("color", "translation", "cutout")


def _rand(shape, x: Tensor, generator: torch.Generator | None) -> Tensor:
    return torch.rand(shape, generator=generator, device=generator.device if generator else "cpu").to(x)


def _color(x: Tensor, g: torch.Generator | None) -> Tensor:
    n = x.shape[0]
    x = x + (_rand((n, 1, 1, 1), x, g) - 0.5)  # brightness
    mean = x.mean(dim=1, keepdim=True)
    x = (x - mean) * (_rand((n, 1, 1, 1), x, g) * 2) + mean  # saturation
    mean = x.mean(dim=(1, 2, 3), keepdim=True)
    return (x - mean) * (_rand((n, 1, 1, 1), x, g) + 0.5) + mean  # contrast


def _translation(x: Tensor, g: torch.Generator | None, ratio: float = 0.125) -> Tensor:
    n, _, h, w = x.shape
    dy, dx = int(h * ratio + 0.5), int(w * ratio + 0.5)
    shift_y = (_rand((n,), x, g) * (2 * dy + 1)).long() - dy
    shift_x = (_rand((n,), x, g) * (2 * dx + 1)).long() - dx
    rows = (torch.arange(h, device=x.device)[None, :] - shift_y[:, None]).clamp(-1, h)  # -1 / h: zero pad
    cols = (torch.arange(w, device=x.device)[None, :] - shift_x[:, None]).clamp(-1, w)
    padded = F.pad(x, (1, 1, 1, 1))
    index = (rows + 1)[:, None, :, None] * (w + 2) + (cols + 1)[:, None, None, :]
    flat = padded.flatten(2)
    return flat.gather(2, index.expand(n, x.shape[1], h, w).flatten(2)).view_as(x)


def _cutout(x: Tensor, g: torch.Generator | None, ratio: float = 0.5) -> Tensor:
    n, _, h, w = x.shape
    ch, cw = int(h * ratio + 0.5), int(w * ratio + 0.5)
    cy = (_rand((n, 1, 1), x, g) * (h + 1 - ch % 2)).long()
    cx = (_rand((n, 1, 1), x, g) * (w + 1 - cw % 2)).long()
    ys = torch.arange(h, device=x.device)[None, :, None]
    xs = torch.arange(w, device=x.device)[None, None, :]
    inside = ((ys - cy).abs() < ch // 2 + 0) & ((xs - cx).abs() < cw // 2 + 0)
    return x * (~inside).unsqueeze(1).to(x.dtype)


_OPS = {"color": _color, "translation": _translation, "cutout": _cutout}


def diff_augment(x: Tensor, policy: tuple[str, ...], *, generator: torch.Generator | None = None) -> Tensor:
    """Apply the ops named in ``policy`` (a subset of :data:`POLICIES`, in that order) to a batch."""
    for name in policy:
        if name not in _OPS:
            raise ValueError(f"policy: unknown op {name!r}; expected some of {list(POLICIES)}")
        x = _OPS[name](x, generator)
    return x
