"""Kernels: band mix, blend, replace, default bands and their errors."""
import pytest
import torch

from freqaug.augment.functional import (
    amplitude_mix, band_mix, blend_images, check_band_names, coarse_mix, default_bands, extra_levels, ignore_labels,
    replace_images, resize_images,
)
from freqaug.bands import BandSpec, decompose

DWT = BandSpec(levels=2)


def pair(batch=3, size=(32, 48), generated_size=(16, 24), seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.rand(batch, 3, *size, generator=g), torch.rand(batch, 3, *generated_size, generator=g)


def test_default_bands_are_the_detail_bands_or_high():
    assert default_bands(DWT) == ("LH2", "HL2", "HH2", "LH1", "HL1", "HH1")
    assert default_bands(BandSpec(kind="dct")) == ("high",)
    assert default_bands(BandSpec(kind="fourier")) == ("high",)


@pytest.mark.parametrize("bands, match", [([], "non-empty"), ("LH1", "non-empty"), (["LL1"], "unknown"),
                                           (["LH1", "LH1"], "distinct")])
def test_bad_band_names_are_named(bands, match):
    with pytest.raises(ValueError, match=match):
        check_band_names(bands, DWT)


@pytest.mark.parametrize("spec", [DWT, BandSpec(kind="dwt", wavelet="db2", levels=2, mode="symmetric"),
                                  BandSpec(kind="dct", cutoff=0.3), BandSpec(kind="fourier", cutoff=0.4)],
                         ids=["haar", "db2", "dct", "fourier"])
def test_band_mix_at_strength_zero_is_the_identity(spec):
    real, generated = pair(size=(31, 45))
    out = band_mix(real, generated, spec, bands=default_bands(spec), strength=torch.zeros(3))
    assert out.shape == real.shape and out.dtype == real.dtype
    torch.testing.assert_close(out, real, atol=1e-6, rtol=0)


@pytest.mark.parametrize("spec", [DWT, BandSpec(kind="dct", cutoff=0.3)], ids=["dwt", "dct"])
def test_band_mix_of_every_band_at_strength_one_is_the_resized_generated_image(spec):
    # a generated image of about the real size (ratio < 1.5): every band is the generated one's
    real, generated = pair(generated_size=(26, 40))
    out = band_mix(real, generated, spec, bands=spec.band_names, strength=torch.ones(3))
    torch.testing.assert_close(out, resize_images(generated, (32, 48)).clamp(0, 1), atol=1e-5, rtol=0)


def _detail_energy(images, levels=1):
    """Energy of the finest DWT level's detail bands (haar)."""
    bands = decompose(images, BandSpec(levels=levels))
    return sum(float(bands[f"{d}1"].pow(2).mean()) for d in ("LH", "HL", "HH"))


@pytest.mark.parametrize("spec", [DWT, BandSpec(kind="dwt", wavelet="db2", levels=2, mode="symmetric"),
                                  BandSpec(kind="dct", cutoff=0.3), BandSpec(kind="fourier", cutoff=0.4)],
                         ids=["haar", "db2", "dct", "fourier"])
def test_a_4x_larger_real_image_keeps_its_finest_detail_energy(spec):
    # the generated scene is 4x smaller: its (upsampled) finest bands are nearly empty; mixed scale-aware,
    # every band it has meets the real band of its own resolution and the real fine detail stays
    real, generated = pair(batch=2, size=(128, 192), generated_size=(32, 48))
    real, generated = 0.3 + 0.4 * real, 0.3 + 0.4 * generated  # no clamping
    out = band_mix(real, generated, spec, bands=spec.band_names, strength=torch.ones(2))
    naive = resize_images(generated, (128, 192))
    assert _detail_energy(naive) < 0.2 * _detail_energy(real)
    assert _detail_energy(out) == pytest.approx(_detail_energy(real), rel=0.1)
    # and the coarse content is the generated scene's: well below its band limit the mix is close to it
    def coarse(x):
        return resize_images(x, (8, 12))

    assert (coarse(out) - coarse(generated)).abs().mean() < 0.3 * (coarse(real) - coarse(generated)).abs().mean()


def test_extra_levels_follow_the_size_ratio():
    assert [extra_levels(r) for r in (0.5, 1.0, 1.3, 2.0, 3.0, 4.0, 8.0)] == [0, 0, 0, 1, 2, 2, 3]


def test_a_4x_larger_dwt_mix_puts_each_band_at_its_own_resolution():
    real, generated = pair(batch=2, size=(64, 96), generated_size=(16, 24))
    real, generated = 0.4 + 0.2 * real, 0.4 + 0.2 * generated  # no clamping
    out = band_mix(real, generated, DWT, bands=["LL2"], strength=torch.ones(2))
    wide = BandSpec(levels=4)
    before, after = decompose(real, wide), decompose(out, wide)
    source = decompose(resize_images(generated, (64, 96)), wide)
    torch.testing.assert_close(after["LL4"], source["LL4"], atol=1e-5, rtol=0)
    for name in wide.band_names[1:]:  # every detail band, fine and coarse, is the real one's
        torch.testing.assert_close(after[name], before[name], atol=1e-5, rtol=0, msg=name)


def test_band_mix_takes_one_strength_per_band():
    real, generated = pair(size=(32, 48), generated_size=(32, 48))
    real, generated = 0.4 + 0.2 * real, 0.4 + 0.2 * generated
    strength = torch.tensor([[0.0, 1.0], [0.5, 0.25], [1.0, 0.0]])
    out = band_mix(real, generated, DWT, bands=["HH1", "LH2"], strength=strength)
    before, source, after = decompose(real, DWT), decompose(generated, DWT), decompose(out, DWT)
    for i, name in enumerate(["HH1", "LH2"]):
        expected = before[name] + strength[:, i].view(3, 1, 1, 1) * (source[name] - before[name])
        torch.testing.assert_close(after[name], expected, atol=1e-5, rtol=0, msg=name)
    with pytest.raises(ValueError, match=r"strength: expected shape \(3,\).*\(3, 2\)"):
        band_mix(real, generated, DWT, bands=["HH1", "LH2"], strength=torch.ones(3, 3))


def test_coarse_mix_takes_the_partner_illumination_and_keeps_the_real_detail():
    real, generated = pair(batch=2, size=(64, 96), generated_size=(16, 24))
    real = 0.3 + 0.4 * real
    generated = torch.stack([torch.full((3, 16, 24), 0.2), torch.full((3, 16, 24), 0.8)])  # dark and bright scenes
    out = coarse_mix(real, generated, torch.ones(2))
    assert out[0].mean() == pytest.approx(0.2, abs=0.02) and out[1].mean() == pytest.approx(0.8, abs=0.02)
    # the real detail (the finest DWT level) is kept; an image up to 16x larger keeps everything the partner has
    assert _detail_energy(out[:1]) == pytest.approx(_detail_energy(real[:1]), rel=0.05)
    torch.testing.assert_close(coarse_mix(real, generated, torch.zeros(2)), real, atol=1e-6, rtol=0)
    half = coarse_mix(real, generated, torch.full((2,), 0.5))
    assert half[0].mean() == pytest.approx(0.5 * (0.2 + float(real[0].mean())), abs=0.02)


def test_amplitude_mix_keeps_the_real_phase_and_takes_the_partner_amplitude():
    real, generated = pair(size=(32, 48), generated_size=(32, 48))
    real, generated = 0.4 + 0.2 * real, 0.4 + 0.2 * generated  # no clamping
    out = amplitude_mix(real, generated, torch.tensor([0.0, 1.0, 0.5]))
    torch.testing.assert_close(out[0], real[0], atol=1e-5, rtol=0)
    f_out, f_real, f_gen = (torch.fft.rfft2(x[1]) for x in (out, real, generated))
    torch.testing.assert_close(f_out.abs(), f_gen.abs(), atol=1e-3, rtol=1e-3)
    strong = f_out.abs() > 1e-2  # the phase is defined where the amplitude is not tiny
    torch.testing.assert_close(torch.cos(f_out.angle() - f_real.angle())[strong], torch.ones(int(strong.sum())),
                               atol=1e-3, rtol=0)
    f_mid = torch.fft.rfft2(out[2]).abs()
    torch.testing.assert_close(f_mid, 0.5 * (torch.fft.rfft2(real[2]).abs() + torch.fft.rfft2(generated[2]).abs()),
                               atol=1e-3, rtol=1e-3)


def test_amplitude_mix_of_a_4x_smaller_partner_keeps_the_real_fine_detail():
    real, generated = pair(batch=2, size=(128, 192), generated_size=(32, 48))
    real, generated = 0.3 + 0.4 * real, 0.3 + 0.4 * generated  # no clamping
    out = amplitude_mix(real, generated, torch.ones(2))
    assert _detail_energy(out) == pytest.approx(_detail_energy(real), rel=0.15)


def test_band_mix_changes_only_the_selected_bands_by_the_per_sample_strength():
    real, generated = pair(size=(32, 48), generated_size=(32, 48))
    strength = torch.tensor([0.0, 0.5, 1.0])
    # mid-grey images with small variations: no clamping, so the bands of the output are exact
    real, generated = 0.4 + 0.2 * real, 0.4 + 0.2 * generated
    out = band_mix(real, generated, DWT, bands=["HH1", "LH2"], strength=strength)
    before, source, after = decompose(real, DWT), decompose(generated, DWT), decompose(out, DWT)
    for name in DWT.band_names:
        expected = before[name]
        if name in ("HH1", "LH2"):
            expected = before[name] + strength.view(3, 1, 1, 1) * (source[name] - before[name])
        torch.testing.assert_close(after[name], expected, atol=1e-5, rtol=0, msg=name)


def test_blend_is_the_weighted_mean_per_sample_and_per_channel():
    real, generated = pair(generated_size=(32, 48))
    weight = torch.tensor([0.0, 0.25, 1.0])
    torch.testing.assert_close(blend_images(real, generated, weight),
                               weight.view(3, 1, 1, 1) * generated + (1 - weight.view(3, 1, 1, 1)) * real)
    per_channel = torch.rand(3, 3)
    torch.testing.assert_close(blend_images(real, generated, per_channel),
                               per_channel[..., None, None] * generated + (1 - per_channel[..., None, None]) * real)


def test_replace_returns_the_generated_image_at_the_real_size_and_dtype():
    real, generated = pair()
    out = replace_images(real.double(), generated)
    assert out.dtype == torch.float64 and out.shape == real.shape
    torch.testing.assert_close(out, resize_images(generated, (32, 48)).double())


def test_outputs_are_clamped_to_the_unit_range():
    real = torch.ones(2, 3, 16, 16)
    generated = torch.zeros(2, 3, 16, 16)
    generated[..., ::2, ::2] = 1  # a pattern whose high bands overshoot when added to white
    out = band_mix(real, generated, DWT, bands=default_bands(DWT), strength=torch.ones(2))
    assert out.min() >= 0 and out.max() <= 1


def test_resize_is_antialiased():
    stripes = torch.zeros(1, 3, 64, 64)
    stripes[..., ::2] = 1
    inner = resize_images(stripes, (16, 16))[..., 1:-1]  # the border columns see one side of the filter
    torch.testing.assert_close(inner, torch.full_like(inner, 0.5), atol=1e-3, rtol=0)


@pytest.mark.parametrize("call, error, match", [
    (lambda r, g: band_mix(r[:, :, :4, :4], g, BandSpec(wavelet="db4", levels=3), bands=["HH1"], strength=torch.ones(3)),
     ValueError, "4x4 .*too small.*db4"),
    (lambda r, g: band_mix(r, g[:2], DWT, bands=["HH1"], strength=torch.ones(3)), ValueError, "batch and channels"),
    (lambda r, g: band_mix(r, g, DWT, bands=["HH1"], strength=torch.ones(2)), ValueError, "strength: expected shape"),
    (lambda r, g: band_mix(r, g, DWT, bands=["XX"], strength=torch.ones(3)), ValueError, "unknown band"),
    (lambda r, g: blend_images(r, g, torch.ones(3, 2)), ValueError, "weight: expected shape"),
    (lambda r, g: blend_images(r.to(torch.uint8), g, torch.ones(3)), TypeError, "real: expected a floating"),
    (lambda r, g: replace_images(r, g[0]), ValueError, "generated: expected a 4-D"),
])
def test_bad_input_is_named(call, error, match):
    real, generated = pair()
    with pytest.raises(error, match=match):
        call(real, generated)


def test_ignore_labels_marks_the_applied_samples_only():
    masks = torch.randint(0, 11, (3, 8, 8))
    out = ignore_labels(masks, torch.tensor([False, True, False]), 255)
    assert torch.equal(out[[0, 2]], masks[[0, 2]]) and bool((out[1] == 255).all())
    with pytest.raises(ValueError, match="masks: expected"):
        ignore_labels(masks[:2], torch.tensor([False, True, False]), 255)


def test_blend_with_a_4x_smaller_scene_keeps_the_real_fine_detail():
    real, generated = pair(batch=2, size=(128, 192), generated_size=(32, 48))
    real, generated = 0.3 + 0.4 * real, 0.3 + 0.4 * generated  # no clamping
    out = blend_images(real, generated, torch.ones(2))
    assert _detail_energy(out) == pytest.approx(_detail_energy(real), rel=0.15)
    coarse = lambda x: resize_images(x, (8, 12))  # noqa: E731
    assert (coarse(out) - coarse(generated)).abs().mean() < 0.3 * (coarse(real) - coarse(generated)).abs().mean()
