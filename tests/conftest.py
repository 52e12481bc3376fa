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
