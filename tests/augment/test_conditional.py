"""Layout-conditional bundles in the core augmenter, FreqAugBatch and SyntheticMix: scenes drawn from masks."""
import pytest
import torch
from torch.utils.data import DataLoader, TensorDataset

from freqaug.augment import (
    AugmentConfig, FreqAugBatch, FreqAugmenter, LabelAugConfig, SyntheticBank, SyntheticMix, band_mix,
    blend_images, default_bands, replace_images, resize_labels,
)
from freqaug.augment.functional import coarse_mix
from freqaug.augment.core import load_cached, mix_seeds
from freqaug.data import SyntheticStreets


def make(path, **kwargs):
    return FreqAugmenter(AugmentConfig(path, **kwargs))


def generated_from(path, z, masks):
    """The bundle's images for ``z`` drawn from ``masks`` (real size), at the bundle's size."""
    bundle = load_cached(path, "cpu")
    return bundle.images_from_z(z, resize_labels(masks.long(), bundle.image_size))


@pytest.mark.parametrize("mode", ["bands", "coarse", "blend", "replace"])
def test_each_mode_mixes_the_scene_drawn_from_the_samples_own_mask(cond_bundle_path, scenes, mode):
    images, masks = scenes
    augmenter = make(cond_bundle_path, mode=mode, p=1.0)
    assert augmenter.conditional
    params = augmenter.sample(4, generator=torch.Generator().manual_seed(0))
    out, applied = augmenter.augment(images, params, layout=masks)
    assert applied.all()
    generated = generated_from(cond_bundle_path, params["z"], masks)
    bundle = load_cached(cond_bundle_path, "cpu")
    expected = {
        "bands": lambda: band_mix(images, generated, bundle.spec, bands=default_bands(bundle.spec), strength=params["strength"]),
        "coarse": lambda: coarse_mix(images, generated, params["strength"]),
        "blend": lambda: blend_images(images, generated, params["strength"][:, None] * bundle.alpha[None, :]),
        "replace": lambda: replace_images(images, generated),
    }[mode]()
    torch.testing.assert_close(out, expected, atol=1e-5, rtol=0)
    other, _ = augmenter.augment(images, params, layout=masks.flip(0))  # same z, other layouts: other scenes
    assert not torch.allclose(other, out, atol=1e-4)


def test_only_applied_samples_change_and_the_ignore_id_is_a_layout(cond_bundle_path, scenes):
    images, masks = scenes
    masks = masks.clone()
    masks[:, :4] = 11  # CamVid's ignore id: drawn as "no class"
    augmenter = make(cond_bundle_path, mode="replace", p=0.5)
    params = augmenter.sample(4, generator=torch.Generator().manual_seed(3))
    params["apply"] = torch.tensor([True, False, True, False])
    out, _ = augmenter.augment(images, params, layout=masks.to(torch.uint8))
    assert torch.equal(out[1], images[1]) and torch.equal(out[3], images[3]) and not torch.equal(out[0], images[0])


def test_bad_layouts_are_named(cond_bundle_path, bundle_path, scenes):
    images, masks = scenes
    augmenter = make(cond_bundle_path, mode="replace", p=1.0)
    params = augmenter.sample(4)
    bad = masks.clone()
    bad[0, 0, 0], bad[1, 0, 0] = 255, 40
    cases = [
        (None, "layout: the bundle .* is conditional on 11-class layouts .*pass the images' masks"),
        (bad, r"layout: ids \[40, 255\] are not classes of the bundle .*expected 0..10 \(sky, .*or its ignore id 11"),
        (masks[:, :16], r"layout: expected masks \(B, 32, 48\) like the images, got \(4, 16, 48\)"),
        (masks[:3], r"layout: expected one mask per image \(4\), got shape \(3, 32, 48\)"),
        (masks.float(), r"layout: expected an integer \(B, H, W\) tensor of class ids, got a torch.float32"),
    ]
    for layout, message in cases:
        with pytest.raises(ValueError, match=message):
            augmenter.augment(images, params, layout=layout)


