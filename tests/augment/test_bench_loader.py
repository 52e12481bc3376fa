"""The loader benchmark runs end to end on a few drawn scenes with the tiny bundle and writes its report."""
import json

from tests import load_script



def test_bench_loader_writes_every_row_and_the_target_check(bundle_path, tmp_path):
    bench = load_script("benchmarks/bench_loader.py")
    rows = bench.main(["--bundle", str(bundle_path), "--data", str(tmp_path / "no_camvid"), "--drawn", "4",
                       "--seconds", "0.01", "--warmup", "1", "--workers", "0", "--bank-size", "2",
                       "--out", str(tmp_path)])
    assert [(r.path, r.mode) for r in rows] == [
        ("baseline", "-"), ("per-worker", "bands"), ("per-worker", "blend"), ("per-worker", "replace"),
        ("bank", "replace"), ("batched", "bands"), ("batched", "blend"), ("batched", "replace"), ("baseline", "-")]
    assert all(r.images_per_s > 0 and r.ratio > 0 for r in rows) and "refreshed" in rows[4].note
    saved = json.loads((tmp_path / "loader.json").read_text())
    assert len(saved["rows"]) == 9 and len(saved["meta"]["load_start"]) == 3
    text = (tmp_path / "loader.md").read_text()
    assert "drawn street scenes" in text and "| bank | replace | 0 |" in text and "target met" in text
