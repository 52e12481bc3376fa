"""Bundles: export from a run, load, deterministic generation, atomic writes, and every way a file can be bad."""
import json
import os
import struct
import time

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from safetensors import safe_open
from safetensors.torch import save as safetensors_save

import freqaug
from freqaug.bands import BandSpec
from freqaug.bundle import MANIFEST_KEY, BundleError, load_bundle, save_bundle, weights_sha256
from freqaug.train.export import export_run
from freqaug.data import data_summary
from freqaug.offline.generate import generate_to_folder
from freqaug.bundle.summary import describe_bundle
from freqaug.data import CAMVID, synthetic_batch
from freqaug.models import FreqGANConfig, LayoutConfig, NetConfig
from freqaug.train import TrainConfig
from freqaug.train.run import RunConfig, train_run

TINY = NetConfig(base_channels=4, max_channels=8, min_size=4)
SIZE = (16, 24)
MODEL = FreqGANConfig(spec=BandSpec(levels=2), image_size=SIZE, z_dim=16, generator=TINY, discriminator=TINY,
                      cascade={"LH1": ["LL2"]})


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    """A run folder of `train_run`: 2 stage-1 steps and 1 stage-2 step on drawn scenes."""
    run = tmp_path_factory.mktemp("run") / "run"
    config = RunConfig(model=MODEL, train=TrainConfig(batch_size=4), stage1_steps=2, stage2_steps=1,
                       checkpoint_every=0, sample_every=0)
    scenes = synthetic_batch(6, size=(32, 48), seed=0)[0]  # drawn scenes need >= 32 pixels: draw, then halve
    images = torch.nn.functional.avg_pool2d(scenes, 2) * 2 - 1
    train_run(run, images, config, progress=False)
    return run


@pytest.fixture(scope="module")
def bundle_path(run_dir, tmp_path_factory):
    return export_run(run_dir, tmp_path_factory.mktemp("bundle") / "tiny.safetensors")


@pytest.fixture(scope="module")
def bundle(bundle_path):
    return load_bundle(bundle_path)


def read_raw(path):
    """(tensors, manifest) of a bundle file, read without any checks."""
    with safe_open(str(path), framework="pt") as handle:
        tensors = {k: handle.get_tensor(k) for k in handle.keys()}
        manifest = json.loads(handle.metadata()[MANIFEST_KEY])
    return tensors, manifest


def rewrite(src, dst, *, tensors=None, manifest=None, rehash=True):
    """Write ``dst`` from ``src`` with edited tensors / manifest; ``rehash`` keeps the weights hash valid."""
    old_tensors, old_manifest = read_raw(src)
    tensors = old_tensors if tensors is None else tensors
    manifest = old_manifest if manifest is None else manifest
    if rehash:
        manifest["weights"]["sha256"] = weights_sha256(tensors)
        manifest["weights"]["count"] = len(tensors)
    dst.write_bytes(safetensors_save(tensors, metadata={MANIFEST_KEY: json.dumps(manifest)}))
    return dst


def edit_manifest(bundle_path, tmp_path, field, value, *, delete=False):
    """A copy of the bundle whose manifest field (dotted) is set to ``value`` or deleted."""
    tensors, manifest = read_raw(bundle_path)
    *parents, last = field.split(".")
    node = manifest
    for key in parents:
        node = node[key]
    if delete:
        del node[last]
    else:
        node[last] = value
    return rewrite(bundle_path, tmp_path / "edited.safetensors", tensors=tensors, manifest=manifest, rehash=False)


# ---- export and load -----------------------------------------------------------------------------

