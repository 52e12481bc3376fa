"""Training-time arms: labels follow the images' geometry, seeds replay, freqaug/FDA change images only."""
import pytest
import torch

from freqaug.augment.pooled import PooledSyntheticPairs
from tests import load_script
from tests.augment.conftest import bundle_path, cond_bundle_path, one_thread, scenes  # noqa: F401 (fixtures)

_arms = load_script("benchmarks/arms.py", "arms")
ARMS, REPLACE_RATIOS, ArmNotAvailable, Chain = _arms.ARMS, _arms.REPLACE_RATIOS, _arms.ArmNotAvailable, _arms.Chain
StandardAugment, StandardConfig, make_arm, needs_bundle = (_arms.StandardAugment, _arms.StandardConfig, _arms.make_arm,
                                                           _arms.needs_bundle)
standard_params, standard_transform, unavailable = _arms.standard_params, _arms.standard_transform, _arms.unavailable

NO_COLOUR = StandardConfig(brightness=0, contrast=0, saturation=0)


def gen(seed):
    return torch.Generator().manual_seed(seed)


def coded(labels):
    """Images whose every channel is label / 11: the labels can be read back from the pixels."""
    return (labels.float() / 11)[:, None].expand(-1, 3, -1, -1).contiguous()


def agreement(images, labels):
    return float((torch.round(images[:, 0] * 11).long() == labels).float().mean())


def test_labels_stay_aligned_with_images_under_flip_and_zoom(scenes):
    _, labels = scenes
    images = coded(labels)
    params = standard_params(len(labels), NO_COLOUR, gen(0))
    params["flip"][:2] = torch.tensor([True, False])
    params["scale"][:2] = 1.45
    out, out_labels = standard_transform(images, labels, params)
    assert out_labels.dtype == labels.dtype and out_labels.shape == labels.shape
    assert not torch.equal(out_labels, labels)
    assert agreement(out, out_labels) > 0.85  # only pixels at label boundaries are blended
    assert agreement(out, labels) < 0.8  # a control: the moved images no longer match the old labels
    assert agreement(out.flip(-1), out_labels) < 0.8


def test_a_flip_alone_mirrors_images_and_labels_exactly_and_nothing_is_the_identity(scenes):
    images, labels = scenes
    params = standard_params(len(labels), NO_COLOUR, gen(0))
    params["scale"][:] = 1.0
    params["flip"][:] = True
    out, out_labels = standard_transform(images, labels, params)
    torch.testing.assert_close(out, images.flip(-1), rtol=0, atol=1e-6)
    assert torch.equal(out_labels, labels.flip(-1))
    params["flip"][:] = False
    out, out_labels = standard_transform(images, labels, params)
    torch.testing.assert_close(out, images, rtol=0, atol=1e-6)
    assert torch.equal(out_labels, labels)


def test_colour_jitter_changes_images_within_range(scenes):
    images, labels = scenes
    params = standard_params(len(labels), StandardConfig(flip=0, scale=(1, 1)), gen(2))
    out, out_labels = standard_transform(images, labels, params)
    assert torch.equal(out_labels, labels) and not torch.allclose(out, images)
    assert 0 <= float(out.min()) and float(out.max()) <= 1


@pytest.fixture
def arms(bundle_path, scenes):
    images, labels = scenes
    return {arm: make_arm(arm, train_images=images, bundle_path=bundle_path, seed=0, p=1.0, pool_size=4,
                          train_labels=labels, labelled_images=images)
            for arm in ARMS if arm not in ("none", *REPLACE_RATIOS)}


def test_every_arm_replays_from_the_same_seed_and_differs_across_seeds(arms, scenes):
    images, labels = scenes
    for name, arm in arms.items():
        a, b, c = arm(images, labels, gen(7)), arm(images, labels, gen(7)), arm(images, labels, gen(8))
        assert torch.equal(a[0], b[0]) and torch.equal(a[1], b[1]), name
        assert not torch.equal(a[0], c[0]), name


@pytest.mark.parametrize("name", ["fda", "augmix", "amplitude-real", "bands", "bands-real", "coarse", "coarse-real",
                                  "blend", "blend-real", "bands-soft"])
