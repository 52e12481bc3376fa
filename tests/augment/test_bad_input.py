"""Bad input, one table over the four front-ends: each case is accepted by the documented policy or refused by name.

Policy (docs/augment.md): any image size is accepted (the generated image is resized to it) unless
it is too small for the bundle's bands; images need the bundle's 3 channels (grayscale / RGBA are
refused, convert them first) and uint8 or float dtype (albumentations: uint8 or float32); a mask
must have its image's size; a missing bundle fails when the front-end is built, not in a worker.
"""
import albumentations as A
import pytest
import torch
from torchvision import tv_tensors

from freqaug.augment import FreqAugBatch, SyntheticMix
from freqaug.augment import albu, tv
from freqaug.bundle import BundleError


def run_albu(path, image, mask):
    array = image.permute(1, 2, 0).numpy()
    array = array[..., 0] if array.shape[-1] == 1 else array  # grayscale as OpenCV reads it: (H, W)
    out = A.Compose([albu.FreqAug(path, p=1.0)], seed=0)(image=array, mask=mask.numpy())
    return torch.from_numpy(out["image"]).permute(2, 0, 1)


def run_tv(path, image, mask):
    return tv.FreqAug(path, p=1.0, seed=0)({"image": tv_tensors.Image(image), "mask": tv_tensors.Mask(mask)})["image"]


def run_batch(path, image, mask):
    transform = FreqAugBatch(path, mode="replace", p=1.0, seed=0)
    out = transform(image[None])
    transform.ignore_replaced(mask[None])
    return out[0]


def run_mix(path, image, mask):
    return SyntheticMix([{"image": image, "mask": mask}], path, 1.0)[1]["image"]  # the synthetic sample


FRONT_ENDS = {"albu": run_albu, "tv": run_tv, "batch": run_batch, "mix": run_mix}


def image(channels=3, size=(20, 28), dtype=torch.uint8):
    data = torch.rand(channels, *size, generator=torch.Generator().manual_seed(0))
    return (data * 255).to(dtype) if dtype in (torch.uint8, torch.int32) else data.to(dtype)


INPUTS = {  # case -> (image, mask); the tiny bundle makes 16x24 images
    "other size": (image(), torch.zeros(20, 28, dtype=torch.int64)),
    "too small": (image(size=(2, 3)), torch.zeros(2, 3, dtype=torch.int64)),
    "grayscale": (image(1), torch.zeros(20, 28, dtype=torch.int64)),
    "rgba": (image(4), torch.zeros(20, 28, dtype=torch.int64)),
    "int32": (image(dtype=torch.int32), torch.zeros(20, 28, dtype=torch.int64)),
    "float64": (image(dtype=torch.float64), torch.zeros(20, 28, dtype=torch.int64)),
    "mask shape": (image(), torch.zeros(22, 28, dtype=torch.int64)),
    "float 0..255": (image(dtype=torch.float32) * 255, torch.zeros(20, 28, dtype=torch.int64)),
}
FLOAT_255 = (ValueError, r"expected float values in \[0, 1\], got .*\.\.2\d\d.*divide it by 255")
CHANNELS_4 = (ValueError, "expected 3 channels .*got 4.*convert")
TABLE = {  # (front-end, case) -> the output's (shape, dtype), or the (error, message) it raises
    ("albu", "other size"): ((3, 20, 28), torch.uint8),
    ("tv", "other size"): ((3, 20, 28), torch.uint8),
    ("batch", "other size"): ((3, 20, 28), torch.uint8),
    ("mix", "other size"): ((3, 20, 28), torch.uint8),
    ("albu", "too small"): (ValueError, "2x3 .*too small for the bundle's bands"),
    ("tv", "too small"): (ValueError, "2x3 .*too small for the bundle's bands"),
    ("batch", "too small"): ((3, 2, 3), torch.uint8),  # replace mode: nothing to decompose
    ("mix", "too small"): ((3, 2, 3), torch.uint8),  # synthetic samples are resized, not mixed
    ("albu", "grayscale"): (ValueError, r"expected an \(H, W, C\) array.*convert grayscale"),
    ("tv", "grayscale"): (ValueError, "expected 3 channels .*got 1.*convert grayscale"),
    ("batch", "grayscale"): (ValueError, "expected 3 channels .*got 1.*convert grayscale"),
    ("mix", "grayscale"): (ValueError, r"'image': expected a \(3, H, W\) or \(H, W, 3\) tensor, got shape \(1, 20, 28\)"
                                       r".*convert grayscale"),
    ("albu", "rgba"): CHANNELS_4,
    ("tv", "rgba"): CHANNELS_4,
    ("batch", "rgba"): CHANNELS_4,
    ("mix", "rgba"): (ValueError, r"'image': expected a \(3, H, W\) or \(H, W, 3\) tensor, got shape \(4, 20, 28\).*RGBA"),
    ("albu", "int32"): (TypeError, "expected dtype uint8 or float32.*got int32"),
    ("tv", "int32"): (TypeError, "expected uint8 or floating images.*torch.int32"),
    ("batch", "int32"): (TypeError, "expected uint8 or floating images.*torch.int32"),
    ("mix", "int32"): (TypeError, "expected uint8 or floating images.*torch.int32"),
    ("albu", "float64"): (TypeError, "expected dtype uint8 or float32.*got float64"),
    ("tv", "float64"): ((3, 20, 28), torch.float64),
    ("batch", "float64"): ((3, 20, 28), torch.float64),
    ("mix", "float64"): ((3, 20, 28), torch.float64),
    ("albu", "mask shape"): (ValueError, "Height and Width of image, mask or masks should be equal"),
    ("tv", "mask shape"): (ValueError, r"share one size.*Image \(20, 28\), Mask \(22, 28\)"),
    ("batch", "mask shape"): (ValueError, r"masks: expected .*\(1, \.\.\., 20, 28\).*got \(1, 22, 28\)"),
    ("mix", "mask shape"): (ValueError, r"masks of shape \(\.\.\., 20, 28\).*got \(22, 28\)"),
    ("albu", "float 0..255"): FLOAT_255,
    ("tv", "float 0..255"): FLOAT_255,
    ("batch", "float 0..255"): FLOAT_255,
    ("mix", "float 0..255"): FLOAT_255,
}


@pytest.mark.parametrize("front, case", sorted(TABLE), ids=[f"{f}-{c}" for f, c in sorted(TABLE)])
def test_bad_input(front, case, bundle_path):
    expected = TABLE[front, case]
    run = FRONT_ENDS[front]
    if isinstance(expected[0], type) and issubclass(expected[0], Exception):
        with pytest.raises(expected[0], match=expected[1]):
            run(bundle_path, *INPUTS[case])
    else:
        out = run(bundle_path, *INPUTS[case])
        assert (tuple(out.shape), out.dtype) == expected


@pytest.mark.parametrize("front", sorted(FRONT_ENDS))
def test_a_missing_bundle_fails_when_the_front_end_is_built(front, tmp_path):
    missing = tmp_path / "missing.safetensors"
    with pytest.raises(BundleError, match="missing.safetensors.*does not exist"):
        FRONT_ENDS[front](missing, *INPUTS["other size"])


def test_the_table_covers_every_front_end_and_case():
    assert set(TABLE) == {(f, c) for f in FRONT_ENDS for c in INPUTS}
