"""Reading the released audio checkpoints and loading them strictly.

`audio2mesh.pt` / `audio2pose.pt` are pickled state dicts (original key names). The original loads them
non-strictly, which silently keeps random or base weights when a name does not match; here every file key must be
consumed and every module tensor filled, or the load fails with the offending keys named.

Weight-norm naming: the files were written with torch 2.0, whose positional conv stores `conv.weight_g` /
`conv.weight_v`; current torch registers the same tensors as `conv.parametrizations.weight.original0` /
`original1`. The mapping is done explicitly here (both spellings are accepted on input); `to_release_names`
gives back the released spelling, e.g. to write files in the original format.
"""

from __future__ import annotations

from collections.abc import Mapping

import torch
from torch import nn

from aniportrait_cli.errors import InputError

LEGACY_TO_PARAMETRIZED = {
    "conv.weight_g": "conv.parametrizations.weight.original0",
    "conv.weight_v": "conv.parametrizations.weight.original1",
}
POS_CONV_PREFIX = "audio_encoder.encoder.pos_conv_embed."


def to_module_names(state_dict: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Release (weight_g / weight_v) names -> the names this torch's modules use."""
    return {_rename(key, LEGACY_TO_PARAMETRIZED): value for key, value in state_dict.items()}


def to_release_names(state_dict: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Module names -> the released files' names (weight_g / weight_v)."""
    reverse = {new: old for old, new in LEGACY_TO_PARAMETRIZED.items()}
    return {_rename(key, reverse): value for key, value in state_dict.items()}


def _rename(key: str, table: Mapping[str, str]) -> str:
    if key.startswith(POS_CONV_PREFIX):
        tail = key[len(POS_CONV_PREFIX) :]
        if tail in table:
            return POS_CONV_PREFIX + table[tail]
    return key


def load_strict(module: nn.Module, state_dict: Mapping[str, torch.Tensor], source: str = "state dict") -> None:
    """Load every tensor of `state_dict` (release or module names) into `module`, which may live on meta.

    Raises InputError naming missing/unexpected keys (with counts) or shape mismatches. Floating tensors are cast
    to the module's dtype; the audio models run in float32.
    """
    incoming = to_module_names(state_dict)
    expected = module.state_dict()
    missing = [k for k in expected if k not in incoming]
    unexpected = [k for k in incoming if k not in expected]
    mismatched = [
        f"{k} {tuple(incoming[k].shape)} (model expects {tuple(expected[k].shape)})"
        for k in expected
        if k in incoming and incoming[k].shape != expected[k].shape
    ]
    problems = []
    if missing:
        problems.append(_listing("missing key", to_release_names(dict.fromkeys(missing))))
    if unexpected:
        problems.append(_listing("unexpected key", to_release_names(dict.fromkeys(unexpected))))
    if mismatched:
        problems.append(_listing("shape mismatch", mismatched))
    if problems:
        raise InputError(f"{source}: does not match the {type(module).__name__} layout: " + "; ".join(problems))
    converted = {
        k: (v.to(expected[k].dtype) if v.is_floating_point() and expected[k].is_floating_point() else v)
        for k, v in incoming.items()
    }
    module.load_state_dict(converted, strict=True, assign=True)
    left_on_meta = [name for name, t in list(module.named_parameters()) + list(module.named_buffers()) if t.is_meta]
    if left_on_meta:
        raise InputError(f"{source}: {_listing('tensor left unfilled', left_on_meta)}")


def _listing(what: str, keys, shown: int = 8) -> str:
    keys = list(keys)
    names = ", ".join(keys[:shown]) + (f", ... ({len(keys) - shown} more)" if len(keys) > shown else "")
    return f"{len(keys)} {what}{'s' if len(keys) != 1 else ''} ({names})"
