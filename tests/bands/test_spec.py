"""BandSpec validation and JSON, decompose/compose round trips for every kind, bad band dicts."""
import json

import pytest
import torch

from freqaug.bands import BandSpec, compose, decompose
from tests.conftest import TOLERANCE, max_rel_error

SPECS = {
    "haar-1-per": BandSpec(kind="dwt", wavelet="haar", levels=1, mode="periodization"),
    "db4-3-sym": BandSpec(kind="dwt", wavelet="db4", levels=3, mode="symmetric"),
    "bior2.2-2-zero": BandSpec(kind="dwt", wavelet="bior2.2", levels=2, mode="zero"),
    "dct-radial": BandSpec(kind="dct", cutoff=0.3),
    "dct-rect-coeff": BandSpec(kind="dct", cutoff=0.5, shape="rect", domain="coeff"),
    "dct-smooth": BandSpec(kind="dct", cutoff=0.4, transition=0.2),
    "fourier-hard": BandSpec(kind="fourier", cutoff=0.25),
    "fourier-smooth-rect": BandSpec(kind="fourier", cutoff=0.5, shape="rect", transition=0.3),
}
SIZES = [(64, 96), (65, 97), (70, 63)]


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
@pytest.mark.parametrize("spec", SPECS.values(), ids=SPECS.keys())
def test_round_trip_is_exact(spec, size, dtype):
    x = torch.rand(2, 3, *size, dtype=dtype) * 2 - 1
    bands = decompose(x, spec)
    assert tuple(bands) == spec.band_names
    shapes = spec.band_shapes(*size)
    for name, band in bands.items():
        assert tuple(band.shape) == (2, 3, *shapes[name]), name
        assert band.dtype == dtype
    rec = compose(bands, spec, size=size)
    assert rec.shape == x.shape
    assert max_rel_error(rec, x.double(), 2.0) <= TOLERANCE[dtype]


def test_compose_without_size_returns_the_natural_size():
    spec = SPECS["haar-1-per"]
    x = torch.rand(1, 1, 33, 40, dtype=torch.float64)
    rec = compose(decompose(x, spec), spec)
    assert rec.shape[-2:] == (34, 40)
    torch.testing.assert_close(rec[..., :33, :], x)


def test_band_names_follow_the_patent():
    assert BandSpec(levels=2).band_names == ("LL2", "LH2", "HL2", "HH2", "LH1", "HL1", "HH1")
    assert BandSpec(kind="fourier").band_names == ("low", "high")


@pytest.mark.parametrize("spec, coarse", [(BandSpec(levels=3), "LL3"), (BandSpec(levels=1), "LL1"),
                                          (BandSpec(kind="dct"), "low"), (BandSpec(kind="fourier"), "low")])
def test_coarse_band_is_the_approximation_under_every_transform(spec, coarse):
    assert spec.coarse_band == coarse


def test_band_shapes_match_pywt_sizes():
    import pywt

    spec = BandSpec(wavelet="db2", levels=2, mode="symmetric")
    ref = pywt.wavedec2(torch.zeros(50, 37).numpy(), "db2", mode="symmetric", level=2)
    shapes = spec.band_shapes(50, 37)
    assert shapes["LL2"] == ref[0].shape and shapes["HH2"] == ref[1][2].shape and shapes["LH1"] == ref[2][0].shape


@pytest.mark.parametrize("spec", SPECS.values(), ids=SPECS.keys())
def test_json_round_trip(spec):
    text = spec.to_json()
    assert json.loads(text)["kind"] == spec.kind
    assert BandSpec.from_json(text) == spec
    assert BandSpec.from_dict(spec.to_dict()) == spec


def test_decompose_is_differentiable():
    x = torch.rand(1, 1, 64, 64, dtype=torch.float64, requires_grad=True)
    for spec in SPECS.values():
        bands = decompose(x, spec)
        loss = sum((b**2).sum() for b in bands.values())
        (grad,) = torch.autograd.grad(loss, x)
        assert torch.isfinite(grad).all() and grad.abs().sum() > 0


@pytest.mark.parametrize("spec", SPECS.values(), ids=SPECS.keys())
def test_caches_built_under_inference_mode_still_support_autograd(spec):
    size = (60 + len(spec.describe()), 62)  # a size no other test uses: the caches start empty
    with torch.inference_mode():
        compose(decompose(torch.rand(1, 2, *size), spec), spec, size=size)
    x = torch.rand(1, 2, *size, requires_grad=True)
    compose(decompose(x, spec), spec, size=size).sum().backward()
    torch.testing.assert_close(x.grad, torch.ones_like(x))


def test_nan_propagates_unless_checked():
    x = torch.rand(1, 1, 16, 16)
    x[0, 0, 3, 3] = float("nan")
    bands = decompose(x, SPECS["haar-1-per"])
    assert torch.isnan(bands["LL1"]).any()  # documented: the caller's duty unless check_finite
    with pytest.raises(ValueError, match=r"x: contains NaN or Inf"):
        decompose(x, SPECS["haar-1-per"], check_finite=True)


