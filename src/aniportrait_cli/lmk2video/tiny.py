"""Random-weight networks (tests, benchmark), the kit's tiny case-04 networks, and a tiny fake release on disk.

`write_tiny_release(folder)` writes files in the ORIGINAL release layout (torch.save'd state dicts
denoising_unet.pth / motion_module.pth / reference_unet.pth / pose_guider.pth, a diffusers `sd-vae-ft-mse/` folder
and a transformers `image_encoder/` folder) plus `aniportrait_tiny_config.json`. The loader builds full-size
networks unless that JSON lies next to denoising_unet.pth: sizes cannot be inferred from tensor shapes alone
(GroupNorm groups and head counts leave no trace in the shapes), so an explicit config is the only exact way.
"""

from __future__ import annotations

import json
from pathlib import Path

import torch
from torch import nn

from .configs import ModelConfigs, tiny_configs
from .loading import (
    TINY_CONFIG_NAME,
    ReleaseFiles,
    build_denoising_unet,
    build_image_encoder,
    build_pose_guider,
    build_reference_unet_from,
    build_vae,
    load_strict,
    merge_denoising_state_dicts,
    quiet_transformers,
    read_state_dict,
)
from .models.unet_3d import is_motion_module_key

BUILDERS = {
    "vae": build_vae,
    "image_encoder": build_image_encoder,
    "reference_unet": build_reference_unet_from,
    "denoising_unet": build_denoising_unet,
    "pose_guider": build_pose_guider,
}


@torch.no_grad()
def randomize_(module: nn.Module, generator: torch.Generator) -> nn.Module:
    """The kit's recipe: matrices/kernels ~N(0, 1/fan_in), 1-D norm weights ~1+0.1N, other vectors ~0.1N,
    BatchNorm running_var ~U(0.5, 1.5). Sinusoid tables (`pos_encoder.pe`) and integer counters are left alone."""
    for name, tensor in module.state_dict(keep_vars=True).items():
        if name.endswith("pos_encoder.pe") or not tensor.is_floating_point():
            continue
        if name.endswith("running_var"):
            tensor.uniform_(0.5, 1.5, generator=generator)
        elif tensor.ndim >= 2:
            fan_in = tensor[0].numel()
            tensor.normal_(0.0, fan_in**-0.5, generator=generator)
        elif name.endswith("weight"):
            tensor.normal_(0.0, 0.1, generator=generator).add_(1.0)
        else:
            tensor.normal_(0.0, 0.1, generator=generator)
    return module


def random_modules(
    configs: ModelConfigs | None = None,
    seed: int = 0,
    device: torch.device | str = "cpu",
    dtype: torch.dtype = torch.float32,
) -> dict[str, nn.Module]:
    """All five networks with seeded random weights, built directly on `device` one at a time."""
    configs = configs or tiny_configs()
    device = torch.device(device)
    generator = torch.Generator(device if device.type == "cuda" else "cpu").manual_seed(seed)
    modules = {}
    for name, build in BUILDERS.items():
        module = nn.Module.to(build(configs, device), dtype)  # plain torch cast (no diffusers warning)
        if device.type in ("cpu", "cuda"):
            randomize_(module, generator)
        else:  # generators are not available on every backend: randomise on the CPU, then move
            randomize_(module.to("cpu"), generator).to(device)
        modules[name] = module.requires_grad_(False).eval()
    return modules


def kit_case_modules(case_dir: Path, dtype: torch.dtype = torch.float32) -> dict[str, nn.Module]:
    """The conformance kit's case 04 networks (config.json sizes, weights/*.safetensors loaded strictly)."""
    config = json.loads((case_dir / "config.json").read_text())
    configs = ModelConfigs.from_kit_case_config(config)
    weights = case_dir / "weights"
    merged = merge_denoising_state_dicts(
        read_state_dict(weights / "denoising_unet.safetensors"), read_state_dict(weights / "motion_module.safetensors")
    )
    files = {
        "vae": read_state_dict(weights / "vae.safetensors"),
        "image_encoder": read_state_dict(weights / "image_encoder.safetensors"),
        "reference_unet": read_state_dict(weights / "reference_unet.safetensors"),
        "denoising_unet": merged,
        "pose_guider": read_state_dict(weights / "pose_guider.safetensors"),
    }
    modules = {}
    for name, build in BUILDERS.items():
        # VAE and CLIP are built for real: CLIP has a non-persistent buffer the file cannot fill.
        module = build(configs, "cpu" if name in ("vae", "image_encoder") else "meta")
        modules[name] = load_strict(module, files[name], f"kit {name}", dtype)
    return modules


def write_tiny_release(folder: str | Path, seed: int = 0) -> ReleaseFiles:
    """Write a complete tiny random-weight release into `folder` (created); returns its ReleaseFiles."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    configs = tiny_configs()
    modules = random_modules(configs, seed=seed)
    files = ReleaseFiles.in_folder(folder)

    unet_state = modules["denoising_unet"].state_dict()
    torch.save({k: v for k, v in unet_state.items() if not is_motion_module_key(k)}, files.denoising_unet)
    torch.save({k: v for k, v in unet_state.items() if is_motion_module_key(k)}, files.motion_module)
    torch.save(modules["reference_unet"].state_dict(), files.reference_unet)
    torch.save(modules["pose_guider"].state_dict(), files.pose_guider)
    modules["vae"].save_pretrained(files.vae_dir)
    with quiet_transformers():
        modules["image_encoder"].save_pretrained(files.image_encoder_dir)
    (folder / TINY_CONFIG_NAME).write_text(configs.to_json())
    return files
