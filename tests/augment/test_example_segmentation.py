"""examples/train_segmentation.py trains both arms for a few steps on drawn scenes and reports val mIoU."""
import math

import torch

from tests import load_script


def test_the_example_trains_standard_and_freqaug_and_scores_val(bundle_path, capsys):
    module = load_script("examples/train_segmentation.py")
    threads = torch.get_num_threads()
    try:
        scores = module.main([str(bundle_path), "--drawn", "--drawn-n", "8", "--size", "32", "48", "--steps", "2",
                              "--batch-size", "4"])
    finally:
        torch.set_num_threads(threads)
    assert list(scores) == ["standard", "standard + freqaug bands"]
    assert all(0 <= s["miou"] <= 1 and not math.isnan(s["pixel_accuracy"]) for s in scores.values())
    out = capsys.readouterr().out
    assert "standard + freqaug bands   val mIoU" in out and "per-class val IoU" in out
