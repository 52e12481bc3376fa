"""probe_coarse_band: trains one band GAN alone, leaves every other band untouched, and writes its
scores and pictures at the asked update counts."""
import json

import pytest
import torch
from torchvision.utils import save_image

from freqaug.bands import BandSpec, compose, decompose
from freqaug.data import synthetic_batch
from freqaug.models import FreqGANConfig, NetConfig
from freqaug.train import TrainConfig
from freqaug.train.run import RunConfig
from tests import load_script

SMALL = NetConfig(base_channels=8, max_channels=16, min_size=4, source_width=8)
SIZE = (32, 48)


@pytest.fixture(scope="module")
def probe():
    return load_script("benchmarks/probe_coarse_band.py")


def test_probe_trains_the_coarse_band_alone_and_reports(tmp_path, probe, monkeypatch):
    images = synthetic_batch(12, size=SIZE, seed=3)[0]
    for split, part in (("train", images[:8]), ("val", images[8:])):
        (tmp_path / split / "images").mkdir(parents=True)
        for i, image in enumerate(part):
            save_image(image, tmp_path / split / "images" / f"{i:03d}.png")
    config = RunConfig(model=FreqGANConfig(spec=BandSpec(levels=2), image_size=SIZE, z_dim=32, generator=SMALL,
                                           discriminator=SMALL), train=TrainConfig(batch_size=4, r1_every=2))
    (tmp_path / "config.json").write_text(json.dumps(config.to_dict()))
    trained = {}
    original = probe.Trainer._band_update

    def spy(self, names, *args):
        trained.setdefault(tuple(names), 0)
        trained[tuple(names)] += 1
        return original(self, names, *args)

    monkeypatch.setattr(probe.Trainer, "_band_update", spy)
    out = tmp_path / "out"
    result = probe.main(["--config", str(tmp_path / "config.json"), "--updates", "2", "3", "--train",
                         str(tmp_path / "train"), "--data", str(tmp_path / "val"), "--out", str(out)])
    assert trained == {("LL2",): 3}  # the coarse band's D and G alone, once per update
    assert [r["updates"] for r in result["rows"]] == [2, 3] and all(r["swd_mean"] > 0 for r in result["rows"])
    assert json.loads((out / "coarse_band.json").read_text())["band"] == "LL2"
    assert "| 3 |" in (out / "coarse_band.md").read_text()
    assert (out / "coarse_band_00003.png").read_bytes()[:4] == b"\x89PNG"


def test_band_as_image_keeps_only_the_named_band(probe):
    spec = BandSpec(levels=2)
    bands = decompose(torch.rand(2, 3, *SIZE) * 2 - 1, spec)
    from_ll2 = probe.band_as_image(bands["LL2"], "LL2", bands, spec) * 2 - 1
    again = decompose(from_ll2, spec)
    torch.testing.assert_close(again["LL2"], bands["LL2"], atol=1e-5, rtol=0)
    assert all(again[k].abs().max() < 1e-5 for k in again if k != "LL2")
    assert compose(bands, spec).shape == from_ll2.shape

