"""One table of (front-end, kwargs) and the generic tests every entry must pass."""
import io
import pickle

import pytest
import torch

from freqaug.data import CAMVID

from tests.augment._frontends import RUNNERS, uint8_scenes

CASES = [
    ("albu", {"mode": "bands"}),
    ("albu", {"mode": "blend", "strength": (0.5, 1.0)}),
    ("tv", {"mode": "bands", "bands": ["HH1", "LH2"], "strength": (0.3, 0.9)}),
    ("tv", {"mode": "blend", "weight": 0.7}),
    ("batch", {"mode": "bands"}),
    ("batch", {"mode": "replace"}),
    *[(name, {"mode": "coarse"}) for name in ("albu", "tv", "batch")],
]
IDS = [f"{name}-{kwargs['mode']}" for name, kwargs in CASES]


def build(name, kwargs, path, *, seed=0, p=1.0):
    return RUNNERS[name](path, seed, p=p, **kwargs)


def run_all(runner, scenes):
    images, masks = uint8_scenes(scenes)
    outs = [runner(image, mask) for image, mask in zip(images, masks)]
    return torch.stack([o[0] for o in outs]), torch.stack([o[1] for o in outs])


@pytest.mark.parametrize("name, kwargs", CASES, ids=IDS)
def test_same_seed_same_output_and_another_seed_another(name, kwargs, bundle_path, scenes):
    first = run_all(build(name, kwargs, bundle_path, seed=3), scenes)[0]
    again = run_all(build(name, kwargs, bundle_path, seed=3), scenes)[0]
    other = run_all(build(name, kwargs, bundle_path, seed=4), scenes)[0]
    assert first.dtype == torch.uint8 and first.shape == (4, 3, 32, 48)
    assert torch.equal(first, again)
    assert not torch.equal(first, other)


@pytest.mark.parametrize("name, kwargs", CASES, ids=IDS)
def test_labels_are_untouched_or_marked_unlabelled(name, kwargs, bundle_path, scenes):
    masks = uint8_scenes(scenes)[1]
    out = run_all(build(name, kwargs, bundle_path), scenes)[1]
    if kwargs["mode"] == "replace":  # p = 1: every sample replaced, so every mask is "ignore"
        assert bool((out == CAMVID.ignore_index).all())  # the one ignore default (SegmentationFolder's too)
    else:
        assert torch.equal(out, masks)


@pytest.mark.parametrize("name, kwargs", CASES, ids=IDS)
def test_p_zero_is_the_identity_and_p_one_changes_every_image(name, kwargs, bundle_path, scenes):
    images, masks = uint8_scenes(scenes)
    unchanged = run_all(build(name, kwargs, bundle_path, p=0.0), scenes)
    assert torch.equal(unchanged[0], images) and torch.equal(unchanged[1], masks)
    changed = run_all(build(name, kwargs, bundle_path, p=1.0), scenes)[0]
    assert all(not torch.equal(a, b) for a, b in zip(changed, images))


class TensorRefusingPickler(pickle.Pickler):
    """Fails on any tensor: a pickled transform must hold its configuration only."""

    def reducer_override(self, obj):
        if isinstance(obj, torch.Tensor):
            raise AssertionError(f"a tensor {tuple(obj.shape)} was pickled")
        return NotImplemented


def pickled(obj):
    buffer = io.BytesIO()
    TensorRefusingPickler(buffer).dump(obj)
    return buffer.getvalue()


@pytest.mark.parametrize("name, kwargs", CASES, ids=IDS)
def test_a_transform_pickles_as_its_configuration_and_works_after(name, kwargs, bundle_path, scenes):
    runner = build(name, kwargs, bundle_path, seed=5)
    run_all(runner, scenes)  # used once: the bundle is loaded, the last parameters are kept
    fresh = build(name, kwargs, bundle_path, seed=5)
    data = pickled(fresh)
    assert len(data) < 20_000
    pickled(runner)  # a used transform pickles no tensors either
    copy = pickle.loads(data)
    torch.testing.assert_close(run_all(copy, scenes)[0], run_all(fresh, scenes)[0], rtol=0, atol=0)


def test_every_front_end_takes_the_same_keyword_only_options_in_the_same_order():
    import inspect

    from freqaug.augment import FreqAugBatch, albu, kornia, tv

    expected = ["mode", "p", "strength", "bands", "weight", "device", "seed"]
    for cls in (albu.FreqAug, tv.FreqAug, FreqAugBatch, kornia.FreqAugKornia):
        params = list(inspect.signature(cls.__init__).parameters.values())[1:]
        assert params[0].name == "bundle_path" and params[0].kind is inspect.Parameter.POSITIONAL_OR_KEYWORD, cls
        options = [p for p in params[1:] if p.kind is inspect.Parameter.KEYWORD_ONLY]
        assert len(options) == len(params) - 1, f"{cls.__module__}: every option is keyword-only"
        assert [p.name for p in options][: len(expected)] == expected, cls.__module__


def test_the_albumentations_transform_takes_its_own_seed(bundle_path, scenes):
    import albumentations as A

    from freqaug.augment.albu import FreqAug

    image = (scenes[0][0].permute(1, 2, 0).numpy() * 255).round().astype("uint8")
    first = FreqAug(bundle_path, p=1.0, seed=7)(image=image)["image"]
    assert (FreqAug(bundle_path, p=1.0, seed=7)(image=image)["image"] == first).all()
    assert not (FreqAug(bundle_path, p=1.0, seed=8)(image=image)["image"] == first).all()
    in_compose = A.Compose([FreqAug(bundle_path, p=1.0, seed=7)])  # a Compose without a seed keeps it
    assert (in_compose(image=image)["image"] == first).all()
    restored = A.from_dict(A.to_dict(A.Compose([FreqAug(bundle_path, p=1.0, seed=7)])))
    assert (restored(image=image)["image"] == first).all()
