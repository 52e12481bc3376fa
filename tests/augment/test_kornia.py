"""FreqAugKornia: a kornia augmentation in its own right (replay, gate options, sequences, layouts)."""
import pickle

import kornia.augmentation as K
import pytest
import torch

from freqaug.augment.kornia import FreqAugKornia, FreqAugSequential


def test_a_sequence_with_kornias_own_ops_replays_bit_for_bit(bundle_path, scenes):
    images, labels = scenes
    masks = labels[:, None].float()
    seq = K.AugmentationSequential(K.RandomHorizontalFlip(p=0.5), FreqAugKornia(bundle_path, p=0.7, strength=(0.3, 1.0)),
                                   K.ColorJitter(0.2, 0.2, p=0.5), data_keys=["input", "mask"])
    torch.manual_seed(0)
    out, out_masks = seq(images, masks)
    again, again_masks = seq(images, masks, params=seq._params)  # kornia's replay
    assert torch.equal(out, again) and torch.equal(out_masks, again_masks)
    params = {p.name: p.data for p in seq._params}
    fresh, _ = seq(images, masks)
    assert not torch.equal(out, fresh)  # new parameters draw new scenes
    freq = next(v for k, v in params.items() if "FreqAugKornia" in k)
    assert freq["z"].shape[0] == 4 and freq["strength"].shape == (4,) and "batch_prob" in freq
    # the masks only follow the geometric op: a flipped sample's mask is flipped, nothing else changes it
    flipped = next(v for k, v in params.items() if "HorizontalFlip" in k)["batch_prob"] > 0.5
    for i in range(4):
        expect = masks[i].flip(-1) if flipped[i] else masks[i]
        assert torch.equal(out_masks[i], expect)


def test_gate_options_follow_kornias_conventions(bundle_path, scenes):
    images = scenes[0]
    torch.manual_seed(1)
    assert torch.equal(FreqAugKornia(bundle_path, p=0.0)(images), images)
    assert torch.equal(FreqAugKornia(bundle_path, p=1.0, p_batch=0.0)(images), images)
    aug = FreqAugKornia(bundle_path, p=1.0, mode="blend", same_on_batch=True)
    same = aug(images[:1].expand(3, -1, -1, -1).contiguous())
    assert torch.equal(same[0], same[1]) and torch.equal(same[0], same[2])  # one scene, one strength for the batch
    aug = FreqAugKornia(bundle_path, p=1.0, keepdim=True)
    assert aug(images[0]).shape == images[0].shape  # (C, H, W) in, (C, H, W) out
    applied = FreqAugKornia(bundle_path, p=0.5, seed=3)
    out = applied(images)
    gate = applied._params["batch_prob"] > 0.5
    changed = (out - images).abs().flatten(1).amax(1) > 0
    assert torch.equal(changed, gate)  # exactly the gated samples change


def test_a_seeded_augmentation_repeats_and_pickles_its_configuration(bundle_path, scenes):
    images = scenes[0]
    first = FreqAugKornia(bundle_path, p=1.0, seed=5)(images)
    assert torch.equal(FreqAugKornia(bundle_path, p=1.0, seed=5)(images), first)
    aug = FreqAugKornia(bundle_path, p=1.0, seed=5, mode="coarse")
    aug(images)
    copy = pickle.loads(pickle.dumps(aug))
    assert copy.config == aug.config and getattr(copy, "_params", None) is None


def test_a_conditional_bundle_takes_the_layouts_and_replays_them(cond_bundle_path, scenes):
    images, labels = scenes
    aug = FreqAugKornia(cond_bundle_path, p=1.0, mode="replace")
    torch.manual_seed(2)
    out = aug(images, layout=labels)
    assert torch.equal(aug(images, params=aug._params), out)  # the layouts are part of the recorded params
    other = labels.flip(-1)
    assert not torch.equal(aug(images, params={**aug._params, "layout": other}), out)
    with pytest.raises(ValueError, match="layout: the bundle .* is conditional"):
        aug(images)


def test_masks_in_a_freqaug_sequential_reach_a_conditional_bundle_after_the_geometric_ops(cond_bundle_path, scenes):
    images, labels = scenes
    masks = labels[:, None].float()  # kornia's masks: float (B, 1, H, W)
    seq = FreqAugSequential(K.RandomHorizontalFlip(p=1.0), FreqAugKornia(cond_bundle_path, p=1.0, mode="replace"),
                            data_keys=["input", "mask"])
    torch.manual_seed(4)
    out, out_masks = seq(images, masks)
    assert torch.equal(out_masks, masks.flip(-1))
    freq = next(p.data for p in seq._params if "FreqAugKornia" in p.name)
    assert torch.equal(freq["layout"], masks.flip(-1))  # the flipped masks, recorded for replay
    direct = seq[1](images.flip(-1), params={k: v for k, v in freq.items() if k != "layout"}, layout=labels.flip(-1))
    assert torch.equal(out, direct)  # the same scenes as drawing from the flipped layouts by hand
    unflipped = seq[1](images.flip(-1), params={k: v for k, v in freq.items() if k != "layout"}, layout=labels)
    assert not torch.equal(out, unflipped)
    again, again_masks = seq(images, masks, params=seq._params)
    assert torch.equal(out, again) and torch.equal(out_masks, again_masks)
    plain = K.AugmentationSequential(FreqAugKornia(cond_bundle_path, p=1.0), data_keys=["input", "mask"])
    with pytest.raises(ValueError, match="layout: the bundle .* is conditional.*FreqAugSequential"):
        plain(images, masks)  # kornia's own container keeps the masks from it: a clear error, not a wrong scene
    with pytest.raises(ValueError, match="layout: expected class ids"):
        seq(images, masks + 0.5)


def test_replace_with_an_unconditional_bundle_is_refused(bundle_path):
    with pytest.raises(ValueError, match="mode: 'replace' with an unconditional bundle"):
        FreqAugKornia(bundle_path, mode="replace")
