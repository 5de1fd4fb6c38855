"""Building the five networks and loading the released checkpoints into them, strictly and without 2x RAM.

Checkpoint files are memory-mapped (`torch.load(mmap=True, weights_only=True)` / safetensors), modules are built
on the meta device and the tensors are assigned (`load_state_dict(assign=True)`) after a cast to the run dtype and
a move to the target device, so each weight exists once in its final form. Any missing, unexpected or misshapen
key is an error that names the keys.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from diffusers import AutoencoderKL
from torch import nn

from ..errors import InputError, WeightsMissing
from ..weights.checkpoints import read_state_dict
from .configs import ModelConfigs
from .models.pose_guider import PoseGuider
from .models.reference_unet import build_reference_unet
from .models.unet_3d import UNet3DConditionModel, is_motion_module_key

# Written by write_tiny_release next to the .pth files; when present, it replaces the full-size configs.
TINY_CONFIG_NAME = "aniportrait_tiny_config.json"


class WeightsMismatch(InputError):
    """A weight file does not fit the network it is meant for (wrong file, truncated download, other model)."""


@dataclass(frozen=True)
class ReleaseFiles:
    """Paths of the released lmk2video weights (the original `pretrained_model/` layout)."""

    denoising_unet: Path
    motion_module: Path
    reference_unet: Path
    pose_guider: Path
    vae_dir: Path
    image_encoder_dir: Path

    @classmethod
    def in_folder(cls, folder: str | Path) -> ReleaseFiles:
        folder = Path(folder)
        return cls(
            denoising_unet=folder / "denoising_unet.pth",
            motion_module=folder / "motion_module.pth",
            reference_unet=folder / "reference_unet.pth",
            pose_guider=folder / "pose_guider.pth",
            vae_dir=folder / "sd-vae-ft-mse",
            image_encoder_dir=folder / "image_encoder",
        )

    @classmethod
    def coerce(cls, weights: ReleaseFiles | Mapping[str, Any]) -> ReleaseFiles:
        if isinstance(weights, ReleaseFiles):
            return weights
        try:
            return cls(**{name: Path(weights[name]) for name in cls.__dataclass_fields__})
        except KeyError as missing:
            raise InputError(f"lmk2video weights: no path given for {missing}") from None

    def check_present(self) -> None:
        absent = [
            str(p)
            for p in (self.denoising_unet, self.motion_module, self.reference_unet, self.pose_guider)
            if not p.is_file()
        ]
        absent += [str(p) for p in (self.vae_dir, self.image_encoder_dir) if not (p / "config.json").is_file()]
        if absent:
            raise WeightsMissing(f"lmk2video weights not found: {', '.join(absent)} (download the AniPortrait weights)")

    def model_configs(self) -> ModelConfigs:
        """Full-size configs, unless an `aniportrait_tiny_config.json` lies next to denoising_unet.pth."""
        tiny = self.denoising_unet.parent / TINY_CONFIG_NAME
        if tiny.is_file():
            try:
                return ModelConfigs.from_json_file(tiny)
            except (ValueError, TypeError) as error:
                raise InputError(f"{tiny}: not a valid model config ({error}); delete it or rewrite it") from None
        return ModelConfigs()


# --- reading ------------------------------------------------------------------------------------------------


def merge_denoising_state_dicts(
    denoising: Mapping[str, torch.Tensor],
    motion: Mapping[str, torch.Tensor],
    names: tuple[str, str] = ("denoising_unet", "motion_module"),
) -> dict[str, torch.Tensor]:
    """The inference UNet's weights are the disjoint union of the two files."""
    overlap = sorted(set(denoising) & set(motion))
    if overlap:
        raise WeightsMismatch(
            f"{names[0]} and {names[1]} both contain {len(overlap)} keys, e.g. {overlap[:3]}; wrong files?"
        )
    stray = sorted(k for k in motion if not is_motion_module_key(k))
    if stray:
        raise WeightsMismatch(f"{names[1]} contains {len(stray)} non-motion-module keys, e.g. {stray[:3]}; wrong file?")
    return {**denoising, **motion}


# --- strict loading -----------------------------------------------------------------------------------------


def _key_report(label: str, keys: list[str]) -> str:
    shown = ", ".join(keys[:5]) + (", ..." if len(keys) > 5 else "")
    return f"{len(keys)} {label} ({shown})"


def check_state_dict(module: nn.Module, state_dict: Mapping[str, torch.Tensor], what: str) -> None:
    """Raise WeightsMismatch naming every kind of mismatch between `module` and `state_dict`."""
    expected = {k: tuple(v.shape) for k, v in module.state_dict().items()}
    missing = [k for k in expected if k not in state_dict]
    unexpected = [k for k in state_dict if k not in expected]
    misshapen = [
        f"{k} {tuple(state_dict[k].shape)} != {expected[k]}"
        for k in expected
        if k in state_dict and tuple(state_dict[k].shape) != expected[k]
    ]
    problems = []
    if missing:
        problems.append(_key_report("missing keys", missing))
    if unexpected:
        problems.append(_key_report("unexpected keys", unexpected))
    if misshapen:
        problems.append(_key_report("shape mismatches", misshapen))
    if problems:
        raise WeightsMismatch(f"{what} does not fit the network: " + "; ".join(problems) + ". Wrong or damaged file?")