def test_export_holds_the_ema_weights_and_a_complete_manifest(run_dir, bundle_path, bundle):
    with safe_open(str(run_dir / "checkpoint.safetensors"), framework="pt") as handle:
        ema = {k[4:]: handle.get_tensor(k) for k in handle.keys() if k.startswith("ema/")}
    state = bundle.model.state_dict()
    assert state.keys() == ema.keys()
    for key in ema:
        torch.testing.assert_close(state[key], ema[key], rtol=0, atol=0, msg=key)
    manifest = bundle.manifest
    assert manifest["format"] == "freqaug-bundle" and manifest["format_version"] == 1
    assert manifest["freqaug_version"] == freqaug.__version__
    assert FreqGANConfig.from_dict(manifest["model"]) == MODEL
    assert manifest["classes"] is None
    assert manifest["noise"]["sha256"] == bundle.model.noise.checksum()
    assert manifest["band_shapes"]["LL2"] == [4, 6] and manifest["band_shapes"]["HH1"] == [8, 12]
    assert manifest["band_stats"]["LL2"]["scale"] == bundle.model.band_scale[0].tolist()
    assert manifest["alpha"] == pytest.approx(bundle.alpha.tolist())
    assert manifest["parameters"]["total"] == sum(p.numel() for p in bundle.model.parameters())
    provenance = manifest["provenance"]
    assert provenance["steps"] == {"stage1": 2, "stage2": 1}
    assert len(provenance["run_config_sha256"]) == 64 and provenance["torch"] == torch.__version__
    assert provenance["created"][:2] == "20" and provenance["data"] is None
    assert bundle_path.read_bytes()[:8] != b"\x80\x04\x95"[:8]  # a safetensors header, not a pickle


def test_loaded_model_is_frozen_in_eval_mode_and_top_level_api(bundle_path):
    bundle = freqaug.load_bundle(bundle_path)
    assert isinstance(bundle, freqaug.Bundle)
    assert not bundle.model.training
    assert not any(p.requires_grad for p in bundle.model.parameters())
    assert bundle.image_size == SIZE and bundle.channels == 3 and bundle.spec == MODEL.spec
    assert bundle.config == MODEL and bundle.device == torch.device("cpu")
    assert bundle.model.baseline.to_out.weight.is_contiguous(memory_format=torch.channels_last)


@pytest.mark.parametrize("spec", [
    BandSpec(kind="dwt", wavelet="db2", levels=1, mode="symmetric"),
    BandSpec(kind="dct", cutoff=0.3, domain="coeff"),
    BandSpec(kind="fourier", cutoff=0.3, transition=0.1),
], ids=lambda spec: spec.describe())
def test_every_band_kind_round_trips(spec, tmp_path):
    from freqaug.models import FreqGAN

    config = FreqGANConfig(spec=spec, image_size=(32, 32), z_dim=12, generator=TINY, discriminator=TINY,
                           alpha="channel", noise_seed=7)
    torch.manual_seed(0)
    model = FreqGAN(config).eval()
    with torch.no_grad():
        model.band_center.normal_()
        model.blend.logit.normal_()
    bundle = load_bundle(save_bundle(model, tmp_path / "b.safetensors", provenance={}))
    assert bundle.config == config and bundle.alpha.shape == (3,)
    z = bundle.z_for(1, range(8))
    with torch.no_grad():
        expected = (model(z).image * 0.5 + 0.5).clamp(0, 1)
    # the loaded model runs in channels_last: the same images up to float32 rounding
    torch.testing.assert_close(bundle.generate(8, seed=1), expected, atol=1e-5, rtol=0)


def test_loading_leaves_the_global_rng_alone(bundle_path):
    state = torch.get_rng_state()
    load_bundle(bundle_path)
    assert torch.equal(torch.get_rng_state(), state)


def test_data_summary_counts_and_hashes_the_image_names(tmp_path):
    (tmp_path / "images").mkdir()
    for name in ("b.png", "a.jpg", "notes.txt"):
        (tmp_path / "images" / name).write_bytes(b"x")
    summary = data_summary(tmp_path)
    assert summary["images"] == 2 and summary["path"] == str(tmp_path.resolve())
    import hashlib

    assert summary["names_sha256"] == hashlib.sha256(b"a.jpg\nb.png").hexdigest()


