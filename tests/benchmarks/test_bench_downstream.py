"""bench_downstream: regimes, corruption scores, kept models, resumable grids shared by processes, reports."""
import json

import pytest
import torch

from tests import load_script
from tests.augment.conftest import build_bundle

TINY = ["--drawn", "--drawn-n", "8", "--size", "32", "48", "--batch-size", "4", "--pool-size", "4", "--budgets", "2",
        "--quiet"]


@pytest.fixture(scope="module")
def bench():
    return load_script("benchmarks/bench_downstream.py")


@pytest.fixture(scope="module")
def bundle(tmp_path_factory):
    return build_bundle(tmp_path_factory.mktemp("bundle") / "tiny.safetensors")


def run(bench, out, bundle, *extra):
    threads = torch.get_num_threads()
    try:
        return bench.main([*TINY, "--bundle", str(bundle), "--out", str(out / "out"), "--models", str(out / "models"),
                           "--suite-cache", str(out / "suite"), *extra])
    finally:
        torch.set_num_threads(threads)


def test_runs_are_scored_clean_and_corrupted_recorded_skipped_on_rerun_and_reported(bench, bundle, tmp_path):
    first = run(bench, tmp_path, bundle, "--arms", "none", "coarse", "coarse-real", "replace25", "--seeds", "0",
                "--regimes", "full", "labels46")
    assert first["trained"] == [("full", "none", 2, 0), ("full", "coarse", 2, 0), ("full", "coarse-real", 2, 0),
                                ("labels46", "none", 2, 0), ("labels46", "coarse", 2, 0),
                                ("labels46", "coarse-real", 2, 0)]
    out = tmp_path / "out"
    recorded = json.loads((out / "downstream.json").read_text())
    coarse = recorded["runs"][1]
    assert coarse["bundle"]["weights_sha256"] and coarse["pool_seconds"] >= 0 and 0 <= coarse["miou"] <= 1
    assert set(coarse["families"]) == {"noise", "blur", "weather", "digital"} and len(coarse["corruptions"]) == 15
    assert len(coarse["per_severity"]) == 45 and 0 <= coarse["mpc"] <= 1
    assert coarse["rpc"] == pytest.approx(coarse["mpc"] / coarse["miou"])
    assert coarse["mpc"] == pytest.approx(sum(coarse["per_severity"].values()) / 45)
    assert 0 <= coarse["train_miou"] <= 1  # the fit on its own labelled train images: is it still under-fitting?
    assert recorded["runs"][0]["bundle"] is None and "replace25" in recorded["not_run"]
    assert recorded["setup"]["regimes"]["labels46"]["labelled"] == 1  # an eighth of 8 drawn scenes
    assert {"date", "trained", "torch_threads", "commit"} <= set(coarse["provenance"])
    assert coarse["provenance"]["command"].startswith("benchmarks/bench_downstream.py ")
    assert "--arms none coarse coarse-real replace25" in coarse["provenance"]["command"]
    table = (out / "downstream.md").read_text()
    assert f"- `{coarse['provenance']['command']}`" in table and "Last written by: `" in table
    assert "## full, 2 steps" in table and "## labels46, 2 steps" in table and "### Per corruption (full" in table
    assert "| coarse | 1 | " in table and "Not run: `replace25`" in table and "within seed noise" in table
    summary = json.loads((out / "summary.json").read_text())
    entry = summary["regimes"]["labels46"]["2"]["coarse-real"]
    assert entry["n"] == 1 and entry["clean"]["std"] is None and set(entry) >= {"mpc", "rpc", "noise", "digital"}
    assert entry["train_miou"]["n"] == 1 and "train mIoU %" in table and "Δ clean vs best peer" in table
    assert (out / "downstream.png").stat().st_size > 1000 and (out / "corruptions.png").stat().st_size > 1000

    again = run(bench, tmp_path, bundle, "--arms", "none", "coarse", "--seeds", "0", "--regimes", "full", "labels46")
    assert again["trained"] == [] and again["runs"] == recorded["runs"]

    # a model kept from an interrupted run (trained, not yet scored) is scored, not trained again
    kept = json.loads((tmp_path / "models" / "full-none-2-0.json").read_text())
    recorded["runs"] = recorded["runs"][1:]
    (out / "downstream.json").write_text(json.dumps(recorded))
    rescored = run(bench, tmp_path, bundle, "--arms", "none", "--seeds", "0", "--regimes", "full")
    assert rescored["trained"] == [("full", "none", 2, 0)]
    none = next(r for r in rescored["runs"] if (r["regime"], r["arm"]) == ("full", "none"))
    assert none["seconds"] == kept["seconds"] and none["provenance"]["trained"] == kept["date"]
    assert none["miou"] == first["runs"][0]["miou"]


