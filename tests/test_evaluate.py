"""freqaug.evaluate: eval of a tiny bundle against drawn scenes: files, finite metrics, skipped metrics
with their reasons, segnet and Inception feature scores, determinism, clear errors for bad inputs, and
the layout fidelity of a tiny conditional bundle (generated, real ceiling, unconditional floor)."""
import json
import math

import cv2
import pytest
import torch

from freqaug import load_bundle
from freqaug.bands import BandSpec
from freqaug.offline.generate import to_uint8
from freqaug.data import CAMVID, DataError, load_segmentation
from freqaug.evaluate import (
    EVAL_FILES, LAYOUT_FILE, band_groups, rare_class_showcase, evaluate_bundle, layout_scores, markdown_report, output_files, score_bundle,
    swd_levels, train_segnet_on_folder, write_outputs,
)
from freqaug.metrics import (
    SegNetFileError, evaluate_segmentation, load_segnet, predict_labels, save_segnet, train_segnet,
)
from freqaug.models import LayoutConfig
from freqaug.metrics.inception import ENV_VAR, WEIGHTS_FILE, FIDInceptionV3, InceptionWeightsNotFoundError
from tests.augment.conftest import SIZE, build_bundle
from tests.test_cli_bundle import write_scenes

N = 12


@pytest.fixture(scope="module", autouse=True)
def one_thread_no_inception_weights():
    """One torch thread (tiny ops; busy machine) and no Inception weights in the environment."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    with pytest.MonkeyPatch.context() as mp:
        mp.delenv(ENV_VAR, raising=False)
        yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def bundle_path(tmp_path_factory):
    return build_bundle(tmp_path_factory.mktemp("bundle") / "tiny.safetensors")


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    """N drawn scenes with labels, CamVid layout, at the bundle's size."""
    return write_scenes(tmp_path_factory.mktemp("data") / "val", N, SIZE)


@pytest.fixture(scope="module")
def segnet_file(data_dir, tmp_path_factory):
    path = tmp_path_factory.mktemp("segnet") / "segnet.safetensors"
    train_segnet_on_folder(data_dir, path, steps=2, batch_size=4)
    return path


@pytest.fixture(scope="module")
def evaluated(bundle_path, data_dir, segnet_file, tmp_path_factory):
    """(report, out folder) of one eval with the segnet and without Inception weights."""
    out = tmp_path_factory.mktemp("eval") / "out"
    return evaluate_bundle(bundle_path, data_dir, out, seed=0, segnet=segnet_file, batch_size=5), out


def _finite_numbers(value):
    """Every number in a JSON value."""
    if isinstance(value, dict):
        return [x for v in value.values() for x in _finite_numbers(v)]
    if isinstance(value, list):
        return [x for v in value for x in _finite_numbers(v)]
    return [value] if isinstance(value, (int, float)) and not isinstance(value, bool) else []


def test_writes_every_file_and_the_pngs_open(evaluated):
    report, out = evaluated
    assert sorted(p.name for p in out.iterdir()) == sorted(EVAL_FILES)  # no temp files left behind
    for name in EVAL_FILES:
        if name.endswith(".png"):
            picture = cv2.imread(str(out / name))
            assert picture is not None and picture.shape[0] > 50 and picture.shape[1] > 50, name
    assert json.loads((out / "eval.json").read_text()) == report
    text = (out / "eval.md").read_text()
    assert "| generated |" in text and "## SWD" in text and "Fréchet distance" in text and "**Skipped**" in text


