"""Data-parallel training on 2 CPU processes (gloo): ranks agree, and the checkpoint resumes in 1."""
import json
import os
import socket
import subprocess
import sys

import cv2
import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from safetensors.torch import load_file, save_file

from freqaug.bands import BandSpec
from freqaug.data import street_scene, synthetic_batch
from freqaug.models import FreqGANConfig, NetConfig
from freqaug.train import TrainConfig, read_checkpoint_meta
from freqaug.train.run import RunConfig, train_run

SMALL = NetConfig(base_channels=8, max_channels=16, min_size=4)
CONFIG = RunConfig(
    model=FreqGANConfig(spec=BandSpec(levels=2), image_size=(32, 48), z_dim=64, generator=SMALL, discriminator=SMALL),
    train=TrainConfig(batch_size=4, r1_every=2), stage1_steps=3, stage2_steps=2, checkpoint_every=0, sample_every=0,
)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _worker(rank: int, world: int, port: int, run_dir: str, out_dir: str) -> None:
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    torch.set_num_threads(1)
    dist.init_process_group("gloo", rank=rank, world_size=world)
    try:
        images = synthetic_batch(8, size=(32, 48), seed=0)[0] * 2 - 1
        trainer = train_run(run_dir, images, CONFIG, progress=False)
        state = {f"model/{k}": v.contiguous() for k, v in trainer.model.state_dict().items()}
        state |= {f"disc/{k}": v.contiguous() for k, v in trainer.discriminators.state_dict().items()}
        save_file(state, os.path.join(out_dir, f"rank{rank}.safetensors"))
    finally:
        dist.destroy_process_group()


def test_two_ranks_agree_and_resume_in_one_process(tmp_path):
    run_dir = tmp_path / "run"
    mp.spawn(_worker, args=(2, _free_port(), str(run_dir), str(tmp_path)), nprocs=2, join=True)
    rank0, rank1 = (load_file(str(tmp_path / f"rank{r}.safetensors")) for r in (0, 1))
    assert rank0.keys() == rank1.keys()
    for key in rank0:
        torch.testing.assert_close(rank0[key], rank1[key], rtol=0, atol=0, msg=key)
    assert read_checkpoint_meta(run_dir / "checkpoint.safetensors")["step"] == {"stage1": 3, "stage2": 2}
    config = json.loads((run_dir / "config.json").read_text()) | {"stage2_steps": 3}
    (run_dir / "config.json").write_text(json.dumps(config))
    images = synthetic_batch(8, size=(32, 48), seed=0)[0] * 2 - 1
    trainer = train_run(run_dir, images, resume=True, progress=False)
    assert trainer.step == {"stage1": 3, "stage2": 3}


def test_torchrun_runs_the_cli(tmp_path):
    data = tmp_path / "data" / "images"
    data.mkdir(parents=True)
    for i in range(4):
        cv2.imwrite(str(data / f"{i}.png"), cv2.cvtColor(street_scene(i, size=(32, 48))[0], cv2.COLOR_RGB2BGR))
    config = tmp_path / "config.json"
    config.write_text(json.dumps(CONFIG.to_dict()))
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc-per-node=2", "--master-port", str(_free_port()),
           "-m", "freqaug", "train", "--data", str(data.parent), "--out", str(tmp_path / "run"), "--config", str(config)]
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=300, env=os.environ | {"OMP_NUM_THREADS": "1"})
    assert result.returncode == 0, result.stdout + result.stderr
    log = (tmp_path / "run" / "log.jsonl").read_text().splitlines()
    assert len(log) == 5  # rank 0 alone writes the log
