"""The 2-D DCT and DCT split against scipy.fft, plus masks, gradients, dtypes, layouts, bad input."""
import math

import numpy as np
import pytest
import scipy.fft
import torch

from freqaug.bands import dct as dct_module
from freqaug.bands._masks import lowpass_window, normalized_radius
from freqaug.bands.dct import dct2, dct_mask, dct_matrix, dct_merge, dct_split, idct2
from freqaug.bands.types import Split
from tests.conftest import SPLIT_CASES as CASES
from tests.conftest import SPLIT_SIZES as SIZES
from tests.conftest import TOLERANCE, max_rel_error, random_input, reference_window

AXES = (-2, -1)


def reference_mask(h, w, cutoff, shape, transition):
    """The DCT low-pass mask written out with numpy: index k of n is frequency k / n of Nyquist."""
    fy, fx = np.arange(h)[:, None] / h, np.arange(w)[None, :] / w
    return reference_window(fy, fx, cutoff, shape, transition)


# ------------------------------------------------------------------------------------------------
# Transform


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_dct2_matches_scipy(size, dtype, device):
    x, x64 = random_input((2, 3, *size), dtype, device)
    coeff = dct2(x)
    ref = scipy.fft.dctn(x64, type=2, norm="ortho", axes=AXES)
    assert coeff.dtype == dtype and coeff.device.type == device
    assert max_rel_error(coeff, ref, 2.0) <= TOLERANCE[dtype]
    back = idct2(torch.from_numpy(ref).to(device=device, dtype=dtype))
    assert max_rel_error(back, scipy.fft.idctn(ref, norm="ortho", axes=AXES), 2.0) <= TOLERANCE[dtype]
    assert max_rel_error(idct2(coeff), x64, 2.0) <= TOLERANCE[dtype]


@pytest.mark.parametrize("n", [1, 2, 7, 16])
def test_dct_matrix_is_scipy_dct_and_cached(n):
    m = dct_matrix(n, dtype=torch.float64)
    ref = scipy.fft.dct(np.eye(n), norm="ortho", axis=0)
    assert m.shape == (n, n) and m.dtype == torch.float64
    assert np.abs(m.numpy() - ref).max() < 1e-14
    assert torch.allclose(m @ m.T, torch.eye(n, dtype=torch.float64), atol=1e-14)
    assert dct_matrix(n, dtype=torch.float64) is m
    assert dct_matrix(n).dtype == torch.float32


# ------------------------------------------------------------------------------------------------
# Split


@pytest.mark.parametrize("cutoff, shape, transition", CASES)
@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_split_matches_scipy(size, cutoff, shape, transition, dtype, device):
    x, x64 = random_input((2, 3, *size), dtype, device)
    mask = reference_mask(*size, cutoff, shape, transition)
    coeff = scipy.fft.dctn(x64, norm="ortho", axes=AXES)
    low_ref = scipy.fft.idctn(coeff * mask, norm="ortho", axes=AXES)
    tol = TOLERANCE[dtype]

    low, high = dct_split(x, cutoff=cutoff, shape=shape, transition=transition)
    assert low.dtype == high.dtype == dtype and low.shape == x.shape
    assert max_rel_error(low, low_ref, 2.0) <= tol
    assert max_rel_error(high, x64 - low_ref, 2.0) <= tol
    assert max_rel_error(low + high, x64, 2.0) <= tol

    bands = dct_split(x, cutoff=cutoff, shape=shape, transition=transition, domain="coeff")
    assert isinstance(bands, Split)
    assert max_rel_error(bands.low, coeff * mask, 2.0) <= tol
    assert max_rel_error(bands.high, coeff * (1 - mask), 2.0) <= tol
    assert max_rel_error(dct_merge(bands, domain="coeff"), x64, 2.0) <= tol


@pytest.mark.parametrize("height_by_fft", [False, True], ids=["matmul", "fft"])
@pytest.mark.parametrize("size", [*SIZES, (200, 6)], ids=lambda s: f"{s[0]}x{s[1]}")
def test_height_transform_paths(size, height_by_fft, monkeypatch):
    # the height transform is a matmul for few kept rows and an FFT for many (here forced both ways)
    monkeypatch.setattr(dct_module, "_fft_along_height", lambda h, kh: height_by_fft)
    x, x64 = random_input((2, 3, *size))
    coeff = scipy.fft.dctn(x64, norm="ortho", axes=AXES)
    assert max_rel_error(dct2(x), coeff, 2.0) <= TOLERANCE[torch.float64]
    assert max_rel_error(idct2(torch.from_numpy(coeff)), x64, 2.0) <= TOLERANCE[torch.float64]
    for cutoff, shape, transition in CASES:
        mask = reference_mask(*size, cutoff, shape, transition)
        low_ref = scipy.fft.idctn(coeff * mask, norm="ortho", axes=AXES)
        low, _ = dct_split(x, cutoff=cutoff, shape=shape, transition=transition)
        assert max_rel_error(low, low_ref, 2.0) <= TOLERANCE[torch.float64]