def test_export_records_the_data_folder(run_dir, tmp_path):
    (tmp_path / "data" / "images").mkdir(parents=True)
    (tmp_path / "data" / "images" / "x.png").write_bytes(b"x")
    path = export_run(run_dir, tmp_path / "b.safetensors", data=tmp_path / "data")
    assert load_bundle(path).manifest["provenance"]["data"]["images"] == 1


def test_export_of_a_missing_run_names_the_checkpoint(tmp_path):
    with pytest.raises(BundleError, match="checkpoint.safetensors"):
        export_run(tmp_path / "nowhere", tmp_path / "b.safetensors")


# ---- generation ----------------------------------------------------------------------------------

def test_generate_is_deterministic_by_seed_whatever_the_batch(bundle):
    reference = bundle.generate(8, seed=3, batch_size=64)
    assert reference.shape == (8, 3, *SIZE) and reference.dtype == torch.float32
    assert 0 <= reference.min() and reference.max() <= 1
    # one batch size: bit for bit; across batch sizes (libraries pick kernels by size): to 1e-5
    assert torch.equal(bundle.generate(8, seed=3, batch_size=64), reference)
    for batch_size in (1, 5, 8):
        torch.testing.assert_close(bundle.generate(8, seed=3, batch_size=batch_size), reference, atol=1e-5, rtol=0)
    torch.testing.assert_close(bundle.generate(4, seed=3, start=4, batch_size=3), reference[4:], atol=1e-5, rtol=0)
    assert not torch.equal(bundle.generate(8, seed=4), reference)
    # without the padding, a lone image is computed alone: equal up to float32 rounding only
    torch.testing.assert_close(bundle.generate(1, seed=3, start=5, exact=False), reference[5:6], atol=1e-5, rtol=0)
    assert bundle.generate(0).shape == (0, 3, *SIZE)


def test_target_vector_depends_only_on_seed_and_index(bundle):
    z = bundle.z_for(7, [0, 1, 2, 3])
    assert z.shape == (4, 16)
    torch.testing.assert_close(bundle.z_for(7, torch.tensor([3, 1])), z[[3, 1]], rtol=0, atol=0)
    assert not torch.equal(bundle.z_for(8, [0]), z[:1])
    with pytest.raises(ValueError, match="seed"):
        bundle.z_for(-1, [0])


def test_images_and_bands_from_z_are_the_models_outputs(bundle):
    z = bundle.z_for(0, range(8))
    out = bundle.model(z)
    torch.testing.assert_close(bundle.images_from_z(z), (out.image * 0.5 + 0.5).clamp(0, 1))
    bands = bundle.bands_from_z(z)
    assert list(bands) == list(MODEL.spec.band_names)
    assert {k: tuple(v.shape[-2:]) for k, v in bands.items()} == MODEL.spec.band_shapes(*SIZE)


@pytest.mark.parametrize("device", ["cuda"])
def test_generate_on_cuda_matches_cpu(bundle_path, device):
    if not torch.cuda.is_available():
        pytest.skip("no CUDA device")
    cpu = load_bundle(bundle_path).generate(8, seed=1)
    gpu = load_bundle(bundle_path, device=device).generate(8, seed=1)
    assert gpu.device.type == "cuda"
    torch.testing.assert_close(gpu.cpu(), cpu, atol=1e-4, rtol=0)


# ---- atomic writes -------------------------------------------------------------------------------

@pytest.mark.parametrize("crash_in", ["replace", "fsync"])
def test_a_crash_while_saving_leaves_the_old_bundle(bundle, bundle_path, tmp_path, monkeypatch, crash_in):
    target = tmp_path / "out.safetensors"
    target.write_bytes(bundle_path.read_bytes())
    before = target.read_bytes()

    def crash(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, crash_in, crash)
    with pytest.raises(OSError, match="No space left"):
        save_bundle(bundle.model, target, provenance={"note": "second"})
    monkeypatch.undo()
    assert target.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["out.safetensors"]
    assert load_bundle(target).manifest["provenance"].get("note") is None


