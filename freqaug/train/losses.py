"""GAN losses as small free functions (stylegan2-pytorch style): logistic / hinge, and R1."""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

__all__ = ["d_hinge_loss", "d_logistic_loss", "g_hinge_loss", "g_nonsaturating_loss", "r1_penalty"]


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
