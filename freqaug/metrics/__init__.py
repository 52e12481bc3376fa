"""Quality measures for generated images: spectra now; SWD, FD and layout mIoU in later steps."""
from freqaug.metrics.spectrum import band_energy, radial_power_spectrum

__all__ = ["band_energy", "radial_power_spectrum"]
