"""AugmentConfig validation and JSON round trip; the sampler draws replayable parameters."""
import json

import pytest
import torch

from freqaug.augment import AugmentConfig, sample_params


def test_config_round_trips_through_json(tmp_path):
    config = AugmentConfig(tmp_path / "b.safetensors", mode="bands", p=0.3, strength=[0.2, 0.8], bands=["HH1"],
                           device="cuda:1", seed=4, ignore_index=11)
    assert config.bundle_path == str(tmp_path / "b.safetensors") and config.strength == (0.2, 0.8)
    assert config.bands == ("HH1",) and config.device == "cuda:1"
    assert AugmentConfig.from_dict(json.loads(json.dumps(config.to_dict()))) == config
    assert AugmentConfig("b", mode="blend", weight=1).weight == 1.0


@pytest.mark.parametrize("field, value, match", [
    ("bundle_path", "", "bundle_path: expected the path"),
    ("mode", "mix", "mode: expected one of 'bands', 'coarse', 'blend', 'replace', got 'mix'"),
    ("p", 1.5, r"p: expected a number in \[0, 1\], got 1.5"),
    ("p", True, "p: expected a number"),
    ("strength", (0.8, 0.2), "strength: expected lo <= hi"),
    ("strength", 0.5, "strength: expected a pair"),
    ("strength", (0.0, 2.0), "strength: expected a number in"),
    ("bands", "HH1", "bands: expected None or a non-empty list"),
    ("device", "gpu", "device: expected None or a torch device"),
    ("seed", -1, "seed: expected None or an integer >= 0"),
    ("ignore_index", 1.5, "ignore_index: expected an integer"),
])
def test_bad_fields_are_named(field, value, match):
    with pytest.raises(ValueError, match=match):
        AugmentConfig(**{"bundle_path": "b.safetensors", field: value})


def test_options_of_other_modes_are_refused():
    with pytest.raises(ValueError, match="bands: only mode='bands' uses it; got mode='blend'"):
        AugmentConfig("b", mode="blend", bands=["HH1"])
    with pytest.raises(ValueError, match="weight: only mode='blend'"):
        AugmentConfig("b", mode="bands", weight=0.5)


def test_from_dict_names_unknown_and_missing_fields():
    with pytest.raises(ValueError, match=r"unknown field\(s\) \['alpha'\]"):
        AugmentConfig.from_dict({"bundle_path": "b", "alpha": 1})
    with pytest.raises(ValueError, match="'bundle_path' is missing"):
        AugmentConfig.from_dict({"mode": "bands"})
    with pytest.raises(TypeError, match="AugmentConfig: expected a mapping"):
        AugmentConfig.from_dict([("bundle_path", "b")])


def test_sampler_is_replayable_and_follows_the_config():
    config = AugmentConfig("b", p=0.5, strength=(0.25, 0.75))
    params = sample_params(1000, config, torch.Generator().manual_seed(0), z_dim=8)
    again = sample_params(1000, config, torch.Generator().manual_seed(0), z_dim=8)
    assert all(torch.equal(params[k], again[k]) for k in params)
    assert params["apply"].dtype == torch.bool and params["z"].shape == (1000, 8)
    assert 0.4 < params["apply"].float().mean() < 0.6
    assert 0.25 <= params["strength"].min() and params["strength"].max() <= 0.75
    for p, expected in ((0.0, False), (1.0, True)):
        applied = sample_params(64, AugmentConfig("b", p=p), torch.Generator(), z_dim=8)["apply"]
        assert bool((applied == expected).all())


def test_sampler_errors_name_the_argument():
    config = AugmentConfig("b")
    with pytest.raises(ValueError, match="batch: expected an integer >= 0"):
        sample_params(-1, config, torch.Generator(), z_dim=8)
    with pytest.raises(TypeError, match="generator: expected a torch.Generator"):
        sample_params(2, config, 0, z_dim=8)
