"""`freqaug train`: a run folder with config, checkpoint, log and samples; resume; SIGTERM."""
import json
import os
import signal
import subprocess
import sys
import time

import cv2
import pytest

from freqaug import cli
from freqaug.bands import BandSpec
from freqaug.data import street_scene
from freqaug.models import FreqGANConfig, NetConfig
from freqaug.train import TrainConfig
from freqaug.train.run import RunConfig, saved_run_config

SMALL = NetConfig(base_channels=8, max_channels=16, min_size=4)


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    root = tmp_path_factory.mktemp("scenes")
    (root / "images").mkdir()
    for i in range(6):
        rgb, _ = street_scene(i, size=(32, 48))
        cv2.imwrite(str(root / "images" / f"s{i}.png"), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
    return root


def tiny_config(tmp_path, **kw):
    config = RunConfig(
        model=FreqGANConfig(spec=BandSpec(levels=2), image_size=(32, 48), z_dim=64, generator=SMALL, discriminator=SMALL),
        train=TrainConfig(batch_size=4), stage1_steps=3, stage2_steps=2, checkpoint_every=2, sample_every=4, **kw,
    )
    path = tmp_path / "config.json"
    path.write_text(json.dumps(config.to_dict()))
    return path


def test_train_then_resume(data_dir, tmp_path):
    run = tmp_path / "run"
    assert cli.main(["train", "--data", str(data_dir), "--out", str(run), "--config", str(tiny_config(tmp_path))]) == 0
    names = {p.name for p in run.iterdir()}
    assert {"config.json", "checkpoint.safetensors", "log.jsonl", "samples"} <= names
    log = [json.loads(line) for line in (run / "log.jsonl").read_text().splitlines()]
    assert [r["stage"] for r in log] == ["stage1"] * 3 + ["stage2"] * 2
    assert (run / "samples" / "latest.png").read_bytes()[:4] == b"\x89PNG"
    # a second run into the same folder is refused; --resume with more steps continues
    assert cli.main(["train", "--data", str(data_dir), "--out", str(run)]) == 1
    config = json.loads((run / "config.json").read_text())
    config["stage2_steps"] = 4
    (run / "config.json").write_text(json.dumps(config))
    assert cli.main(["train", "--data", str(data_dir), "--out", str(run), "--resume"]) == 0
    log = [json.loads(line) for line in (run / "log.jsonl").read_text().splitlines()]
    assert [r["step"] for r in log if r["stage"] == "stage2"] == [1, 2, 3, 4]


def test_resume_without_a_run_is_an_error(data_dir, tmp_path, capsys):
    assert cli.main(["train", "--data", str(data_dir), "--out", str(tmp_path / "none"), "--resume"]) == 1
    assert "config.json" in capsys.readouterr().err


def test_bad_config_file_is_named(data_dir, tmp_path, capsys):
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"stage1_steps": -1}))
    assert cli.main(["train", "--data", str(data_dir), "--out", str(tmp_path / "r"), "--config", str(bad)]) == 1
    err = capsys.readouterr().err
    assert "bad.json" in err and "RunConfig.stage1_steps" in err


def test_sigterm_saves_a_checkpoint_that_resumes(data_dir, tmp_path):
    run = tmp_path / "run"
    config = tiny_config(tmp_path)
    data = json.loads(config.read_text()) | {"stage1_steps": 100000, "checkpoint_every": 1000}
    config.write_text(json.dumps(data))
    env = os.environ | {"PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "freqaug", "train", "--data", str(data_dir), "--out", str(run), "--config", str(config)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env,
    )
    deadline = time.time() + 120
    while time.time() < deadline and not ((run / "log.jsonl").exists() and len((run / "log.jsonl").read_text().splitlines()) >= 3):
        time.sleep(0.2)
    proc.send_signal(signal.SIGTERM)
    output = proc.communicate(timeout=60)[0].decode()
    assert proc.returncode == 130, output
    assert "checkpoint saved" in output
    steps = len((run / "log.jsonl").read_text().splitlines())
    from freqaug.train import read_checkpoint_meta

    assert read_checkpoint_meta(run / "checkpoint.safetensors")["step"]["stage1"] == steps


def test_corrupt_image_is_named_or_skipped_with_a_count(data_dir, tmp_path, capsys):
    import shutil

    data = tmp_path / "with_bad"
    shutil.copytree(data_dir, data)
    (data / "images" / "s9_broken.png").write_bytes(b"\x89PNG\r\n\x1a\n truncated")
    args = ["train", "--data", str(data), "--out", str(tmp_path / "r1"), "--config", str(tiny_config(tmp_path))]
    assert cli.main(args) == 1
    assert "s9_broken.png" in capsys.readouterr().err
    import warnings

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert cli.main(args[:4] + [str(tmp_path / "r2")] + args[5:] + ["--skip-bad"]) == 0
    messages = [str(w.message) for w in caught]
    assert any("s9_broken.png: cannot decode image" in m for m in messages)
    assert any("skipped 1 unreadable file(s) of 7" in m for m in messages)


def test_resume_with_a_damaged_config_names_the_file(data_dir, tmp_path, capsys):
    run = tmp_path / "run"
    assert cli.main(["train", "--data", str(data_dir), "--out", str(run), "--config", str(tiny_config(tmp_path))]) == 0
    (run / "config.json").write_text("{truncated")
    assert cli.main(["train", "--data", str(data_dir), "--out", str(run), "--resume"]) == 1
    err = capsys.readouterr().err
    assert "config.json: not valid JSON" in err


