"""The public pipeline: checkpoint files in the released format, API contracts, progress, frame rates."""

from __future__ import annotations

import itertools
import pickle

import numpy as np
import pytest
import torch
from safetensors.torch import save_file

from aniportrait_cli.audio2lmk import Audio2LmkPipeline, write_tiny_checkpoints
from aniportrait_cli.audio2lmk.configs import TINY_MESH_CONFIG, TINY_POSE_CONFIG
from aniportrait_cli.audio2lmk.models import Audio2PoseModel
from aniportrait_cli.audio2lmk.tiny import randomize_
from aniportrait_cli.errors import InputError


@pytest.fixture(scope="module")
def checkpoints(tmp_path_factory):
    return write_tiny_checkpoints(tmp_path_factory.mktemp("weights"), seed=4)


@pytest.fixture(scope="module")
def pipe(checkpoints):
    return Audio2LmkPipeline.from_pretrained(*checkpoints)


def _speech_like(seconds: float, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = np.arange(round(seconds * 16000)) / 16000
    envelope = 0.5 + 0.5 * np.sin(2 * np.pi * 4 * t)
    return (envelope * np.sin(2 * np.pi * 180 * t) * 0.3 + 0.02 * rng.standard_normal(t.size)).astype(np.float32)


def test_tiny_checkpoints_are_in_the_released_format(checkpoints):
    for path in checkpoints:
        state = torch.load(path, weights_only=True)
        assert isinstance(state, dict)
        keys = list(state)
        assert "audio_encoder.encoder.pos_conv_embed.conv.weight_g" in keys
        assert "audio_encoder.encoder.pos_conv_embed.conv.weight_v" in keys
        assert "audio_encoder.masked_spec_embed" in keys
        assert not any("parametrizations" in k for k in keys)


def test_loader_infers_tiny_sizes_and_round_trips_exactly(checkpoints, pipe):
    reference = Audio2LmkPipeline.from_config(TINY_MESH_CONFIG, TINY_POSE_CONFIG, seed=4)
    for loaded, built in ((pipe.mesh_model, reference.mesh_model), (pipe.pose_model, reference.pose_model)):
        assert dict(loaded.config)["wav2vec2_config"] == dict(built.config)["wav2vec2_config"]
        a, b = loaded.state_dict(), built.state_dict()
        assert list(a) == list(b)
        assert all(torch.equal(a[k], b[k]) for k in a)
    samples = _speech_like(1.5)
    np.testing.assert_array_equal(pipe.mesh_offsets(samples), reference.mesh_offsets(samples))


def test_safetensors_and_legacy_pickles_load(tmp_path, checkpoints):
    mesh_state = torch.load(checkpoints[0], weights_only=True)
    save_file(mesh_state, tmp_path / "audio2mesh.safetensors")
    torch.save(torch.load(checkpoints[1], weights_only=True), tmp_path / "old.pt", _use_new_zipfile_serialization=False)
    Audio2LmkPipeline.from_pretrained(tmp_path / "audio2mesh.safetensors", tmp_path / "old.pt")


@pytest.mark.filterwarnings("ignore:Detected pickle protocol")
def test_bad_checkpoints_fail_with_a_clear_message(tmp_path, checkpoints):
    mesh_path, pose_path = checkpoints
    with pytest.raises(InputError, match="nowhere.pt: checkpoint not found"):
        Audio2LmkPipeline.from_pretrained(tmp_path / "nowhere.pt", pose_path)
    state = torch.load(pose_path, weights_only=True)
    state["transformer_decoder.layers.9.norm1.weight"] = torch.ones(32)
    torch.save(state, tmp_path / "extra.pt")
    with pytest.raises(
        InputError, match=r"extra.pt: .*1 unexpected key \(transformer_decoder\.layers\.9\.norm1\.weight\)"
    ):
        Audio2LmkPipeline.from_pretrained(mesh_path, tmp_path / "extra.pt")
    state = torch.load(mesh_path, weights_only=True)
    del state["out_fn.bias"]
    torch.save(state, tmp_path / "missing.pt")
    with pytest.raises(InputError, match=r"missing.pt: .*1 missing key \(out_fn\.bias\)"):
        Audio2LmkPipeline.from_pretrained(tmp_path / "missing.pt", pose_path)
    (tmp_path / "junk.pt").write_bytes(pickle.dumps([1, 2, 3]))
    with pytest.raises(InputError, match="junk.pt: not a readable checkpoint"):
        Audio2LmkPipeline.from_pretrained(tmp_path / "junk.pt", pose_path)
    state = torch.load(mesh_path, weights_only=True)
    del state["in_fn.weight"]
    torch.save(state, tmp_path / "headless.pt")
    with pytest.raises(InputError, match=r"headless.pt: not a Audio2MeshModel checkpoint \(no key 'in_fn.weight'\)"):
        Audio2LmkPipeline.from_pretrained(tmp_path / "headless.pt", pose_path)


def test_outputs_shapes_dtypes_and_consistency(pipe):
    samples = _speech_like(2.3)
    frames = pipe.frame_count(samples.size)
    assert frames == 69
    both = pipe.predict(samples, pose_style=5)
    assert both.mesh_offsets.shape == (69, 468, 3) and both.mesh_offsets.dtype == np.float32
    assert both.head_pose.shape == (69, 6) and both.head_pose.dtype == np.float32
    np.testing.assert_array_equal(pipe.mesh_offsets(samples), both.mesh_offsets)
    np.testing.assert_array_equal(pipe.head_pose(samples, pose_style=5), both.head_pose)


def test_other_frame_rates_resample_the_30fps_tracks(pipe):
    samples = _speech_like(2.0)
    at30 = pipe.predict(samples, pose_style=2)
    at25 = pipe.predict(samples, pose_style=2, fps=25)
    assert at25.mesh_offsets.shape == (50, 468, 3) and at25.head_pose.shape == (50, 6)
    # Frame 5 at 25 fps is t = 0.2 s = frame 6 at 30 fps.
    np.testing.assert_allclose(at25.head_pose[5], at30.head_pose[6], atol=1e-5)
    np.testing.assert_allclose(at25.mesh_offsets[5], at30.mesh_offsets[6], atol=1e-5)


def test_progress_is_monotonic_and_completes(pipe):
    calls = []
    pipe.predict(_speech_like(3.0), pose_style=0, progress=lambda done, total: calls.append((done, total)))
    assert calls and calls[-1][0] == calls[-1][1]
    assert all(b[0] > a[0] and b[1] == a[1] for a, b in itertools.pairwise(calls))


def test_silence_and_the_shortest_clip(pipe):
    silent = pipe.predict(np.zeros(16000, np.float32), pose_style=0)
    assert np.isfinite(silent.mesh_offsets).all() and np.isfinite(silent.head_pose).all()
    shortest = pipe.predict(_speech_like(400 / 16000), pose_style=0)
    assert shortest.mesh_offsets.shape == (1, 468, 3) and shortest.head_pose.shape == (1, 6)
    with pytest.raises(InputError, match="too short"):
        pipe.mesh_offsets(np.zeros(399, np.float32))


def test_identical_conv_front_ends_are_computed_once(pipe):
    """Models fine-tuned with a frozen conv front end share it: the pipeline detects that and reuses the features."""
    pose = randomize_(Audio2PoseModel(**TINY_POSE_CONFIG), seed=9)
    pose.audio_encoder.feature_extractor.load_state_dict(pipe.mesh_model.audio_encoder.feature_extractor.state_dict())
    shared = Audio2LmkPipeline(pipe.mesh_model, pose)
    assert shared.shares_conv_features and not pipe.shares_conv_features
    samples = _speech_like(2.0)
    together = shared.predict(samples, pose_style=3)
    assert "pose conv" not in shared.last_timings
    alone = shared.head_pose(samples, pose_style=3)
    np.testing.assert_allclose(together.head_pose, alone, atol=1e-6)


def test_half_precision_files_load_as_float32(tmp_path, checkpoints):
    for path in checkpoints:
        state = torch.load(path, weights_only=True)
        torch.save({k: v.half() for k, v in state.items()}, tmp_path / path.name)
    half = Audio2LmkPipeline.from_pretrained(tmp_path / checkpoints[0].name, tmp_path / checkpoints[1].name)
    assert {p.dtype for m in (half.mesh_model, half.pose_model) for p in m.state_dict().values()} == {torch.float32}
    assert np.isfinite(half.head_pose(_speech_like(1.0), pose_style=1)).all()


def test_identical_backbones_run_once(pipe):
    """Both heads on one frozen backbone: the pose model reuses the mesh model's hidden states, same result."""
    pose = randomize_(Audio2PoseModel(**TINY_POSE_CONFIG), seed=9)
    backbone = pipe.mesh_model.audio_encoder.state_dict()
    backbone["masked_spec_embed"] = backbone["masked_spec_embed"] + 1  # training-only: may differ
    pose.audio_encoder.load_state_dict(backbone)
    shared = Audio2LmkPipeline(pipe.mesh_model, pose)
    assert shared.shares_backbone and not pipe.shares_backbone
    samples = _speech_like(2.0)
    together = shared.predict(samples, pose_style=3)
    assert "pose conv" not in shared.last_timings and "pose encoder" not in shared.last_timings
    alone = shared.head_pose(samples, pose_style=3)
    np.testing.assert_allclose(together.head_pose, alone, atol=1e-6)


@pytest.mark.parametrize("precision", ["bf16", "int8"])
def test_faster_precisions_stay_close_to_fp32(pipe, precision):
    import copy

    samples = _speech_like(2.0)
    reference = pipe.predict(samples, pose_style=3)
    fast = Audio2LmkPipeline(copy.deepcopy(pipe.mesh_model), copy.deepcopy(pipe.pose_model), precision=precision)
    if precision == "int8":  # the decode loop's attention projections are quantized too
        assert all(hasattr(layer.self_attn, "step_projections") for layer in fast.pose_model.transformer_decoder.layers)
    out = fast.predict(samples, pose_style=3)
    for name in ("mesh_offsets", "head_pose"):
        got, want = getattr(out, name), getattr(reference, name)
        assert got.dtype == np.float32 and got.shape == want.shape
        relative = np.abs(got - want).mean() / np.abs(want).mean()
        assert 0 < relative < 0.1, (name, relative)
