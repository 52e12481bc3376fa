"""Quality measures for generated images: power spectra and their distance, Laplacian-pyramid SWD."""
from freqaug.metrics.spectrum import band_energy, radial_power_spectrum, spectrum_distance
from freqaug.metrics.swd import laplacian_pyramid, sliced_wasserstein, swd

__all__ = ["band_energy", "laplacian_pyramid", "radial_power_spectrum", "sliced_wasserstein", "spectrum_distance", "swd"]
