"""Case 01: wav2vec2 + in_fn/out_fn against the kit's goldens, through the public pipeline and the model."""

from __future__ import annotations

import json

import pytest
import torch

from aniportrait_cli.audio2lmk import features
from aniportrait_cli.audio2lmk.configs import TINY_POSE_CONFIG
from aniportrait_cli.audio2lmk.loading import load_strict
from aniportrait_cli.audio2lmk.models import (
    Audio2MeshModel,
    Audio2PoseModel,
    last_hidden_state,
)
from aniportrait_cli.audio2lmk.pipeline import Audio2LmkPipeline
from aniportrait_cli.audio2lmk.tiny import randomize_
from aniportrait_cli.weights.checkpoints import read_state_dict
from tests.conformance.conftest import assert_matches_golden, case_dir

pytestmark = pytest.mark.usefixtures("single_torch_thread")

CASE = "01_audio2mesh"


@pytest.fixture(scope="module")
def case():
    folder = case_dir(CASE)
    config = json.loads((folder / "config.json").read_text())
    model = Audio2MeshModel(
        wav2vec2_config=config["wav2vec2_config"], latent_dim=config["latent_dim"], out_dim=config["out_dim"]
    )
    load_strict(model, read_state_dict(folder / "weights.safetensors"), "case 01 weights")
    return model.eval(), config, read_state_dict(folder / "io.safetensors")


def test_frame_count_and_normalisation(case):
    _, config, io = case
    waveform = io["waveform_16k"].numpy()
    assert features.count_frames(waveform.shape[0]) == int(io["seq_len"]) == config["seq_len"]
    assert_matches_golden(
        CASE, "input_values", torch.from_numpy(features.normalise(waveform))[None], io["input_values"]
    )


def test_model_forward(case):
    model, _, io = case
    seq_len = int(io["seq_len"])
    with torch.inference_mode():
        hidden = last_hidden_state(model.audio_encoder, io["input_values"], seq_len)
        offsets = model(io["input_values"], seq_len)
    assert_matches_golden(CASE, "w2v_last_hidden_state", hidden, io["w2v_last_hidden_state"])
    assert_matches_golden(CASE, "mesh_offsets", offsets, io["mesh_offsets"])


def test_pipeline_from_raw_waveform(case):
    """The public path: raw samples -> chunked conv features with folded GroupNorm -> offsets (T, 468, 3)."""
    model, _, io = case
    pipe = Audio2LmkPipeline(model, randomize_(Audio2PoseModel(**TINY_POSE_CONFIG), 0))
    offsets = pipe.mesh_offsets(io["waveform_16k"].numpy())
    assert offsets.shape == (33, 468, 3) and offsets.dtype.name == "float32"
    assert_matches_golden(CASE, "mesh_offsets", torch.from_numpy(offsets).reshape(1, 33, 1404), io["mesh_offsets"])
