"""Augmentation front-ends over trained bundles: kernels, sampler, the shared augmenter and adapters.

Layers (see docs/augment.md): pure kernels in :mod:`~freqaug.augment.functional`, the config and
sampler in :mod:`~freqaug.augment.params`, the one implementation :class:`FreqAugmenter`, and
label-map edits for layout-conditional bundles in :mod:`~freqaug.augment.labelmaps`, and
thin adapters: :class:`FreqAugBatch` (batched, on the device), :class:`SyntheticMix` /
:class:`SyntheticBank` (Dataset wrapper), ``freqaug.augment.albu.FreqAug`` (albumentations) and
``freqaug.augment.tv.FreqAug`` (torchvision v2). The last two import their library only when
their module is imported. For training loops that augment batches:
:class:`~freqaug.augment.pooled.PooledFreqAug` (a label-keeping mode from a seeded pool of generated
scenes, or of real partner images).
"""
from freqaug.augment.bank import SyntheticBank
from freqaug.augment.batch import FreqAugBatch
from freqaug.augment.core import FreqAugmenter
from freqaug.augment.dataset import SyntheticMix
from freqaug.augment.functional import (
    amplitude_mix, band_mix, blend_images, coarse_mix, default_bands, ignore_labels, replace_images, resize_images,
)
from freqaug.augment.labelmaps import (
    LabelAugConfig, augment_labels, edit_labels, flip_labels, paste_classes, resize_labels, sample_label_params, shift_labels,
)
from freqaug.augment.params import MODES, AugmentConfig, sample_params
from freqaug.augment.pooled import PooledFreqAug

__all__ = [
    "amplitude_mix",
    "coarse_mix",
    "MODES",
    "AugmentConfig",
    "FreqAugBatch",
    "FreqAugmenter",
    "LabelAugConfig",
    "PooledFreqAug",
    "SyntheticBank",
    "SyntheticMix",
    "augment_labels",
    "band_mix",
    "blend_images",
    "default_bands",
    "edit_labels",
    "flip_labels",
    "ignore_labels",
    "paste_classes",
    "replace_images",
    "resize_images",
    "resize_labels",
    "sample_label_params",
    "sample_params",
    "shift_labels",
]
