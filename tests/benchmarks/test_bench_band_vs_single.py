"""bench_band_vs_single: arms train and score, finished (arm, seed) pairs are recorded and skipped on rerun,
another setup is refused, and conditional arms report layout fidelity beside its real-image ceiling."""
import argparse
import json
import time

import pytest
import torch

from freqaug.data import synthetic_batch
from freqaug.metrics.segnet import save_segnet, train_segnet
from tests import load_script

TINY = ["--drawn", "--drawn-n", "8", "--size", "32", "48", "--minutes", "0.001", "--swd-levels", "2",
        "--batch-size", "4"]


@pytest.fixture(scope="module")
def bench():
    return load_script("benchmarks/bench_band_vs_single.py")


def run(bench, out, *extra):
    threads = torch.get_num_threads()
    try:
        return bench.main([*TINY, "--out", str(out), *extra])
    finally:
        torch.set_num_threads(threads)


def test_arms_are_scored_recorded_and_skipped_on_rerun(bench, tmp_path):
    report = run(bench, tmp_path, "--seeds", "0")
    band, single = report["results"]["band"][0], report["results"]["single"][0]
    assert band["steps"]["stage1"] >= 1 and band["steps"]["stage2"] >= 1 and single["steps"]["single"] >= 1
    assert band["swd"]["mean"] > 0 and 0 < band["spectrum"]["mean"] and band["generator_params"] > single["generator_params"]
    assert band["generator_macs_per_sample"] > single["generator_macs_per_sample"] > 0
    table = (tmp_path / "band_vs_single.md").read_text()
    assert "| band | 1 | stage1" in table and "| single | 1 | single" in table
    assert (tmp_path / "band_vs_single_spectra.png").stat().st_size > 1000
    reference = report["reference"]  # real train images scored against val like the arms, several draws
    assert [r["seed"] for r in reference] == list(range(bench.REFERENCE_DRAWS)) and reference[0]["images"] == 2
    assert all(r["swd"]["mean"] > 0 and r["spectrum"]["mean"] > 0 for r in reference)
    assert len({r["swd"]["mean"] for r in reference}) > 1  # other train images per draw
    mean = sum(r["swd"]["mean"] for r in reference) / len(reference)
    assert f"| real train (reference) | {bench.REFERENCE_DRAWS} | - | {mean:.2f} ± " in table
    assert band["compute_seconds"] >= 0 and band["train_seconds"] >= 0  # never a duration bound

    again = run(bench, tmp_path, "--seeds", "0")
    assert again["results"] == report["results"]  # nothing retrained
    more = run(bench, tmp_path, "--seeds", "0", "1", "--arms", "single")
    assert [e["seed"] for e in more["results"]["single"]] == [0, 1] and len(more["results"]["band"]) == 1
    assert json.loads((tmp_path / "band_vs_single.json").read_text())["results"] == more["results"]
    with pytest.raises(SystemExit, match="recorded with another setup"):
        bench.main([*TINY[:-2], "--batch-size", "2", "--out", str(tmp_path), "--seeds", "0"])


def test_conditional_arms_report_layout_fidelity(bench, tmp_path):
    with pytest.raises(SystemExit, match="the OASIS discriminator needs layouts"):
        run(bench, tmp_path, "--arms", "band-oasis")
    with pytest.raises(SystemExit, match="layout fidelity needs a segnet"):
        run(bench, tmp_path, "--conditional", "--arms", "single")
    images, labels = synthetic_batch(8, size=(32, 48), seed=0)
    segnet = save_segnet(train_segnet(images, labels, num_classes=11, ignore_index=11, steps=2, batch_size=4, width=8,
                                      progress=False), tmp_path / "segnet.safetensors")
    report = run(bench, tmp_path, "--conditional", "--segnet", str(segnet), "--seeds", "0",
                 "--arms", "band-oasis-labelmix", "single")
    for arm in ("band-oasis-labelmix", "single"):
        layout = report["results"][arm][0]["layout"]
        assert 0 <= layout["miou"] <= 1 and len(layout["iou"]) == 11
    assert 0 <= report["ceiling"]["miou"] <= 1
    table = (tmp_path / "cond_band_vs_single.md").read_text()
    assert "layout mIoU" in table and "ceiling" in table and "| band-oasis-labelmix | 1 |" in table
    assert (tmp_path / "cond_band_vs_single_layouts_single.png").stat().st_size > 500


