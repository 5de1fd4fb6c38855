"""Input preprocessing exactly as the original pipeline does it (reference image for CLIP and VAE, pose drawings)."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

# OpenAI CLIP normalisation used by the default CLIPImageProcessor.
CLIP_MEAN = np.array([0.48145466, 0.4578275, 0.40821073], dtype=np.float32)
CLIP_STD = np.array([0.26862954, 0.26130258, 0.27577711], dtype=np.float32)
CLIP_SIZE = 224


def check_rgb_u8(image: np.ndarray, what: str) -> np.ndarray:
    image = np.asarray(image)
    if image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
        raise ValueError(f"{what} must be an HxWx3 uint8 RGB array, got {image.dtype} {image.shape}")
    return image


def clip_pixel_values(ref_image: np.ndarray) -> torch.Tensor:
    """(1, 3, 224, 224) float32: Pillow bicubic to 224x224 (squashing non-square input, as the scripts do),
    then the default CLIPImageProcessor (shortest edge 224 and centre crop 224 are identities here), /255,
    OpenAI mean/std."""
    image = Image.fromarray(check_rgb_u8(ref_image, "reference image")).resize(
        (CLIP_SIZE, CLIP_SIZE), Image.Resampling.BICUBIC
    )
    pixels = (np.asarray(image).astype(np.float64) * (1 / 255)).astype(np.float32)
    pixels = (pixels - CLIP_MEAN) / CLIP_STD
    return torch.from_numpy(pixels.transpose(2, 0, 1).copy()).unsqueeze(0)


def vae_pixel_values(ref_image: np.ndarray, width: int, height: int) -> torch.Tensor:
    """(1, 3, H, W) float32 in [-1, 1]: Lanczos resize to (W, H) when needed, /255, 2x-1."""
    image = check_rgb_u8(ref_image, "reference image")
    if image.shape[:2] != (height, width):
        image = np.asarray(Image.fromarray(image).resize((width, height), Image.Resampling.LANCZOS))
    pixels = image.astype(np.float32) / 255.0
    pixels = 2.0 * pixels - 1.0
    return torch.from_numpy(pixels.transpose(2, 0, 1).copy()).unsqueeze(0)


def pose_images_to_tensor(
    frames: np.ndarray | torch.Tensor,
    dtype: torch.dtype,
    device: torch.device | str | None = None,
    size: tuple[int, int] | None = None,
    divide_by_255: bool = False,
) -> torch.Tensor:
    """(n, H, W, 3) uint8 pose drawings -> contiguous (n, 3, H, W) tensor.

    The original feeds `2*u8 - 1` (values in [-1, 509]): the diffusers image processor only rescales PIL input,
    not arrays. `divide_by_255=True` gives the clean `2*u8/255 - 1` instead (only sensible with eval-mode BN).
    `size=(height, width)` resizes with nearest neighbour when the drawings have another size.
    """
    u8 = torch.as_tensor(frames)
    if u8.dtype != torch.uint8 or u8.ndim != 4 or u8.shape[-1] != 3:
        raise ValueError(f"pose images must be (n, H, W, 3) uint8, got {u8.dtype} {tuple(u8.shape)}")
    x = u8.to(device=device).permute(0, 3, 1, 2).to(torch.float32)
    if size is not None and tuple(x.shape[-2:]) != tuple(size):
        x = F.interpolate(x, size=size, mode="nearest")
    if divide_by_255:
        x = x / 255.0
    return (2.0 * x - 1.0).to(dtype).contiguous()