def load_strict(
    module: nn.Module,
    state_dict: Mapping[str, torch.Tensor],
    what: str,
    dtype: torch.dtype | None = None,
    device: torch.device | str = "cpu",
) -> nn.Module:
    """Check, cast floating tensors to `dtype`, move to `device` and assign into `module` (may live on meta)."""
    check_state_dict(module, state_dict, what)
    converted = {
        k: v.to(device=device, dtype=dtype if dtype is not None and v.is_floating_point() else v.dtype)
        for k, v in state_dict.items()
    }
    module.load_state_dict(converted, strict=True, assign=True)
    leftovers = [n for n, t in [*module.named_parameters(), *module.named_buffers()] if t.is_meta]
    if (
        leftovers and torch.device(device).type != "meta"
    ):  # a non-persistent buffer the file cannot fill: a bug, not a user error
        raise RuntimeError(f"{what}: tensors left on the meta device: {leftovers[:5]}")
    return module.requires_grad_(False).eval()


# --- building -----------------------------------------------------------------------------------------------


def build_denoising_unet(configs: ModelConfigs, device: torch.device | str | None = None) -> UNet3DConditionModel:
    with torch.device(device or "cpu"):
        return UNet3DConditionModel(**configs.denoising_unet_kwargs())


def build_reference_unet_from(configs: ModelConfigs, device: torch.device | str | None = None):
    with torch.device(device or "cpu"):
        return build_reference_unet(configs.reference_unet_kwargs())


def build_pose_guider(configs: ModelConfigs, device: torch.device | str | None = None) -> PoseGuider:
    with torch.device(device or "cpu"):
        return PoseGuider(**configs.pose_guider)


def build_vae(configs: ModelConfigs, device: torch.device | str | None = None) -> AutoencoderKL:
    with torch.device(device or "cpu"):
        return AutoencoderKL(**configs.vae)


def build_image_encoder(configs: ModelConfigs, device: torch.device | str | None = None):
    from transformers import CLIPVisionConfig, CLIPVisionModelWithProjection

    with torch.device(device or "cpu"):
        return CLIPVisionModelWithProjection(CLIPVisionConfig(**configs.image_encoder))


# --- loading the release ------------------------------------------------------------------------------------


def load_denoising_unet(
    denoising_path: Path, motion_path: Path, configs: ModelConfigs, dtype: torch.dtype, device: torch.device | str
) -> UNet3DConditionModel:
    merged = merge_denoising_state_dicts(
        read_state_dict(denoising_path), read_state_dict(motion_path), (str(denoising_path), str(motion_path))
    )
    unet = build_denoising_unet(configs, "meta")
    return load_strict(unet, merged, f"{denoising_path} + {motion_path}", dtype, device)


def load_reference_unet(path: Path, configs: ModelConfigs, dtype: torch.dtype, device: torch.device | str):
    unet = build_reference_unet_from(configs, "meta")
    return load_strict(unet, read_state_dict(path), str(path), dtype, device)


def load_pose_guider(path: Path, configs: ModelConfigs, dtype: torch.dtype, device: torch.device | str) -> PoseGuider:
    guider = build_pose_guider(configs, "meta")
    return load_strict(guider, read_state_dict(path), str(path), dtype, device)


def load_vae(folder: Path, dtype: torch.dtype, device: torch.device | str) -> AutoencoderKL:
    """diffusers folder (config.json + weights); diffusers converts the old attention key names of sd-vae-ft-mse."""
    _check_folder(folder)
    try:
        # low_cpu_mem_usage would need `accelerate`; the VAE is small enough to load plainly.
        vae = AutoencoderKL.from_pretrained(folder, torch_dtype=dtype, local_files_only=True, low_cpu_mem_usage=False)
    except (OSError, ValueError) as error:
        raise InputError(f"{folder}: cannot load the VAE ({error}); re-download sd-vae-ft-mse") from None
    return vae.to(device).requires_grad_(False).eval()


def load_image_encoder(folder: Path, dtype: torch.dtype, device: torch.device | str):
    """transformers CLIPVisionModelWithProjection folder (config.json + weights)."""
    from transformers import CLIPVisionModelWithProjection

    _check_folder(folder)
    try:
        with quiet_transformers():
            encoder = CLIPVisionModelWithProjection.from_pretrained(folder, dtype=dtype, local_files_only=True)
    except (OSError, ValueError) as error:
        raise InputError(f"{folder}: cannot load the image encoder ({error}); re-download image_encoder") from None
    return encoder.to(device).requires_grad_(False).eval()


@contextmanager
def quiet_transformers() -> Iterator[None]:
    """transformers draws its own progress bars; the CLI owns the display."""
    from transformers.utils import logging as hf_logging

    was_enabled = hf_logging.is_progress_bar_enabled()
    hf_logging.disable_progress_bar()
    try:
        yield
    finally:
        if was_enabled:
            hf_logging.enable_progress_bar()


def _check_folder(folder: Path) -> None:
    if not (Path(folder) / "config.json").is_file():
        raise WeightsMissing(f"{folder}/config.json not found (download the AniPortrait weights)")