def test_the_scarce_label_subset_is_fixed_and_an_eighth(bench):
    subset = bench.labelled_subset(367, "labels46")
    assert len(subset) == 46 and torch.equal(subset, bench.labelled_subset(367, "labels46"))
    assert torch.equal(subset, subset.sort().values) and len(set(subset.tolist())) == 46
    assert not torch.equal(subset, bench.labelled_subset(367, "labels46", seed=1))
    assert torch.equal(bench.labelled_subset(10, "full"), torch.arange(10))
    with pytest.raises(ValueError, match="regime: expected one of full, labels46"):
        bench.labelled_subset(10, "labels10")


def test_write_labelled_links_the_regimes_pairs(bench, tmp_path):
    from freqaug.data import load_segmentation
    from tests.test_cli_bundle import write_scenes

    train = write_scenes(tmp_path / "data" / "train", 16, (16, 24))
    out = tmp_path / "labelled"
    written = bench.main(["--data", str(tmp_path / "data"), "--write-labelled", str(out), "--regimes", "labels46",
                          "full"])["written"]
    assert len(written["labels46"]) == 2 and len(written["full"]) == 16  # an eighth of 16; all
    images, labels = load_segmentation(train)
    subset = bench.labelled_subset(16, "labels46")
    linked_images, linked_labels = load_segmentation(out / "labels46")  # the very pairs the regime trains on
    assert torch.equal(linked_images, images[subset]) and torch.equal(linked_labels, labels[subset])
    assert bench.main(["--data", str(tmp_path / "data"), "--write-labelled", str(out), "--regimes", "labels46"])
    name = written["labels46"][0]
    (out / "labels46" / "images" / name).unlink()
    (out / "labels46" / "images" / name).write_bytes(b"x")
    with pytest.raises(SystemExit, match="exists and is not a link"):
        bench.main(["--data", str(tmp_path / "data"), "--write-labelled", str(out), "--regimes", "labels46"])


def test_other_setups_and_bundles_are_refused(bench, bundle, tmp_path):
    run(bench, tmp_path, bundle, "--arms", "coarse", "--seeds", "0", "--regimes", "full")
    with pytest.raises(SystemExit, match="batch_size: 4 there, 2 now"):
        run(bench, tmp_path, bundle, "--batch-size", "2", "--arms", "none")
    # Retrained to the same weights (another file: its creation record differs): the same bundle, runs kept.
    same = build_bundle(tmp_path / "same.safetensors", provenance={"test": "retrained"})
    assert same.read_bytes() != bundle.read_bytes()
    assert run(bench, tmp_path, same, "--arms", "coarse", "--seeds", "0", "--regimes", "full")["trained"] == []
    other = build_bundle(tmp_path / "other.safetensors", seed=1)
    with pytest.raises(SystemExit, match="another --out for another bundle"):
        run(bench, tmp_path, other, "--arms", "coarse", "--seeds", "1")
    with pytest.raises(SystemExit, match="freqaug train --data"):
        run(bench, tmp_path / "new", tmp_path / "missing.safetensors", "--arms", "none", "blend")
    with pytest.raises(SystemExit, match="no train/ folder"):
        bench.main(["--data", str(tmp_path / "nowhere"), "--out", str(tmp_path / "x")])


def test_processes_share_one_grid_claims_of_live_processes_are_skipped_dead_ones_lapse(bench, bundle, tmp_path):
    import subprocess
    import sys

    run(bench, tmp_path, bundle, "--arms", "none", "--seeds", "0", "--regimes", "full")
    out = tmp_path / "out"
    recorded = json.loads((out / "downstream.json").read_text())
    first = recorded["runs"][0]
    other = first | {"seed": 5, "provenance": first["provenance"] | {"command": "cmd"}}
    bench.record(out, recorded["setup"], "cmd", grid={"seeds": [5]}, not_run={}, run=other)  # another process's run
    live = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    try:
        claims = [{"key": ["full", "none", 2, 1], "pid": live.pid}, {"key": ["full", "none", 2, 2], "pid": dead.pid}]
        (out / "claims.json").write_text(json.dumps(claims))
        result = run(bench, tmp_path, bundle, "--arms", "none", "--seeds", "0", "1", "2", "--regimes", "full")
    finally:
        live.kill()
    assert result["trained"] == [("full", "none", 2, 2)]  # seed 0 recorded, seed 1 being run by a live process
    recorded = json.loads((out / "downstream.json").read_text())
    assert sorted(r["seed"] for r in recorded["runs"]) == [0, 2, 5]  # the other process's run survived
    assert sorted(recorded["grid"]["seeds"]) == [0, 1, 2, 5]
    assert [c["key"] for c in json.loads((out / "claims.json").read_text())] == [["full", "none", 2, 1]]
    table = (out / "downstream.md").read_text()  # three commands filled this grid: each is named once
    commands = [line for line in table.splitlines() if line.startswith("- `")]
    assert len(commands) == 3 and "- `cmd`" in commands and "--seeds 0 1 2" in commands[-1]


