"""The Fourier split and amplitude/phase view against numpy.fft, plus masks, gradients, dtypes, bad input."""
import numpy as np
import pytest
import torch

from freqaug.bands.fourier import (
    amplitude_phase,
    fourier_mask,
    fourier_merge,
    fourier_split,
    from_amplitude_phase,
)
from freqaug.bands.types import Split
from tests.conftest import SPLIT_CASES as CASES
from tests.conftest import SPLIT_SIZES as SIZES
from tests.conftest import TOLERANCE, max_rel_error, random_input, reference_window


def reference_mask(h, w, cutoff, shape, transition):
    """The rfft2-grid low-pass mask written out with numpy (frequencies as fractions of Nyquist)."""
    fy, fx = np.abs(np.fft.fftfreq(h))[:, None] * 2, np.fft.rfftfreq(w)[None, :] * 2
    return reference_window(fy, fx, cutoff, shape, transition)


def reference_low(x64, cutoff, shape, transition):
    h, w = x64.shape[-2:]
    return np.fft.irfft2(np.fft.rfft2(x64) * reference_mask(h, w, cutoff, shape, transition), s=(h, w))


# ------------------------------------------------------------------------------------------------
# Split


@pytest.mark.parametrize("cutoff, shape, transition", CASES)
@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_split_matches_numpy(size, cutoff, shape, transition, dtype, device):
    x, x64 = random_input((2, 3, *size), dtype, device)
    low_ref = reference_low(x64, cutoff, shape, transition)
    bands = fourier_split(x, cutoff=cutoff, shape=shape, transition=transition)
    assert isinstance(bands, Split)
    low, high = bands
    assert low.dtype == high.dtype == dtype and low.shape == x.shape and low.device.type == device
    assert max_rel_error(low, low_ref, 2.0) <= TOLERANCE[dtype]
    assert max_rel_error(high, x64 - low_ref, 2.0) <= TOLERANCE[dtype]
    assert max_rel_error(fourier_merge(bands), x64, 2.0) <= TOLERANCE[dtype]
    assert max_rel_error(fourier_merge((low, high)), x64, 2.0) <= TOLERANCE[dtype]


def test_smooth_image_is_low_and_checkerboard_is_high():
    yy, xx = torch.meshgrid(torch.arange(32.0), torch.arange(40.0), indexing="ij")
    smooth = torch.exp(-((yy - 14) ** 2 + (xx - 22) ** 2) / 200.0)[None, None].double()
    checker = ((yy + xx) % 2 * 2 - 1)[None, None].double()
    low, high = fourier_split(smooth, cutoff=0.25)
    assert low.square().sum() > 0.999 * smooth.square().sum()
    low, high = fourier_split(checker, cutoff=0.5, shape="rect", transition=0.3)
    assert high.square().sum() > 0.999 * checker.square().sum()


# ------------------------------------------------------------------------------------------------
# Masks


