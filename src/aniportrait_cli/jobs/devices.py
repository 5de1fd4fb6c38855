"""Turn --device/--dtype into torch objects, with clear errors instead of silent fallbacks."""

from __future__ import annotations

import importlib.util

from aniportrait_cli.errors import InputError
from aniportrait_cli.jobs.options import Device, DType

# The `neural` extra: the default install is the weightless tool and never imports these.
NEURAL_LIBRARIES = ("torch", "diffusers", "transformers", "safetensors")
NEURAL_INSTALL_HINT = ('pipx inject aniportrait-cli torch diffusers transformers safetensors, or '
                       'pip install "aniportrait-cli[neural]"')


def missing_neural_libraries() -> list[str]:
    """The neural engine's libraries that are not installed (looked up, not imported: that takes seconds)."""
    return [name for name in NEURAL_LIBRARIES if importlib.util.find_spec(name) is None]


def gpu_available() -> str | None:
    """'cuda' or 'mps' when torch sees such a device, else None."""
    import torch

    if torch.cuda.is_available():
        return "cuda"
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        return "mps"
    return None


def resolve_device(device: Device) -> str:
    import torch

    if device is Device.auto:
        return gpu_available() or "cpu"
    if device is Device.cuda and not torch.cuda.is_available():
        raise InputError(
            "--device cuda: torch sees no CUDA GPU (torch.cuda.is_available() is False); "
            "use --device cpu, or install a CUDA build of torch"
        )
    if device is Device.mps and gpu_available() != "mps":
        raise InputError("--device mps: Apple MPS is not available here; use --device cpu")
    return device.value


def resolve_dtype(dtype: DType, device: str):
    """fp16/bf16 on GPUs; CPU kernels are fp32-only in practice, so CPU runs in fp32."""
    import torch

    if device == "cpu":
        return torch.float32
    return {DType.fp16: torch.float16, DType.bf16: torch.bfloat16, DType.fp32: torch.float32}[dtype]
