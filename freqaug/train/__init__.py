"""Training: GAN losses, differentiable augmentation, and the two-stage FreqGAN trainer."""
from freqaug.train.diffaugment import POLICIES, diff_augment
from freqaug.train.losses import (
    balanced_cross_entropy, d_hinge_loss, d_logistic_loss, d_oasis_loss, fake_class_cross_entropy, g_hinge_loss,
    g_nonsaturating_loss, g_oasis_loss, labelmix_loss, labelmix_mask, r1_penalty, semantic_loss,
)
from freqaug.train.trainer import TrainConfig, Trainer, ema_update, requires_grad

__all__ = [
    "POLICIES",
    "TrainConfig",
    "Trainer",
    "balanced_cross_entropy",
    "d_hinge_loss",
    "d_logistic_loss",
    "d_oasis_loss",
    "diff_augment",
    "ema_update",
    "fake_class_cross_entropy",
    "g_hinge_loss",
    "g_nonsaturating_loss",
    "g_oasis_loss",
    "labelmix_loss",
    "labelmix_mask",
    "r1_penalty",
    "requires_grad",
    "semantic_loss",
]

from freqaug.train.checkpoint import (  # noqa: E402
    CheckpointError, load_checkpoint, load_stage1, read_checkpoint_meta, save_checkpoint,
)

__all__ += ["CheckpointError", "load_checkpoint", "load_stage1", "read_checkpoint_meta", "save_checkpoint"]