@pytest.mark.parametrize("domain", ["image", "coeff"])
@pytest.mark.parametrize("cutoff, shape, transition", CASES)
def test_merge_inverts_split(cutoff, shape, transition, domain, dtype):
    x, x64 = random_input((3, 2, 9, 14), dtype)
    bands = dct_split(x, cutoff=cutoff, shape=shape, transition=transition, domain=domain)
    assert max_rel_error(dct_merge(bands, domain=domain), x64, 2.0) <= TOLERANCE[dtype]
    assert max_rel_error(dct_merge(tuple(bands), domain=domain), x64, 2.0) <= TOLERANCE[dtype]


def test_smooth_image_is_low_and_checkerboard_is_high():
    yy, xx = torch.meshgrid(torch.arange(32.0), torch.arange(40.0), indexing="ij")
    smooth = torch.exp(-((yy - 14) ** 2 + (xx - 22) ** 2) / 200.0)[None, None].double()
    checker = ((yy + xx) % 2 * 2 - 1)[None, None].double()
    low, high = dct_split(smooth, cutoff=0.25)
    assert low.square().sum() > 0.999 * smooth.square().sum()
    low, high = dct_split(checker, cutoff=0.5, shape="rect", transition=0.3)
    assert high.square().sum() > 0.999 * checker.square().sum()


# ------------------------------------------------------------------------------------------------
# Masks


def test_window_and_radius():
    rho = torch.linspace(0, 1.2, 241, dtype=torch.float64)
    hard = lowpass_window(rho, 0.4, 0.0)
    assert set(hard.tolist()) == {0.0, 1.0} and torch.equal(hard, (rho <= 0.4).double())
    soft = lowpass_window(rho, 0.4, 0.2)
    assert torch.all(soft[rho <= 0.3] == 1) and torch.all(soft[rho >= 0.5] == 0)
    assert torch.all(soft.diff() <= 0) and 0 < soft[(rho - 0.35).abs().argmin()] < 1
    d = torch.linspace(0, 0.1, 11, dtype=torch.float64)  # raised cosine: w(c + d) = 1 - w(c - d)
    assert torch.allclose(lowpass_window(0.4 + d, 0.4, 0.2), 1 - lowpass_window(0.4 - d, 0.4, 0.2))
    fy, fx = torch.tensor([[0.3], [-0.6]]), torch.tensor([[0.4, -0.1]])
    radial = [[math.hypot(0.3, 0.4), math.hypot(0.3, 0.1)], [math.hypot(0.6, 0.4), math.hypot(0.6, 0.1)]]
    assert torch.allclose(normalized_radius(fy, fx, "radial"), torch.tensor(radial))
    assert torch.allclose(normalized_radius(fy, fx, "rect"), torch.tensor([[0.4, 0.3], [0.6, 0.6]]))


@pytest.mark.parametrize("cutoff, shape, transition", CASES)
def test_dct_mask(cutoff, shape, transition):
    mask = dct_mask(12, 10, cutoff, shape=shape, transition=transition, dtype=torch.float64)
    assert mask.shape == (12, 10) and mask.dtype == torch.float64
    assert np.abs(mask.numpy() - reference_mask(12, 10, cutoff, shape, transition)).max() < 1e-12
    assert mask.min() >= 0 and mask.max() <= 1 and mask[0, 0] == 1
    if transition == 0:
        assert set(mask.unique().tolist()) <= {0.0, 1.0}
    # the high-pass weights are exactly 1 - low: coefficient bands add up to the whole spectrum
    x, _ = random_input((1, 2, 12, 10))
    low, high = dct_split(x, cutoff=cutoff, shape=shape, transition=transition, domain="coeff")
    assert torch.allclose(low + high, dct2(x), atol=1e-12)


def test_rect_and_radial_masks_differ():
    radial = dct_mask(16, 16, 0.5, shape="radial")
    rect = dct_mask(16, 16, 0.5, shape="rect")
    assert not torch.equal(radial, rect) and torch.all(rect >= radial)
    assert rect[8, 8] == 1 and radial[8, 8] == 0  # fy = fx = 0.5: inside the square only
    assert rect[9, 0] == 0 and rect[0, 9] == 0


# ------------------------------------------------------------------------------------------------
# Autograd, dtypes, layouts


@pytest.mark.parametrize("domain", ["image", "coeff"])
@pytest.mark.parametrize("cutoff, transition", [(0.3, 0.0), (0.6, 0.5)])
def test_gradcheck(domain, cutoff, transition):
    x = torch.rand(1, 2, 5, 6, dtype=torch.float64, requires_grad=True)
    split = lambda t: tuple(dct_split(t, cutoff=cutoff, transition=transition, domain=domain))  # noqa: E731
    for fn in (split, dct2, idct2):
        assert torch.autograd.gradcheck(fn, (x,), fast_mode=True)