def test_freqaug_batch_takes_masks_and_keeps_replaced_labels(cond_bundle_path, bundle_path, scenes):
    images, masks = scenes
    uint8 = (images * 255).round().to(torch.uint8)
    transform = FreqAugBatch(cond_bundle_path, mode="replace", p=1.0, seed=0)
    out = transform(uint8, masks=masks[:, None])  # (B, 1, H, W) works too
    assert out.dtype == torch.uint8 and out.shape == uint8.shape and not torch.equal(out, uint8)
    assert transform.ignore_replaced(masks) is masks  # a conditional bundle's replaced samples keep their labels
    replayed = transform(uint8, transform.last_params, masks=masks)
    assert torch.equal(replayed, out)
    with pytest.raises(ValueError, match="layout: the bundle .* is conditional"):
        transform(uint8)
    plain = FreqAugBatch(bundle_path, mode="replace", p=1.0, seed=0, ignore_index=11)
    plain(uint8)
    assert bool((plain.ignore_replaced(masks) == 11).all())  # unconditional: as before


@pytest.fixture(scope="module")
def streets():
    return SyntheticStreets(4, size=(32, 48), seed=0)


def test_synthetic_mix_yields_generated_images_with_a_real_training_mask(cond_bundle_path, streets):
    mix = SyntheticMix(streets, cond_bundle_path, 1.0, seed=2)
    real_masks = torch.stack([streets[i]["label"] for i in range(4)])
    sources = []
    for k in range(4):
        sample = mix[4 + k]
        assert sample["synthetic"] is True and sample["name"] == f"synthetic_{k:06d}"
        matches = [i for i in range(4) if torch.equal(sample["label"], real_masks[i])]
        assert len(matches) == 1 and sample["label"].dtype == real_masks.dtype
        sources.append(matches[0])
        z = load_cached(cond_bundle_path, "cpu").z_for(mix_seeds(2, 0), [k])
        expected = torch.nn.functional.interpolate(generated_from(cond_bundle_path, z, sample["label"][None]),
                                                   size=(32, 48), mode="bilinear", antialias=True)[0]
        torch.testing.assert_close(sample["image"], expected, atol=1e-5, rtol=0)
    assert sorted(sources) == [0, 1, 2, 3]  # ratio 1: every real mask once per epoch
    assert torch.equal(SyntheticMix(streets, cond_bundle_path, 1.0, seed=2)[5]["image"], mix[5]["image"])
    mix.set_epoch(1)
    assert not torch.equal(mix[4]["image"], SyntheticMix(streets, cond_bundle_path, 1.0, seed=2)[4]["image"])
    batch = next(iter(DataLoader(mix, batch_size=8)))
    assert batch["synthetic"].tolist() == [False] * 4 + [True] * 4 and batch["label"].shape == (8, 32, 48)


def test_synthetic_mix_edits_layouts_with_label_aug(cond_bundle_path, streets):
    config = LabelAugConfig(flip=1.0, shift=1.0, max_shift=0.2, paste=1.0)
    mix = SyntheticMix(streets, cond_bundle_path, 2.0, seed=0, label_aug=config)
    real_masks = [streets[i]["label"] for i in range(4)]
    ids = set(torch.cat([m.flatten() for m in real_masks]).unique().tolist())
    edited = [mix[4 + k]["label"] for k in range(8)]
    assert all(not any(torch.equal(mask, real) for real in real_masks) for mask in edited)
    assert all(set(mask.unique().tolist()) <= ids for mask in edited)
    again = SyntheticMix(streets, cond_bundle_path, 2.0, seed=0, label_aug=config)
    assert torch.equal(again[7]["label"], edited[3]) and torch.equal(again[7]["image"], mix[7]["image"])


def test_synthetic_mix_refuses_what_a_conditional_bundle_cannot_use(cond_bundle_path, bundle_path, streets):
    images = torch.rand(2, 3, 32, 48)
    with pytest.raises(ValueError, match="conditional and draws synthetic images from the dataset's masks"):
        SyntheticMix(TensorDataset(images), cond_bundle_path, 1.0)
    with pytest.raises(ValueError, match="label_aug: the bundle .* is unconditional"):
        SyntheticMix(streets, bundle_path, 1.0, label_aug=LabelAugConfig())
    with pytest.raises(ValueError, match="is layout-conditional .* a SyntheticBank generates without layouts"):
        SyntheticBank(cond_bundle_path)
    from freqaug.augment import PooledFreqAug

    with pytest.raises(ValueError, match="is layout-conditional .* this pool generates without layouts"):
        PooledFreqAug(cond_bundle_path)
    bank = SyntheticBank(bundle_path, size=2, batch_size=2)
    with pytest.raises(ValueError, match="bank: the bundle .* is layout-conditional"):
        SyntheticMix(streets, cond_bundle_path, 1.0, bank=bank)
    bank.close()
    wrong = SyntheticMix(TensorDataset(images, torch.full((2, 32, 48), 200)), cond_bundle_path, 1.0)
    with pytest.raises(ValueError, match=r"synthetic sample 0: mask: ids \[200\] are not classes"):
        wrong[2]


