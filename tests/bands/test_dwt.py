"""The 2-D DWT against pywavelets: coefficients, reconstruction, gradients, dtypes, bad input."""
import numpy as np
import pytest
import pywt
import torch

from freqaug.bands.dwt import Detail, dwt2, dwt_max_level, idwt2, wavedec2, waverec2
from freqaug.bands.types import MODES
from tests.conftest import TOLERANCE, max_rel_error, random_input

WAVELETS = ["haar", "db2", "db4", "sym4", "coif1", "bior2.2", "rbio1.3"]
SIZES = {"even": (112, 120), "odd": (113, 117)}  # 4 levels fit every wavelet above


def _flatten_pywt(ref):
    """pywt's [cA, (cH, cV, cD), ...] -> [LL, LH, HL, HH, ...] in the patent's order."""
    out = [ref[0]]
    for c_h, c_v, c_d in ref[1:]:
        out += [c_v, c_h, c_d]
    return out


def _flatten(coeffs):
    return [coeffs[0]] + [t for detail in coeffs[1:] for t in detail]


@pytest.mark.parametrize("size", SIZES.values(), ids=SIZES.keys())
@pytest.mark.parametrize("level", [1, 2, 3, 4])
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("wavelet", WAVELETS)
def test_matches_pywt(wavelet, mode, level, size, dtype):
    x, x_np = random_input((1, 2, *size), dtype)
    coeffs = wavedec2(x, wavelet, level=level, mode=mode)
    ref = pywt.wavedec2(x_np, wavelet, mode=mode, level=level, axes=(-2, -1))
    scale = 2.0  # value range of the input
    for got, want in zip(_flatten(coeffs), _flatten_pywt(ref)):
        assert got.dtype == dtype
        assert tuple(got.shape) == want.shape
        # coarse LL bands (and 'smooth' extrapolation) grow past the input range: scale to them
        assert max_rel_error(got, want, max(scale, np.abs(want).max())) <= TOLERANCE[dtype]
    rec = waverec2(coeffs, wavelet, mode=mode)
    ref_rec = pywt.waverec2(ref, wavelet, mode=mode, axes=(-2, -1))
    assert tuple(rec.shape) == ref_rec.shape
    assert max_rel_error(rec, ref_rec, scale) <= TOLERANCE[dtype]
    assert max_rel_error(rec[..., : size[0], : size[1]], x_np, scale) <= TOLERANCE[dtype]


@pytest.mark.parametrize("wavelet", ["haar", "db1", "db8", "sym8", "coif3", "bior6.8", "dmey"])
def test_other_wavelets_match_pywt(wavelet):
    size = (64, 70) if wavelet != "dmey" else (128, 130)  # dmey: 62 taps, level 1 needs >= 122
    x, x_np = random_input((2, 1, *size))
    got = wavedec2(x, wavelet, level=1, mode="symmetric")
    ref = pywt.wavedec2(x_np, wavelet, mode="symmetric", level=1, axes=(-2, -1))
    for g, r in zip(_flatten(got), _flatten_pywt(ref)):
        np.testing.assert_allclose(g.numpy(), r, atol=1e-10)


def test_band_orientation_follows_the_patent():
    """Horizontal stripes vary vertically: their energy is in HL (high vertical, low horizontal)."""
    rows = torch.arange(32, dtype=torch.float64).remainder(2).view(1, 1, 32, 1).expand(1, 1, 32, 32)
    _, detail = dwt2(rows, "haar", mode="periodization")
    assert detail.HL.abs().sum() > 0 and detail.LH.abs().sum() == 0 and detail.HH.abs().sum() == 0
    _, detail = dwt2(rows.transpose(-1, -2), "haar", mode="periodization")
    assert detail.LH.abs().sum() > 0 and detail.HL.abs().sum() == 0


@pytest.mark.parametrize("mode", ["periodization", "symmetric", "zero", "smooth", "antisymmetric"])
@pytest.mark.parametrize("wavelet", ["haar", "db2", "bior2.2"])
def test_gradcheck(wavelet, mode):
    x = torch.rand(1, 2, 11, 12, dtype=torch.float64, requires_grad=True)

    def round_trip(t):
        coeffs = wavedec2(t, wavelet, level=1, mode=mode)
        return waverec2(coeffs, wavelet, mode=mode), coeffs[1].HL

    assert torch.autograd.gradcheck(round_trip, (x,))


