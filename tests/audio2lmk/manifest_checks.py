"""Shared checks of a full-size audio model against a kit manifest (used by tests/conformance/test_manifest_*)."""

from __future__ import annotations

import pytest
import torch

from aniportrait_cli.audio2lmk.loading import LEGACY_TO_PARAMETRIZED, POS_CONV_PREFIX, load_strict, to_release_names
from aniportrait_cli.errors import InputError


def meta_model(cls, config):
    with torch.device("meta"):
        return cls(**config)


def release_layout(model) -> list[tuple[str, tuple[int, ...]]]:
    return [(k, tuple(v.shape)) for k, v in to_release_names(model.state_dict()).items()]


def unfilled_tensors(manifest: dict[str, list[int]]) -> dict[str, torch.Tensor]:
    """Real (uninitialised, untouched, so nearly free) tensors of the manifest's shapes."""
    return {key: torch.empty(shape) for key, shape in manifest.items()}


def check_layout(cls, config, manifest, index_entry):
    model = meta_model(cls, config)
    assert release_layout(model) == [(k, tuple(v)) for k, v in manifest.items()]
    assert len(manifest) == index_entry["num_keys"]
    assert sum(v.numel() for v in model.state_dict().values()) == index_entry["float_elements"]


def check_strict_round_trip(cls, config, manifest):
    model = meta_model(cls, config)
    tensors = unfilled_tensors(manifest)
    load_strict(model, tensors, "manifest")
    loaded = to_release_names(model.state_dict())
    assert list(loaded) == list(manifest)
    for key, value in loaded.items():
        assert not value.is_meta, key
        assert value.data_ptr() == tensors[key].data_ptr(), f"{key} was copied or not loaded"


def check_new_weight_norm_names_accepted(cls, config, manifest):
    renamed = {}
    for key, value in unfilled_tensors(manifest).items():
        tail = key[len(POS_CONV_PREFIX) :] if key.startswith(POS_CONV_PREFIX) else None
        renamed[POS_CONV_PREFIX + LEGACY_TO_PARAMETRIZED[tail] if tail in LEGACY_TO_PARAMETRIZED else key] = value
    assert any("parametrizations" in k for k in renamed)
    load_strict(meta_model(cls, config), renamed, "manifest")


def check_missing_and_extra_keys_fail(cls, config, manifest):
    tensors = unfilled_tensors(manifest)
    key = "audio_encoder.encoder.pos_conv_embed.conv.weight_g"
    missing = {k: v for k, v in tensors.items() if k != key}
    with pytest.raises(InputError, match=r"1 missing key \(audio_encoder\.encoder\.pos_conv_embed\.conv\.weight_g\)"):
        load_strict(meta_model(cls, config), missing, "file.pt")
    extra = {**tensors, "head.extra.weight": torch.zeros(3), "head.more.bias": torch.zeros(3)}
    with pytest.raises(InputError, match=r"file\.pt: .*2 unexpected keys \(head\.extra\.weight, head\.more\.bias\)"):
        load_strict(meta_model(cls, config), extra, "file.pt")
    wrong = {**tensors, "in_fn.bias": torch.zeros(7)}
    with pytest.raises(InputError, match=r"1 shape mismatch \(in_fn\.bias \(7,\)"):
        load_strict(meta_model(cls, config), wrong, "file.pt")
