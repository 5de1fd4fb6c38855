"""Opt-in faster CPU numerics for the audio models, measured against float32 by `bench.audio2lmk --compare`.

fp32  the reference (what the conformance kit checks).
bf16  the wav2vec2 backbones and heads under bfloat16 autocast (float32 accumulation); the pose decoder's weights
      converted to bfloat16 once (autocast would re-cast them at each of its per-frame steps). Fast where the CPU
      has native bfloat16 instructions (AVX512-BF16, AMX), slower than fp32 elsewhere.
int8  `torch.ao` dynamic quantization of every linear layer (weights int8, activations quantized per call),
      including the pose decoder's attention projections; the convolutional front end stays float32.
"""

from __future__ import annotations

import contextlib
import os
import time
import warnings

import torch
from torch import nn

PRECISIONS = ("fp32", "bf16", "int8")


def check_precision(precision: str, device: torch.device) -> None:
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {', '.join(PRECISIONS)}, got {precision!r}")
    if precision == "int8" and device.type != "cpu":
        raise ValueError("int8 dynamic quantization runs on the CPU only")


@contextlib.contextmanager
def threads_for_idle_cores(device: torch.device):
    """Torch intra-op threads on the CPU = the cores idle right now (at least 1, at most torch's default).

    Measured with `bench.hybrid` on 2 cores with a load average of ~7: the learned motion of a 30 s clip took
    37 s on 2 threads and 10.6 s on 1, because OpenMP threads wait for each other at every op when a core is
    busy. On an idle machine this keeps all cores. Idle cores are sampled from /proc/stat over 0.1 s (so this
    process's own earlier work, e.g. a batch's previous item, does not count); elsewhere from the load average."""
    cores = torch.get_num_threads()
    idle = idle_cores() if device.type == "cpu" else None
    threads = cores if idle is None else max(1, min(cores, int(idle + 0.5)))
    if threads == cores:
        yield
        return
    torch.set_num_threads(threads)
    try:
        yield
    finally:
        torch.set_num_threads(cores)


def idle_cores(window_s: float = 0.1) -> float | None:
    """How many cores nothing runs on now: /proc/stat sampled over `window_s`, else cores minus the 1-minute load
    average; None when neither is available."""

    def sample() -> tuple[int, int, int] | None:
        try:
            with open("/proc/stat") as handle:
                lines = handle.read().splitlines()
        except OSError:
            return None
        fields = [int(x) for x in lines[0].split()[1:9]]  # user nice system idle iowait irq softirq steal
        cpus = sum(1 for line in lines if line.startswith("cpu") and line[3:4].isdigit())
        return fields[3] + fields[4], sum(fields), cpus

    first = sample()
    if first is not None:
        time.sleep(window_s)
        second = sample()
        if second is not None and second[1] > first[1]:
            return second[2] * (second[0] - first[0]) / (second[1] - first[1])
    try:
        return max(0.0, (os.cpu_count() or 1) - os.getloadavg()[0])
    except (AttributeError, OSError):
        return None


def fast_cpu_precision() -> str | None:
    """The faster numerics worth using on this CPU: bf16 where oneDNN has native bfloat16 kernels, else None
    (emulated bfloat16 is slower than fp32, and int8's error is too large to offer; see the README)."""
    supported = getattr(torch.ops.mkldnn, "_is_mkldnn_bf16_supported", None)
    return "bf16" if supported is not None and supported() else None


def quantize_linear_layers(model: nn.Module) -> nn.Module:
    """`model` with its `nn.Linear` layers replaced by int8 dynamic-quantized ones (in place).

    The pose decoder's self-attention keeps its projections as raw tensors (`in_proj_weight`) or in a class that
    quantization skips (`out_proj`), yet they are half of the weights read at every decoding step: int8 copies
    are attached as `step_projections`, which the decode loop uses when present."""
    decoder = getattr(model, "transformer_decoder", None)
    for layer in decoder.layers if decoder is not None else ():
        attention = layer.self_attn
        layer.self_attn.step_projections = _quantized(nn.ModuleDict({
            "qkv": _linear(attention.in_proj_weight, attention.in_proj_bias),
            "out": _linear(attention.out_proj.weight, attention.out_proj.bias),
        }))
    return _quantized(model)


def to_bfloat16_decoder(model: nn.Module) -> None:
    """The pose decoder (everything its per-frame loop reads) in bfloat16, in place."""
    for name in ("pose_map", "PPE", "transformer_decoder", "pose_map_r", "id_embed"):
        getattr(model, name).to(torch.bfloat16)


def _linear(weight: torch.Tensor, bias: torch.Tensor) -> nn.Linear:
    layer = nn.Linear(weight.shape[1], weight.shape[0])
    layer.weight, layer.bias = nn.Parameter(weight.detach().clone()), nn.Parameter(bias.detach().clone())
    return layer


def _quantized(module: nn.Module) -> nn.Module:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch.ao announces its move to torchao; the API works as documented
        return torch.ao.quantization.quantize_dynamic(module, {nn.Linear}, dtype=torch.qint8, inplace=True)


def autocast(precision: str, device: torch.device):
    """The context the models run in: bfloat16 autocast for bf16, nothing otherwise."""
    if precision == "bf16":
        return torch.autocast(device.type, dtype=torch.bfloat16)
    return contextlib.nullcontext()
