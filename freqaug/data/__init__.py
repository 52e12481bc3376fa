"""Data layer: CamVid class set and palette, image/label folders, and drawn (procedural) street scenes.

A bottom layer: imports nothing from other ``freqaug`` subpackages.
"""
from .classes import CAMVID, CamVidClass, ClassSet, colorize, colorize_images
from .folder import (
    IMAGE_EXTENSIONS,
    DataError,
    SegmentationFolder,
    UnreadableFileError,
    data_summary,
    load_images,
    load_segmentation,
    random_subset,
    read_image,
    read_label,
)
from .drawn import SyntheticStreets, street_scene, synthetic_batch

__all__ = [
    "CAMVID",
    "CamVidClass",
    "ClassSet",
    "colorize",
    "colorize_images",
    "IMAGE_EXTENSIONS",
    "DataError",
    "UnreadableFileError",
    "data_summary",
    "SegmentationFolder",
    "load_images",
    "load_segmentation",
    "random_subset",
    "read_image",
    "read_label",
    "SyntheticStreets",
    "street_scene",
    "synthetic_batch",
]