def test_json_metrics_are_finite_and_consistent(evaluated, bundle_path):
    report, _ = evaluated
    assert report["bundle"]["weights_sha256"] == load_bundle(bundle_path).manifest["weights"]["sha256"]
    m = report["metrics"]
    numbers = _finite_numbers(m)
    assert len(numbers) > 50 and all(math.isfinite(x) for x in numbers)
    assert report["generated"] == {"images": N, "seed": 0} and report["data"]["images"] == N
    s = m["swd"]
    assert s["pyramid_levels"] == swd_levels(*SIZE) == 2
    assert s["mean"] == pytest.approx((s["level0"] + s["level1"]) / 2) and s["mean"] > 0
    spectrum = m["spectrum"]
    assert set(spectrum["distance"]) == {"channel0", "channel1", "channel2", "mean", "low", "high"}
    bins = len(spectrum["freqs"])
    for curves in spectrum["log10_power"].values():
        assert len(curves) == 3 and all(len(c) == bins for c in curves)
    energy = m["band_energy"]
    assert list(energy["levels"]["real"]) == ["LL2", "level2", "level1"]
    for name in ("real", "generated"):
        assert list(energy["bands"][name]) == list(BandSpec(levels=2).band_names)
        assert sum(energy["bands"][name].values()) == pytest.approx(1)
        assert sum(energy["levels"][name].values()) == pytest.approx(1)
        assert energy["levels"][name]["level1"] == pytest.approx(sum(energy["bands"][name][b] for b in ("LH1", "HL1", "HH1")))
        assert list(energy["kurtosis"][name]) == list(BandSpec(levels=2).band_names)
        assert all(k >= 1 for k in energy["kurtosis"][name].values())  # kurtosis is never below 1


def test_segnet_features_give_frechet_distance_and_precision_recall(evaluated, segnet_file):
    seg = evaluated[0]["metrics"]["segnet"]
    assert seg["status"] == "ok" and seg["segnet"] == str(segnet_file)
    assert seg["frechet_distance"] >= 0 and 0 <= seg["precision"] <= 1 and 0 <= seg["recall"] <= 1
    assert seg["feature_dim"] == load_segnet(segnet_file).config.feature_dim and "not comparable" not in seg["note"]
    assert "never with published FID" in seg["note"]


def test_skipped_metrics_say_why_and_what_to_pass(bundle_path, data_dir, evaluated, tmp_path):
    inc = evaluated[0]["metrics"]["inception"]
    assert inc["status"] == "skipped"
    assert WEIGHTS_FILE in inc["reason"] and ENV_VAR in inc["reason"] and "--inception" in inc["how"]
    report = score_bundle(bundle_path, data_dir, n=4).report
    seg = report["metrics"]["segnet"]
    assert seg["status"] == "skipped" and "--segnet" in seg["how"] and "train-segnet" in seg["how"]
    layout = report["metrics"]["layout"]
    assert layout["status"] == "skipped" and "layout-conditional bundles only" in layout["reason"]
    assert "--conditional" in layout["how"]
    text = markdown_report(report)
    assert text.count("**Skipped**") == 4 and WEIGHTS_FILE in text and "--reference" in text
    assert report["metrics"]["swd"]["images"] == 4  # SWD on equal counts: the first 4 real images


def test_same_seed_same_json_and_another_seed_other_images(bundle_path, data_dir, segnet_file, evaluated, tmp_path):
    again = evaluate_bundle(bundle_path, data_dir, tmp_path / "again", seed=0, segnet=segnet_file, batch_size=8)
    assert (tmp_path / "again" / "eval.json").read_text() == (evaluated[1] / "eval.json").read_text()
    other = score_bundle(bundle_path, data_dir, seed=1, segnet=segnet_file).report
    assert other["metrics"]["swd"]["mean"] != again["metrics"]["swd"]["mean"]


def test_own_samples_score_closer_than_drawn_scenes(bundle_path, data_dir, evaluated, tmp_path):
    """A flat folder of the bundle's own images (another seed) is much closer to its samples than the scenes are."""
    own = tmp_path / "own"
    own.mkdir()
    for i, pixels in enumerate(to_uint8(load_bundle(bundle_path).generate(N, seed=7))):
        cv2.imwrite(str(own / f"{i:03d}.png"), pixels)  # to_uint8 gives OpenCV's BGR order
    mine = score_bundle(bundle_path, own).report["metrics"]
    theirs = evaluated[0]["metrics"]
    assert mine["swd"]["mean"] < 0.5 * theirs["swd"]["mean"]
    assert mine["spectrum"]["distance"]["mean"] < 0.5 * theirs["spectrum"]["distance"]["mean"]


