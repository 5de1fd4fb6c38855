"""Model sizes: the released full-size defaults, a tiny variant for tests, and inference from a state dict.

A config is a dict of constructor arguments (`Audio2MeshModel(**config)`, `Audio2PoseModel(**config)`).
The released files carry no config, so `infer_*_config` reads every size from the tensor shapes. Two wav2vec2
hyper-parameters have no tensor of their own; the loader uses the conventions every wav2vec2 checkpoint follows:
attention heads of 64 channels (base: 768 / 12) and the standard (5, 2, 2, 2, 2, 2, 2) stride stack. The pose
decoder's 8 heads are hard-wired in the original. Tiny test checkpoints follow the same conventions, so they load
without a side-car config.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping

import torch

# wav2vec2-base-960h, the backbone of both released files (public config, written out: never downloaded).
WAV2VEC2_BASE_960H: dict = {
    "hidden_size": 768,
    "num_hidden_layers": 12,
    "num_attention_heads": 12,
    "intermediate_size": 3072,
    "hidden_act": "gelu",
    "feat_extract_norm": "group",
    "feat_extract_activation": "gelu",
    "conv_dim": [512] * 7,
    "conv_stride": [5, 2, 2, 2, 2, 2, 2],
    "conv_kernel": [10, 3, 3, 3, 3, 2, 2],
    "conv_bias": False,
    "num_conv_pos_embeddings": 128,
    "num_conv_pos_embedding_groups": 16,
    "do_stable_layer_norm": False,
    "layer_norm_eps": 1e-05,
    "mask_time_prob": 0.05,
    "vocab_size": 32,
}

WAV2VEC2_HEAD_DIM = 64
WAV2VEC2_STRIDES = [5, 2, 2, 2, 2, 2, 2]
POSE_DECODER_HEADS = 8

# Full size = the released audio2mesh.pt / audio2pose.pt (latent sizes read off the kit's manifests).
MESH_CONFIG: dict = {"wav2vec2_config": WAV2VEC2_BASE_960H, "latent_dim": 512, "out_dim": 1404}
POSE_CONFIG: dict = {
    "wav2vec2_config": WAV2VEC2_BASE_960H,
    "latent_dim": 512,
    "out_dim": 6,
    "num_decoder_layers": 8,
    "num_decoder_heads": POSE_DECODER_HEADS,
    "decoder_ffn_dim": 1024,
    "num_styles": 100,
    "max_positions": 600,
}

# A few hundred kB per file; same layout and conventions as the full size (head_dim 64, standard strides).
TINY_WAV2VEC2: dict = {
    **WAV2VEC2_BASE_960H,
    "hidden_size": 64,
    "num_hidden_layers": 2,
    "num_attention_heads": 1,
    "intermediate_size": 128,
    "conv_dim": [16] * 7,
    "num_conv_pos_embeddings": 16,
    "num_conv_pos_embedding_groups": 4,
}
TINY_MESH_CONFIG: dict = {"wav2vec2_config": TINY_WAV2VEC2, "latent_dim": 32, "out_dim": 1404}
TINY_POSE_CONFIG: dict = {
    **POSE_CONFIG,
    "wav2vec2_config": TINY_WAV2VEC2,
    "latent_dim": 32,
    "decoder_ffn_dim": 64,
}


def mesh_config(**overrides) -> dict:
    return {**copy.deepcopy(MESH_CONFIG), **overrides}


def pose_config(**overrides) -> dict:
    return {**copy.deepcopy(POSE_CONFIG), **overrides}


def _layer_count(keys, prefix: str) -> int:
    """Layers 0, 1, ... present without a gap (a stray higher index is left for the loader to report)."""
    pattern = re.compile(re.escape(prefix) + r"(\d+)\.")
    found = {int(m.group(1)) for key in keys if (m := pattern.match(key))}
    count = 0
    while count in found:
        count += 1
    return count


def infer_wav2vec2_config(state_dict: Mapping[str, torch.Tensor], prefix: str = "audio_encoder.") -> dict:
    """wav2vec2 sizes from the tensor shapes (raises KeyError naming a missing key)."""
    keys = list(state_dict)

    def shape(name: str) -> tuple[int, ...]:
        return tuple(state_dict[prefix + name].shape)

    conv_prefix = prefix + "feature_extractor.conv_layers."
    num_conv = _layer_count(keys, conv_prefix)
    conv_shapes = [shape(f"feature_extractor.conv_layers.{i}.conv.weight") for i in range(num_conv)]
    hidden = shape("feature_projection.projection.weight")[0]
    g_name = "encoder.pos_conv_embed.conv.weight_v"
    if prefix + g_name not in state_dict:
        g_name = "encoder.pos_conv_embed.conv.parametrizations.weight.original1"
    pos_v = shape(g_name)
    if f"{conv_prefix}1.layer_norm.weight" in state_dict:
        norm = "layer"
    else:
        norm = "group"
    return {
        **WAV2VEC2_BASE_960H,
        "hidden_size": hidden,
        "num_hidden_layers": _layer_count(keys, prefix + "encoder.layers."),
        "num_attention_heads": max(1, hidden // WAV2VEC2_HEAD_DIM),
        "intermediate_size": shape("encoder.layers.0.feed_forward.intermediate_dense.weight")[0],
        "feat_extract_norm": norm,
        "conv_dim": [s[0] for s in conv_shapes],
        "conv_kernel": [s[2] for s in conv_shapes],
        "conv_stride": list(WAV2VEC2_STRIDES[:num_conv]) + [2] * max(0, num_conv - len(WAV2VEC2_STRIDES)),
        "conv_bias": f"{conv_prefix}0.conv.bias" in state_dict,
        "num_conv_pos_embeddings": pos_v[2],
        "num_conv_pos_embedding_groups": hidden // pos_v[1],
        "mask_time_prob": 0.05 if prefix + "masked_spec_embed" in state_dict else 0.0,
    }


def infer_mesh_config(state_dict: Mapping[str, torch.Tensor]) -> dict:
    return {
        "wav2vec2_config": infer_wav2vec2_config(state_dict),
        "latent_dim": state_dict["in_fn.weight"].shape[0],
        "out_dim": state_dict["out_fn.weight"].shape[0],
    }


def infer_pose_config(state_dict: Mapping[str, torch.Tensor]) -> dict:
    return {
        "wav2vec2_config": infer_wav2vec2_config(state_dict),
        "latent_dim": state_dict["in_fn.weight"].shape[0],
        "out_dim": state_dict["pose_map_r.weight"].shape[0],
        "num_decoder_layers": _layer_count(list(state_dict), "transformer_decoder.layers."),
        "num_decoder_heads": POSE_DECODER_HEADS,
        "decoder_ffn_dim": state_dict["transformer_decoder.layers.0.linear1.weight"].shape[0],
        "num_styles": state_dict["id_embed.weight"].shape[0],
        "max_positions": state_dict["PPE.pe"].shape[1],
    }
