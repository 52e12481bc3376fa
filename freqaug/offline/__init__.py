"""Offline expansion: generated images written to folders, resumably (``freqaug generate``), and an
expanded copy of a training set (``freqaug expand``). See docs/bundle.md.

Layer: above ``freqaug.bundle`` (it reads bundles), beside ``freqaug.train`` and ``freqaug.augment``.
"""
from freqaug.offline.expand import ExpandReport, expand_dataset
from freqaug.offline.generate import GenerateReport, OutputFolderError, generate_to_folder, read_layouts, to_uint8

__all__ = ["ExpandReport", "GenerateReport", "OutputFolderError", "expand_dataset", "generate_to_folder",
           "read_layouts", "to_uint8"]