def test_save_rejects_what_json_cannot_hold(bundle, tmp_path):
    with pytest.raises(ValueError, match="provenance"):
        save_bundle(bundle.model, tmp_path / "b.safetensors", provenance={"x": object()})
    assert not list(tmp_path.iterdir())


# ---- every way a file can be bad -----------------------------------------------------------------

def test_missing_file_and_directory(tmp_path):
    with pytest.raises(BundleError, match=r"nowhere.safetensors: bundle file does not exist"):
        load_bundle(tmp_path / "nowhere.safetensors")
    with pytest.raises(BundleError, match="is a directory"):
        load_bundle(tmp_path)


@pytest.mark.parametrize("path, device, error, match", [
    (None, "cpu", TypeError, "path: expected a bundle file path .str or os.PathLike., got NoneType"),
    ("PATH", "gpu", ValueError, "device: expected 'cpu', 'cuda' or 'cuda:N', got 'gpu'"),
    ("/dev/null", "cpu", BundleError, "/dev/null: bundle file is not a regular file"),
])
def test_load_arguments_are_checked_before_reading(bundle_path, path, device, error, match):
    with pytest.raises(error, match=match):
        load_bundle(bundle_path if path == "PATH" else path, device=device)


def test_numpy_integers_are_counts_too(bundle):
    import numpy as np

    assert torch.equal(bundle.generate(np.int64(2), seed=np.int64(1)), bundle.generate(2, seed=1))
    with pytest.raises(ValueError, match=r"n: expected an integer >= 0 and < 2\*\*63, got 2.0"):
        bundle.generate(2.0)


def test_generate_plans_one_batch_at_a_time():
    from freqaug.offline.generate import _blocks

    blocks = _blocks(10**15, 4, {1: {}})  # a plan of every batch would not fit in memory
    assert next(blocks) == (0, 4, [0, 2, 3]) and next(blocks) == (4, 4, [4, 5, 6, 7])