def test_peers_freqaug_modes_and_ablations_change_images_but_not_labels(arms, scenes, name):
    images, labels = scenes
    standard_images, standard_labels = StandardAugment()(images, labels, gen(3))
    out, out_labels = arms[name](images, labels, gen(3))  # the standard step draws first, from the same stream
    assert torch.equal(out_labels, standard_labels)
    assert out.shape == images.shape and 0 <= float(out.min()) and float(out.max()) <= 1
    change = [float((out[i] - standard_images[i]).abs().max()) for i in range(len(images))]
    if name in ("fda", "augmix"):  # A.FDA's window is floor(beta * min(H, W)) pixels: a small beta changes nothing
        assert max(change) > 0.05
    elif name == "bands-soft":  # strength U(0, 0.5): some change, at most about half of the full bands arm's
        full = arms["bands"](images, labels, gen(3))[0]
        soft_change, full_change = (out - standard_images).abs().mean(), (full - standard_images).abs().mean()
        assert 0 < soft_change < 0.55 * full_change
    else:
        assert min(change) > 0.05


@pytest.mark.parametrize("name", ["augmix+coarse", "augmix+coarse-real"])
def test_stacked_arms_apply_the_mode_to_augmix_output_and_keep_labels(arms, scenes, name):
    images, labels = scenes
    augmixed, augmix_labels = arms["augmix"](images, labels, gen(3))  # the same draws come first
    out, out_labels = arms[name](images, labels, gen(3))
    assert torch.equal(out_labels, augmix_labels) and out.shape == images.shape
    assert 0 <= float(out.min()) and float(out.max()) <= 1
    assert min(float((out[i] - augmixed[i]).abs().max()) for i in range(len(images))) > 0.05


def test_arm_table_and_refusals(scenes):
    assert make_arm("none") is None and isinstance(make_arm("standard"), StandardAugment)
    assert [a for a in ARMS if needs_bundle(a)] == ["bands", "bands-real", "coarse", "blend", "blend-real",
                                                    "bands-soft", "augmix+coarse", "replace25",
                                                    "replace50"]
    assert set(_arms.PEERS) <= set(ARMS) and all(_arms.ABLATIONS[m] in ARMS for m in _arms.ABLATIONS)
    with pytest.raises(ValueError, match="train_images: the 'coarse-real' arm draws its partners"):
        make_arm("coarse-real")
    with pytest.raises(ArmNotAvailable, match="needs a layout-conditional bundle"):
        make_arm("replace25")
    with pytest.raises(ValueError, match="expected one of"):
        make_arm("mixup")
    with pytest.raises(ValueError, match="train_images"):
        make_arm("fda")
    with pytest.raises(ValueError, match="bundle_path"):
        make_arm("bands")
    with pytest.raises(ValueError, match="StandardConfig.scale"):
        StandardConfig(scale=(0.5, 1.0))
    assert isinstance(make_arm("fda", train_images=scenes[0]), Chain)


def test_copy_paste_moves_object_pixels_with_their_labels(scenes):
    images, labels = scenes
    donors = labels.clone()
    donors[:, 10:20, 5:15] = 8  # every donor holds a car there
    paste = _arms.CopyPaste(coded(donors), donors, p=1.0)
    out, out_labels = paste(coded(labels), labels, gen(4))
    assert agreement(out, out_labels) == 1.0  # pixels and ids pasted together
    changed = out_labels != labels
    assert changed.any() and bool(torch.isin(out_labels[changed], torch.tensor(_arms.OBJECT_CLASSES)).all())
    for i in range(len(labels)):  # pasted pixels sit where the donor (maybe mirrored) has that class
        fits = [bool((donor[changed[i]] == out_labels[i][changed[i]]).all())
                for d in donors for donor in (d, d.flip(-1))]
        assert not changed[i].any() or any(fits)
    assert torch.equal(paste(coded(labels), labels, gen(4))[1], out_labels)  # replays by seed
    untouched = _arms.CopyPaste(coded(donors), donors, p=0.0)(coded(labels), labels, gen(4))
    assert torch.equal(untouched[1], labels) and torch.equal(untouched[0], coded(labels))
    with pytest.raises(ValueError, match="copy-paste takes its donors from the labelled pairs"):
        make_arm("copy-paste", train_images=images)


@pytest.mark.parametrize("arm", ["none", "standard", "fda", "augmix"])
def test_arms_without_a_bundle_never_read_the_bundle_path(arm, scenes, tmp_path):
    augment = make_arm(arm, train_images=scenes[0], bundle_path=tmp_path / "not_trained_yet.safetensors")
    assert augment is None or callable(augment)


