"""Opt-in faster CPU numerics for the audio models, measured against float32 by `bench.audio2lmk --compare`.

fp32  the reference (what the conformance kit checks).
bf16  matmuls and convolutions in bfloat16 under autocast (float32 accumulation); fast where the CPU has native
      bfloat16 instructions (AVX512-BF16, AMX), slower than fp32 elsewhere.
int8  `torch.ao` dynamic quantization of every `nn.Linear` (weights int8 per channel, activations quantized per
      call); the convolutional front end stays float32.
"""

from __future__ import annotations

import contextlib
import warnings

import torch
from torch import nn

PRECISIONS = ("fp32", "bf16", "int8")


def check_precision(precision: str, device: torch.device) -> None:
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {', '.join(PRECISIONS)}, got {precision!r}")
    if precision == "int8" and device.type != "cpu":
        raise ValueError("int8 dynamic quantization runs on the CPU only")


def quantize_linear_layers(model: nn.Module) -> nn.Module:
    """`model` with its `nn.Linear` layers replaced by int8 dynamic-quantized ones (in place)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch.ao announces its move to torchao; the API works as documented
        return torch.ao.quantization.quantize_dynamic(model, {nn.Linear}, dtype=torch.qint8, inplace=True)


def autocast(precision: str, device: torch.device):
    """The context the models run in: bfloat16 autocast for bf16, nothing otherwise."""
    if precision == "bf16":
        return torch.autocast(device.type, dtype=torch.bfloat16)
    return contextlib.nullcontext()
