"""GAN losses as small free functions (stylegan2-pytorch style): logistic / hinge, R1, and OASIS's
per-pixel (K+1)-class losses for a segmentation discriminator."""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

__all__ = [
    "balanced_class_weights", "balanced_cross_entropy", "d_hinge_loss", "d_logistic_loss", "d_oasis_loss",
    "fake_class_cross_entropy", "g_hinge_loss", "g_nonsaturating_loss", "g_oasis_loss", "labelmix_loss",
    "labelmix_mask", "r1_penalty", "semantic_loss",
]


def d_logistic_loss(real_logits: Tensor, fake_logits: Tensor) -> Tensor:
    """Discriminator loss of the non-saturating logistic GAN: softplus(-D(x)) + softplus(D(G(z)))."""
    return F.softplus(-real_logits).mean() + F.softplus(fake_logits).mean()


def g_nonsaturating_loss(fake_logits: Tensor) -> Tensor:
    """Generator loss of the non-saturating logistic GAN: softplus(-D(G(z)))."""
    return F.softplus(-fake_logits).mean()


def d_hinge_loss(real_logits: Tensor, fake_logits: Tensor) -> Tensor:
    """Hinge discriminator loss: relu(1 - D(x)) + relu(1 + D(G(z)))."""
    return F.relu(1 - real_logits).mean() + F.relu(1 + fake_logits).mean()


def g_hinge_loss(fake_logits: Tensor) -> Tensor:
    """Hinge generator loss: -D(G(z))."""
    return -fake_logits.mean()


def r1_penalty(real_logits: Tensor, real_inputs: Tensor) -> Tensor:
    """R1 gradient penalty: mean squared norm of dD(x)/dx on real data (``real_inputs`` must
    require grad and have produced ``real_logits``)."""
    (grad,) = torch.autograd.grad(real_logits.sum(), real_inputs, create_graph=True)
    return grad.square().flatten(1).sum(1).mean()


# ---- OASIS (Schoenfeld et al. 2021): K classes + "fake" per pixel; layouts are one-hot (N, K, H, W) ----


def balanced_class_weights(layout: Tensor) -> Tensor:
    """(K,) weights inversely proportional to each class's pixel count in the batch,
    ``labelled pixels / (present classes * count)`` (OASIS), 0 for absent classes; unlabelled
    pixels (all-zero one-hot: the ignore id, padding) count for no class."""
    counts = layout.detach().float().sum(dim=(0, 2, 3))
    present = counts > 0
    weights = counts.sum() / (present.sum().clamp(min=1) * counts.clamp(min=1e-12))
    return torch.where(present, weights, torch.zeros_like(weights))


def _balanced_nll(log_p: Tensor, layout: Tensor) -> Tensor:
    """Class-balanced mean of ``-log_p`` (N, K, H, W) at each pixel's class in the one-hot ``layout``."""
    target = layout.float()
    weights = balanced_class_weights(target).view(1, -1, 1, 1)
    return -(weights * target * log_p).sum() / target.sum().clamp(min=1)


def balanced_cross_entropy(logits: Tensor, layout: Tensor) -> Tensor:
    """Class-balanced per-pixel cross-entropy of (N, K+1, H, W) logits against a one-hot layout
    (N, K, H, W): the mean over the present classes of the mean loss over their pixels (pixels of
    no class excluded). The discriminator's loss on real images, the generator's on fakes."""
    _check_oasis(logits, layout)
    return _balanced_nll(F.log_softmax(logits.float(), dim=1)[:, :-1], layout)


def semantic_loss(logits: Tensor, layout: Tensor) -> Tensor:
    """Semantic consistency: class-balanced per-pixel cross-entropy of a frozen segmenter's (N, K, H, W)
    logits on generated images against the one-hot layouts (N, K, H, W) they were drawn from (pixels of no
    class excluded), so a rare class's few pixels weigh as much as the road's many."""
    if logits.ndim != 4 or tuple(logits.shape) != tuple(layout.shape):
        raise ValueError(f"logits: expected the layout's shape (N, K, H, W) = {tuple(layout.shape)}, "
                         f"got {tuple(logits.shape)}")
    return _balanced_nll(F.log_softmax(logits.float(), dim=1), layout)


def fake_class_cross_entropy(logits: Tensor) -> Tensor:
    """Per-pixel cross-entropy of (N, K+1, H, W) logits against the "fake" class (the last),
    averaged over all pixels: the discriminator's loss on generated images."""
    return -F.log_softmax(logits.float(), dim=1)[:, -1].mean()


def d_oasis_loss(real_logits: Tensor, real_layout: Tensor, fake_logits: Tensor) -> Tensor:
    """OASIS discriminator loss: real pixels segmented into their classes (class-balanced), every
    fake pixel into "fake"."""
    return balanced_cross_entropy(real_logits, real_layout) + fake_class_cross_entropy(fake_logits)


def g_oasis_loss(fake_logits: Tensor, layout: Tensor) -> Tensor:
    """OASIS generator loss: generated pixels segmented into the classes of their layout (class-balanced)."""
    return balanced_cross_entropy(fake_logits, layout)


def labelmix_mask(layout: Tensor, generator: torch.Generator | None = None) -> Tensor:
    """(N, 1, H, W) LabelMix mask (OASIS): every class region of each layout goes wholly to the real
    image (1) or the fake (0) by a fair coin per sample and class; pixels of no class go to the fake."""
    pick = torch.randint(0, 2, (*layout.shape[:2], 1, 1), generator=generator, device=layout.device)
    return (layout.float() * pick).sum(1, keepdim=True)


def labelmix_loss(mixed_logits: Tensor, real_logits: Tensor, fake_logits: Tensor, mask: Tensor) -> Tensor:
    """LabelMix consistency (OASIS): the discriminator's logits of ``mask * real + (1 - mask) * fake``
    should equal the same mix of its logits of the two images (mean squared error per logit), which
    makes it look at semantic boundaries and fine detail instead of a global real/fake cue."""
    target = mask * real_logits.float() + (1 - mask) * fake_logits.float()
    return F.mse_loss(mixed_logits.float(), target)


def _check_oasis(logits: Tensor, layout: Tensor) -> None:
    n, k = layout.shape[:2]
    if logits.ndim != 4 or layout.ndim != 4 or tuple(logits.shape) != (n, k + 1, *layout.shape[2:]):
        raise ValueError(f"logits: expected (N, K+1, H, W) = {(n, k + 1, *layout.shape[2:])} for a layout "
                         f"{tuple(layout.shape)}, got {tuple(logits.shape)}")