@pytest.mark.parametrize("written, resumed", [(None, {}), ({}, {}), ({"LL2": 3}, {"LL2": 3})],
                         ids=["before-the-field", "empty", "given"])
def test_a_resumed_run_keeps_the_band_updates_it_trained_with(tmp_path, written, resumed):
    data = json.loads(tiny_config(tmp_path).read_text())
    if written is None:
        del data["train"]["band_updates"]  # a run folder written before band_updates existed
    else:
        data["train"]["band_updates"] = written
    path = tmp_path / "run_config.json"
    path.write_text(json.dumps(data))
    assert saved_run_config(path).train.band_updates == resumed
    assert RunConfig.from_file(path).train.band_updates == (resumed if written is not None else {"coarse": 8})


def test_band_updates_from_the_command_line(data_dir, tmp_path, capsys):
    run = tmp_path / "run"
    base = ["train", "--data", str(data_dir), "--config", str(tiny_config(tmp_path))]
    assert cli.main([*base, "--out", str(run), "--band-updates", "coarse=1", "LH1=3"]) == 0  # replaces coarse=8
    assert json.loads((run / "config.json").read_text())["train"]["band_updates"] == {"coarse": 1, "LH1": 3}
    assert cli.main([*base, "--out", str(tmp_path / "x"), "--band-updates", "LL5=2"]) == 1
    assert "TrainConfig.band_updates: unknown band 'LL5'; the model has ['LL2'" in capsys.readouterr().err
    with pytest.raises(SystemExit) as stop:
        cli.main([*base, "--out", str(tmp_path / "y"), "--band-updates", "LL2=0"])
    assert stop.value.code == 2 and "'LL2=0': expected BAND=N with N a positive integer" in capsys.readouterr().err
    assert cli.main(["train", "--data", str(data_dir), "--out", str(run), "--resume", "--band-updates", "LL2=2"]) == 2


def test_resume_extends_a_finished_run_with_larger_totals(data_dir, tmp_path, capsys):
    run = tmp_path / "run"
    train = ["train", "--data", str(data_dir), "--out", str(run)]
    assert cli.main([*train, "--config", str(tiny_config(tmp_path))]) == 0
    assert cli.main([*train, "--resume", "--stage2-steps", "4"]) == 0
    assert "extending" in capsys.readouterr().err
    log = [json.loads(line) for line in (run / "log.jsonl").read_text().splitlines()]
    assert [r["step"] for r in log if r["stage"] == "stage2"] == [1, 2, 3, 4]
    assert saved_run_config(run / "config.json").stage2_steps == 4  # the new total is recorded
    assert cli.main([*train, "--resume", "--stage2-steps", "3"]) == 1
    assert "--stage2-steps 3: the run has done 4 stage2 steps; a resumed run can extend, not shorten" in \
        capsys.readouterr().err
    assert cli.main([*train, "--resume", "--stage1-steps", "5"]) == 1
    assert "stage 2 has begun (4 steps)" in capsys.readouterr().err
    assert cli.main([*train, "--resume", "--conditional"]) == 2


def test_callbacks_see_every_step_and_can_stop_the_run(data_dir, tmp_path):
    from freqaug.data import load_images
    from freqaug.train.run import train_run

    images = load_images(data_dir) * 2 - 1
    config = RunConfig.from_file(tiny_config(tmp_path))
    seen = []

    def stop_after_two(record, trainer):
        seen.append((record["stage"], record["step"], sum(trainer.step.values())))
        return len(seen) == 2

    trainer = train_run(tmp_path / "run", images, config, progress=False, callbacks=[stop_after_two, lambda r, t: None])
    assert seen == [("stage1", 1, 1), ("stage1", 2, 2)] and trainer.step["stage1"] == 2
    trainer = train_run(tmp_path / "run", images, resume=True, progress=False, callbacks=[stop_after_two])
    assert trainer.step == {"stage1": 3, "stage2": 2} and len(seen) == 5  # resumed from the saved checkpoint


def test_tensorboard_events_hold_losses_alpha_and_samples(data_dir, tmp_path):
    pytest.importorskip("tensorboard")
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    run = tmp_path / "run"
    argv = ["train", "--data", str(data_dir), "--out", str(run), "--config", str(tiny_config(tmp_path)), "--tensorboard"]
    assert cli.main(argv) == 0
    events = EventAccumulator(str(run / "tensorboard"), size_guidance={"images": 0}).Reload()
    tags = events.Tags()
    assert {"stage1/d1", "stage1/g1", "stage2/d2", "stage2/g2", "alpha"} <= set(tags["scalars"])
    assert [e.step for e in events.Scalars("stage1/d1")] == [1, 2, 3]
    assert [e.step for e in events.Scalars("alpha")] == [1, 2, 3, 4, 5]
    assert [e.step for e in events.Images("samples")] == [4]  # sample_every=4


def test_run_configs_carry_no_experiment_controls(tmp_path):
    data = json.loads(tiny_config(tmp_path).read_text())
    assert "single" not in data and "stage1_from" not in data
    assert RunConfig.from_dict({**data, "single": False}) == RunConfig.from_dict(data)  # a config.json of before
    with pytest.raises(ValueError, match="RunConfig.single: the single-GAN control is an experiment"):
        RunConfig.from_dict({**data, "single": True})
    with pytest.raises(ValueError, match="RunConfig.stage1_from: starting stage 2 from another run's band GANs"):
        RunConfig.from_dict({**data, "stage1_from": "runs/x/checkpoint.safetensors"})
    for flag in ("--single", "--stage1-from"):
        with pytest.raises(SystemExit):
            cli.build_parser().parse_args(["train", "--data", "d", "--out", "o", flag])
