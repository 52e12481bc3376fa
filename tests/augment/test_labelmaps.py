"""Label-map edits for layout-conditional bundles: flip, shift, class-preserving copy-paste, the sampler."""
import json

import pytest
import torch

from freqaug.augment import (
    LabelAugConfig, augment_labels, flip_labels, paste_classes, resize_labels, sample_label_params, shift_labels,
)


def maps(batch=3, height=6, width=8, seed=0, dtype=torch.uint8):
    return torch.randint(0, 11, (batch, height, width), generator=torch.Generator().manual_seed(seed)).to(dtype)


def test_flip_mirrors_only_the_chosen_samples():
    labels = maps()
    out = flip_labels(labels, torch.tensor([True, False, True]))
    assert torch.equal(out[0], labels[0].flip(-1)) and torch.equal(out[1], labels[1]) and out.dtype == torch.uint8


def test_shift_moves_content_and_repeats_the_edge():
    labels = torch.arange(6 * 8).reshape(1, 6, 8)
    out = shift_labels(labels, torch.tensor([2]), torch.tensor([-1]))
    assert torch.equal(out[0, :5, 2:], labels[0, 1:, :6])  # content moved right by 2 and up by 1
    assert torch.equal(out[0, :5, 0], labels[0, 1:, 0]) and torch.equal(out[0, :5, 1], labels[0, 1:, 0])  # left edge
    assert torch.equal(out[0, 5, 2:], labels[0, 5, :6])  # bottom row repeated
    assert torch.equal(shift_labels(labels, torch.tensor([0]), torch.tensor([0])), labels)


def test_paste_copies_one_class_of_the_donor_with_its_id_and_nothing_else():
    labels, donors = maps(seed=1), maps(seed=2)
    out = paste_classes(labels, donors, torch.tensor([8, -1, 3]))
    assert torch.equal(out[1], labels[1])  # -1: nothing pasted
    where = donors[0] == 8
    assert bool(where.any()) and bool((out[0][where] == 8).all()) and torch.equal(out[0][~where], labels[0][~where])
    assert torch.equal(out[2][donors[2] == 3], torch.full_like(out[2][donors[2] == 3], 3))
    with pytest.raises(ValueError, match="donors: expected the labels' shape"):
        paste_classes(labels, donors[:, :3], torch.tensor([8, -1, 3]))


def test_resize_labels_is_nearest_and_keeps_ids_and_dtype():
    labels = maps(height=32, width=48)
    small = resize_labels(labels, (16, 24))
    assert small.shape == (3, 16, 24) and small.dtype == torch.uint8
    assert set(small.unique().tolist()) <= set(labels.unique().tolist())
    block = torch.tensor([[[1, 2], [3, 4]]]).repeat_interleave(4, 1).repeat_interleave(4, 2)
    assert torch.equal(resize_labels(block, (2, 2)), torch.tensor([[[1, 2], [3, 4]]]))
    with pytest.raises(ValueError, match=r"labels: expected an integer \(B, H, W\) tensor of class ids, got a torch.float32"):
        resize_labels(labels.float(), (2, 2))


def test_sampler_is_reproducible_and_pastes_only_classes_the_donor_holds():
    donors = torch.zeros(4, 6, 8, dtype=torch.long)
    donors[0, 2:4, 2:4] = 8
    donors[2, 0, 0] = 9
    config = LabelAugConfig(flip=0.5, shift=1.0, max_shift=0.25, paste=1.0)
    first = sample_label_params(donors, config, torch.Generator().manual_seed(5))
    again = sample_label_params(donors, config, torch.Generator().manual_seed(5))
    assert all(torch.equal(first[k], again[k]) for k in first)
    assert first["paste"].tolist() == [8, -1, 9, -1]  # donors 1 and 3 hold no pasteable class
    assert bool((first["dx"].abs() <= 2).all()) and bool((first["dy"].abs() <= 2).all())
    assert bool((first["dx"] != 0).any() or (first["dy"] != 0).any())
    none = sample_label_params(donors, LabelAugConfig(flip=0, shift=0, paste=0), torch.Generator().manual_seed(5))
    assert not none["flip"].any() and not none["dx"].any() and not none["dy"].any() and (none["paste"] == -1).all()


def test_augment_labels_only_moves_or_copies_ids():
    labels, donors = maps(batch=8, seed=3), maps(batch=8, seed=4)
    params = sample_label_params(donors, LabelAugConfig(flip=1.0, shift=1.0, paste=1.0), torch.Generator().manual_seed(0))
    out = augment_labels(labels, donors, params)
    assert out.shape == labels.shape and out.dtype == labels.dtype and not torch.equal(out, labels)
    for i in range(8):
        assert set(out[i].unique().tolist()) <= set(labels[i].unique().tolist()) | {int(params["paste"][i])}
    identity = {"flip": torch.zeros(8, dtype=torch.bool), "dx": torch.zeros(8), "dy": torch.zeros(8),
                "paste": torch.full((8,), -1)}
    assert torch.equal(augment_labels(labels, donors, identity), labels)


def test_config_round_trips_and_names_bad_fields():
    config = LabelAugConfig(flip=0.25, paste_classes=[8, 9])
    assert LabelAugConfig.from_dict(json.loads(json.dumps(config.to_dict()))) == config
    for kwargs, message in [({"flip": 2}, "LabelAugConfig.flip: expected a number in"),
                            ({"paste_classes": [-1]}, "paste_classes: expected a list of class ids"),
                            ({"paste_classes": []}, "paste_classes: empty, but paste > 0")]:
        with pytest.raises(ValueError, match=message):
            LabelAugConfig(**kwargs)
    with pytest.raises(ValueError, match=r"unknown field\(s\) \['rotate'\]"):
        LabelAugConfig.from_dict({"rotate": 1})
