"""compare_stage2: variants share one stage 1, train and score stage 2, are recorded and skipped on rerun,
and another setup is refused."""
import json

import pytest
import torch
from torchvision.utils import save_image

from freqaug.bands import BandSpec
from freqaug.data import synthetic_batch
from freqaug.models import FreqGANConfig, NetConfig
from freqaug.train import TrainConfig, Trainer, save_checkpoint
from freqaug.train.run import RunConfig
from tests import load_script

SMALL = NetConfig(base_channels=8, max_channels=16, min_size=4, source_width=8)
SIZE = (32, 48)


@pytest.fixture(scope="module")
def bench():
    return load_script("benchmarks/compare_stage2.py")


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    """A data folder (train/, val/) and a run whose checkpoint finished 2 stage-1 steps."""
    root = tmp_path_factory.mktemp("stage2")
    images = synthetic_batch(12, size=SIZE, seed=3)[0]
    for split, part in (("train", images[:8]), ("val", images[8:])):
        (root / "data" / split / "images").mkdir(parents=True)
        for i, image in enumerate(part):
            save_image(image, root / "data" / split / "images" / f"{i:03d}.png")
    config = RunConfig(model=FreqGANConfig(spec=BandSpec(levels=1), image_size=SIZE, z_dim=32, generator=SMALL,
                                           discriminator=SMALL),
                       train=TrainConfig(batch_size=4, r1_every=2), stage1_steps=2, stage2_steps=1)
    trainer = Trainer(config.model, config.train, images[:8] * 2 - 1)
    trainer.fit(2, 0, progress=False)
    run = root / "run"
    save_checkpoint(trainer, run / "checkpoint.safetensors")
    (run / "config.json").write_text(json.dumps(config.to_dict()))
    return root


def run(bench, setup, out, *extra):
    threads = torch.get_num_threads()
    try:
        return bench.main(["--run", str(setup / "run"), "--data", str(setup / "data"), "--steps", "2",
                           "--swd-levels", "2", "--out", str(out), *extra])
    finally:
        torch.set_num_threads(threads)


def test_variants_share_stage1_are_scored_and_skipped_on_rerun(bench, setup, tmp_path):
    results = run(bench, setup, tmp_path, "--variants", "noise", "band_image")
    noise, refine = results["variants"]["noise"], results["variants"]["band_image"]
    assert noise["scores"]["band_image"] == refine["scores"]["band_image"]  # one stage 1: the same band image
    assert noise["scores"]["baseline"] != refine["scores"]["baseline"]
    assert len(noise["alpha"]) == 2 and all(0 < a < 1 for a in noise["alpha"])
    reference = results["reference"]  # other real train images, against val and against the train subset
    assert reference["images"] == 4 and reference["vs_val"]["swd_mean"] > 0 and reference["vs_train"]["swd_mean"] > 0
    for variant in (noise, refine):
        assert set(variant["scores_train"]) == set(variant["scores"]) == {"image", "band_image", "baseline"}
        assert variant["scores_train"]["image"] != variant["scores"]["image"]
    table = (tmp_path / "stage2.md").read_text()
    assert "| real train (reference) |" in table and f"| {reference['vs_train']['swd_mean']:.1f} |" in table
    assert {p.name for p in tmp_path.iterdir()} >= {"stage2.json", "stage2.md", "stage2_noise.png", "stage2_band_image.png"}
    assert "| band_image |" in (tmp_path / "stage2.md").read_text()
    again = run(bench, setup, tmp_path, "--variants", "noise", "band_image", "noise-fast-alpha")
    assert again["variants"]["noise"] == noise and "noise-fast-alpha" in again["variants"]  # recorded one kept


def test_another_setup_is_refused_and_a_missing_run_is_named(bench, setup, tmp_path):
    run(bench, setup, tmp_path, "--variants", "noise")
    with pytest.raises(SystemExit, match="recorded with another setup"):
        bench.main(["--run", str(setup / "run"), "--data", str(setup / "data"), "--steps", "3", "--swd-levels", "2",
                    "--out", str(tmp_path), "--variants", "noise"])
    with pytest.raises(SystemExit, match=r"nowhere/config.json: not found"):
        bench.main(["--run", str(tmp_path / "nowhere"), "--out", str(tmp_path / "x")])