def test_replace_arms_run_with_a_conditional_bundle(bench, bundle, tmp_path):
    from freqaug.data import CAMVID
    from freqaug.models import LayoutConfig

    cond = build_bundle(tmp_path / "cond.safetensors", layout=LayoutConfig(CAMVID, hidden=4))
    result = run(bench, tmp_path, bundle, "--layout-bundle", str(cond), "--arms", "blend", "replace25",
                 "--seeds", "0", "--regimes", "labels46")
    assert result["trained"] == [("labels46", "blend", 2, 0), ("labels46", "replace25", 2, 0)]
    pairs = {r["arm"]: r for r in json.loads((tmp_path / "out" / "downstream.json").read_text())["runs"]}
    assert pairs["blend"]["bundle"]["sha256"] != pairs["replace25"]["bundle"]["sha256"]
    assert pairs["replace25"]["synthetic_pairs"]["ratio"] == 0.25
    swapped = run(bench, tmp_path / "swapped", cond, "--arms", "blend", "--seeds", "0")  # conditional --bundle
    assert swapped["trained"] == [] and "layout-conditional" in swapped["not_run"]["blend"]


def _run(bench_arm, seed, clean, mpc, first_iou, regime="full"):
    families = {f: mpc for f in ("noise", "blur", "weather", "digital")}
    return {"regime": regime, "arm": bench_arm, "budget": 5, "seed": seed, "miou": clean, "mpc": mpc,
            "rpc": mpc / clean, "families": families, "iou": [first_iou] + [0.5] * 10}


def test_paired_differences_best_peer_summary_and_per_class_table(bench):
    runs = [_run("standard", 0, 0.50, 0.30, 0.40), _run("standard", 1, 0.52, 0.32, 0.60),
            _run("augmix", 0, 0.48, 0.35, 0.50), _run("augmix", 1, 0.50, 0.37, 0.80),
            _run("coarse", 0, 0.51, 0.40, None), _run("coarse", 1, 0.49, 0.36, 0.70),
            _run("coarse-real", 0, 0.50, 0.33, 0.50)]
    groups = bench.grouped({"runs": runs})
    assert bench.best_peer(groups, "full", 5, "mpc") == "augmix"
    assert bench.paired(groups, "full", 5, "coarse", "augmix", "mpc") == pytest.approx((2.0, 2))
    assert bench.paired(groups, "full", 5, "coarse", "coarse-real", "mpc") == pytest.approx((7.0, 1))
    assert bench.paired(groups, "full", 5, "coarse", "standard", "clean") == pytest.approx((-1.0, 2))
    summary = bench.summary({"runs": runs})["regimes"]["full"]["5"]
    assert summary["coarse"]["n"] == 2 and summary["coarse"]["mpc"]["mean"] == pytest.approx(0.38)
    assert summary["coarse"]["mpc"]["std"] == pytest.approx(0.02 * 2 ** 0.5, abs=1e-5)  # rounded to 5 places
    lines = bench.per_class_lines(groups, "full", 5)
    rows = {line.split(" | ")[0][2:]: line for line in lines if line.startswith("| ") and " | 2 | " in line}
    # coarse: seed 0 has no IoU for the class (absent from truth and prediction): left out of both means
    assert rows["coarse"].startswith("| coarse | 2 | 70.0 (+10.0) |")
    assert rows["augmix"].startswith("| augmix | 2 | 65.0 (+15.0) |")


def test_cost_mode_times_each_arm_against_segnet_steps_and_trains_nothing(bench, bundle, tmp_path):
    result = run(bench, tmp_path, bundle, "--arms", "none", "standard", "coarse", "amplitude-real", "--cost", "2")
    cost = json.loads((tmp_path / "out" / "arm_cost.json").read_text())
    assert result["trained"] == [] and result["runs"] == []
    assert set(cost["arms"]) == {"standard", "coarse", "amplitude-real"} and cost["torch_threads"] == 1
    assert all({"seconds_per_batch", "fraction_of_step", "build_seconds"} <= set(c) for c in cost["arms"].values())
