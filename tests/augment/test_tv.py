"""torchvision v2 front-end: the types it transforms, the types it passes through, refused modes."""
import PIL.Image
import pytest
import torch
from torchvision import tv_tensors
from torchvision.transforms import v2
from torchvision.transforms.v2 import functional as TF

from freqaug.augment.tv import FreqAug


def test_images_change_and_masks_boxes_keypoints_pass_through_with_their_types(bundle_path, scenes):
    images, labels = scenes
    sample = {
        "image": tv_tensors.Image((images[0] * 255).round().to(torch.uint8)),
        "mask": tv_tensors.Mask(labels[0]),
        "boxes": tv_tensors.BoundingBoxes([[2, 3, 20, 30]], format="XYXY", canvas_size=(32, 48)),
        "keypoints": tv_tensors.KeyPoints([[5.0, 6.0]], canvas_size=(32, 48)),
        "label": torch.tensor([3]),
        "name": "scene",
    }
    out = v2.Compose([FreqAug(bundle_path, p=1.0, seed=0), v2.ToDtype(torch.float32, scale=True)])(sample)
    assert type(out["image"]) is tv_tensors.Image and out["image"].dtype == torch.float32
    assert not torch.allclose(out["image"], sample["image"] / 255.0)
    for key in ("mask", "boxes", "keypoints", "label"):
        assert type(out[key]) is type(sample[key]) and torch.equal(out[key], sample[key]), key
    assert out["boxes"].format == sample["boxes"].format and out["name"] == "scene"


@pytest.mark.parametrize("dtype", [torch.uint8, torch.float32, torch.float64])
def test_plain_tensors_keep_dtype_and_shape_and_batches_get_one_draw_per_image(bundle_path, scenes, dtype):
    images = scenes[0][:3]
    images = (images * 255).round().to(dtype) if dtype == torch.uint8 else images.to(dtype)
    transform = FreqAug(bundle_path, mode="blend", p=1.0, seed=1)
    single = transform(images[0])
    assert single.dtype == dtype and single.shape == images[0].shape and not torch.equal(single, images[0])
    batch = transform(torch.stack([images[0]] * 3))
    assert batch.shape == (3, *images.shape[1:])
    assert not torch.equal(batch[0], batch[1])  # each image of a batch is its own sample


def test_pil_images_come_back_as_pil_images(bundle_path, scenes):
    image = TF.to_pil_image((scenes[0][0] * 255).round().to(torch.uint8))
    out = FreqAug(bundle_path, p=1.0, seed=0)(image)
    assert isinstance(out, PIL.Image.Image) and out.mode == "RGB" and out.size == image.size
    assert not torch.equal(TF.pil_to_tensor(out), TF.pil_to_tensor(image))
    with pytest.raises(ValueError, match="expected 3 channels .* got 1"):
        FreqAug(bundle_path, p=1.0)(image.convert("L"))


def test_the_first_pure_tensor_is_the_image_the_rest_pass_through(bundle_path, scenes):
    image, other = scenes[0][0], torch.rand(3, 32, 48)
    out_image, out_other = FreqAug(bundle_path, p=1.0, seed=0)(image, other)
    assert not torch.equal(out_image, image) and out_other is other


def test_replace_is_refused_and_bad_tensors_are_named(bundle_path):
    with pytest.raises(ValueError, match="replace.*torchvision.*SyntheticMix"):
        FreqAug(bundle_path, mode="replace")
    with pytest.raises(TypeError, match="image: expected uint8 or floating images"):
        FreqAug(bundle_path, p=1.0)(torch.zeros(3, 16, 16, dtype=torch.int32))
    with pytest.raises(ValueError, match=r"image: expected a \(C, H, W\)"):
        FreqAug(bundle_path, p=1.0)(torch.zeros(16, 16))
