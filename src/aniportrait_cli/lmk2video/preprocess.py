"""Input preprocessing exactly as the original pipeline does it (reference image for CLIP and VAE, pose drawings),
and the original's conversion of generated frames to 8 bits."""

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


def resize_two_pass(image: np.ndarray, width: int, height: int, resample: Image.Resampling) -> np.ndarray:
    """Pillow resize done as Pillow 9.5-12 does it whatever the installed version: horizontal pass to
    (width, h_in), uint8 in between, then vertical pass (Pillow 13 may run the vertical pass first, which moves
    values by up to 2 levels). A pass whose size already matches is skipped, as in Pillow."""
    picture = Image.fromarray(image)
    if picture.width != width:
        picture = picture.resize((width, picture.height), resample)
    if picture.height != height:
        picture = picture.resize((width, height), resample)
    return np.asarray(picture)


def clip_resized(ref_image: np.ndarray) -> np.ndarray:
    """(224, 224, 3) uint8: the reference as the scripts hand it to CLIP, Pillow bicubic to 224 x 224
    (squashing non-square input)."""
    return resize_two_pass(check_rgb_u8(ref_image, "reference image"), CLIP_SIZE, CLIP_SIZE, Image.Resampling.BICUBIC)


def clip_pixel_values(ref_image: np.ndarray) -> torch.Tensor:
    """(1, 3, 224, 224) float32: `clip_resized`, then the default CLIPImageProcessor (shortest edge 224 and
    centre crop 224 are identities here), /255 (in float64, rounded once), OpenAI mean/std in float32."""
    pixels = (clip_resized(ref_image).astype(np.float64) * (1 / 255)).astype(np.float32)
    pixels = (pixels - CLIP_MEAN) / CLIP_STD
    return torch.from_numpy(pixels.transpose(2, 0, 1).copy()).unsqueeze(0)


def vae_resized(ref_image: np.ndarray, width: int, height: int) -> np.ndarray:
    """(H, W, 3) uint8: the reference as the pipeline hands it to the VAE: W and H rounded down to multiples
    of 8, Pillow Lanczos (a no-op at that size already)."""
    width, height = width - width % 8, height - height % 8
    return resize_two_pass(check_rgb_u8(ref_image, "reference image"), width, height, Image.Resampling.LANCZOS)


def vae_pixel_values(ref_image: np.ndarray, width: int, height: int) -> torch.Tensor:
    """(1, 3, H, W) float32 in [-1, 1]: `vae_resized`, /255, 2x-1."""
    pixels = vae_resized(ref_image, width, height).astype(np.float32) / 255.0
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


def frames_to_uint8(images: torch.Tensor) -> np.ndarray:
    """(n, 3, H, W) float frames in [0, 1] -> (n, H, W, 3) uint8 RGB, truncating x * 255 as the original does
    (`(x * 255).astype(uint8)` in float32)."""
    return (images.float().clamp(0, 1) * 255).to(torch.uint8).permute(0, 2, 3, 1).cpu().numpy()