@pytest.mark.parametrize("cutoff, shape, transition", CASES)
@pytest.mark.parametrize("size", [(8, 8), (7, 11)], ids=lambda s: f"{s[0]}x{s[1]}")
def test_fourier_mask(size, cutoff, shape, transition):
    h, w = size
    mask = fourier_mask(h, w, cutoff, shape=shape, transition=transition, dtype=torch.float64)
    assert mask.shape == (h, w // 2 + 1) and mask.dtype == torch.float64
    assert np.abs(mask.numpy() - reference_mask(h, w, cutoff, shape, transition)).max() < 1e-12
    assert mask.min() >= 0 and mask.max() <= 1 and mask[0, 0] == 1
    if transition == 0:
        assert set(mask.unique().tolist()) <= {0.0, 1.0}
    rows = (-torch.arange(h)) % h  # fy -> -fy: symmetric, so the low band stays real
    assert torch.equal(mask, mask[rows])


def test_rect_and_radial_masks_differ():
    radial = fourier_mask(16, 16, 0.5, shape="radial")
    rect = fourier_mask(16, 16, 0.5, shape="rect")
    assert not torch.equal(radial, rect) and torch.all(rect >= radial)
    assert rect[4, 4] == 1 and radial[4, 4] == 0  # fy = fx = 0.5
    assert rect[5, 0] == 0 and rect[0, 5] == 0 and rect[-4, 4] == 1


def test_low_and_high_windows_sum_to_one():
    x, x64 = random_input((1, 2, 12, 10))
    low, high = fourier_split(x, cutoff=0.45, transition=0.3)
    spec_low, spec_high = np.fft.rfft2(low.numpy()), np.fft.rfft2(high.numpy())
    mask = reference_mask(12, 10, 0.45, "radial", 0.3)
    assert np.allclose(spec_low, np.fft.rfft2(x64) * mask, atol=1e-12)
    assert np.allclose(spec_high, np.fft.rfft2(x64) * (1 - mask), atol=1e-12)


# ------------------------------------------------------------------------------------------------
# Amplitude / phase


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_amplitude_phase(size, dtype, device):
    x, x64 = random_input((2, 3, *size), dtype, device)
    amplitude, phase = amplitude_phase(x)
    spectrum = np.fft.rfft2(x64, norm="ortho")
    assert amplitude.dtype == phase.dtype == dtype
    assert max_rel_error(amplitude, np.abs(spectrum), 2.0) <= TOLERANCE[dtype]
    rebuilt = torch.polar(amplitude.double(), phase.double()).cpu().numpy()
    assert np.abs(rebuilt - spectrum).max() / 2.0 <= TOLERANCE[dtype]
    assert max_rel_error(from_amplitude_phase(amplitude, phase, size), x64, 2.0) <= TOLERANCE[dtype]


# ------------------------------------------------------------------------------------------------
# Autograd, dtypes, layouts


@pytest.mark.parametrize("cutoff, shape, transition", [(0.3, "radial", 0.0), (0.6, "rect", 0.5)])
def test_gradcheck(cutoff, shape, transition):
    x = torch.rand(1, 2, 5, 6, dtype=torch.float64, requires_grad=True)
    split = lambda t: tuple(fourier_split(t, cutoff=cutoff, shape=shape, transition=transition))  # noqa: E731
    assert torch.autograd.gradcheck(split, (x,), fast_mode=True)
    amplitude, phase = (t.detach().requires_grad_() for t in amplitude_phase(x.detach() + 1))
    rebuild = lambda a, p: from_amplitude_phase(a, p, (5, 6))  # noqa: E731
    assert torch.autograd.gradcheck(rebuild, (amplitude, phase), fast_mode=True)


@pytest.mark.parametrize("half", [torch.float16, torch.bfloat16])
def test_half_precision_returns_input_dtype(half):
    x, _ = random_input((2, 3, 16, 12), half)
    x64 = x.double().numpy()  # the reference sees the rounded input
    low, high = fourier_split(x, cutoff=0.3, transition=0.2)
    assert low.dtype == high.dtype == half
    assert max_rel_error(low, reference_low(x64, 0.3, "radial", 0.2), 2.0) <= TOLERANCE[half]
    assert max_rel_error(low + high, x64, 2.0) <= TOLERANCE[half]
    amplitude, phase = amplitude_phase(x)
    assert amplitude.dtype == phase.dtype == half
    assert from_amplitude_phase(amplitude, phase, (16, 12)).dtype == half


def test_non_contiguousrandom_input():
    base, _ = random_input((2, 3, 14, 22))
    for view in (base.transpose(-1, -2), base[:, ::2, 1:, ::2], base.permute(0, 1, 3, 2)[..., 3:]):
        assert not view.is_contiguous()
        got = fourier_split(view, cutoff=0.4, transition=0.1)
        want = fourier_split(view.contiguous(), cutoff=0.4, transition=0.1)
        assert torch.allclose(got.low, want.low, atol=1e-12) and torch.allclose(got.high, want.high, atol=1e-12)


# ------------------------------------------------------------------------------------------------
# Bad input


GOOD = torch.rand(1, 1, 8, 8)


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        (dict(x=torch.rand(3, 8, 8)), ValueError, r"x: expected a 4-D tensor"),
        (dict(x=torch.ones(1, 1, 8, 8, dtype=torch.int64)), TypeError, r"x: expected a floating dtype"),
        (dict(x=[[1.0]]), TypeError, r"x: expected a torch.Tensor.*list"),
        (dict(cutoff=0), ValueError, r"cutoff: expected a number in the open interval \(0, 1\), got 0"),
        (dict(cutoff=1), ValueError, r"cutoff: .*got 1"),
        (dict(cutoff=-0.1), ValueError, r"cutoff: .*got -0.1"),
        (dict(cutoff=1.5), ValueError, r"cutoff: .*got 1.5"),
        (dict(cutoff="a"), ValueError, r"cutoff: .*got 'a'"),
        (dict(shape="oval"), ValueError, r"shape: expected one of 'radial', 'rect', got 'oval'"),
        (dict(cutoff=0.9, transition=0.3), ValueError, r"transition: expected at most 2\*min"),
        (dict(transition="wide"), ValueError, r"transition: expected a number >= 0, got 'wide'"),
    ],
)
def test_split_rejects_badrandom_input(kwargs, error, match):
    args = dict(x=GOOD, cutoff=0.3) | kwargs
    with pytest.raises(error, match=match):
        fourier_split(args.pop("x"), **args)


def test_split_has_no_domain():
    with pytest.raises(TypeError, match="domain"):
        fourier_split(GOOD, cutoff=0.3, domain="coeff")


def test_other_entry_points_reject_badrandom_input():
    amplitude, phase = amplitude_phase(GOOD)
    with pytest.raises(ValueError, match=r"x: expected a 4-D"):
        amplitude_phase(torch.rand(8, 8))
    with pytest.raises(ValueError, match=r"size: expected \(height, width\), got 8"):
        from_amplitude_phase(amplitude, phase, 8)
    with pytest.raises(ValueError, match=r"amplitude: expected last dims \(8, 4\) for size \(8, 6\)"):
        from_amplitude_phase(amplitude, phase, (8, 6))
    with pytest.raises(ValueError, match=r"phase: expected last dims"):
        from_amplitude_phase(amplitude, phase[..., :3], (8, 8))
    with pytest.raises(TypeError, match=r"phase: expected a torch.Tensor"):
        from_amplitude_phase(amplitude, None, (8, 8))
    with pytest.raises(ValueError, match=r"h: expected a positive integer"):
        fourier_mask(0, 8, 0.5)
    with pytest.raises(ValueError, match=r"shape: .*'square'"):
        fourier_mask(8, 8, 0.5, shape="square")
    with pytest.raises(TypeError, match=r"bands: expected a Split\(low, high\)"):
        fourier_merge(GOOD)
    with pytest.raises(ValueError, match=r"bands: expected low and high of equal shape"):
        fourier_merge((GOOD, torch.rand(1, 1, 8, 9)))
