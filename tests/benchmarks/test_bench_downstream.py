"""bench_downstream: finished runs are recorded and skipped on rerun; partial grids render; setups never mix."""
import json

import pytest
import torch

from tests import load_script
from tests.augment.conftest import build_bundle

TINY = ["--drawn", "--drawn-n", "8", "--size", "32", "48", "--batch-size", "4", "--pool-size", "4", "--budgets", "2"]


@pytest.fixture(scope="module")
def bench():
    return load_script("benchmarks/bench_downstream.py")


@pytest.fixture(scope="module")
def bundle(tmp_path_factory):
    return build_bundle(tmp_path_factory.mktemp("bundle") / "tiny.safetensors")


def run(bench, out, bundle, *extra):
    threads = torch.get_num_threads()
    try:
        return bench.main([*TINY, "--bundle", str(bundle), "--out", str(out), *extra])
    finally:
        torch.set_num_threads(threads)


def test_runs_are_recorded_skipped_on_rerun_and_partial_grids_render(bench, bundle, tmp_path):
    first = run(bench, tmp_path, bundle, "--arms", "none", "bands", "replace25", "--seeds", "0")
    assert first["trained"] == [("none", 2, 0), ("bands", 2, 0)]
    recorded = json.loads((tmp_path / "downstream.json").read_text())
    assert [(r["arm"], r["budget"], r["seed"]) for r in recorded["runs"]] == first["trained"]
    bands = recorded["runs"][1]
    assert bands["bundle"]["weights_sha256"] and bands["pool_seconds"] > 0 and 0 <= bands["miou"] <= 1
    assert {"date", "load_average_1min_after", "torch_threads", "commit"} <= set(bands["provenance"])
    assert recorded["runs"][0]["bundle"] is None and "replace25" in recorded["not_run"]
    table = (tmp_path / "downstream.md").read_text()
    assert "| 2 | none | 1 of 1 |" in table and "(1 seed)" in table and "| all | replace25 | 0 | not run |" in table
    assert "within seed noise" in table and "layout-conditional bundle" in table
    assert "## Per-class val IoU %" in table and "| 2 | bands | 1 | " in table
    assert (tmp_path / "downstream.png").stat().st_size > 1000

    again = run(bench, tmp_path, bundle, "--arms", "none", "bands", "--seeds", "0")
    assert again["trained"] == [] and again["runs"] == recorded["runs"]

    more = run(bench, tmp_path, bundle, "--arms", "none", "bands", "--seeds", "0", "1")
    assert more["trained"] == [("none", 2, 1), ("bands", 2, 1)]
    assert len(json.loads((tmp_path / "downstream.json").read_text())["runs"]) == 4
    table = (tmp_path / "downstream.md").read_text()
    assert "| 2 | bands | 2 of 2 |" in table and "(n=2)" in table
    run(bench, tmp_path, bundle, "--arms", "none", "--seeds", "0", "--budgets", "2", "3", "--cost", "1")
    table = (tmp_path / "downstream.md").read_text()  # --cost trains nothing, the grid is as it was
    assert "| 2 | none | 2 of 2 |" in table and "| pending |" not in table
    results = json.loads((tmp_path / "downstream.json").read_text())
    results["grid"]["budgets"].append(7)  # a budget requested, nothing run yet
    assert "| 7 | bands | 0 of 2 | pending |" in bench.markdown(results, "cmd")


def test_other_setups_and_bundles_are_refused(bench, bundle, tmp_path):
    run(bench, tmp_path, bundle, "--arms", "bands", "--seeds", "0")
    with pytest.raises(SystemExit, match="batch_size: 4 there, 2 now"):
        bench.main([*TINY, "--batch-size", "2", "--bundle", str(bundle), "--out", str(tmp_path), "--arms", "none"])
    other = build_bundle(tmp_path / "other.safetensors", seed=1)
    with pytest.raises(SystemExit, match="another --out for another bundle"):
        run(bench, tmp_path, other, "--arms", "bands", "--seeds", "1")
    with pytest.raises(SystemExit, match="freqaug train --data"):
        run(bench, tmp_path / "new", tmp_path / "missing.safetensors", "--arms", "none", "blend")


def test_cost_mode_times_each_arm_against_segnet_steps(bench, bundle, tmp_path):
    result = run(bench, tmp_path, bundle, "--arms", "none", "standard", "blend", "--cost", "2")
    cost = json.loads((tmp_path / "arm_cost.json").read_text())
    assert result["trained"] == [] and not (tmp_path / "downstream.json").exists()
    assert set(cost["arms"]) == {"standard", "blend"} and cost["segnet_step_seconds"] > 0
    assert all(c["seconds_per_batch"] > 0 and c["fraction_of_step"] > 0 for c in cost["arms"].values())
    assert cost["arms"]["blend"]["build_seconds"] > 0 and cost["torch_threads"] == 1


