"""FreqAugBatch: per-sample p, replay, dtypes, kornia, replaced masks, CUDA."""
import kornia.augmentation as K
import pytest
import torch

from freqaug.augment import FreqAugBatch

needs_cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")


def batch(n=16):
    return torch.rand(n, 3, 24, 32, generator=torch.Generator().manual_seed(0))


def test_per_sample_p_and_replay_from_last_params(bundle_path):
    transform = FreqAugBatch(bundle_path, p=0.5)
    images = batch()
    out = transform(images, generator=torch.Generator().manual_seed(3))
    applied = transform.last_params["apply"]
    assert 0 < int(applied.sum()) < len(images)
    assert torch.equal(out[~applied], images[~applied])
    assert all(not torch.equal(out[i], images[i]) for i in applied.nonzero().flatten())
    torch.testing.assert_close(transform(images, transform.last_params), out, rtol=0, atol=0)
    torch.testing.assert_close(transform(images, generator=torch.Generator().manual_seed(3)), out, rtol=0, atol=0)


def test_uint8_batches_stay_uint8(bundle_path):
    images = (batch(4) * 255).to(torch.uint8)
    out = FreqAugBatch(bundle_path, mode="blend", p=1.0, seed=0)(images)
    assert out.dtype == torch.uint8 and out.shape == images.shape and not torch.equal(out, images)


def test_inside_kornia_augmentation_sequential_only_images_change(bundle_path):
    freqaug = FreqAugBatch(bundle_path, p=1.0, seed=0)
    pipeline = K.AugmentationSequential(K.RandomHorizontalFlip(p=0.0), freqaug, data_keys=["input", "mask"])
    images, masks = batch(4), torch.randint(0, 11, (4, 1, 24, 32)).float()
    out_images, out_masks = pipeline(images, masks)
    assert torch.equal(out_masks, masks) and not torch.equal(out_images, images)
    torch.testing.assert_close(out_images, freqaug(images, freqaug.last_params), rtol=0, atol=0)
    beside = FreqAugBatch(bundle_path, p=1.0, seed=0)(K.RandomHorizontalFlip(p=0.0)(images))
    torch.testing.assert_close(beside, out_images, rtol=0, atol=0)


def test_ignore_replaced_marks_the_replaced_samples_in_replace_mode_only(bundle_path):
    masks = torch.randint(0, 11, (16, 24, 32))
    with pytest.raises(RuntimeError, match="call the transform on a batch first"):
        FreqAugBatch(bundle_path, mode="replace").ignore_replaced(masks)
    replace = FreqAugBatch(bundle_path, mode="replace", p=0.5, ignore_index=11)
    replace(batch(), generator=torch.Generator().manual_seed(1))
    applied = replace.last_params["apply"]
    marked = replace.ignore_replaced(masks)
    assert bool((marked[applied] == 11).all()) and torch.equal(marked[~applied], masks[~applied])
    bands = FreqAugBatch(bundle_path, p=1.0)
    bands(batch())
    assert bands.ignore_replaced(masks) is masks
    with pytest.raises(ValueError, match="masks: expected a tensor"):
        replace.ignore_replaced(masks[:3])


def test_bad_batches_are_named(bundle_path):
    with pytest.raises(ValueError, match=r"images: expected a \(B, C, H, W\) tensor, got \(3, 24, 32\)"):
        FreqAugBatch(bundle_path)(batch(1)[0])


@pytest.mark.cuda
@needs_cuda
def test_on_cuda_the_generator_follows_the_images_and_matches_the_cpu(bundle_path):
    transform = FreqAugBatch(bundle_path, p=1.0)
    images = batch(8)
    params = transform.augmenter.sample(8, generator=torch.Generator().manual_seed(0))
    out = transform(images.cuda(), params)
    assert out.device.type == "cuda"
    torch.testing.assert_close(out.cpu(), transform(images, params), atol=1e-4, rtol=0)
    generator = torch.Generator(device="cuda").manual_seed(0)
    assert transform(images.cuda(), generator=generator).device.type == "cuda"


@pytest.mark.parametrize("mode", ["bands", "coarse"])
def test_a_bundle_used_on_4x_larger_images_keeps_their_finest_detail(bundle_path, mode):
    # the tiny bundle is 16x24; on 64x96 scenes the mix is scale-aware: the finest real detail stays
    from freqaug.bands import BandSpec, decompose
    from freqaug.data import synthetic_batch

    images = synthetic_batch(4, size=(64, 96), seed=2)[0]
    bands = ["LL2", "LH2", "HL2", "HH2", "LH1", "HL1", "HH1"] if mode == "bands" else None
    out = FreqAugBatch(bundle_path, mode=mode, p=1.0, seed=0, bands=bands)(images)

    def finest(x):
        parts = decompose(x, BandSpec(levels=1))
        return sum(float(parts[f"{d}1"].pow(2).mean()) for d in ("LH", "HL", "HH"))

    assert not torch.equal(out, images)
    assert finest(out) == pytest.approx(finest(images), rel=0.25)
