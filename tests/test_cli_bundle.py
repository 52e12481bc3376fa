"""`freqaug export / inspect / generate / expand`, and the bundle `freqaug train` leaves behind: exit codes,
messages, atomic files, resume after SIGKILL, byte-identical outputs."""
import hashlib
import json
import os
import signal
import subprocess
import sys
import time

import cv2
import pytest

from freqaug import cli, load_bundle
from freqaug.bands import BandSpec
from freqaug.offline import generate as offline
from freqaug.data import street_scene
from freqaug.models import FreqGANConfig, NetConfig
from freqaug.train import TrainConfig
from freqaug.train.run import RunConfig

TINY = NetConfig(base_channels=4, max_channels=8, min_size=4)
SIZE = (16, 24)


def write_scenes(root, n, size, labels=True):
    """n drawn street scenes (and label maps) as a CamVid-layout folder at (H, W) ``size``."""
    (root / "images").mkdir(parents=True)
    if labels:
        (root / "labels").mkdir()
    for i in range(n):
        rgb, lab = street_scene(i, size=(32, 48))
        rgb = cv2.resize(rgb, size[::-1], interpolation=cv2.INTER_AREA)
        cv2.imwrite(str(root / "images" / f"s{i}.png"), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
        if labels:
            cv2.imwrite(str(root / "labels" / f"s{i}.png"), cv2.resize(lab, size[::-1], interpolation=cv2.INTER_NEAREST))
    return root


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    return write_scenes(tmp_path_factory.mktemp("data") / "train", 6, SIZE)


@pytest.fixture(scope="module")
def trained(data_dir, tmp_path_factory):
    """`freqaug train` on the scenes: (run folder, printed output); the run exports RUN/bundle.safetensors."""
    root = tmp_path_factory.mktemp("train")
    config = RunConfig(
        model=FreqGANConfig(spec=BandSpec(levels=2), image_size=SIZE, z_dim=16, generator=TINY, discriminator=TINY),
        train=TrainConfig(batch_size=4), stage1_steps=2, stage2_steps=1, checkpoint_every=0, sample_every=0,
    )
    (root / "config.json").write_text(json.dumps(config.to_dict()))
    run = root / "run"
    import contextlib
    import io

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = cli.main(["train", "--data", str(data_dir), "--out", str(run), "--config", str(root / "config.json")])
    assert code == 0
    return run, out.getvalue()


@pytest.fixture(scope="module")
def bundle_path(trained):
    return trained[0] / "bundle.safetensors"


@pytest.fixture(scope="module")
def reference(bundle_path, tmp_path_factory):
    """An uninterrupted `freqaug generate --n 40` (batch 64): {file name: bytes}."""
    out = tmp_path_factory.mktemp("reference") / "gen"
    assert cli.main(["generate", str(bundle_path), "--n", "40", "--out", str(out)]) == 0
    return images_in(out)


def images_in(folder):
    return {p.name: p.read_bytes() for p in sorted(folder.glob("*.png"))}


def index_lines(folder):
    return [json.loads(line) for line in (folder / "index.jsonl").read_text().splitlines()]


def assert_complete(folder, expected):
    """Exactly the expected images, byte for byte; an index entry per file with its sha256; no temp files."""
    assert images_in(folder) == expected
    entries = index_lines(folder)
    assert sorted(e["file"] for e in entries) == sorted(expected)
    for entry in entries:
        assert entry["sha256"] == hashlib.sha256(expected[entry["file"]]).hexdigest()
        assert entry["file"] == f"{entry['index']:06d}.png"
    assert not [p for p in folder.iterdir() if p.name.endswith(".tmp")]


# ---- train, export, inspect ----------------------------------------------------------------------

def test_train_exports_a_bundle_and_says_so(trained, data_dir):
    run, printed = trained
    assert f"exported the EMA generator to {run / 'bundle.safetensors'}" in printed
    provenance = load_bundle(run / "bundle.safetensors").manifest["provenance"]
    assert provenance["data"]["images"] == 6 and provenance["data"]["path"] == str(data_dir.resolve())
    assert provenance["steps"] == {"stage1": 2, "stage2": 1}


def test_export_command(trained, tmp_path, capsys):
    run, _ = trained
    out = tmp_path / "sub" / "exported.safetensors"
    assert cli.main(["export", str(run), str(out)]) == 0
    assert "exported" in capsys.readouterr().out
    assert load_bundle(out).manifest["weights"] == load_bundle(run / "bundle.safetensors").manifest["weights"]
    assert cli.main(["export", str(tmp_path / "no_run"), str(out)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("freqaug export: error: ") and "checkpoint.safetensors" in err and "Traceback" not in err


def test_inspect_summary_and_json(bundle_path, capsys):
    assert cli.main(["inspect", str(bundle_path)]) == 0
    text = capsys.readouterr().out
    for expected in ("16x24 (HxW)", "dwt haar, 2 levels", "LL2", "4x6", "HH1", "8x12", "params", "alpha",
                     "cascade", "provenance", "stage1", "unconditional"):
        assert expected in text, expected
    assert cli.main(["inspect", str(bundle_path), "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == load_bundle(bundle_path).manifest


def test_a_damaged_bundle_is_one_clear_line(bundle_path, tmp_path, capsys):
    bad = tmp_path / "bad.safetensors"
    bad.write_bytes(bundle_path.read_bytes()[:500])
    for argv in (["inspect", str(bad)], ["generate", str(bad), "--n", "2", "--out", str(tmp_path / "g")]):
        assert cli.main(argv) == 1
        err = capsys.readouterr().err.strip()
        assert err.startswith(f"freqaug {argv[0]}: error: {bad}: not a readable safetensors file")
        assert "\n" not in err and "Traceback" not in err


@pytest.mark.parametrize("command", ["export", "inspect", "generate", "expand"])
def test_help_and_usage_errors(command, capsys):
    with pytest.raises(SystemExit) as exc:
        cli.main([command, "--help"])
    assert exc.value.code == 0 and "usage: freqaug " + command in capsys.readouterr().out
    with pytest.raises(SystemExit) as exc:
        cli.main([command, "--no-such-option"])
    assert exc.value.code == 2


def test_bad_counts_are_usage_errors(bundle_path, tmp_path):
    for argv in (["--n", "-1"], ["--n", "2", "--batch-size", "0"], ["--n", "2", "--seed", "-3"]):
        with pytest.raises(SystemExit) as exc:
            cli.main(["generate", str(bundle_path), "--out", str(tmp_path / "g"), *argv])
        assert exc.value.code == 2


# ---- generate ------------------------------------------------------------------------------------

def test_generate_writes_n_images_index_and_parameters(bundle_path, reference, tmp_path, capsys):
    out = tmp_path / "gen"
    assert cli.main(["generate", str(bundle_path), "--n", "40", "--out", str(out), "--batch-size", "5"]) == 0
    assert_complete(out, reference)  # byte-identical to the batch-64 run
    assert "40 images (40 written" in capsys.readouterr().out
    params = json.loads((out / "generate.json").read_text())
    assert params["seed"] == 0 and params["image_format"] == "png"
    assert params["bundle_sha256"] == hashlib.sha256(bundle_path.read_bytes()).hexdigest()
    image = cv2.imread(str(out / "000007.png"))
    assert image.shape == (*SIZE, 3)
    # rerunning finds everything in place and writes nothing
    assert cli.main(["generate", str(bundle_path), "--n", "40", "--out", str(out)]) == 0
    assert "(0 written" in capsys.readouterr().out
    assert_complete(out, reference)


def test_generate_matches_the_library(bundle_path, reference):
    bundle = load_bundle(bundle_path)
    pixels = offline.to_uint8(bundle.generate(3, seed=0, start=10))
    for k in range(3):
        ok, encoded = cv2.imencode(".png", pixels[k])
        assert encoded.tobytes() == reference[f"{10 + k:06d}.png"]


def test_resume_repairs_a_damaged_folder(bundle_path, reference, tmp_path):
    out = tmp_path / "gen"
    assert cli.main(["generate", str(bundle_path), "--n", "40", "--out", str(out)]) == 0
    (out / "000003.png").write_bytes(reference["000003.png"][:50])  # truncated file
    (out / "000004.png").unlink()  # missing file
    (out / ".000005.png.999.tmp").write_bytes(b"half")  # temp file of a killed writer
    lines = (out / "index.jsonl").read_text().splitlines()
    lines = [line for line in lines if '"000006.png"' not in line]  # a file without an index entry
    lines += [lines[0], '{"file": "000009.png", "ind']  # a duplicate and a line cut by a crash
    (out / "index.jsonl").write_text("\n".join(lines) + "\n")
    (out / "000012.png").write_bytes(b"\x89PNG not an image")  # a damaged file
    assert cli.main(["generate", str(bundle_path), "--n", "40", "--out", str(out)]) == 0
    assert_complete(out, reference)
    assert len(index_lines(out)) == 40


def test_generate_can_extend_but_not_shrink_a_folder(bundle_path, reference, tmp_path, capsys):
    out = tmp_path / "gen"
    assert cli.main(["generate", str(bundle_path), "--n", "20", "--out", str(out)]) == 0
    assert cli.main(["generate", str(bundle_path), "--n", "40", "--out", str(out)]) == 0
    assert_complete(out, reference)
    capsys.readouterr()
    assert cli.main(["generate", str(bundle_path), "--n", "30", "--out", str(out)]) == 1
    assert "index >= 30" in capsys.readouterr().err
    assert_complete(out, reference)


def test_generate_refuses_a_folder_of_another_run(bundle_path, trained, tmp_path, capsys):
    out = tmp_path / "gen"
    assert cli.main(["generate", str(bundle_path), "--n", "4", "--out", str(out)]) == 0
    before = images_in(out)
    for extra in (["--seed", "1"], ["--format", "jpg"]):
        assert cli.main(["generate", str(bundle_path), "--n", "4", "--out", str(out), *extra]) == 1
        assert "holds the images of another run" in capsys.readouterr().err
    other = tmp_path / "other.safetensors"
    assert cli.main(["export", str(trained[0]), str(other), "--data", str(tmp_path)]) == 0  # other provenance
    assert cli.main(["generate", str(other), "--n", "4", "--out", str(out)]) == 1
    assert "bundle_sha256" in capsys.readouterr().err
    assert images_in(out) == before
    stranger = tmp_path / "photos"
    stranger.mkdir()
    (stranger / "holiday.png").write_bytes(b"mine")
    assert cli.main(["generate", str(bundle_path), "--n", "4", "--out", str(stranger)]) == 1
    assert "not empty (holiday.png)" in capsys.readouterr().err
    assert (stranger / "holiday.png").read_bytes() == b"mine"


def test_unwritable_output_is_a_clear_error(bundle_path, tmp_path, capsys):
    blocker = tmp_path / "a_file"
    blocker.write_text("x")
    assert cli.main(["generate", str(bundle_path), "--n", "2", "--out", str(blocker)]) == 1
    assert "is a file; expected a folder" in capsys.readouterr().err  # refused before the bundle is read
    assert cli.main(["generate", str(bundle_path), "--n", "2", "--out", str(blocker / "sub")]) == 1
    assert "cannot create or open the output folder" in capsys.readouterr().err


def test_a_folder_without_write_permission_is_named_not_a_temp_file(bundle_path, tmp_path, monkeypatch, capsys):
    import freqaug._files as files

    real_open = open

    def refuse_temp_files(path, *args, **kwargs):  # as in a folder the user may read but not write (root ignores modes)
        if str(path).endswith(files.TEMP_SUFFIX):
            raise PermissionError(13, "Permission denied", str(path))
        return real_open(path, *args, **kwargs)

    monkeypatch.setattr("builtins.open", refuse_temp_files)
    out = tmp_path / "readonly"
    out.mkdir()
    assert cli.main(["generate", str(bundle_path), "--n", "2", "--out", str(out)]) == 1
    err = capsys.readouterr().err.strip()
    assert err.endswith(f"cannot write here (permission denied on folder {out}/)") and ".tmp" not in err
    assert not [p for p in out.iterdir() if p.name.endswith(".tmp")]


def test_disk_full_keeps_what_was_written(bundle_path, reference, tmp_path, monkeypatch, capsys):
    out = tmp_path / "gen"
    real_write = offline.write_atomic
    calls = {"n": 0}

    def filling_disk(path, data):
        calls["n"] += 1
        if calls["n"] > 12:
            raise OSError(28, "No space left on device")
        return real_write(path, data)

    monkeypatch.setattr(offline, "write_atomic", filling_disk)
    assert cli.main(["generate", str(bundle_path), "--n", "40", "--out", str(out), "--batch-size", "8"]) == 1
    err = capsys.readouterr().err
    assert "No space left on device" in err and "Traceback" not in err
    monkeypatch.undo()
    kept = images_in(out)
    assert 0 < len(kept) < 40 and all(reference[name] == data for name, data in kept.items())
    assert cli.main(["generate", str(bundle_path), "--n", "40", "--out", str(out)]) == 0
    assert_complete(out, reference)


def test_jpg_and_band_grids(bundle_path, tmp_path):
    out = tmp_path / "gen"
    assert cli.main(["generate", str(bundle_path), "--n", "10", "--out", str(out), "--format", "jpg",
                     "--batch-size", "8", "--with-bands"]) == 0
    files = sorted(p.name for p in out.glob("*.jpg"))
    assert files == [f"{k:06d}.jpg" for k in range(10)]
    assert cli.main(["generate", str(bundle_path), "--n", "10", "--out", str(out), "--format", "jpg"]) == 0
    assert sorted(p.name for p in (out / "bands").iterdir()) == ["000000.png", "000008.png"]  # one per batch
    assert (out / "bands" / "000000.png").read_bytes()[:4] == b"\x89PNG"


def test_sigkill_mid_run_then_resume_gives_the_uninterrupted_images(bundle_path, tmp_path):
    n = 800
    straight, killed = tmp_path / "straight", tmp_path / "killed"
    args = [str(bundle_path), "--n", str(n), "--batch-size", "16"]
    assert cli.main(["generate", *args, "--out", str(straight)]) == 0
    proc = subprocess.Popen([sys.executable, "-m", "freqaug", "generate", *args, "--out", str(killed)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    index = killed / "index.jsonl"
    deadline = time.time() + 120
    while time.time() < deadline and not (index.exists() and len(index.read_text().splitlines()) >= 20):
        time.sleep(0.01)
    assert proc.poll() is None, "the run ended before it could be killed; raise n"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    assert len(list(killed.glob("*.png"))) < n
    assert cli.main(["generate", *args, "--out", str(killed)]) == 0
    expected = images_in(straight)
    assert len(expected) == n
    assert_complete(killed, expected)


@pytest.mark.skipif(__import__("torch").cuda.is_available(), reason="checks the message for a missing CUDA device")
def test_cuda_without_a_device_is_a_clear_error(bundle_path, tmp_path, capsys):
    assert cli.main(["generate", str(bundle_path), "--n", "2", "--out", str(tmp_path / "g"), "--device", "cuda"]) == 1
    assert "no CUDA device" in capsys.readouterr().err


# ---- expand --------------------------------------------------------------------------------------

def test_expand_links_real_files_and_adds_synthetic_ones(data_dir, bundle_path, reference, tmp_path, capsys):
    out = tmp_path / "expanded"
    argv = ["expand", "--data", str(data_dir), "--bundle", str(bundle_path), "--out", str(out), "--link", "--ratio", "0.5"]
    assert cli.main(argv) == 0
    assert "6 real images" in capsys.readouterr().out
    real = sorted(p.name for p in (data_dir / "images").iterdir())
    assert sorted(p.name for p in (out / "images").iterdir()) == real + [f"synthetic_{k:06d}.png" for k in range(3)]
    for name in real:
        assert os.path.samefile(out / "images" / name, data_dir / "images" / name)
        assert os.path.samefile(out / "labels" / name, data_dir / "labels" / name)
    for k in range(3):  # the same images `generate` writes for this seed
        assert (out / "images" / f"synthetic_{k:06d}.png").read_bytes() == reference[f"{k:06d}.png"]
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["real"] == 6 and manifest["synthetic"] == 3 and manifest["synthetic_labels"] is None
    assert manifest["real_files"] == {"asked": "link", "linked": 12, "copied": 0, "kept": 0}
    assert "unconditional" in manifest["note"]
    sources = [(f["source"], f["label"] is None) for f in manifest["files"]]
    assert sources == [("real", False)] * 6 + [("synthetic", True)] * 3
    assert manifest["files"][0] == {"image": "images/s0.png", "label": "labels/s0.png", "source": "real"}
    # a rerun resumes (here: nothing to do) and a larger ratio adds only the new synthetic images
    assert cli.main(argv) == 0
    assert cli.main(argv[:-1] + ["1"]) == 0
    assert len(json.loads((out / "manifest.json").read_text())["files"]) == 12
    assert "(3 written, 3 kept)" in capsys.readouterr().out.splitlines()[-1]


@pytest.mark.parametrize("flag", [[], ["--copy"]], ids=["default", "copy"])
def test_expand_copies_by_default_and_a_size_mismatch(flag, data_dir, bundle_path, tmp_path, capsys):
    out = tmp_path / "copied"
    argv = ["expand", "--data", str(data_dir), "--bundle", str(bundle_path), "--out", str(out), "--ratio", "0", *flag]
    assert cli.main(argv) == 0
    assert not os.path.samefile(out / "images" / "s0.png", data_dir / "images" / "s0.png")
    assert json.loads((out / "manifest.json").read_text())["real_files"]["asked"] == "copy"
    assert (out / "images" / "s0.png").read_bytes() == (data_dir / "images" / "s0.png").read_bytes()
    big = write_scenes(tmp_path / "big", 2, (32, 48), labels=False)
    argv = ["expand", "--data", str(big), "--bundle", str(bundle_path), "--out", str(tmp_path / "x"), "--ratio", "1"]
    assert cli.main(argv) == 1
    err = capsys.readouterr().err
    assert "image is 32x48 (HxW) but the bundle" in err and "generates 16x24" in err
    with pytest.raises(SystemExit) as exc:
        cli.main(argv[:-1] + ["-1"])
    assert exc.value.code == 2


# ---- layout-conditional bundles: generate --layouts, expand with label maps ------------------------

@pytest.fixture(scope="module")
def cond_path(tmp_path_factory):
    """A tiny untrained layout-conditional bundle (CamVid classes, 16x24)."""
    from freqaug.data import CAMVID
    from freqaug.models import LayoutConfig
    from tests.augment.conftest import build_bundle

    return build_bundle(tmp_path_factory.mktemp("cond") / "cond.safetensors", layout=LayoutConfig(CAMVID, hidden=4))


def read_label_png(path):
    return cv2.imread(str(path), cv2.IMREAD_UNCHANGED)


def test_generate_with_layouts_writes_pairs_and_resumes(cond_path, data_dir, tmp_path, capsys):
    import numpy as np
    import torch

    out = tmp_path / "gen"
    argv = ["generate", str(cond_path), "--n", "10", "--out", str(out), "--layouts", str(data_dir / "labels"),
            "--batch-size", "4"]
    assert cli.main(argv) == 0
    files = sorted((data_dir / "labels").iterdir())
    layouts = np.stack([read_label_png(files[k % 6]) for k in range(10)])
    expected = offline.to_uint8(load_bundle(cond_path).generate(torch.from_numpy(layouts), seed=0))
    for k in range(10):
        assert np.array_equal(read_label_png(out / "labels" / f"{k:06d}.png"), layouts[k])
        assert np.array_equal(cv2.imread(str(out / f"{k:06d}.png")), expected[k])
    entries = {e["index"]: e for e in index_lines(out)}
    assert entries[7]["layout"] == files[1].name and isinstance(entries[7]["label_sha256"], str)
    before = {**images_in(out), **{f"labels/{n}": b for n, b in images_in(out / "labels").items()}}
    (out / "labels" / "000003.png").unlink()  # a lost label map: its image is made again
    (out / "000008.png").write_bytes(b"broken")
    (out / "labels" / ".000005.png.123.tmp").write_bytes(b"x")
    capsys.readouterr()
    assert cli.main(argv) == 0
    assert "2 written" in capsys.readouterr().out
    after = {**images_in(out), **{f"labels/{n}": b for n, b in images_in(out / "labels").items()}}
    assert after == before and not list((out / "labels").glob("*.tmp"))
    other = tmp_path / "other_layouts"
    other.mkdir()
    cv2.imwrite(str(other / "a.png"), layouts[0])
    assert cli.main(argv[:6] + ["--layouts", str(other)]) == 1  # another layout folder: another run
    assert "holds the images of another run (generate.json: layouts" in capsys.readouterr().err


def test_generate_layout_errors_are_one_line(cond_path, bundle_path, data_dir, tmp_path, capsys):
    import numpy as np

    cases = [
        (["generate", str(cond_path), "--n", "2", "--out", str(tmp_path / "a")],
         "a layout-conditional bundle (11 classes) draws images from label maps; give a folder of label PNGs"),
        (["generate", str(bundle_path), "--n", "2", "--out", str(tmp_path / "b"), "--layouts", str(data_dir / "labels")],
         "--layouts: the bundle"),
    ]
    bad = tmp_path / "bad"
    bad.mkdir()
    label = np.full((16, 24), 3, np.uint8)
    label[0, 0] = 200
    cv2.imwrite(str(bad / "x.png"), label)
    cases.append((["generate", str(cond_path), "--n", "2", "--out", str(tmp_path / "c"), "--layouts", str(bad)],
                  f"{bad / 'x.png'}: ids [200] are outside the class list"))
    small = tmp_path / "small"
    small.mkdir()
    cv2.imwrite(str(small / "y.png"), np.zeros((8, 8), np.uint8))
    cases.append((["generate", str(cond_path), "--n", "2", "--out", str(tmp_path / "d"), "--layouts", str(small)],
                  f"{small / 'y.png'}: expected shape (N, 16, 24)"))
    for argv, message in cases:
        assert cli.main(argv) == 1
        err = capsys.readouterr().err.strip()
        assert message in err and "\n" not in err and "Traceback" not in err, err
    assert not (tmp_path / "c").exists()  # layouts are checked before the output folder is made
    for name in "ab":  # nothing was written, so the corrected command runs in the same folder
        assert not (tmp_path / name / "generate.json").exists()
    argv = ["generate", str(cond_path), "--n", "2", "--out", str(tmp_path / "a"), "--layouts", str(data_dir / "labels")]
    assert cli.main(argv) == 0 and len(list((tmp_path / "a").glob("*.png"))) == 2


def test_a_generate_refused_for_a_bad_seed_leaves_nothing_behind(bundle_path, tmp_path, capsys):
    out = tmp_path / "out"
    assert cli.main(["generate", str(bundle_path), "--n", "2", "--out", str(out), "--seed", str(2**70)]) in (1, 2)
    err = capsys.readouterr().err.strip()
    assert "seed" in err and "Traceback" not in err and "\n" not in err, err
    assert not (out / "generate.json").exists()
    assert cli.main(["generate", str(bundle_path), "--n", "2", "--out", str(out), "--seed", "1"]) == 0
    assert len(list(out.glob("*.png"))) == 2


def test_expand_with_a_conditional_bundle_writes_labelled_pairs(cond_path, data_dir, tmp_path, capsys):
    import numpy as np
    import torch

    out = tmp_path / "expanded"
    argv = ["expand", "--data", str(data_dir), "--bundle", str(cond_path), "--out", str(out), "--ratio", "1",
            "--batch-size", "4"]
    assert cli.main(argv) == 0
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["synthetic_labels"] == {"from": "real training labels", "label_edit": None}
    assert "layout-conditional" in manifest["note"]
    synthetic = [f for f in manifest["files"] if f["source"] == "synthetic"]
    assert sorted(f["layout"] for f in synthetic) == sorted(f"labels/s{i}.png" for i in range(6))  # each real map once
    bundle = load_bundle(cond_path)
    for entry in synthetic:
        label = read_label_png(out / entry["label"])
        assert entry["label"] == f"labels/synthetic_{entry['index']:06d}.png" and entry["edited"] is False
        assert np.array_equal(label, read_label_png(data_dir / entry["layout"]))
        image = offline.to_uint8(bundle.generate(torch.from_numpy(label)[None], seed=0, start=entry["index"]))[0]
        assert np.array_equal(cv2.imread(str(out / entry["image"])), image)
    assert not os.path.samefile(out / "labels" / "s0.png", data_dir / "labels" / "s0.png")  # copied by default
    assert (out / "labels" / "s0.png").read_bytes() == (data_dir / "labels" / "s0.png").read_bytes()
    assert cli.main(argv[:-3] + ["2"]) == 0  # a larger ratio adds only the new pairs
    assert "(6 written, 6 kept)" in capsys.readouterr().out.splitlines()[-1]
    assert len(list((out / "labels").glob("synthetic_*.png"))) == 12


def test_expand_label_aug_edits_real_maps_and_is_part_of_the_run(cond_path, data_dir, tmp_path, capsys):
    import numpy as np

    out = tmp_path / "edited"
    argv = ["expand", "--data", str(data_dir), "--bundle", str(cond_path), "--out", str(out), "--ratio", "1",
            "--label-aug", "--seed", "1"]
    assert cli.main(argv) == 0
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["synthetic_labels"]["label_edit"]["label_aug"]["paste_classes"] == [2, 6, 7, 8, 9, 10]
    synthetic = [f for f in manifest["files"] if f["source"] == "synthetic"]
    assert any(f["edited"] for f in synthetic)
    real_ids = set()
    for i in range(6):
        real_ids |= set(np.unique(read_label_png(data_dir / "labels" / f"s{i}.png")).tolist())
    for entry in synthetic:
        label = read_label_png(out / entry["label"])
        assert set(np.unique(label).tolist()) <= real_ids
        assert entry["edited"] == (not np.array_equal(label, read_label_png(data_dir / entry["layout"])))
    first = images_in(out / "labels")
    assert cli.main(argv) == 0 and images_in(out / "labels") == first  # same seed, same edits
    assert cli.main([a for a in argv if a != "--label-aug"]) == 1  # without --label-aug: another run
    assert "label_edit" in capsys.readouterr().err


def test_expand_conditional_needs_labels(cond_path, tmp_path, capsys):
    data = write_scenes(tmp_path / "nolabels", 2, SIZE, labels=False)
    argv = ["expand", "--data", str(data), "--bundle", str(cond_path), "--out", str(tmp_path / "o"), "--ratio", "1"]
    assert cli.main(argv) == 1
    assert "draws synthetic images from the real label maps; expected a labels/ folder" in capsys.readouterr().err