@pytest.mark.parametrize("half", [torch.float16, torch.bfloat16])
def test_half_precision_returns_input_dtype(half):
    x, _ = random_input((2, 3, 16, 12), half)
    x64 = x.double().numpy()  # the reference sees the rounded input
    low, high = dct_split(x, cutoff=0.3, transition=0.2)
    assert low.dtype == high.dtype == half
    mask = reference_mask(16, 12, 0.3, "radial", 0.2)
    low_ref = scipy.fft.idctn(scipy.fft.dctn(x64, norm="ortho", axes=AXES) * mask, norm="ortho", axes=AXES)
    assert max_rel_error(low, low_ref, 2.0) <= TOLERANCE[half]
    assert max_rel_error(low + high, x64, 2.0) <= TOLERANCE[half]
    assert dct2(x).dtype == half and idct2(x).dtype == half
    assert max_rel_error(dct2(x), scipy.fft.dctn(x64, norm="ortho", axes=AXES), 2.0) <= TOLERANCE[half]


@pytest.mark.parametrize("domain", ["image", "coeff"])
def test_non_contiguousrandom_input(domain):
    base, _ = random_input((2, 3, 14, 22))
    for view in (base.transpose(-1, -2), base[:, ::2, 1:, ::2], base.permute(0, 1, 3, 2)[..., 3:]):
        assert not view.is_contiguous()
        got = dct_split(view, cutoff=0.4, transition=0.1, domain=domain)
        want = dct_split(view.contiguous(), cutoff=0.4, transition=0.1, domain=domain)
        assert torch.allclose(got.low, want.low, atol=1e-12) and torch.allclose(got.high, want.high, atol=1e-12)
        assert torch.allclose(dct2(view), dct2(view.contiguous()), atol=1e-12)


# ------------------------------------------------------------------------------------------------
# Bad input


GOOD = torch.rand(1, 1, 8, 8)


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        (dict(x=torch.rand(3, 8, 8)), ValueError, r"x: expected a 4-D tensor"),
        (dict(x=torch.ones(1, 1, 8, 8, dtype=torch.int64)), TypeError, r"x: expected a floating dtype"),
        (dict(x=np.ones((1, 1, 8, 8))), TypeError, r"x: expected a torch.Tensor.*ndarray"),
        (dict(cutoff=0), ValueError, r"cutoff: expected a number in the open interval \(0, 1\), got 0"),
        (dict(cutoff=1), ValueError, r"cutoff: .*got 1"),
        (dict(cutoff=-0.1), ValueError, r"cutoff: .*got -0.1"),
        (dict(cutoff=1.5), ValueError, r"cutoff: .*got 1.5"),
        (dict(cutoff="a"), ValueError, r"cutoff: .*got 'a'"),
        (dict(shape="oval"), ValueError, r"shape: expected one of 'radial', 'rect', got 'oval'"),
        (dict(domain="pixels"), ValueError, r"domain: expected one of 'image', 'coeff', got 'pixels'"),
        (dict(cutoff=0.2, transition=0.5), ValueError, r"transition: expected at most 2\*min"),
        (dict(transition=-0.1), ValueError, r"transition: expected a number >= 0, got -0.1"),
    ],
)
def test_split_rejects_badrandom_input(kwargs, error, match):
    args = dict(x=GOOD, cutoff=0.3) | kwargs
    with pytest.raises(error, match=match):
        dct_split(args.pop("x"), **args)


def test_other_entry_points_reject_badrandom_input():
    with pytest.raises(ValueError, match=r"x: expected a 4-D"):
        dct2(torch.rand(8, 8))
    with pytest.raises(TypeError, match=r"c: expected a floating dtype"):
        idct2(torch.ones(1, 1, 4, 4, dtype=torch.int32))
    with pytest.raises(ValueError, match=r"n: expected a positive integer, got 0"):
        dct_matrix(0)
    with pytest.raises(ValueError, match=r"h: expected a positive integer, got -3"):
        dct_mask(-3, 4, 0.5)
    with pytest.raises(ValueError, match=r"cutoff: .*got 2"):
        dct_mask(4, 4, 2)
    with pytest.raises(TypeError, match=r"bands: expected a Split\(low, high\)"):
        dct_merge(GOOD)
    with pytest.raises(ValueError, match=r"bands: expected low and high of equal shape"):
        dct_merge((GOOD, torch.rand(1, 1, 8, 9)))
    with pytest.raises(ValueError, match=r"bands.high: expected a 4-D"):
        dct_merge((GOOD, torch.rand(8, 8)))
    with pytest.raises(ValueError, match=r"domain: .*got 'fourier'"):
        dct_merge((GOOD, GOOD), domain="fourier")
