"""Reference UNet: diffusers' SD1.5 UNet2DConditionModel without its output head, used only to fill the bank.

The release's `reference_unet.pth` has no `conv_norm_out`/`conv_out`. The bank is captured with forward hooks on
every transformer block's `norm1` (its output is the block's self-attention input), keyed by the block's module
path, which is the same path as the matching block in the denoising UNet.
"""

from __future__ import annotations

from typing import Any

import torch
from diffusers.models.attention import BasicTransformerBlock
from diffusers.models.unets.unet_2d_condition import UNet2DConditionModel
from torch import nn


def build_reference_unet(config: dict[str, Any]) -> UNet2DConditionModel:
    """SD1.5-style 2D UNet from its config, with the output head removed (no parameters, output ignored)."""
    unet = UNet2DConditionModel(**config)
    unet.conv_norm_out = None  # diffusers skips the norm/activation when it is None
    unet.conv_act = None
    unet.conv_out = nn.Identity()
    return unet


@torch.no_grad()
def capture_reference_bank(
    reference_unet: UNet2DConditionModel,
    ref_latents: torch.Tensor,
    encoder_hidden_states: torch.Tensor,
    bank_dtype: torch.dtype | None = torch.float16,
) -> dict[str, torch.Tensor]:
    """Run the reference UNet once at timestep 0; return {block path: first-LayerNorm output (b, L, C)}.

    `bank_dtype=float16` reproduces the original, which stores the bank in float16 even in float32 runs.
    """
    bank: dict[str, torch.Tensor] = {}
    handles = []
    for name, module in reference_unet.named_modules():
        if isinstance(module, BasicTransformerBlock):

            def keep(_module, _inputs, output, path=name):
                bank[path] = output.to(bank_dtype) if bank_dtype is not None else output.clone()

            handles.append(module.norm1.register_forward_hook(keep))
    try:
        timestep = torch.zeros((), dtype=torch.long, device=ref_latents.device)
        reference_unet(ref_latents, timestep, encoder_hidden_states=encoder_hidden_states, return_dict=False)
    finally:
        for handle in handles:
            handle.remove()
    return bank
