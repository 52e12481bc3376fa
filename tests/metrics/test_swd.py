"""SWD and spectrum distance on cases with a known answer."""
import pytest
import torch
import torch.nn.functional as F

from freqaug.data import synthetic_batch
from freqaug.metrics import laplacian_pyramid, spectrum_distance, swd


@pytest.fixture(scope="module")
def scenes():
    a = synthetic_batch(16, size=(64, 96), seed=0)[0]
    b = synthetic_batch(16, size=(64, 96), seed=1)[0]
    return a, b


def _blur(x):
    return F.avg_pool2d(F.pad(x, (2, 2, 2, 2), mode="replicate"), 5, stride=1)


def test_laplacian_pyramid_reconstructs():
    x = torch.rand(2, 3, 32, 48, dtype=torch.float64)
    pyr = laplacian_pyramid(x, 3)
    assert [p.shape[-2:] for p in pyr] == [(32, 48), (16, 24), (8, 12)]
    rec = pyr[-1]
    for band in reversed(pyr[:-1]):
        rec = band + F.interpolate(rec, size=band.shape[-2:], mode="bilinear", align_corners=False)
    torch.testing.assert_close(rec, x)


def test_swd_of_a_set_with_itself_is_zero(scenes):
    a, _ = scenes
    d = swd(a, a, levels=3)
    assert d["mean"] < 1e-9


def test_swd_ranks_a_similar_set_above_a_blurred_one_at_the_fine_level(scenes):
    a, b = scenes
    same_kind = swd(a, b, levels=3)
    blurred = swd(a, _blur(b), levels=3)
    assert blurred["level0"] > 2 * same_kind["level0"]
    assert same_kind["mean"] > 0


def test_swd_sees_a_colour_shift_at_the_coarse_level(scenes):
    a, b = scenes
    shifted = swd(a, (b + 0.3).clamp(0, 1), levels=3)
    assert shifted["level2"] > 2 * swd(a, b, levels=3)["level2"]


def test_swd_is_seeded(scenes):
    a, b = scenes
    assert swd(a, b, levels=2, seed=3) == swd(a, b, levels=2, seed=3)


def test_swd_rejects_mismatched_sets():
    with pytest.raises(ValueError, match="real and fake: expected equal shapes"):
        swd(torch.rand(2, 3, 32, 32), torch.rand(3, 3, 32, 32))
    with pytest.raises(ValueError, match="smaller than the 7x7 patch"):
        swd(torch.rand(2, 3, 16, 16), torch.rand(2, 3, 16, 16), levels=3)


def test_spectrum_distance_sees_blur_in_the_high_band(scenes):
    a, b = scenes
    same = spectrum_distance(a, b)
    blurred = spectrum_distance(a, _blur(b))
    assert spectrum_distance(a, a)["mean"] == 0
    assert blurred["high"] > 3 * same["high"]
    assert blurred["high"] > blurred["low"]