@pytest.mark.parametrize(
    "fields, error, match",
    [
        ({"kind": "wavelet"}, ValueError, r"kind: expected one of 'dwt', 'dct', 'fourier', got 'wavelet'"),
        ({"wavelet": "db99"}, ValueError, r"wavelet: .*'db99'"),
        ({"mode": "wrap"}, ValueError, r"mode: .*'wrap'"),
        ({"levels": 0}, ValueError, r"levels: expected an integer >= 1, got 0"),
        ({"kind": "dct", "cutoff": 0.0}, ValueError, r"cutoff: expected a number in the open interval \(0, 1\), got 0.0"),
        ({"kind": "fourier", "cutoff": 1.0}, ValueError, r"cutoff: .*got 1.0"),
        ({"kind": "dct", "shape": "oval"}, ValueError, r"shape: .*'oval'"),
        ({"kind": "dct", "cutoff": 0.1, "transition": 0.5}, ValueError, r"transition: expected at most"),
        ({"kind": "fourier", "domain": "coeff"}, ValueError, r"domain: the Fourier split"),
    ],
)
def test_invalid_spec(fields, error, match):
    with pytest.raises(error, match=match):
        BandSpec(**fields)


@pytest.mark.parametrize(
    "data, error, match",
    [
        ({"kind": "dwt", "colour": 1}, ValueError, r"unknown field\(s\) \['colour'\]"),
        ({"levels": "2"}, TypeError, r"BandSpec.levels: expected an integer, got '2'"),
        ({"cutoff": True, "kind": "dct"}, TypeError, r"BandSpec.cutoff: expected a number"),
        ([1, 2], TypeError, r"expected a mapping"),
    ],
)
def test_invalid_dict(data, error, match):
    with pytest.raises(error, match=match):
        BandSpec.from_dict(data)


def test_invalid_json():
    with pytest.raises(ValueError, match="not valid JSON"):
        BandSpec.from_json("{kind: dwt")


def test_too_many_levels_for_the_image():
    spec = BandSpec(wavelet="db4", levels=3)
    with pytest.raises(ValueError, match=r"levels: 3 is more than an image of size \(24, 24\) allows .*at most 1"):
        decompose(torch.rand(1, 1, 24, 24), spec)
    with pytest.raises(ValueError, match=r"levels: 3"):
        spec.band_shapes(24, 24)


@pytest.mark.parametrize("height, width", [(0, 4), (4, -1), (4.0, 4)])
def test_band_shapes_rejects_bad_sizes(height, width):
    with pytest.raises(ValueError, match=r"(height|width): expected a positive integer"):
        BandSpec().band_shapes(height, width)


class TestComposeRejectsBadBands:
    spec = BandSpec(levels=2)
    x = torch.rand(1, 3, 32, 32)

    def bands(self):
        return decompose(self.x, self.spec)

    def test_missing_band(self):
        bands = self.bands()
        del bands["HL1"]
        with pytest.raises(ValueError, match=r"missing band\(s\) \['HL1'\]"):
            compose(bands, self.spec)

    def test_extra_band(self):
        bands = self.bands() | {"LL1": torch.zeros(1, 3, 16, 16)}
        with pytest.raises(ValueError, match=r"unexpected band\(s\) \['LL1'\]"):
            compose(bands, self.spec)

    def test_misshaped_band(self):
        bands = self.bands()
        bands["HH2"] = torch.zeros(1, 3, 8, 9)
        with pytest.raises(ValueError, match=r"bands\['HH2'\]: expected spatial shape \(8, 8\) .*got \(8, 9\)"):
            compose(bands, self.spec)

    def test_wrong_channels(self):
        bands = self.bands()
        bands["LH1"] = torch.zeros(1, 1, 16, 16)
        with pytest.raises(ValueError, match=r"bands\['LH1'\]: expected batch/channels \(1, 3\)"):
            compose(bands, self.spec)

    def test_wrong_size_argument(self):
        with pytest.raises(ValueError, match=r"bands\['LL2'\]: expected spatial shape \(16, 16\) for an image of size \(64, 64\)"):
            compose(self.bands(), self.spec, size=(64, 64))

    def test_not_a_dict(self):
        with pytest.raises(TypeError, match=r"bands: expected a dict"):
            compose([torch.zeros(1)], self.spec)

    def test_integer_band(self):
        bands = self.bands()
        bands["HH1"] = torch.zeros(1, 3, 16, 16, dtype=torch.int32)
        with pytest.raises(TypeError, match=r"bands\['HH1'\]: expected a floating dtype"):
            compose(bands, self.spec)


@pytest.mark.parametrize("spec", [BandSpec(), BandSpec(kind="dct"), BandSpec(kind="fourier")], ids=lambda s: s.kind)
def test_an_empty_batch_gives_empty_bands_and_back(spec):
    bands = decompose(torch.rand(0, 3, 16, 16), spec)
    assert all(b.shape[0] == 0 for b in bands.values()) and bands.keys() == set(spec.band_names)
    assert compose(bands, spec, size=(16, 16)).shape == (0, 3, 16, 16)


def test_a_wavelet_name_instead_of_a_spec_is_named():
    with pytest.raises(TypeError, match=r"spec: expected a BandSpec, got str 'haar'; for a wavelet name use "
                                        r"BandSpec\(wavelet='haar'\)"):
        decompose(torch.rand(1, 3, 16, 16), "haar")
    with pytest.raises(TypeError, match="spec: expected a BandSpec, got NoneType"):
        compose({}, None)