# ---- albumentations and torchvision: replace with the sample's own mask -------------------------------

def expected_replace(path, image_uint8, mask, z):
    """uint8 (3, H, W): the scene drawn from ``mask`` for ``z``, at the image's size."""
    real = image_uint8[None].float() / 255
    return (replace_images(real, generated_from(path, z, mask[None]))[0] * 255).round().to(torch.uint8)


def test_albumentations_replace_draws_from_the_samples_mask(cond_bundle_path, bundle_path, scenes):
    import albumentations as A

    from freqaug.augment.albu import FreqAug

    images, masks = scenes
    image = (images[0] * 255).round().to(torch.uint8)
    mask = masks[0].to(torch.uint8)
    transform = FreqAug(cond_bundle_path, mode="replace", p=1.0)
    pipeline = A.Compose([transform], seed=0)
    out = pipeline(image=image.permute(1, 2, 0).numpy(), mask=mask.numpy())
    assert (out["mask"] == mask.numpy()).all()  # the mask passes through and stays the image's label map
    z = transform.params["freq_params"]["z"]
    got = torch.from_numpy(out["image"]).permute(2, 0, 1)
    assert (got.int() - expected_replace(cond_bundle_path, image, mask, z).int()).abs().max() <= 1
    flipped = A.Compose([A.HorizontalFlip(p=1.0), FreqAug(cond_bundle_path, mode="bands", p=1.0)], seed=0)
    assert flipped(image=image.permute(1, 2, 0).numpy(), mask=mask.numpy())["image"].shape == (32, 48, 3)
    assert isinstance(A.from_dict(A.to_dict(pipeline)).transforms[0], FreqAug)
    with pytest.raises(ValueError, match=r"mask: this FreqAug's bundle is layout-conditional .* \(got keys \['image'\]"):
        pipeline(image=image.permute(1, 2, 0).numpy())
    with pytest.raises(ValueError, match=r"layout: ids \[200\] are not classes of the bundle"):
        pipeline(image=image.permute(1, 2, 0).numpy(), mask=mask.numpy() * 0 + 200)
    with pytest.raises(ValueError, match="replace.*albumentations.*SyntheticMix.*FreqAugBatch"):
        FreqAug(bundle_path, mode="replace")  # unconditional: refused as before


def test_torchvision_replace_draws_from_the_samples_mask(cond_bundle_path, bundle_path, scenes):
    from torchvision import tv_tensors
    from torchvision.transforms import v2

    from freqaug.augment.tv import FreqAug

    images, masks = scenes
    uint8 = (images * 255).round().to(torch.uint8)
    transform = FreqAug(cond_bundle_path, mode="replace", p=1.0, seed=0)
    generator_state = transform.augmenter.generator().get_state()
    sample = {"image": tv_tensors.Image(uint8[1]), "mask": tv_tensors.Mask(masks[1])}
    out = v2.Compose([transform])(sample)
    assert type(out["image"]) is tv_tensors.Image and type(out["mask"]) is tv_tensors.Mask
    assert torch.equal(out["mask"].as_subclass(torch.Tensor), masks[1])
    z = transform.augmenter.sample(1, generator=torch.Generator().set_state(generator_state))["z"]
    expected = expected_replace(cond_bundle_path, uint8[1], masks[1], z)
    assert (out["image"].as_subclass(torch.Tensor).int() - expected.int()).abs().max() <= 1
    batch = transform({"image": uint8[:2], "mask": tv_tensors.Mask(masks[:2])})  # (N, C, H, W) with (N, H, W) masks
    assert batch["image"].shape == (2, 3, 32, 48)
    with pytest.raises(ValueError, match="layout-conditional .* expected exactly one Mask, got 0"):
        transform({"image": tv_tensors.Image(uint8[1])})
    with pytest.raises(ValueError, match="expected exactly one Mask, got 2"):
        transform({"image": tv_tensors.Image(uint8[1]), "a": tv_tensors.Mask(masks[1]), "b": tv_tensors.Mask(masks[1])})
    with pytest.raises(ValueError, match=r"mask: expected one \(H, W\) map per image \(2"):
        transform({"image": uint8[:2], "mask": tv_tensors.Mask(masks[1])})
    with pytest.raises(ValueError, match="replace.*torchvision.*SyntheticMix"):
        FreqAug(bundle_path, mode="replace")
