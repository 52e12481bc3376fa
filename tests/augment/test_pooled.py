"""PooledFreqAug: the pool is seeded, draws come from the passed generator, labels pass through."""
import pytest
import torch

from freqaug.augment.pooled import PooledFreqAug


def gen(seed):
    return torch.Generator().manual_seed(seed)


@pytest.mark.parametrize("mode", ["bands", "coarse", "blend"])
def test_changes_the_applied_images_only_and_keeps_labels(bundle_path, scenes, mode):
    images, labels = scenes
    augment = PooledFreqAug(bundle_path, mode=mode, p=0.5, pool_size=6, seed=0, batch_size=4)
    assert augment.pool.shape == (6, 3, 16, 24) and augment.pool_seconds >= 0
    params = augment.sample(len(images), gen(1))
    out = augment.apply(images, params)
    applied = params["apply"]
    assert 0 < int(applied.sum()) < len(images)  # seed 1 draws a mix of both
    assert torch.equal(out[~applied], images[~applied])
    assert all(not torch.equal(out[i], images[i]) for i in applied.nonzero().flatten())
    _, out_labels = augment(images, labels, gen(1))
    assert out_labels is labels


def test_same_seeds_give_the_same_output_and_other_seeds_differ(bundle_path, scenes):
    images, labels = scenes
    a = PooledFreqAug(bundle_path, p=1.0, pool_size=4, seed=0)
    b = PooledFreqAug(bundle_path, p=1.0, pool_size=4, seed=0)
    assert torch.equal(a.pool, b.pool)
    assert not torch.equal(a.pool, PooledFreqAug(bundle_path, p=1.0, pool_size=4, seed=1).pool)
    torch.testing.assert_close(a(images, labels, gen(5))[0], b(images, labels, gen(5))[0], rtol=0, atol=0)
    assert not torch.equal(a(images, labels, gen(5))[0], a(images, labels, gen(6))[0])


def test_replace_and_bad_sizes_are_refused(bundle_path, tmp_path):
    with pytest.raises(ValueError, match="replace.*SyntheticMix"):
        PooledFreqAug(bundle_path, mode="replace")
    with pytest.raises(ValueError, match="pool_size"):
        PooledFreqAug(bundle_path, pool_size=0)
    with pytest.raises(Exception, match="missing.safetensors"):
        PooledFreqAug(tmp_path / "missing.safetensors")
