"""Front-end pipelines behind one call signature, and a Dataset that runs one; importable by spawned workers.

A runner takes a uint8 (3, H, W) image tensor and an int64 (H, W) mask and returns both after the
pipeline, so the same generic tests cover every front-end.
"""
import os

os.environ.setdefault("NO_ALBUMENTATIONS_UPDATE", "1")

import torch
from torch.utils.data import Dataset, get_worker_info


class AlbuRunner:
    """An ``A.Compose`` on (H, W, C) numpy images and masks."""

    def __init__(self, path, seed, **kwargs):
        import albumentations as A

        from freqaug.augment.albu import FreqAug

        self.transform = FreqAug(path, **kwargs)
        self.pipeline = A.Compose([self.transform], seed=seed)

    def __call__(self, image, mask):
        out = self.pipeline(image=image.permute(1, 2, 0).numpy(), mask=mask.numpy())
        return torch.from_numpy(out["image"]).permute(2, 0, 1), torch.from_numpy(out["mask"])


class TvRunner:
    """A ``v2.Compose`` on a dict sample of ``tv_tensors.Image`` and ``Mask``."""

    def __init__(self, path, seed, **kwargs):
        from torchvision.transforms import v2

        from freqaug.augment.tv import FreqAug

        self.transform = FreqAug(path, seed=seed, **kwargs)
        self.pipeline = v2.Compose([self.transform])

    def __call__(self, image, mask):
        from torchvision import tv_tensors

        out = self.pipeline({"image": tv_tensors.Image(image), "mask": tv_tensors.Mask(mask)})
        assert type(out["image"]) is tv_tensors.Image and type(out["mask"]) is tv_tensors.Mask
        return out["image"].as_subclass(torch.Tensor), out["mask"].as_subclass(torch.Tensor)


class BatchRunner:
    """``FreqAugBatch`` on a batch of one; the mask goes through ``ignore_replaced``."""

    def __init__(self, path, seed, **kwargs):
        from freqaug.augment import FreqAugBatch

        self.transform = FreqAugBatch(path, seed=seed, **kwargs)

    def __call__(self, image, mask):
        out = self.transform(image[None])[0]
        return out, self.transform.ignore_replaced(mask[None])[0]


RUNNERS = {"albu": AlbuRunner, "tv": TvRunner, "batch": BatchRunner}


class AugmentedScenes(Dataset):
    """Fixed uint8 images run through a runner; each item also says which worker made it and its threads."""

    def __init__(self, runner, images, masks):
        self.runner, self.images, self.masks = runner, images, masks

    def __len__(self):
        return len(self.images)

    def __getitem__(self, index):
        image, mask = self.runner(self.images[index], self.masks[index])
        info = get_worker_info()
        return {"image": image, "mask": mask, "worker": -1 if info is None else info.id,
                "threads": torch.get_num_threads()}


def uint8_scenes(scenes):
    """(images uint8 (N, 3, H, W), masks int64 (N, H, W)) from the float scenes fixture."""
    images, labels = scenes
    return (images * 255).round().to(torch.uint8), labels