@pytest.mark.parametrize("damage", ["text", "truncated", "header-length", "header-json", "empty"])
def test_damaged_files_are_named(bundle_path, tmp_path, damage):
    data = bundle_path.read_bytes()
    header = struct.unpack("<Q", data[:8])[0]
    damaged = {
        "text": b"this is not a safetensors file at all",
        "truncated": data[: len(data) // 2],
        "header-length": struct.pack("<Q", header + 1000) + data[8:],
        "header-json": data[:8] + b"[" + data[9:],
        "empty": b"",
    }[damage]
    path = tmp_path / "bad.safetensors"
    path.write_bytes(damaged)
    with pytest.raises(BundleError, match=r"bad.safetensors: not a readable safetensors file"):
        load_bundle(path)


def test_changed_weights_fail_the_hash(bundle_path, tmp_path):
    data = bytearray(bundle_path.read_bytes())
    data[-3] ^= 0x01  # one bit of the last tensor's data
    path = tmp_path / "flipped.safetensors"
    path.write_bytes(bytes(data))
    expected = r"flipped.safetensors: weights sha256 .* does not match manifest field 'weights.sha256'"
    with pytest.raises(BundleError, match=expected):
        load_bundle(path)


def test_missing_or_bad_manifest(bundle_path, tmp_path):
    tensors, _ = read_raw(bundle_path)
    path = tmp_path / "m.safetensors"
    path.write_bytes(safetensors_save(tensors))
    with pytest.raises(BundleError, match=r"m.safetensors: metadata key 'freqaug.manifest' is missing"):
        load_bundle(path)
    path.write_bytes(safetensors_save(tensors, metadata={"freqaug": "{}"}))
    with pytest.raises(BundleError, match="training checkpoint"):
        load_bundle(path)
    path.write_bytes(safetensors_save(tensors, metadata={MANIFEST_KEY: "{not json"}))
    with pytest.raises(BundleError, match="not valid JSON"):
        load_bundle(path)
    path.write_bytes(safetensors_save(tensors, metadata={MANIFEST_KEY: "[1, 2]"}))
    with pytest.raises(BundleError, match="expected a JSON object"):
        load_bundle(path)


def test_a_newer_format_version_says_which_freqaug_reads_it(bundle_path, tmp_path):
    path = edit_manifest(bundle_path, tmp_path, "format_version", 2)
    _, manifest = read_raw(path)
    manifest["freqaug_version"] = "9.1.0"
    rewrite(path, path, manifest=manifest, rehash=False)
    with pytest.raises(BundleError, match=r"'format_version': 2 is newer .* install freqaug >= 9.1.0"):
        load_bundle(path)


@pytest.mark.parametrize(
    "field",
    ["format", "format_version", "freqaug_version", "model", "band_shapes", "band_stats", "noise", "noise.sha256",
     "noise.seed", "alpha", "parameters", "classes", "weights", "weights.sha256", "weights.dtype", "provenance"],
)
def test_a_missing_manifest_field_is_named(bundle_path, tmp_path, field):
    path = edit_manifest(bundle_path, tmp_path, field, None, delete=True)
    with pytest.raises(BundleError, match=rf"edited.safetensors: manifest field '{field}' is missing; expected"):
        load_bundle(path)


@pytest.mark.parametrize(
    "field, value, expected",
    [
        ("format", "other-format", "'format': expected 'freqaug-bundle'"),
        ("format_version", "1", "'format_version': expected an integer"),
        ("format_version", 0, "'format_version': expected an integer in 1..1"),
        ("freqaug_version", 1, "'freqaug_version': expected a string"),
        ("model", [], "'model': expected an object"),
        ("model.alpha", "weird", "'model': not a valid FreqGANConfig"),
        ("model.spec", {"kind": "dwt", "levels": "two"}, "'model': not a valid FreqGANConfig"),
        ("noise.seed", 1.5, "'noise.seed': expected an integer"),
        ("noise.sha256", "abc", "'noise.sha256': expected a sha256 hex digest"),
        ("weights.count", True, "'weights.count': expected an integer"),
        ("weights.dtype", "float16", "'weights.dtype': expected 'float32'"),
        ("alpha", "0.5", "'alpha': expected a list of numbers"),
        ("alpha", [0.25], "'alpha': expected \\["),
        ("band_shapes.LL2", [4, 7], "'band_shapes': expected"),
        ("band_stats.HH1.scale", [1, 2, 3], "'band_stats': expected"),
        ("parameters.LL2", 1, "'parameters': expected"),
        ("classes", 3, "'classes': expected null or a list of strings"),
        ("classes", ["road", "car"], r"'classes': expected None \(model.layout.classes.names\), got \['road', 'car'\]"),
        ("provenance", "yesterday", "'provenance': expected an object"),
    ],
)
def test_a_wrong_manifest_field_is_named(bundle_path, tmp_path, field, value, expected):
    path = edit_manifest(bundle_path, tmp_path, field, value)
    with pytest.raises(BundleError, match=rf"edited.safetensors: manifest field {expected}"):
        load_bundle(path)


def _tensor_case(tensors, case):
    name = "generators.LL2.fc.weight"
    if case == "missing":
        del tensors[name]
    elif case == "extra":
        tensors["generators.XX.fc.weight"] = torch.zeros(2)
    elif case == "shape":
        tensors[name] = tensors[name].reshape(-1).contiguous()
    elif case == "dtype":
        tensors[name] = tensors[name].double()
    elif case == "nan":
        tensors[name] = tensors[name].clone()
        tensors[name][0, 0] = float("nan")
    return tensors


@pytest.mark.parametrize(
    "case, expected",
    [
        ("missing", r"tensor\(s\) \['generators.LL2.fc.weight'\] missing"),
        ("extra", r"unexpected tensor\(s\) \['generators.XX.fc.weight'\]"),
        ("shape", r"tensor 'generators.LL2.fc.weight': shape \(\d+,\), expected \(\d+, 2\)"),
        ("dtype", r"tensor 'generators.LL2.fc.weight': dtype torch.float64, expected torch.float32"),
        ("nan", r"tensor 'generators.LL2.fc.weight' holds NaN"),
    ],
)
def test_a_wrong_tensor_is_named(bundle_path, tmp_path, case, expected):
    tensors, _ = read_raw(bundle_path)
    path = rewrite(bundle_path, tmp_path / "t.safetensors", tensors=_tensor_case(tensors, case))
    with pytest.raises(BundleError, match=rf"t.safetensors: {expected}"):
        load_bundle(path)


def test_a_manifest_for_a_huge_model_is_refused_before_building_it(bundle_path, tmp_path):
    path = edit_manifest(bundle_path, tmp_path, "model.image_size", [16384, 16384])
    start = time.perf_counter()
    with pytest.raises(BundleError, match=r"edited.safetensors: tensor\(s\) \['baseline.blocks.10.conv.bias', .* missing"):
        load_bundle(path)
    assert time.perf_counter() - start < 5  # shapes come from a meta-device model: nothing is allocated


def test_a_tampered_noise_projection_is_caught(bundle_path, tmp_path):
    tensors, _ = read_raw(bundle_path)
    tensors["noise.projection"] = tensors["noise.projection"].flip(0).contiguous()  # orthogonal, but not the seed's
    path = rewrite(bundle_path, tmp_path / "n.safetensors", tensors=tensors)
    stored = r"tensor 'noise.projection' has sha256 \w+\.\.\., expected \w+\.\.\. \(manifest field 'noise.sha256'\)"
    with pytest.raises(BundleError, match=stored):
        load_bundle(path)
    path = edit_manifest(bundle_path, tmp_path, "noise.sha256", "0" * 64)
    with pytest.raises(BundleError, match=stored):
        load_bundle(path)


def test_a_changed_noise_seed_is_caught(bundle_path, tmp_path):
    _, manifest = read_raw(bundle_path)
    manifest["model"]["noise_seed"] = 5
    manifest["noise"]["seed"] = 5
    path = rewrite(bundle_path, tmp_path / "s.safetensors", manifest=manifest)
    with pytest.raises(BundleError, match="rebuilt from noise_seed 5"):
        load_bundle(path)


def test_a_bundle_for_another_image_size_is_refused(bundle_path):
    assert load_bundle(bundle_path, image_size=SIZE).image_size == SIZE
    expected = r"tiny.safetensors: the bundle generates 16x24 \(HxW\) images, but 96x128 was asked for"
    with pytest.raises(BundleError, match=expected):
        load_bundle(bundle_path, image_size=(96, 128))


# ---- fuzz: random byte flips and truncations -----------------------------------------------------

@pytest.fixture(scope="module")
def bundle_bytes(bundle_path):
    data = bundle_path.read_bytes()
    return data, 8 + struct.unpack("<Q", data[:8])[0]


damage = st.one_of(
    st.tuples(st.just("flip"), st.lists(st.tuples(st.integers(0, 2**31), st.integers(1, 255)), min_size=1, max_size=4),
              st.booleans()),
    st.tuples(st.just("truncate"), st.integers(0, 2**31), st.booleans()),
)


def _damaged(data: bytes, header_end: int, case) -> bytes:
    """Apply flips (XOR masks) or a truncation, aimed at the header (JSON) or anywhere."""
    kind, where, in_header = case
    span = header_end if in_header else len(data)
    if kind == "truncate":
        return data[: where % span]
    out = bytearray(data)
    for position, mask in where:
        out[position % span] ^= mask
    return bytes(out)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(case=damage)
def test_fuzzed_bundles_raise_bundle_error_or_load_correctly(bundle_bytes, tmp_path, case):
    data, header_end = bundle_bytes
    path = tmp_path / "fuzz.safetensors"
    path.write_bytes(_damaged(data, header_end, case))
    try:
        bundle = load_bundle(path)
    except BundleError as err:
        assert "fuzz.safetensors" in str(err)
        return
    images = bundle.generate(2, seed=0)  # a damaged file that still loads must be a working bundle
    assert images.shape == (2, 3, *bundle.image_size) and bool(torch.isfinite(images).all())


# ---- layout-conditional bundles -------------------------------------------------------------------

COND_MODEL = FreqGANConfig(spec=BandSpec(levels=2), image_size=SIZE, z_dim=16, generator=TINY, discriminator=TINY,
                           layout=LayoutConfig(CAMVID, hidden=4))


@pytest.fixture(scope="module")
def cond_scenes():
    """Drawn scenes (drawn at 32x48, halved) and their CamVid label maps (nearest)."""
    scenes, labels = synthetic_batch(8, size=(32, 48), seed=4)
    return torch.nn.functional.avg_pool2d(scenes, 2) * 2 - 1, labels[:, ::2, ::2].contiguous()


@pytest.fixture(scope="module")
def cond_run(tmp_path_factory, cond_scenes):
    """(run folder, trainer) of a conditional `train_run`: 2 stage-1 steps and 1 stage-2 step."""
    run = tmp_path_factory.mktemp("cond") / "run"
    config = RunConfig(model=COND_MODEL, train=TrainConfig(batch_size=4), stage1_steps=2, stage2_steps=1,
                       checkpoint_every=0, sample_every=0)
    images, labels = cond_scenes
    return run, train_run(run, images, config, labels=labels, progress=False)


@pytest.fixture(scope="module")
def cond_bundle_path(cond_run):
    return export_run(cond_run[0], cond_run[0] / "cond.safetensors")


def test_conditional_bundle_round_trip_keeps_classes_and_generates_the_emas_images(cond_run, cond_bundle_path,
                                                                                   cond_scenes):
    bundle = load_bundle(cond_bundle_path)
    manifest = bundle.manifest
    assert manifest["classes"] == list(CAMVID.names)
    assert manifest["model"]["layout"]["classes"] == CAMVID.to_dict()  # palette and ignore id
    assert bundle.config == COND_MODEL and bundle.classes == CAMVID
    layouts = cond_scenes[1][:5]
    z = bundle.z_for(2, range(5))
    with torch.no_grad():
        expected = (cond_run[1].ema(z, layouts).image * 0.5 + 0.5).clamp(0, 1)
    torch.testing.assert_close(bundle.generate(layouts, seed=2), expected, atol=1e-5, rtol=0)
    torch.testing.assert_close(bundle.images_from_z(z, layouts), expected, atol=1e-5, rtol=0)
    assert bundle.bands_from_z(z, layouts)["LL2"].shape == (5, 3, 4, 6)
    assert "classes    ['sky', 'building'" in describe_bundle(bundle)


def test_conditional_generate_is_deterministic_and_follows_each_layout(cond_bundle_path, cond_scenes):
    bundle = load_bundle(cond_bundle_path)
    layouts = cond_scenes[1]
    reference = bundle.generate(layouts, seed=3)
    assert reference.shape == (8, 3, *SIZE)
    for batch_size in (1, 3, 8, 64):
        assert torch.equal(bundle.generate(layouts, seed=3, batch_size=batch_size), reference)
    assert torch.equal(bundle.generate(layouts[4:], seed=3, start=4, batch_size=3), reference[4:])
    assert torch.equal(bundle.generate(layouts.numpy(), seed=3), reference)  # arrays work too
    assert not torch.equal(bundle.generate(layouts, seed=4), reference)
    twice = bundle.generate(layouts[[0, 0]], seed=3)  # one layout, two target vectors: two scenes
    assert torch.equal(twice[0], reference[0]) and (twice[1] - twice[0]).abs().mean() > 1e-4
    swapped = bundle.generate(layouts[[1, 0]], seed=3)  # same target vectors, other layouts
    assert (swapped[0] - reference[0]).abs().mean() > 1e-4
    assert bundle.generate(layouts[:0], seed=3).shape == (0, 3, *SIZE)


def test_layouts_are_required_exactly_by_conditional_bundles(cond_bundle_path, bundle, cond_scenes, tmp_path):
    cond = load_bundle(cond_bundle_path)
    layouts = cond_scenes[1]
    with pytest.raises(ValueError, match=r"layouts: this bundle is conditional on 11-class layouts \(sky, building"):
        cond.generate(4, seed=0)
    with pytest.raises(ValueError, match=r"labels: this FreqGAN is conditional"):
        cond.images_from_z(cond.z_for(0, [0]))
    with pytest.raises(ValueError, match=r"layouts: this bundle is unconditional"):
        bundle.generate(layouts, seed=0)
    with pytest.raises(ValueError, match=r"layouts: expected shape \(N, 16, 24\) .*got \(8, 32, 48\)"):
        cond.generate(torch.zeros(8, 32, 48, dtype=torch.uint8))
    bad = layouts.clone()
    bad[2, 0, 0] = 12
    with pytest.raises(ValueError, match=r"layouts: ids \[12\] are outside the class list; expected 0..10 or the "
                                         r"ignore id 11"):
        cond.generate(bad)
    with pytest.raises(TypeError, match=r"layouts: expected an integer tensor of class ids, got torch.float32"):
        cond.generate(layouts.float())
    with pytest.raises(ValueError, match=r"cond.safetensors: a layout-conditional bundle \(11 classes\)"):
        generate_to_folder(cond, tmp_path / "out", n=2, progress=False)


def test_a_conditional_manifest_with_other_classes_is_refused(cond_bundle_path, tmp_path):
    for value in (None, ["road"] * 11):
        path = edit_manifest(cond_bundle_path, tmp_path, "classes", value)
        with pytest.raises(BundleError, match=r"manifest field 'classes': expected \['sky', 'building'"):
            load_bundle(path)


def test_a_changed_byte_anywhere_in_the_manifest_is_refused_at_load(bundle_path, tmp_path):
    from freqaug.bundle.manifest import MANIFEST_SHA256_KEY

    with safe_open(str(bundle_path), framework="pt") as handle:
        metadata = dict(handle.metadata())
        tensors = {k: handle.get_tensor(k) for k in handle.keys()}
    assert MANIFEST_SHA256_KEY in metadata
    text = metadata[MANIFEST_KEY]
    for old, new in (('"wavelet": "haar"', '"wavelet": "db1"'), ('"periodization"', '"periodisation"')):
        if old not in text:
            continue
        damaged = tmp_path / "damaged.safetensors"  # shapes unchanged: only the stored hash can tell
        damaged.write_bytes(safetensors_save(tensors, metadata={**metadata, MANIFEST_KEY: text.replace(old, new, 1)}))
        with pytest.raises(BundleError, match="damaged.safetensors: the manifest does not match its sha256"):
            load_bundle(damaged)
    old_style = tmp_path / "old.safetensors"  # written before the hash existed: still loads
    old_style.write_bytes(safetensors_save(tensors, metadata={MANIFEST_KEY: text}))
    assert load_bundle(old_style).manifest == load_bundle(bundle_path).manifest


def test_a_cascade_source_of_another_size_is_refused_at_load_not_at_generate(bundle_path, tmp_path):
    tensors, manifest = read_raw(bundle_path)
    from freqaug.models import FreqGANConfig

    config = FreqGANConfig.from_dict(manifest["model"])
    shapes = config.spec.band_shapes(*config.image_size)
    band, sources = next(iter(config.cascade.items()))
    other = next(b for b in config.spec.band_names if shapes[b] != shapes[sources[0]] and b not in (band, *sources))
    manifest["model"]["cascade"][band] = [*sources, other]  # a band of another size beside the first source
    damaged = rewrite(bundle_path, tmp_path / "cascade.safetensors", manifest=manifest)
    with pytest.raises(BundleError, match=r"cascade.safetensors.*sources of band .* must share one size"):
        load_bundle(damaged)
