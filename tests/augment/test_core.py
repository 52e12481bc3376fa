"""FreqAugmenter: construction checks, one generator call per batch, the modes, per-process loading and seeds."""
import os
import pickle
import subprocess
import sys

import pytest
import torch

from freqaug.augment import AugmentConfig, FreqAugmenter, band_mix, blend_images, default_bands, replace_images
from freqaug import runtime
from freqaug.augment import core
from freqaug.bundle import Bundle, BundleError, load_bundle


def make(path, **kwargs):
    return FreqAugmenter(AugmentConfig(path, **kwargs))


def test_importing_the_package_imports_neither_albumentations_nor_torchvision_transforms():
    code = ("import sys, freqaug.augment; "
            "assert 'albumentations' not in sys.modules and 'torchvision.transforms.v2' not in sys.modules")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_a_missing_bundle_or_unknown_bands_fail_at_construction(bundle_path, tmp_path):
    with pytest.raises(BundleError, match="does not exist"):
        make(tmp_path / "missing.safetensors")
    with pytest.raises(ValueError, match=r"bands: unknown band\(s\) \['HH3'\]"):
        make(bundle_path, bands=["HH3"])


def test_augment_changes_only_the_applied_samples_with_one_generator_call(bundle_path, monkeypatch):
    augmenter = make(bundle_path, p=0.5)
    calls = []
    original = Bundle.images_from_z
    monkeypatch.setattr(Bundle, "images_from_z", lambda self, z: calls.append(len(z)) or original(self, z))
    images = torch.rand(6, 3, 32, 48)
    params = augmenter.sample(6, generator=torch.Generator().manual_seed(1))
    params["apply"] = torch.tensor([True, False, True, True, False, False])
    out, applied = augmenter.augment(images, params)
    assert calls == [3] and torch.equal(applied, params["apply"])
    assert torch.equal(out[~applied], images[~applied])
    assert all(not torch.equal(out[i], images[i]) for i in (0, 2, 3))


def test_each_mode_is_its_kernel_on_the_generated_images(bundle_path, channel_bundle_path):
    images = torch.rand(2, 3, 20, 30)
    params = {"apply": torch.tensor([True, True]), "strength": torch.tensor([0.3, 0.9]),
              "z": torch.randn(2, 16, generator=torch.Generator().manual_seed(0))}
    for path in (bundle_path, channel_bundle_path):
        bundle = load_bundle(path)
        generated = bundle.images_from_z(params["z"])
        expected = {
            "bands": band_mix(images, generated, bundle.spec, bands=default_bands(bundle.spec), strength=params["strength"]),
            "blend": blend_images(images, generated, params["strength"][:, None] * bundle.alpha[None]),
            "replace": replace_images(images, generated),
        }
        for mode, reference in expected.items():
            out, _ = make(path, mode=mode).augment(images, params)
            torch.testing.assert_close(out, reference, msg=f"{path.name} {mode}")
    out, _ = make(bundle_path, mode="blend", weight=0.5).augment(images, params)
    generated = load_bundle(bundle_path).images_from_z(params["z"])
    torch.testing.assert_close(out, blend_images(images, generated, 0.5 * params["strength"]))


def test_bad_images_are_named(bundle_path):
    augmenter = make(bundle_path, p=1.0)
    params = augmenter.sample(2)
    with pytest.raises(ValueError, match="images: expected 3 channels .* got 1"):
        augmenter.augment(torch.rand(2, 1, 16, 16), params)
    with pytest.raises(TypeError, match="images: expected a float"):
        augmenter.augment(torch.zeros(2, 3, 16, 16, dtype=torch.uint8), params)
    with pytest.raises(ValueError, match=r"params\['apply'\]: expected shape \(3,\)"):
        augmenter.augment(torch.rand(3, 3, 16, 16), params)
    with pytest.raises(ValueError, match="too small"):
        augmenter.augment(torch.rand(2, 3, 1, 1), params)
    with pytest.raises(ValueError, match="layout: the bundle .* is unconditional .* takes no layouts"):
        make(bundle_path, mode="replace").augment(torch.rand(2, 3, 16, 16), params,
                                                  layout=torch.zeros(2, 16, 16, dtype=torch.long))


def test_the_bundle_loads_once_per_process_and_device(bundle_path):
    augmenter = make(bundle_path)
    assert augmenter.bundle_on("cpu") is make(bundle_path).bundle_on("cpu")
    assert (str(bundle_path.resolve()), "cpu", os.getpid()) in core._BUNDLES


def test_pickling_keeps_the_configuration_only(bundle_path):
    augmenter = make(bundle_path, seed=3)
    augmenter.sample(2)
    state = augmenter.__getstate__()
    assert state == {"config": augmenter.config}
    copy = pickle.loads(pickle.dumps(augmenter))
    assert copy.config == augmenter.config and copy._generator is None


def test_seeded_generators_differ_per_worker_and_repeat(monkeypatch):
    def seed_in_worker(worker):
        info = None if worker is None else type("Info", (), {"id": worker, "num_workers": 2, "seed": 0})()
        monkeypatch.setattr(core, "get_worker_info", lambda: info)
        return core.process_generator(7).initial_seed()

    seeds = [seed_in_worker(w) for w in (None, 0, 1, 1)]
    assert len(set(seeds[:3])) == 3 and seeds[2] == seeds[3]


def test_worker_thread_rule(monkeypatch):
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: set(range(8)))
    assert [runtime.worker_threads(n) for n in (1, 2, 3, 8, 16)] == [8, 4, 2, 1, 1]


def test_a_forked_cuda_worker_gets_our_error_before_any_cuda_call(bundle_path, monkeypatch):
    augmenter = make(bundle_path, device="cuda", p=1.0)  # construction checks the bundle on the CPU

    def no_cuda(*args, **kwargs):
        raise AssertionError("CUDA was touched")

    monkeypatch.setattr(torch.cuda, "_is_in_bad_fork", lambda: True)
    monkeypatch.setattr(torch.cuda, "_lazy_init", no_cuda)
    monkeypatch.setattr(torch.cuda, "init", no_cuda)
    with pytest.raises(RuntimeError, match=r"forked after CUDA was initialised.*multiprocessing_context='spawn'"):
        augmenter.sample(2)
    with pytest.raises(RuntimeError, match="device='cpu' in workers and FreqAugBatch on the GPU"):
        augmenter.augment(torch.rand(2, 3, 16, 16), {"apply": torch.ones(2, dtype=torch.bool)})