@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float16])
@pytest.mark.parametrize("wavelet", ["haar", "db4"])
def test_half_precision_round_trip(wavelet, dtype):
    x, _ = random_input((2, 3, 32, 48), torch.float32)
    coeffs = wavedec2(x.to(dtype), wavelet, level=2, mode="symmetric")
    rec = waverec2(coeffs, wavelet, mode="symmetric")
    assert rec.dtype == dtype
    assert max_rel_error(rec, x.double(), 2.0) <= TOLERANCE[dtype]


def test_non_contiguous_input_gives_the_same_coefficients():
    x, _ = random_input((2, 3, 40, 36))
    view = x.transpose(-1, -2)  # (2, 3, 36, 40), not contiguous
    for got, want in zip(_flatten(wavedec2(view, "db2", level=2)), _flatten(wavedec2(view.contiguous(), "db2", level=2))):
        torch.testing.assert_close(got, want, rtol=0, atol=1e-12)


def test_on_device(device):
    x, x_np = random_input((2, 3, 33, 40), torch.float32)
    coeffs = wavedec2(x.to(device), "db4", level=2, mode="periodization")
    ref = pywt.wavedec2(x_np, "db4", mode="periodization", level=2, axes=(-2, -1))
    for got, want in zip(_flatten(coeffs), _flatten_pywt(ref)):
        assert got.device.type == device
        assert max_rel_error(got, want, 2.0) <= TOLERANCE[torch.float32]
    rec = waverec2(coeffs, "db4", mode="periodization")
    assert max_rel_error(rec[..., :33, :], x_np, 2.0) <= TOLERANCE[torch.float32]


def test_single_level_matches_multi_level():
    x, _ = random_input((1, 1, 16, 16))
    ll, detail = dwt2(x, "db2")
    coeffs = wavedec2(x, "db2", level=1)
    torch.testing.assert_close(ll, coeffs[0])
    torch.testing.assert_close(idwt2(ll, detail, "db2"), waverec2(coeffs, "db2"))


def test_default_level_is_the_maximum():
    x, _ = random_input((1, 1, 64, 80))
    assert len(wavedec2(x, "db2")) == 1 + dwt_max_level(64, "db2") == 5


@pytest.mark.parametrize(
    "call, error, match",
    [
        (lambda: wavedec2(torch.rand(8, 8), "haar", level=1), ValueError, r"x: expected a 4-D tensor"),
        (lambda: wavedec2(torch.ones(1, 1, 8, 8, dtype=torch.int64), "haar", level=1), TypeError, r"x: .*floating"),
        (lambda: wavedec2([[1.0]], "haar", level=1), TypeError, r"x: expected a torch.Tensor"),
        (lambda: wavedec2(torch.rand(1, 1, 16, 16), "haar", level=5), ValueError, r"levels: 5 .*at most 4"),
        (lambda: wavedec2(torch.rand(1, 1, 16, 16), "haar", level=0), ValueError, r"levels: expected an integer"),
        (lambda: wavedec2(torch.rand(1, 1, 16, 16), "db99", level=1), ValueError, r"wavelet: .*'db99'"),
        (lambda: wavedec2(torch.rand(1, 1, 16, 16), "cmor1.5-1.0", level=1), ValueError, r"wavelet: .*discrete"),
        (lambda: wavedec2(torch.rand(1, 1, 16, 16), "haar", level=1, mode="wrap"), ValueError, r"mode: .*'wrap'"),
        (
            lambda: idwt2(torch.rand(1, 1, 4, 4), Detail(torch.rand(1, 1, 4, 4), torch.rand(1, 1, 4, 5), torch.rand(1, 1, 4, 4)), "haar"),
            ValueError,
            r"HL: expected shape \(1, 1, 4, 4\)",
        ),
        (lambda: idwt2(torch.rand(1, 1, 4, 4), (torch.rand(1, 1, 4, 4),), "haar"), ValueError, r"detail: expected"),
    ],
)
def test_badrandom_input(call, error, match):
    with pytest.raises(error, match=match):
        call()
