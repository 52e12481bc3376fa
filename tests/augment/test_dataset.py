"""SyntheticMix (real + flagged synthetic samples, epochs, DistributedSampler) and SyntheticBank."""
import pickle
import time

import numpy as np
import pytest
import torch
from PIL import Image
from torch.utils.data import DataLoader, DistributedSampler, TensorDataset

from freqaug.augment import SyntheticBank, SyntheticMix
from freqaug.data import SegmentationFolder, SyntheticStreets


@pytest.fixture(scope="module")
def streets():
    return SyntheticStreets(4, size=(32, 48), seed=0)


def test_real_then_synthetic_samples_with_flags_and_ignore_masks(bundle_path, streets):
    mix = SyntheticMix(streets, bundle_path, 0.5, ignore_index=11)
    assert len(mix) == 6 and mix.synthetic_count == 2
    real = mix[1]
    assert real["synthetic"] is False and torch.equal(real["image"], streets[1]["image"])
    synthetic = mix[5]
    assert synthetic["synthetic"] is True and synthetic["name"] == "synthetic_000001"
    assert synthetic["image"].shape == (3, 32, 48) and synthetic["image"].dtype == torch.float32
    assert synthetic["label"].dtype == torch.int64 and bool((synthetic["label"] == 11).all())
    batch = next(iter(DataLoader(mix, batch_size=6)))
    assert batch["synthetic"].tolist() == [False] * 4 + [True] * 2


def test_synthetic_images_depend_on_seed_epoch_and_index_only(bundle_path, streets):
    mix = SyntheticMix(streets, bundle_path, 1.0, seed=3)
    first = torch.stack([mix[i]["image"] for i in range(4, 8)])
    assert torch.equal(mix[6]["image"], first[2])
    assert torch.equal(SyntheticMix(streets, bundle_path, 1.0, seed=3)[5]["image"], first[1])
    mix.set_epoch(1)
    assert not torch.equal(mix[4]["image"], first[0])
    mix.set_epoch(0)
    assert torch.equal(mix[4]["image"], first[0])
    assert not torch.equal(SyntheticMix(streets, bundle_path, 1.0, seed=4)[4]["image"], first[0])


def test_pairs_and_uint8_images_are_supported(bundle_path):
    images, masks = torch.randint(0, 256, (3, 3, 20, 20), dtype=torch.uint8), torch.zeros(3, 20, 20, dtype=torch.uint8)
    mix = SyntheticMix(TensorDataset(images, masks), bundle_path, 1.0)
    sample = mix[4]
    assert sample.keys() == {"image", "mask", "synthetic"} and sample["image"].dtype == torch.uint8
    assert bool((sample["mask"] == 11).all()) and mix[0]["mask"].dtype == torch.uint8  # CamVid's ignore id, as
    assert SegmentationFolder.__init__.__kwdefaults__["ignore_index"] == mix.ignore_index  # SegmentationFolder's


def _pil_pairs(n, size=(20, 24)):
    """What a torchvision segmentation dataset yields without a transform: (PIL RGB image, PIL P mask)."""
    rng = np.random.default_rng(0)
    palette = [v for i in range(256) for v in (i, 255 - i, (7 * i) % 256)]
    pairs = []
    for _ in range(n):
        image = Image.fromarray(rng.integers(0, 256, (*size, 3), dtype=np.uint8))
        mask = Image.fromarray(rng.integers(0, 11, size, dtype=np.uint8))
        mask.putpalette(palette)
        pairs.append((image, mask))
    return pairs


@pytest.mark.parametrize("kind", ["pil", "numpy_hwc", "tensor_hwc"])
def test_pil_and_channels_last_samples_come_back_in_their_own_format(bundle_path, kind):
    pairs = _pil_pairs(3)
    if kind == "numpy_hwc":
        pairs = [(np.asarray(image), np.asarray(mask)) for image, mask in pairs]
    elif kind == "tensor_hwc":
        pairs = [(torch.from_numpy(np.asarray(image).copy()), torch.from_numpy(np.asarray(mask).copy()))
                 for image, mask in pairs]
    mix = SyntheticMix(pairs, bundle_path, 1.0, ignore_index=255)
    real, synthetic = mix[0], mix[4]
    assert synthetic["synthetic"] is True and type(synthetic["image"]) is type(real["image"])
    assert type(synthetic["mask"]) is type(real["mask"])
    image, mask = np.asarray(synthetic["image"]), np.asarray(synthetic["mask"])
    assert image.shape == (20, 24, 3) and image.dtype == np.uint8 and image.std() > 0  # a generated scene
    assert mask.shape == (20, 24) and bool((mask == 255).all())
    if kind == "pil":
        assert synthetic["image"].mode == "RGB" and synthetic["mask"].mode == "P"
        assert synthetic["mask"].getpalette() == real["mask"].getpalette()
    # the same generated pixels as a (C, H, W) float dataset gets
    chw = [(torch.from_numpy(np.asarray(i).copy()).permute(2, 0, 1), torch.from_numpy(np.asarray(m).copy()))
           for i, m in _pil_pairs(3)]
    reference = SyntheticMix(chw, bundle_path, 1.0)[4]["image"]
    assert np.array_equal(image, reference.permute(1, 2, 0).numpy())