def _darkened_copy(data_dir, folder, n):
    """The first n images of data_dir at half brightness, as a flat folder: a shifted real set."""
    folder.mkdir()
    for path in sorted((data_dir / "images").iterdir())[:n]:
        cv2.imwrite(str(folder / path.name), cv2.imread(str(path)) // 2)
    return folder


def test_reference_images_are_scored_like_the_generated_ones(bundle_path, data_dir, segnet_file, evaluated, tmp_path):
    """The data itself as reference scores ~0; a darkened copy scores worse; the report and files show both."""
    out = tmp_path / "out"
    report = evaluate_bundle(bundle_path, data_dir, out, seed=0, segnet=segnet_file, reference=data_dir, batch_size=5)
    assert report["metrics"] == evaluated[0]["metrics"]  # the generated images' scores do not change
    ref = report["reference"]
    assert ref["status"] == "ok" and ref["path"] == str(data_dir) and ref["images"] == N
    same = ref["metrics"]
    assert set(same) == {"swd", "spectrum", "band_energy", "segnet", "inception"}
    assert same["spectrum"]["distance"]["mean"] < 1e-9  # the same images in another order: the same mean spectrum
    assert same["segnet"]["precision"] == same["segnet"]["recall"] == 1
    assert abs(same["segnet"]["frechet_distance"]) < 1e-3 * evaluated[0]["metrics"]["segnet"]["frechet_distance"]
    assert same["swd"]["mean"] < 0.5 * report["metrics"]["swd"]["mean"]
    assert same["inception"]["status"] == "skipped"
    text = (out / "eval.md").read_text()
    assert text.count("| reference (real) |") == 3  # SWD, spectrum, segnet rows
    assert str(data_dir) in text and "then reference" in text
    dark = score_bundle(bundle_path, data_dir, seed=0, reference=_darkened_copy(data_dir, tmp_path / "dark", 5)).report
    shifted = dark["reference"]["metrics"]
    assert dark["reference"]["images"] == 5 and shifted["swd"]["images"] == 5  # fewer than n: all of them
    assert shifted["swd"]["mean"] > 2 * same["swd"]["mean"]
    assert shifted["spectrum"]["distance"]["mean"] > 0.1


def test_without_a_reference_the_report_says_how_to_get_one(evaluated):
    ref = evaluated[0]["reference"]
    assert ref["status"] == "skipped" and "--reference" in ref["how"]
    assert "| reference (real) |" not in markdown_report(evaluated[0])
    old = {k: v for k, v in evaluated[0].items() if k != "reference"}  # a report written before the field
    assert markdown_report(old) == markdown_report(evaluated[0])


def test_a_reference_folder_that_cannot_serve_is_named_before_generating(bundle_path, data_dir, tmp_path):
    wrong = _write(tmp_path / "small", 3, (32, 48))
    with pytest.raises(DataError, match=str(wrong)):
        evaluate_bundle(bundle_path, data_dir, tmp_path / "out", reference=wrong)
    with pytest.raises(DataError, match="does not exist"):
        evaluate_bundle(bundle_path, data_dir, tmp_path / "out", reference=tmp_path / "nowhere")
    assert not (tmp_path / "out").exists()


def test_a_dct_bundle_reports_low_and_high_energy(data_dir, tmp_path):
    spec = BandSpec(kind="dct", cutoff=0.3)
    path = build_bundle(tmp_path / "dct.safetensors", spec=spec, alpha="channel")
    assert band_groups(spec) == {"low": ["low"], "high": ["high"]}
    energy = evaluate_bundle(path, data_dir, n=4)["metrics"]["band_energy"]
    assert set(energy["bands"]["real"]) == {"low", "high"} and energy["spec"] == spec.describe()
    assert (tmp_path / "dct_eval" / "band_energy.png").is_file()  # default out: <stem>_eval beside the bundle


def test_swd_levels_keep_the_coarsest_level_at_least_a_patch():
    assert [swd_levels(h, w) for h, w in ((7, 7), (12, 40), (13, 40), (16, 24), (32, 48), (96, 128), (1024, 2048))] == [1, 1, 2, 2, 3, 4, 4]


def _write(folder, n, size):
    folder.mkdir()
    for i in range(n):
        cv2.imwrite(str(folder / f"{i}.png"), torch.zeros(*size, 3, dtype=torch.uint8).numpy())
    return folder


@pytest.mark.parametrize("case, needle", [
    ("missing", "does not exist"),
    ("empty", "no image files"),
    ("empty_images", "no image files"),
    ("wrong_size", "but {bundle} generates 24x16"),
    ("one_image", "at least 2"),
    ("mixed_sizes", "expected one size"),
])
def test_bad_data_is_a_clear_error(bundle_path, tmp_path, case, needle):
    folder = tmp_path / "data"
    if case == "empty":
        folder.mkdir()
    elif case == "empty_images":
        (folder / "images").mkdir(parents=True)
    elif case == "wrong_size":
        _write(folder, 3, (32, 48))
    elif case == "one_image":
        _write(folder, 1, SIZE)
    elif case == "mixed_sizes":
        _write(folder, 2, SIZE)
        cv2.imwrite(str(folder / "9.png"), torch.zeros(20, 20, 3, dtype=torch.uint8).numpy())
    with pytest.raises(DataError) as err:
        evaluate_bundle(bundle_path, folder, tmp_path / "out")
    assert str(folder) in str(err.value) and needle.format(bundle=bundle_path) in str(err.value)
    assert not (tmp_path / "out").exists()


def test_named_files_that_are_missing_or_broken_are_errors_before_generating(bundle_path, data_dir, tmp_path, monkeypatch):
    out = tmp_path / "out"
    missing = tmp_path / "nowhere" / WEIGHTS_FILE
    with pytest.raises(InceptionWeightsNotFoundError, match=str(missing)) as err:
        evaluate_bundle(bundle_path, data_dir, out, inception=missing)
    assert WEIGHTS_FILE in str(err.value) and "never downloads" in str(err.value)
    monkeypatch.setenv(ENV_VAR, str(missing))
    with pytest.raises(InceptionWeightsNotFoundError, match=f"\\${ENV_VAR}"):
        evaluate_bundle(bundle_path, data_dir, out)
    monkeypatch.delenv(ENV_VAR)
    with pytest.raises(SegNetFileError, match="no segnet file"):
        evaluate_bundle(bundle_path, data_dir, out, segnet=tmp_path / "none.safetensors")
    broken = tmp_path / "broken.safetensors"
    broken.write_bytes(b"not a safetensors file")
    with pytest.raises(SegNetFileError, match=str(broken)):
        evaluate_bundle(bundle_path, data_dir, out, segnet=broken)
    assert not out.exists()


def test_fid_and_kid_with_a_local_weights_file(bundle_path, tmp_path):
    """The loading path with a random network of the right architecture (its numbers mean nothing);
    2 + 2 images, since each costs a 299x299 Inception pass."""
    torch.manual_seed(0)
    net = FIDInceptionV3()
    for m in net.modules():
        if isinstance(m, torch.nn.Conv2d):
            torch.nn.init.kaiming_normal_(m.weight)
    torch.save({k: v.contiguous() for k, v in net.state_dict().items()}, tmp_path / WEIGHTS_FILE)
    data = write_scenes(tmp_path / "two", 2, SIZE)
    report = score_bundle(bundle_path, data, inception=tmp_path).report  # a folder holding the file works too
    inc = report["metrics"]["inception"]
    assert inc["status"] == "ok" and inc["weights"] == str(tmp_path / WEIGHTS_FILE) and inc["images"] == [2, 2]
    assert math.isfinite(inc["fid"]) and inc["fid"] > 0 and math.isfinite(inc["kid_mean"]) and inc["k"] == 1
    assert "| FID |" in markdown_report(report)


# ---- layout-conditional bundles: layout fidelity (SPADE/OASIS protocol) --------------------------------

@pytest.fixture(scope="module")
def cond_bundle(tmp_path_factory):
    return build_bundle(tmp_path_factory.mktemp("cond") / "cond.safetensors", layout=LayoutConfig(CAMVID, hidden=4))


@pytest.fixture(scope="module")
def pairs(data_dir):
    """The real images and label maps of ``data_dir``."""
    return load_segmentation(data_dir)


@pytest.fixture(scope="module")
def cond_evaluated(cond_bundle, bundle_path, data_dir, segnet_file, tmp_path_factory):
    """(Evaluation, out folder) of a conditional bundle with a segnet and the unconditional bundle as floor."""
    out = tmp_path_factory.mktemp("cond_eval") / "out"
    result = score_bundle(cond_bundle, data_dir, seed=0, segnet=segnet_file, floor=bundle_path, batch_size=5)
    write_outputs(result, out)
    return result, out


def test_layout_fidelity_scores_generated_real_and_floor_against_the_same_layouts(
        cond_evaluated, cond_bundle, bundle_path, segnet_file, pairs):
    result, _ = cond_evaluated
    images, labels = pairs
    layout = result.report["metrics"]["layout"]
    assert layout["status"] == "ok" and layout["floor"]["status"] == "ok" and layout["floor"]["bundle"] == str(bundle_path)
    assert layout["layouts"] == layout["images"] == N and layout["classes"] == list(CAMVID.names)
    for name in ("generated", "real", "floor"):
        assert 0 <= layout[name]["miou"] <= 1 and 0 <= layout[name]["pixel_accuracy"] <= 1, name
    segnet = load_segnet(segnet_file)
    ceiling = evaluate_segmentation(segnet, images, labels, num_classes=11, ignore_index=11)
    assert {k: layout["real"][k] for k in ("miou", "pixel_accuracy", "iou")} == {
        k: ceiling[k] for k in ("miou", "pixel_accuracy", "iou")}
    # Image k comes from label map k (with the seed's index k), and the floor from the unconditional bundle's seed.
    # The bundle promises bit-equality for one batch size and equality to 1e-5 across batch sizes (docs/bundle.md).
    generated = load_bundle(cond_bundle).generate(labels, seed=0, batch_size=5)
    assert torch.equal(result.generated, generated) and torch.equal(result.layouts, labels.long())
    torch.testing.assert_close(load_bundle(cond_bundle).generate(labels, seed=0), generated, atol=1e-5, rtol=0)
    assert layout["generated"] == layout_scores(segnet, generated, labels, CAMVID)[0]
    floor = layout_scores(segnet, load_bundle(bundle_path).generate(N, seed=0, batch_size=5), labels, CAMVID)[0]
    assert {k: layout["floor"][k] for k in floor} == floor
    assert layout["floor"]["weights_sha256"] == load_bundle(bundle_path).manifest["weights"]["sha256"]
    assert torch.equal(result.predicted, predict_labels(segnet, generated))


def test_other_metrics_of_a_conditional_bundle_use_the_images_from_the_layouts(cond_evaluated, data_dir):
    result, out = cond_evaluated
    report = result.report
    assert report["generated"] == {"images": N, "seed": 0, "from_layouts": N}
    m = report["metrics"]
    assert m["swd"]["images"] == N and m["segnet"]["status"] == "ok"
    assert sorted(p.name for p in out.iterdir()) == sorted(output_files(report)) == sorted([*EVAL_FILES, LAYOUT_FILE])
    grid = cv2.imread(str(out / LAYOUT_FILE))
    assert grid is not None and grid.shape[0] > 100
    text = (out / "eval.md").read_text()
    assert "Layout fidelity" in text and "real images (ceiling)" in text and "floor: `tiny.safetensors`" in text
    assert f"from the {N} label maps of the data" in text and "| class IoU | generated | real | floor |" in text


def test_more_images_than_layouts_cycle_through_them_with_new_scenes(cond_bundle, data_dir, pairs):
    result = score_bundle(cond_bundle, data_dir, n=N + 3)
    assert torch.equal(result.layouts, pairs[1][torch.arange(N + 3) % N].long())
    assert not torch.equal(result.generated[N], result.generated[0])  # same layout, index N: another scene
    layout = result.report["metrics"]["layout"]
    assert layout["status"] == "skipped" and "--segnet" in layout["how"] and "train-segnet" in layout["how"]
    assert result.predicted is None and LAYOUT_FILE not in output_files(result.report)


def test_conditional_bundle_errors_name_what_is_wrong(cond_bundle, bundle_path, data_dir, segnet_file, pairs, tmp_path):
    out = tmp_path / "out"
    unlabelled = write_scenes(tmp_path / "unlabelled", 3, SIZE, labels=False)
    with pytest.raises(DataError, match="a layout-conditional bundle needs layouts") as err:
        evaluate_bundle(cond_bundle, unlabelled, out)
    assert str(unlabelled) in str(err.value) and f"{unlabelled}/labels/" in str(err.value)
    with pytest.raises(ValueError, match=r"floor .*cond.safetensors: a layout-conditional bundle; expected an unconditional"):
        evaluate_bundle(cond_bundle, data_dir, out, segnet=segnet_file, floor=cond_bundle)
    with pytest.raises(ValueError, match=r"floor .*tiny.safetensors: .* but .*tiny.safetensors is unconditional"):
        evaluate_bundle(bundle_path, data_dir, out, segnet=segnet_file, floor=bundle_path)
    with pytest.raises(ValueError, match="no --segnet was given"):
        evaluate_bundle(cond_bundle, data_dir, out, floor=bundle_path)
    three = save_segnet(train_segnet(pairs[0][:2], pairs[1][:2].clamp(max=2), num_classes=3, steps=0, progress=False),
                        tmp_path / "three.safetensors")
    with pytest.raises(ValueError, match=f"{three}: the segnet predicts 3 classes but the bundle is conditional on 11"):
        evaluate_bundle(cond_bundle, data_dir, out, segnet=three)
    assert not out.exists()


def test_the_layout_grid_shows_the_layouts_with_the_rare_classes():
    layouts = torch.zeros(6, 4, 4, dtype=torch.long)  # all road (class 0) ...
    layouts[4, 0, :2] = 3  # ... but two pedestrian pixels in layout 4, the only ones
    layouts[1, :, :] = 1  # a layout of all sky: a whole class too, though a common one
    layouts[2, 0, 0] = 11  # the ignore id counts for no class
    assert rare_class_showcase(layouts, 2, num_classes=4).tolist() == [1, 4]
    assert rare_class_showcase(layouts, 10, num_classes=4).tolist() == list(range(6))  # k > N: every layout


def test_the_layout_grid_skips_near_duplicate_neighbours():
    layouts = torch.zeros(40, 4, 4, dtype=torch.long)
    layouts[10:14, 0, 0] = 3  # four consecutive video frames with the rare class score highest ...
    layouts[30, 0, :2] = 2  # ... then one frame of another rare class
    picked = rare_class_showcase(layouts, 4, num_classes=4).tolist()  # gap: 40 // 8 = 5 positions
    assert 30 in picked and len(picked) == 4 and len(set(picked)) == 4
    assert len([i for i in picked if 10 <= i < 14]) == 1  # one of the run, not all four
    assert all(b - a >= 5 for a, b in zip(picked, picked[1:]))
    assert rare_class_showcase(layouts[:3], 3, num_classes=4).tolist() == [0, 1, 2]  # too few: filled by score
