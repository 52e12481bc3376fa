"""FID Inception network: architecture, loading from local files only, clear errors, FID/KID helpers."""
import math

import pytest
import torch
import torchvision
from safetensors.torch import save_file

from freqaug.metrics import inception
from freqaug.metrics.inception import (
    ENV_VAR,
    WEIGHTS_FILE,
    WEIGHTS_URL,
    FIDInceptionV3,
    InceptionWeightsError,
    InceptionWeightsNotFoundError,
    fid,
    inception_features,
    kid,
    load_fid_inception,
)


@pytest.fixture(scope="module")
def net():
    """A random FID Inception whose activations stay O(1) (He-initialised convs before eval BatchNorms)."""
    torch.manual_seed(0)
    model = FIDInceptionV3()
    for m in model.modules():
        if isinstance(m, torch.nn.Conv2d):
            torch.nn.init.kaiming_normal_(m.weight)
    return model.requires_grad_(False).eval()


@pytest.fixture(scope="module")
def weights(net, tmp_path_factory):
    """The network's state_dict saved as .pth and .safetensors."""
    folder = tmp_path_factory.mktemp("inception")
    state = {k: v.contiguous() for k, v in net.state_dict().items()}
    torch.save(state, folder / WEIGHTS_FILE)
    save_file(state, str(folder / "weights.safetensors"))
    return folder


@pytest.fixture(scope="module")
def images():
    return torch.rand(2, 3, 32, 32, generator=torch.Generator().manual_seed(1))


@pytest.fixture(autouse=True)
def no_env(monkeypatch):
    monkeypatch.delenv(ENV_VAR, raising=False)


def test_keys_and_shapes_are_those_of_torchvision_inception_with_1008_classes(net):
    reference = torchvision.models.inception_v3(weights=None, aux_logits=False, init_weights=False, num_classes=1008)
    assert {k: v.shape for k, v in net.state_dict().items()} == {k: v.shape for k, v in reference.state_dict().items()}
    assert (net.Mixed_7b.pool, net.Mixed_7c.pool) == ("avg", "max")


def test_tf_average_pool_leaves_the_padding_out():
    ones = torch.ones(1, 2, 5, 5)
    torch.testing.assert_close(inception._tf_avg_pool(ones), ones)


@pytest.mark.parametrize("name", [WEIGHTS_FILE, "weights.safetensors"])
def test_loaded_network_gives_the_same_2048_d_features(net, weights, images, name):
    loaded = load_fid_inception(weights / name)
    assert not loaded.training and not any(p.requires_grad for p in loaded.parameters())
    with torch.no_grad():
        expected = net(images)
    got = inception_features(images, loaded, progress=False)
    assert got.shape == (2, 2048) and got.dtype == torch.float64
    assert torch.equal(got, expected.double())
    assert expected.abs().mean() > 1e-3  # not a dead network


def test_env_var_may_name_the_file_or_its_folder(net, weights, monkeypatch):
    monkeypatch.setenv(ENV_VAR, str(weights / WEIGHTS_FILE))
    assert torch.equal(load_fid_inception().fc.weight, net.fc.weight)
    monkeypatch.setenv(ENV_VAR, str(weights))
    assert inception.resolve_weights_path() == weights / WEIGHTS_FILE


def test_no_weights_names_the_file_the_env_var_and_the_url():
    with pytest.raises(InceptionWeightsNotFoundError) as info:
        load_fid_inception()
    assert isinstance(info.value, FileNotFoundError)
    message = str(info.value)
    assert WEIGHTS_FILE in message and ENV_VAR in message and WEIGHTS_URL in message
    assert "never downloads" in message


def test_missing_file_names_where_it_looked(tmp_path, monkeypatch):
    with pytest.raises(InceptionWeightsNotFoundError, match=str(tmp_path / "nope.pth")):
        load_fid_inception(tmp_path / "nope.pth")
    monkeypatch.setenv(ENV_VAR, str(tmp_path))
    with pytest.raises(InceptionWeightsNotFoundError) as info:
        load_fid_inception()
    assert str(tmp_path / WEIGHTS_FILE) in str(info.value) and f"${ENV_VAR}" in str(info.value)


def test_wrong_shape_names_the_key(net, tmp_path):
    state = {k: v.contiguous() for k, v in net.state_dict().items()}
    state["Mixed_6b.branch7x7_2.conv.weight"] = torch.zeros(128, 128, 1, 3)
    save_file(state, str(tmp_path / "bad.safetensors"))
    with pytest.raises(InceptionWeightsError, match=r"'Mixed_6b.branch7x7_2.conv.weight' has shape \(128, 128, 1, 3\)"):
        load_fid_inception(tmp_path / "bad.safetensors")


def test_wrong_keys_are_named(tmp_path):
    torch.save({"fc.weight": torch.zeros(1008, 2048), "classifier.bias": torch.zeros(3)}, tmp_path / "other.pth")
    with pytest.raises(InceptionWeightsError) as info:
        load_fid_inception(tmp_path / "other.pth")
    message = str(info.value)
    assert "unexpected keys ['classifier.bias']" in message
    assert "missing keys ['AuxLogits" not in message and "'Conv2d_1a_3x3.bn.bias'" in message and "more" in message


def test_files_without_batchnorm_counters_load(net, tmp_path):
    state = {k: v for k, v in net.state_dict().items() if not k.endswith("num_batches_tracked")}
    torch.save(state, tmp_path / "old.pth")
    loaded = load_fid_inception(tmp_path / "old.pth").state_dict()
    assert all(torch.equal(loaded[k], v) for k, v in net.state_dict().items())


def test_unreadable_file_is_named(tmp_path):
    (tmp_path / "junk.pth").write_bytes(b"not a checkpoint")
    with pytest.raises(InceptionWeightsError, match="junk.pth: cannot read Inception weights"):
        load_fid_inception(tmp_path / "junk.pth")


def test_fid_and_kid_helpers(net, images):
    # each FID costs two 2048-D eigendecompositions (seconds on a CPU): one call here, the maths is in test_frechet
    assert abs(fid(images, images.flip(0), weights=net, batch_size=1, progress=False)) < 1e-6
    other = images.flip(-1).roll(7, dims=-2)
    result = kid(images, other, weights=net, subsets=2, subset_size=2, progress=False)
    assert math.isfinite(result.mean) and result.std < 1e-9  # both subsets are the whole (2-image) sets


def test_inputs_are_checked(net):
    with pytest.raises(ValueError, match=r"images: expected values in \[0, 1\], got \[-1"):
        inception_features(torch.full((1, 3, 8, 8), -1.0), net)
    with pytest.raises(ValueError, match="images: expected 3 \\(RGB\\) channels"):
        inception_features(torch.rand(1, 1, 8, 8), net)
