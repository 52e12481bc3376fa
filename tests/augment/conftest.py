"""Tiny bundles for the augmentation tests: built once per session from drawn street scenes."""
import os

os.environ.setdefault("NO_ALBUMENTATIONS_UPDATE", "1")

import pytest
import torch

from freqaug.bands import BandSpec, band_stats, decompose
from freqaug.bundle import save_bundle
from freqaug.data import CAMVID, synthetic_batch
from freqaug.models import FreqGAN, FreqGANConfig, LayoutConfig, NetConfig

TINY = NetConfig(base_channels=4, max_channels=8, min_size=4)
SIZE = (16, 24)


def build_bundle(path, *, spec=BandSpec(levels=2), alpha="scalar", z_dim=16, seed=0, layout=None, provenance=None):
    """Write a tiny untrained FreqGAN bundle to ``path`` with band stats of drawn scenes; returns ``path``.
    ``layout``: a LayoutConfig for a layout-conditional bundle; ``provenance``: the manifest's (default
    ``{"test": True}``)."""
    config = FreqGANConfig(spec=spec, image_size=SIZE, z_dim=z_dim, generator=TINY, discriminator=TINY, alpha=alpha,
                           layout=layout)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = FreqGAN(config)
    scenes = synthetic_batch(4, size=(32, 48), seed=0)[0]
    images = torch.nn.functional.avg_pool2d(scenes, 2) * 2 - 1
    model.set_band_stats({name: band_stats(band) for name, band in decompose(images, spec).items()})
    with torch.no_grad():
        model.blend.logit.copy_(torch.tensor([0.4, -0.3, 1.0])[: model.blend.logit.numel()])  # no default alpha
    return save_bundle(model, path, provenance={"test": True} if provenance is None else provenance)


@pytest.fixture(scope="session")
def bundle_path(tmp_path_factory):
    return build_bundle(tmp_path_factory.mktemp("bundles") / "dwt.safetensors")


@pytest.fixture(scope="session")
def cond_bundle_path(tmp_path_factory):
    """A tiny untrained layout-conditional bundle on the CamVid classes (ignore id 11)."""
    return build_bundle(tmp_path_factory.mktemp("bundles") / "cond.safetensors", layout=LayoutConfig(CAMVID, hidden=4))


@pytest.fixture(scope="session")
def channel_bundle_path(tmp_path_factory):
    """A DCT bundle with one alpha per colour channel."""
    spec = BandSpec(kind="dct", cutoff=0.3)
    return build_bundle(tmp_path_factory.mktemp("bundles") / "dct.safetensors", spec=spec, alpha="channel")


@pytest.fixture(scope="session")
def scenes():
    """Four drawn street scenes, float (4, 3, 32, 48) in [0, 1], with their label maps (4, 32, 48)."""
    return synthetic_batch(4, size=(32, 48), seed=1)


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    """One torch thread while these tests run: tiny ops gain nothing from more, and on a busy
    machine OpenMP barriers waiting for a descheduled thread cost 100x (400 ms vs 3 ms a call here)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