def test_a_sample_format_it_cannot_hand_back_is_named(bundle_path):
    with pytest.raises(ValueError, match=r"expected 3 channel\(s\), got an array of shape \(20, 24\) \(PIL mode L\)"):
        SyntheticMix([Image.new("L", (24, 20))], bundle_path, 1.0)
    with pytest.raises(TypeError, match="expected a tensor, a numpy array or a PIL image, got list"):
        SyntheticMix([{"image": [[0]]}], bundle_path, 1.0)


def test_distributed_sampler_ranks_cover_every_sample_once(bundle_path, streets):
    mix = SyntheticMix(streets, bundle_path, 1.5)  # 4 real + 6 synthetic
    seen = []
    for rank in (0, 1):
        sampler = DistributedSampler(mix, num_replicas=2, rank=rank, shuffle=True, seed=0)
        sampler.set_epoch(1)
        seen += list(sampler)
    assert sorted(seen) == list(range(len(mix)))


def test_bad_arguments_are_named(bundle_path, streets):
    with pytest.raises(ValueError, match="ratio: expected a number >= 0"):
        SyntheticMix(streets, bundle_path, -1)
    with pytest.raises(ValueError, match="dataset: expected at least one sample"):
        SyntheticMix(TensorDataset(torch.zeros(0, 3, 8, 8)), bundle_path, 1)
    with pytest.raises(ValueError, match="ignore_index: 300 does not fit"):
        SyntheticMix(TensorDataset(torch.zeros(2, 3, 8, 8), torch.zeros(2, 8, 8, dtype=torch.uint8)), bundle_path, 1,
                     ignore_index=300)
    with pytest.raises(ValueError, match="mask_key: 'seg' is not a key"):
        SyntheticMix(streets, bundle_path, 1, mask_key="seg")
    with pytest.raises(IndexError, match=r"index: expected an integer in \[0, 8\)"):
        SyntheticMix(streets, bundle_path, 1)[8]


def wait_for(predicate, timeout=30.0):
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


def test_bank_serves_pool_images_and_refreshes_them_in_the_background(bundle_path):
    with SyntheticBank(bundle_path, size=8, refresh=0.5, batch_size=4, seed=1) as bank:
        first = bank.draw(8)
        assert first.shape == (8, 3, 16, 24) and 0 <= first.min() and first.max() <= 1
        wait_for(lambda: bank.stats()["refreshed"] >= 4)
        pool_before = bank._pool.images.clone()
        bank.draw(8)
        wait_for(lambda: bank.stats()["refreshed"] >= 8)
        assert bank.stats() == {"served": 16, "refreshed": 8, "size": 8}
        images = bank._pool.images  # the first refresh replaced slots 0-3, this one the oldest: 4-7
        assert torch.equal(images[:4], pool_before[:4]) and not torch.equal(images[4:], pool_before[4:])
    assert not bank._pool.thread.is_alive()
    with pytest.raises(RuntimeError, match="closed"):
        bank.draw()


def test_bank_pickles_its_configuration_and_feeds_synthetic_mix(bundle_path, streets):
    bank = SyntheticBank(bundle_path, size=4, refresh=0.25, batch_size=4)
    try:
        mix = SyntheticMix(streets, bundle_path, 1.0, bank=bank)
        sample = mix[6]
        assert sample["synthetic"] and sample["image"].shape == (3, 32, 48) and bank.stats()["served"] == 1
        copy = pickle.loads(pickle.dumps(mix))
        assert copy.bank._pool is None and copy.bank.size == 4
    finally:
        bank.close()
    assert not bank._pool.thread.is_alive()


def test_bank_reports_a_failed_refresh_thread(bundle_path, monkeypatch):
    from freqaug.augment import bank as bank_module

    with SyntheticBank(bundle_path, size=4, refresh=1.0, batch_size=4) as bank:
        bank.draw(1)
        monkeypatch.setattr(bank_module, "_generate", lambda *a: (_ for _ in ()).throw(OSError("disk gone")))
        bank.draw(1)
        wait_for(lambda: bank._pool.error is not None)
        with pytest.raises(RuntimeError, match="refresh thread failed.*disk gone"):
            bank.draw(1)


def test_bank_arguments_are_checked(bundle_path):
    with pytest.raises(ValueError, match=r"refresh: expected a number in \[0, 1\]"):
        SyntheticBank(bundle_path, refresh=2)
    with pytest.raises(ValueError, match="size: expected an integer >= 1"):
        SyntheticBank(bundle_path, size=0)
