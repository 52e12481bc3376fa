"""probe_band_gain: per-band std ratios of a bundle's samples, the calibrated detail bands match the real
energy while the coarse band is left alone, and the report and picture are written."""
import json

import pytest
import torch
from torchvision.utils import save_image

from freqaug.bands import BandSpec, decompose
from freqaug.data import synthetic_batch
from tests import load_script
from tests.augment.conftest import build_bundle


@pytest.fixture(scope="module")
def probe():
    return load_script("benchmarks/probe_band_gain.py")


def test_calibrated_detail_bands_get_the_real_energy_and_the_coarse_band_is_kept(probe):
    spec = BandSpec(levels=2)
    real = decompose(torch.randn(6, 3, 16, 24), spec)
    generated = {k: 0.3 * v + 0.1 for k, v in decompose(torch.randn(5, 3, 16, 24), spec).items()}
    calibrated = probe.calibrate(generated, real, spec)
    ratios = probe.std_ratios(calibrated, real)
    assert calibrated["LL2"] is generated["LL2"]
    for name in spec.band_names[1:]:
        assert ratios[name] == pytest.approx([1.0] * 3, abs=1e-5)
        mean = lambda x: x.mean(dim=(0, 2, 3))  # noqa: E731
        assert torch.allclose(mean(calibrated[name]), mean(generated[name]), atol=1e-6)  # rescaled about its mean
    assert all(r < 0.5 for r in probe.std_ratios(generated, real)["HH1"])


def test_writes_the_report_and_the_picture(probe, tmp_path):
    images = torch.nn.functional.avg_pool2d(synthetic_batch(12, size=(32, 48), seed=1)[0], 2)  # at the bundle size
    for split, part in (("train", images[:8]), ("val", images[8:])):
        (tmp_path / "data" / split / "images").mkdir(parents=True)
        for i, image in enumerate(part):
            save_image(image, tmp_path / "data" / split / "images" / f"{i:03d}.png")
    bundle = build_bundle(tmp_path / "tiny.safetensors")
    threads = torch.get_num_threads()
    try:
        report = probe.main([str(bundle), "--data", str(tmp_path / "data"), "--out", str(tmp_path / "out"),
                             "--swd-levels", "2"])
    finally:
        torch.set_num_threads(threads)
    assert report["samples"] == 4 and list(report["std_ratio"]) == list(BandSpec(levels=2).band_names)
    assert set(report["scores"]) == {"band image", "calibrated"}
    assert report["scores"]["band image"]["train"] != report["scores"]["calibrated"]["train"]
    assert json.loads((tmp_path / "out" / "band_gain.json").read_text()) == report
    assert "| calibrated |" in (tmp_path / "out" / "band_gain.md").read_text()
    assert (tmp_path / "out" / "band_gain.png").stat().st_size > 500
