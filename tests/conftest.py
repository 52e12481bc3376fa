"""Shared fixtures: dtypes with their tolerances, and devices (CUDA skipped cleanly when absent)."""
import os

os.environ.setdefault("NO_ALBUMENTATIONS_UPDATE", "1")

import pytest
import torch

# Max absolute error allowed relative to the input's value range, per dtype.
TOLERANCE = {torch.float64: 1e-10, torch.float32: 1e-5, torch.bfloat16: 5e-2, torch.float16: 5e-3}

DEVICES = [
    "cpu",
    pytest.param("cuda", marks=pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")),
]


@pytest.fixture(params=DEVICES)
def device(request) -> str:
    return request.param


@pytest.fixture(params=[torch.float32, torch.float64], ids=["f32", "f64"])
def dtype(request) -> torch.dtype:
    return request.param


def max_rel_error(got: torch.Tensor, ref, scale: float) -> float:
    """Max |got - ref| divided by the input's value range ``scale``."""
    ref = torch.as_tensor(ref, dtype=torch.float64)
    return float((got.detach().to("cpu", torch.float64) - ref).abs().max() / scale)


def random_input(shape, dtype=torch.float64, device="cpu", seed=0):
    """Uniform [-1, 1) values as ``dtype`` on ``device``, and those same values in float64 numpy.

    The reference gets the values after rounding to ``dtype``, so tolerances measure the
    transform's arithmetic, not the rounding of its input.
    """
    import numpy as np

    x = torch.from_numpy(np.random.default_rng(seed).uniform(-1.0, 1.0, size=shape)).to(dtype)
    return x.to(device), x.double().numpy()


# Two-band split cases shared by the DCT and Fourier tests: (cutoff, shape, transition).
SPLIT_SIZES = [(8, 8), (7, 12), (33, 20)]
SPLIT_CASES = [
    (0.25, "radial", 0.0),
    (0.5, "radial", 0.0),
    (0.8, "radial", 0.3),
    (0.3, "rect", 0.0),
    (0.6, "rect", 0.4),
    (0.95, "radial", 0.0),
]


def reference_window(fy, fx, cutoff, shape, transition):
    """Low-pass weights written out with numpy, for frequency grids fy, fx (fractions of Nyquist)."""
    import numpy as np

    rho = np.sqrt(fy**2 + fx**2) if shape == "radial" else np.maximum(np.abs(fy), np.abs(fx))
    if transition == 0:
        return (rho <= cutoff).astype(np.float64)
    t = np.clip((rho - cutoff + transition / 2) / transition, 0.0, 1.0)
    return 0.5 + 0.5 * np.cos(np.pi * t)