def test_replace_arms_need_a_conditional_bundle(bundle_path, cond_bundle_path, scenes):
    images, labels = scenes
    with pytest.raises(ArmNotAvailable, match="arm 'replace50' .*needs a layout-conditional bundle"):
        make_arm("replace50", bundle_path=bundle_path, train_labels=labels)
    assert unavailable("replace25", bundle_path) is not None and unavailable("replace25", cond_bundle_path) is None
    assert unavailable("bands", None) is None and unavailable("bands", bundle_path) is None
    with pytest.raises(ArmNotAvailable, match="arm 'blend' mixes scenes from a pool generated without layouts"):
        make_arm("blend", bundle_path=cond_bundle_path)
    with pytest.raises(ValueError, match="train_labels: the 'replace25' arm"):
        make_arm("replace25", bundle_path=cond_bundle_path)
    arm = make_arm("replace50", bundle_path=cond_bundle_path, train_labels=labels, pool_size=4, seed=1)
    pairs = arm.augments[0]
    assert isinstance(pairs, PooledSyntheticPairs) and pairs.p == pytest.approx(1 / 3) and pairs.pool_seconds >= 0
    a, b = arm(images, labels, gen(5)), arm(images, labels, gen(5))
    assert torch.equal(a[0], b[0]) and torch.equal(a[1], b[1])


def test_synthetic_pairs_swap_image_and_label_together(cond_bundle_path, bundle_path, scenes):
    images, labels = scenes
    pairs = PooledSyntheticPairs(cond_bundle_path, labels, ratio=1.0, pool_size=6, seed=0)
    assert pairs.images.shape == (6, 3, 32, 48) and pairs.labels.shape == (6, 32, 48)
    real_ids = set(labels.unique().tolist())
    assert set(pairs.labels.unique().tolist()) <= real_ids  # edited maps only move or copy ids
    many_images, many_labels = images.repeat(8, 1, 1, 1), labels.repeat(8, 1, 1)
    out, out_labels = pairs(many_images, many_labels, gen(0))
    swapped = [i for i in range(32) if not torch.equal(out[i], many_images[i])]
    assert 8 <= len(swapped) <= 24  # p = 1 / (1 + 1)
    for i in range(32):
        match = [k for k in range(6) if torch.equal(out[i], pairs.images[k])]
        if i in swapped:  # a pool pair: its image with its own label map
            assert match and any(torch.equal(out_labels[i], pairs.labels[k]) for k in match)
        else:
            assert torch.equal(out_labels[i], many_labels[i])
    none = PooledSyntheticPairs(cond_bundle_path, labels, ratio=0.0, pool_size=2)
    assert torch.equal(none(images, labels, gen(0))[0], images)
    kept = PooledSyntheticPairs(cond_bundle_path, labels, pool_size=4, label_aug=None, seed=2)
    assert all(any(torch.equal(m, real) for real in labels) for m in kept.labels)
    with pytest.raises(ValueError, match="bundle_path: .* is unconditional"):
        PooledSyntheticPairs(bundle_path, labels)


@pytest.mark.parametrize("mode", ["bands", "coarse", "blend"])
def test_real_partner_arms_draw_from_the_partner_images_and_augment_the_same_samples(mode, bundle_path, scenes):
    images, labels = scenes
    partners = torch.rand(5, 3, *images.shape[-2:], generator=gen(1))
    real = make_arm(f"{mode}-real", train_images=partners, bundle_path=bundle_path, p=0.5, pool_size=2).augments[1]
    assert torch.equal(real.pool, partners)
    generated = make_arm(mode, train_images=partners, bundle_path=bundle_path, p=0.5, pool_size=2).augments[1]
    assert generated.pool.shape[0] == 2 and not torch.equal(generated.pool[:2], partners[:2])
    # the same seed augments the same samples in the generated arm and its ablation
    many = images.repeat(4, 1, 1, 1)
    changed = [(a(many, labels.repeat(4, 1, 1), gen(9))[0] != many).flatten(1).any(1) for a in (real, generated)]
    assert torch.equal(changed[0], changed[1]) and 0 < int(changed[0].sum()) < len(many)


def test_augmix_keeps_geometry_photometric_ops_only(scenes):
    images, labels = scenes
    _, standard_labels = StandardAugment()(images, labels, gen(3))
    out, out_labels = make_arm("augmix", p=1.0)(images, labels, gen(3))
    assert torch.equal(out_labels, standard_labels)
    assert not set(_arms.AugMixAugment().transform._PARTIAL_AUGMENTATION_SPACE) & {"Rotate", "ShearX", "TranslateX"}
