"""Shared checks of a full-size network (built on the meta device) against a kit manifest {key: shape}."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from aniportrait_cli.lmk2video.loading import WeightsMismatch, load_strict


def meta_state_dict(manifest: dict[str, list[int]], dtype: torch.dtype = torch.float32) -> dict[str, torch.Tensor]:
    """A stand-in for the released file: every key with its shape, no data (fp32 like the release;
    `num_batches_tracked` counters are int64)."""
    return {
        key: torch.empty(shape, device="meta", dtype=torch.int64 if key.endswith("num_batches_tracked") else dtype)
        for key, shape in manifest.items()
    }


def assert_same_keys_and_shapes(module: nn.Module, manifest: dict[str, list[int]]) -> None:
    actual = {k: list(v.shape) for k, v in module.state_dict().items()}
    missing = [k for k in manifest if k not in actual]
    extra = [k for k in actual if k not in manifest]
    assert not missing and not extra, f"missing {missing[:5]}, extra {extra[:5]}"
    wrong = [(k, actual[k], s) for k, s in manifest.items() if actual[k] != s]
    assert not wrong, wrong[:5]
    assert list(actual) == list(manifest), "same keys but another state-dict order"


def assert_strict_round_trip(build, manifest: dict[str, list[int]], what: str) -> nn.Module:
    """Loading the manifest-shaped state dict strictly succeeds, casts floats to fp16 and keeps int64 counters."""
    module = load_strict(build(), meta_state_dict(manifest), what, dtype=torch.float16, device="meta")
    state = module.state_dict()
    assert list(state) == list(manifest)
    for key, tensor in state.items():
        expected = torch.int64 if key.endswith("num_batches_tracked") else torch.float16
        assert tensor.dtype == expected, key
    return module


def assert_mismatches_are_named(build, manifest: dict[str, list[int]], what: str) -> None:
    keys = list(manifest)
    dropped = keys[len(keys) // 2]
    state = meta_state_dict(manifest)
    del state[dropped]
    with pytest.raises(WeightsMismatch, match="missing keys") as error:
        load_strict(build(), state, what, device="meta")
    assert dropped in str(error.value) and what in str(error.value)

    state = meta_state_dict(manifest)
    state["not_a_key_of_the_release.weight"] = torch.empty(3, device="meta")
    with pytest.raises(WeightsMismatch, match="unexpected keys") as error:
        load_strict(build(), state, what, device="meta")
    assert "not_a_key_of_the_release.weight" in str(error.value)

    state = meta_state_dict(manifest)
    reshaped = next(k for k in keys if len(manifest[k]) >= 2)
    state[reshaped] = torch.empty([d + 1 for d in manifest[reshaped]], device="meta")
    with pytest.raises(WeightsMismatch, match="shape mismatches") as error:
        load_strict(build(), state, what, device="meta")
    assert reshaped in str(error.value)


def element_count(manifest: dict[str, list[int]]) -> int:
    total = 0
    for key, shape in manifest.items():
        if not key.endswith("num_batches_tracked"):
            total += int(torch.tensor(shape).prod().item()) if shape else 1
    return total
