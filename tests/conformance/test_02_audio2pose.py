"""Case 02: wav2vec2 + autoregressive pose decoder, including the original script's 5 s chunking (compat)."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from aniportrait_cli.audio2lmk import pose_chunks
from aniportrait_cli.audio2lmk.configs import TINY_MESH_CONFIG
from aniportrait_cli.audio2lmk.loading import load_strict
from aniportrait_cli.audio2lmk.models import (
    Audio2MeshModel,
    Audio2PoseModel,
    last_hidden_state,
)
from aniportrait_cli.audio2lmk.pipeline import Audio2LmkPipeline
from aniportrait_cli.audio2lmk.tiny import randomize_
from aniportrait_cli.landmarks.pose_track import damp_rotations, moving_average
from aniportrait_cli.weights.checkpoints import read_state_dict
from tests.conformance.conftest import assert_matches_golden, case_dir

pytestmark = pytest.mark.usefixtures("single_torch_thread")

CASE = "02_audio2pose"


@pytest.fixture(scope="module")
def case():
    folder = case_dir(CASE)
    config = json.loads((folder / "config.json").read_text())
    model = Audio2PoseModel(
        wav2vec2_config=config["wav2vec2_config"],
        latent_dim=config["latent_dim"],
        out_dim=config["out_dim"],
        num_decoder_layers=config["decoder_layers"],
        num_decoder_heads=config["decoder_heads"],
        decoder_ffn_dim=config["decoder_ffn"],
        num_styles=config["id_embeddings"],
        max_positions=config["positional_encoding_max_len"],
    )
    load_strict(model, read_state_dict(folder / "weights.safetensors"), "case 02 weights")
    pipe = Audio2LmkPipeline(randomize_(Audio2MeshModel(**TINY_MESH_CONFIG), 0), model)
    return pipe, config, read_state_dict(folder / "io.safetensors")


def test_short_clip_model(case):
    pipe, _, io = case
    model = pipe.pose_model
    seq_len = int(io["seq_len"])
    with torch.inference_mode():
        hidden = last_hidden_state(model.audio_encoder, io["input_values"], seq_len)
        pose = model.generate(model.in_fn(hidden), io["id_seed"])
    assert_matches_golden(CASE, "w2v_last_hidden_state", hidden, io["w2v_last_hidden_state"])
    assert_matches_golden(CASE, "pose", pose, io["pose"])


def test_short_clip_pipeline(case):
    """Default and compat mode agree with the original for clips up to 10 s (a single decoded sequence)."""
    pipe, _, io = case
    style = int(io["id_seed"])
    for compat in (False, True):
        pose = pipe.raw_head_pose(io["input_values"], style, compat=compat)
        assert_matches_golden(CASE, "pose", pose.unsqueeze(0), io["pose"])
    # Public API on samples (normalising already-normalised audio again changes it by ~1e-6 relative).
    out = pipe.predict(io["input_values"][0].numpy(), style, mesh=False)
    assert_matches_golden(CASE, "pose", torch.from_numpy(out.head_pose_raw)[None], io["pose"])


def test_long_clip_pieces_match_the_original(case):
    _, config, io = case
    pieces = pose_chunks.compat_pieces(io["long_input_values"].shape[1], int(io["long_seq_len"]))
    assert [p.sample_stop - p.sample_start for p in pieces] == io["long_chunk_num_samples"].tolist()
    assert [p.num_frames for p in pieces] == io["long_chunk_seq_lens"].tolist()
    assert config["long"]["chunk_seq_lens"] == io["long_chunk_seq_lens"].tolist()


def test_long_clip_compat(case):
    pipe, _, io = case
    raw = pipe.raw_head_pose(io["long_input_values"], int(io["id_seed"]), compat=True)
    assert_matches_golden(CASE, "long_pose_raw_concat", raw, io["long_pose_raw_concat"])
    pose_seq = moving_average(damp_rotations(raw.numpy()))
    assert_matches_golden(CASE, "long_pose_seq", pose_seq, io["long_pose_seq"])


def test_long_clip_compat_public_api(case):
    pipe, _, io = case
    pose = pipe.head_pose(io["long_input_values"][0].numpy(), int(io["id_seed"]), compat=True)
    assert pose.shape == (333, 6) and pose.dtype == np.float32
    assert_matches_golden(CASE, "long_pose_seq", pose, io["long_pose_seq"])
