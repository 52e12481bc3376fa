"""DataLoader workers: reproducible epochs from the loader seed, distinct workers, spawn, threads, SyntheticMix."""
import os

import pytest
import torch
from torch.utils.data import DataLoader

from freqaug import runtime
from freqaug.augment import SyntheticMix
from freqaug.data import SyntheticStreets
from tests.augment._frontends import RUNNERS, AugmentedScenes, uint8_scenes

# albumentations draws from its Compose's RNG (seeded), torchvision from torch's global RNG (no seed)
SEEDS = {"albu": 0, "tv": None}


def same_scene_dataset(name, bundle_path, scenes, n=4):
    """``n`` copies of one scene through a fresh pipeline at p = 1: any two outputs differ only by their draws."""
    images, masks = uint8_scenes(scenes)
    runner = RUNNERS[name](bundle_path, SEEDS[name], p=1.0)
    return AugmentedScenes(runner, images[:1].expand(n, -1, -1, -1), masks[:1].expand(n, -1, -1))


def epoch(dataset, workers, loader_seed, context="fork"):
    """Every item of one epoch, in order, from a DataLoader seeded with ``loader_seed``."""
    torch.manual_seed(loader_seed)  # with 0 workers, torch's global RNG is the one the transforms use
    loader = DataLoader(dataset, batch_size=1, num_workers=workers, generator=torch.Generator().manual_seed(loader_seed),
                        multiprocessing_context=context if workers else None)
    items = list(loader)
    return {key: torch.cat([item[key] for item in items]) for key in items[0] if key != "name"}


@pytest.mark.parametrize("workers", [0, 2])
@pytest.mark.parametrize("name", ["albu", "tv"])
def test_the_loader_seed_gives_the_same_epoch_and_every_draw_differs(name, workers, bundle_path, scenes):
    first = epoch(same_scene_dataset(name, bundle_path, scenes), workers, 7)
    again = epoch(same_scene_dataset(name, bundle_path, scenes), workers, 7)
    assert torch.equal(first["image"], again["image"])
    assert sorted(set(first["worker"].tolist())) == ([-1] if workers == 0 else [0, 1])
    images = first["image"]
    assert all(not torch.equal(images[i], images[j]) for i in range(4) for j in range(i))  # workers differ too
    if name == "tv":  # albumentations' draws come from its Compose seed, not the loader's
        assert not torch.equal(epoch(same_scene_dataset(name, bundle_path, scenes), workers, 8)["image"], images)


def test_spawn_workers_give_the_epoch_of_fork_workers_and_share_the_cores(bundle_path, scenes):
    spawned = epoch(same_scene_dataset("tv", bundle_path, scenes), 2, 7, context="spawn")
    forked = epoch(same_scene_dataset("tv", bundle_path, scenes), 2, 7, context="fork")
    assert torch.equal(spawned["image"], forked["image"])
    assert sorted(set(spawned["worker"].tolist())) == [0, 1]
    assert set(spawned["threads"].tolist()) == {runtime.worker_threads(2)}


def test_forked_workers_keep_one_thread(bundle_path, scenes, monkeypatch):
    # torch's OpenMP pool is not fork-safe: more threads in a forked worker would deadlock
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: set(range(8)))  # forked workers inherit it
    assert epoch(same_scene_dataset("tv", bundle_path, scenes), 2, 0)["threads"].tolist() == [1, 1, 1, 1]


def test_a_fresh_worker_process_gets_its_share_of_the_cores(monkeypatch):
    info = type("Info", (), {"id": 0, "num_workers": 2, "seed": 0})()
    calls = []
    monkeypatch.setattr(runtime, "get_worker_info", lambda: info)
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: set(range(8)))
    monkeypatch.setattr(runtime, "_TUNED_PIDS", set())
    monkeypatch.setattr(torch, "set_num_threads", calls.append)
    runtime.tune_worker_threads()
    runtime.tune_worker_threads()  # once per process
    assert calls == [4]
    monkeypatch.setattr(runtime, "_TUNED_PIDS", set())
    monkeypatch.setattr(runtime, "_IMPORT_PID", -1)  # as in a forked worker
    runtime.tune_worker_threads()
    assert calls == [4]


def test_synthetic_mix_gives_the_same_samples_in_workers(bundle_path):
    mix = SyntheticMix(SyntheticStreets(2, size=(32, 48)), bundle_path, 1.5)
    serial = epoch(mix, 0, 0)
    parallel = epoch(mix, 2, 0)
    assert torch.equal(serial["image"], parallel["image"]) and serial["synthetic"].tolist() == [False] * 2 + [True] * 3


@pytest.mark.cuda
@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")
def test_cuda_generation_works_in_spawn_workers_and_forked_ones_get_our_error(bundle_path, scenes):
    images, masks = uint8_scenes(scenes)
    dataset = AugmentedScenes(RUNNERS["tv"](bundle_path, None, p=1.0, device="cuda"), images, masks)
    torch.cuda.init()  # CUDA initialised in the parent, as in a training script
    spawned = epoch(dataset, 2, 0, context="spawn")
    assert spawned["image"].shape == images.shape and not torch.equal(spawned["image"], images)
    with pytest.raises(RuntimeError, match="forked after CUDA was initialised"):
        epoch(dataset, 2, 0, context="fork")