def test_processes_share_one_grid_claims_of_live_processes_are_skipped_dead_ones_lapse(bench, bundle, tmp_path):
    import subprocess
    import sys

    run(bench, tmp_path, bundle, "--arms", "none", "--seeds", "0")
    setup = json.loads((tmp_path / "downstream.json").read_text())["setup"]
    other = json.loads((tmp_path / "downstream.json").read_text())["runs"][0] | {"seed": 5}
    bench.record(tmp_path, setup, "cmd", grid={"seeds": [5]}, not_run={}, run=other)  # another process's run
    live = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    try:
        claims = [{"arm": "none", "budget": 2, "seed": 1, "pid": live.pid},
                  {"arm": "none", "budget": 2, "seed": 2, "pid": dead.pid}]
        (tmp_path / "claims.json").write_text(json.dumps(claims))
        result = run(bench, tmp_path, bundle, "--arms", "none", "--seeds", "0", "1", "2")
    finally:
        live.kill()
    assert result["trained"] == [("none", 2, 2)]  # seed 0 recorded, seed 1 being run by a live process
    recorded = json.loads((tmp_path / "downstream.json").read_text())
    assert sorted(r["seed"] for r in recorded["runs"]) == [0, 2, 5]  # the other process's run survived
    assert sorted(recorded["grid"]["seeds"]) == [0, 1, 2, 5]
    assert [c["seed"] for c in json.loads((tmp_path / "claims.json").read_text())] == [1]


def test_replace_arms_run_with_a_conditional_bundle(bench, bundle, tmp_path):
    from freqaug.data import CAMVID
    from freqaug.models import LayoutConfig

    run(bench, tmp_path, bundle, "--arms", "none", "replace25", "--seeds", "0")  # no --layout-bundle: not run
    assert "replace25" in json.loads((tmp_path / "downstream.json").read_text())["not_run"]
    cond = build_bundle(tmp_path / "cond.safetensors", layout=LayoutConfig(CAMVID, hidden=4))
    result = run(bench, tmp_path, bundle, "--layout-bundle", str(cond), "--arms", "none", "blend", "replace25",
                 "replace50", "--seeds", "0")
    assert result["trained"] == [("blend", 2, 0), ("replace25", 2, 0), ("replace50", 2, 0)]  # one grid, two bundles
    recorded = json.loads((tmp_path / "downstream.json").read_text())
    assert recorded["not_run"] == {}
    pairs = {r["arm"]: r for r in recorded["runs"]}
    assert pairs["blend"]["bundle"]["sha256"] != pairs["replace25"]["bundle"]["sha256"]
    assert pairs["replace50"]["synthetic_pairs"]["ratio"] == 0.5 and pairs["replace25"]["pool_seconds"] > 0
    assert pairs["replace25"]["bundle"]["classes"][:2] == ["sky", "building"] and pairs["none"]["synthetic_pairs"] is None
    other = build_bundle(tmp_path / "cond2.safetensors", seed=1, layout=LayoutConfig(CAMVID, hidden=4))
    with pytest.raises(SystemExit, match="another --out for another bundle"):  # replace runs keep to their bundle
        run(bench, tmp_path, bundle, "--layout-bundle", str(other), "--arms", "replace25", "--seeds", "1")
    with pytest.raises(SystemExit, match=r"missing.safetensors: no bundle for arm 'replace25'.*--conditional"):
        run(bench, tmp_path, bundle, "--layout-bundle", str(tmp_path / "missing.safetensors"), "--arms", "replace25")
    swapped = run(bench, tmp_path / "swapped", cond, "--arms", "blend", "--seeds", "0")  # conditional --bundle
    assert swapped["trained"] == [] and "layout-conditional" in swapped["not_run"]["blend"]
    table = (tmp_path / "downstream.md").read_text()
    assert "| 2 | replace25 | 1 of 1 |" in table and "| 2 | replace50 | 1 of 1 |" in table
    assert "| 2 | blend | 1 of 1 |" in table and "replace25 | 0 | not run" not in table


def test_per_class_table_gives_means_over_seeds_and_paired_differences_to_standard(bench):
    def result(arm, seed, first):
        return {"arm": arm, "budget": 5, "seed": seed, "miou": 0.5, "pixel_accuracy": 0.5, "seconds": 1.0,
                "pool_seconds": 0.0, "iou": [first] + [0.5] * 10}

    runs = [result("standard", 0, 0.40), result("standard", 1, 0.60), result("bands", 0, 0.50),
            result("bands", 1, 0.80), result("bands", 2, 0.90), result("fda", 0, None), result("fda", 1, 0.70)]
    lines = bench.per_class_lines({"runs": runs})
    header = next(line for line in lines if line.startswith("| budget | arm | n | sky | building |"))
    assert header.endswith("| pedestrian | bicyclist |")
    rows = lines[lines.index(header) + 2:]
    assert [row.split(" | ")[1] for row in rows] == ["standard", "fda", "bands"]
    assert rows[0].startswith("| 5 | standard | 2 | 50.0 | 50.0 |")
    # bands: mean over 3 seeds 73.3; paired with standard on seeds 0 and 1: (+10 + 20) / 2 = +15
    assert rows[2].startswith("| 5 | bands | 3 | 73.3 (+15.0) | 50.0 (+0.0) |")
    # fda: seed 0 has no IoU for the class (absent from truth and prediction): left out of both means
    assert rows[1].startswith("| 5 | fda | 2 | 70.0 (+10.0) | 50.0 (+0.0) |")
    assert bench.per_class_lines({"runs": []}) == []