def test_semantic_arms_train_against_one_segnet_and_are_scored_by_another(bench, tmp_path):
    images, labels = synthetic_batch(8, size=(32, 48), seed=0)
    judge, loss = (save_segnet(train_segnet(images, labels, num_classes=11, ignore_index=11, steps=1, batch_size=4,
                                            width=w, seed=w, progress=False), tmp_path / f"seg{w}.safetensors")
                   for w in (8, 4))
    with pytest.raises(SystemExit, match="needs --conditional and --semantic-segnet"):
        run(bench, tmp_path, "--conditional", "--segnet", str(judge), "--arms", "band-semantic")
    with pytest.raises(SystemExit, match="the judge must be another network"):
        run(bench, tmp_path, "--conditional", "--segnet", str(loss), "--semantic-segnet", str(loss),
            "--arms", "band-semantic")
    report = run(bench, tmp_path, "--conditional", "--segnet", str(judge), "--semantic-segnet", str(loss),
                 "--seeds", "0", "--arms", "band-semantic", "single-semantic", "--name", "objects")
    assert report["setup"]["semantic_segnet"] == str(loss) and report["setup"]["segnet"] == str(judge)
    assert json.loads((tmp_path / "objects.json").read_text())["results"].keys() == {"band-semantic", "single-semantic"}
    for arm in ("band-semantic", "single-semantic"):
        assert len(report["results"][arm][0]["layout"]["iou"]) == 11
    table = (tmp_path / "objects.md").read_text()
    assert "| arm | sky | building |" in table and "| real val (ceiling) |" in table and "| single-semantic | " in table


@pytest.mark.parametrize("arm, ll2, lr_alpha", [("band", 1, 1e-2), ("band-ll2x8", 8, 1e-2),
                                               ("band-ll2x8-fast-alpha", 8, 0.1)])
def test_arms_set_the_coarse_band_updates_per_step(bench, arm, ll2, lr_alpha):
    args = argparse.Namespace(drawn=True, drawn_n=8, size=[32, 48], batch_size=4, minutes=0.001, conditional=False, threads=1,
                              swd_levels=2)
    entry, _, trainer = bench.run_arm(arm, 0, args, bench.load_data(args), None)
    steps, opt = entry["steps"]["stage1"], trainer.opt["g1"]
    for band, per_step in (("LL2", ll2), ("HH1", 1)):
        assert {int(opt.state[p]["step"]) for p in trainer.model.generators[band].parameters()} == {per_step * steps}
    assert trainer.config.lr_alpha == lr_alpha


def test_a_process_running_another_arm_merges_instead_of_overwriting(bench, tmp_path):
    stale = run(bench, tmp_path, "--seeds", "0", "--arms", "single")  # what a second process read at its start
    prefix = tmp_path / "band_vs_single"
    other = dict(stale["results"]["single"][0], seed=7)
    bench.record(prefix, stale["setup"], "band-ll2x8", other, (torch.linspace(0, 1, 4), torch.ones(3, 4)),
                 stale["reference"])
    saved = json.loads(prefix.with_suffix(".json").read_text())
    assert sorted(saved["results"]) == ["band-ll2x8", "single"] and sorted(saved["spectra"]) == ["band-ll2x8", "single"]
    again = run(bench, tmp_path, "--seeds", "0", "--arms", "single")  # nothing to train; the plot draws every arm
    assert sorted(again["results"]) == ["band-ll2x8", "single"]
    assert "| band-ll2x8 | 1 |" in (tmp_path / "band_vs_single.md").read_text()


def test_a_table_recorded_before_the_reference_row_gets_it_on_rerun(bench, tmp_path):
    report = run(bench, tmp_path, "--seeds", "0", "--arms", "single")
    path = tmp_path / "band_vs_single.json"
    old = {k: v for k, v in report.items() if k != "reference"}
    path.write_text(json.dumps(old))
    again = run(bench, tmp_path, "--seeds", "0", "--arms", "single")
    assert again["reference"] == report["reference"] and again["results"] == report["results"]
    assert json.loads(path.read_text())["reference"] == report["reference"]


def test_the_budget_counts_compute_not_waiting(bench):
    clock = bench.compute_clock(1)
    start = clock()
    time.sleep(0.3)  # another process's turn on the core: the budget does not run down
    assert clock() - start < 0.1
    args = argparse.Namespace(drawn=True, drawn_n=8, size=[32, 48], batch_size=4, minutes=0.001, conditional=False, threads=1,
                              swd_levels=2)
    entry, _, trainer = bench.run_arm("single", 0, args, bench.load_data(args), None)
    ticks = iter(range(100))
    steps = bench.train_for(trainer, 3, [("single", 1.0)], "test", clock=lambda: next(ticks))
    assert steps == {"single": entry["steps"]["single"] + 3}  # deadline 0 + 3: steps end at clock 1, 2, 3


def test_pictures_show_each_arms_lowest_seed(bench, tmp_path):
    picture = tmp_path / "band_vs_single_samples_single.png"
    run(bench, tmp_path, "--seeds", "1", "--arms", "single")
    first = picture.read_bytes()
    run(bench, tmp_path, "--seeds", "2", "--arms", "single")
    assert picture.read_bytes() == first  # seed 2 is not the lowest: seed 1's picture stays
    run(bench, tmp_path, "--seeds", "0", "--arms", "single")
    assert picture.read_bytes() != first
