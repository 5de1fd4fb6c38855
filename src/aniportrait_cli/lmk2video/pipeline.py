"""Lmk2Video: reference portrait + pose drawings -> video frames (AniPortrait's long-video pose2video pipeline).

Default numerics reproduce the original (the conformance kit's case 04): CLIP token + VAE posterior mean x 0.18215
of the reference image, a reference-UNet bank (float16) read by the conditional CFG half, pose tensors 2*u8-1
through a pose guider with batch-statistic BatchNorm, overlapping closed-loop context windows whose predictions
are averaged per frame before CFG [uncond, cond], DDIM (v-prediction, zero terminal SNR, trailing), VAE decode.

Memory: only the latents (and a same-size prediction accumulator) grow with the video length. The pose pyramid
of each window is computed once and reused at every step (it does not depend on the step, and BatchNorm's batch
statistics are per window call, so this is exact) within a device-memory budget, beyond which it is kept in host
memory; the reference UNet and CLIP are uploaded only for their single use; frames are decoded in chunks and
handed to `on_frames` (or collected on the CPU).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import torch
import torch.nn.functional as F
from diffusers import DDIMScheduler

from ..errors import InputError
from .configs import VAE_SCALING_FACTOR, ModelConfigs
from .context import context_windows
from .loading import (
    ReleaseFiles,
    load_denoising_unet,
    load_image_encoder,
    load_pose_guider,
    load_reference_unet,
    load_vae,
)
from .models.layout import unfold_frames
from .models.reference_unet import capture_reference_bank
from .offload import OnDemand, Resident, Sequential, unet_leaves
from .preprocess import clip_pixel_values, frames_to_uint8, pose_images_to_tensor, vae_pixel_values
from .profiling import ComponentTimer
from .scheduler import make_scheduler

Progress = Callable[[str, int, int], None]  # (stage, done, total); stages: "load", "denoise", "decode"
# (index of the first frame, (n, H, W, 3) uint8 RGB, or (n, 3, H, W) float32 in [0, 1] with output_type "float")
OnFrames = Callable[[int, np.ndarray | torch.Tensor], None]

DTYPES = {"fp16": torch.float16, "bf16": torch.bfloat16, "fp32": torch.float32}


@dataclass(frozen=True)
class Numerics:
    """Default = the original's numerics. Each flag is a deliberate deviation and says what it changes."""

    pose_guider_eval: bool = False
    """True: pose guider BatchNorm uses its running statistics and pose tensors are 2*u8/255-1 (the 'clean'
    reading). False (original): batch statistics of each window call on 2*u8-1."""
    fp16_reference_bank: bool = True
    """True (original): the reference bank is rounded to float16 even in float32/bfloat16 runs. False: keep the
    run dtype."""


@dataclass
class ReferenceConditioning:
    """What the reference image contributes (computed once per video)."""

    clip_pixel_values: torch.Tensor  # (1, 3, 224, 224) float32, CPU
    image_embeds: torch.Tensor  # (1, D) run dtype
    latents: torch.Tensor  # (1, 4, H/8, W/8), already x 0.18215
    bank: dict[str, torch.Tensor]  # transformer block path -> (1, L, C) first-LayerNorm output


def resolve_device(device: torch.device | str | None) -> torch.device:
    if device is None:
        if torch.cuda.is_available():
            return torch.device("cuda")
        if torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    return torch.device(device)


def resolve_dtype(dtype: torch.dtype | str | None, device: torch.device) -> torch.dtype:
    if dtype is None:
        return torch.float32 if device.type == "cpu" else torch.float16
    if isinstance(dtype, str):
        if dtype not in DTYPES:
            raise InputError(f"unknown dtype {dtype!r}; use one of {', '.join(DTYPES)}")
        return DTYPES[dtype]
    return dtype


class _PoseFeatureCache:
    """Pose pyramids per window index: on the device up to `device_budget` bytes, then in host memory on an
    accelerator (pinned, uploaded per use) up to `host_budget` bytes, beyond that (and on the CPU) not cached
    at all (recomputed), so memory stays bounded for any video length."""

    def __init__(self, device: torch.device, device_budget: int, host_budget: int = 4 << 30):
        self.device = device
        self.budget = device_budget
        self.host_budget = host_budget
        self.used = 0
        self.host_used = 0
        self.entries: dict[int, list[torch.Tensor]] = {}

    def get(self, key: int) -> list[torch.Tensor] | None:
        entry = self.entries.get(key)
        if entry is None:
            return None
        return [t.to(self.device, non_blocking=True) for t in entry]

    def put(self, key: int, features: list[torch.Tensor]) -> None:
        size = sum(t.numel() * t.element_size() for t in features)
        if self.used + size <= self.budget:
            self.entries[key] = features
            self.used += size
        elif self.device.type != "cpu" and self.host_used + size <= self.host_budget:
            host = [t.to("cpu") for t in features]
            if self.device.type == "cuda":
                host = [t.pin_memory() for t in host]
            self.entries[key] = host
            self.host_used += size


class Lmk2VideoPipeline:
    """Holds the five networks and the sampler. Build with `from_pretrained` (released files),
    `from_config` (random weights, any size) or `from_kit_case` (the conformance kit's tiny weights)."""

    def __init__(
        self,
        *,
        vae,
        image_encoder,
        reference_unet,
        denoising_unet,
        pose_guider,
        scheduler: DDIMScheduler | None = None,
        device: torch.device | str | None = None,
        dtype: torch.dtype | str | None = None,
        low_vram: bool = False,
        offload_after_use: bool | None = None,
        numerics: Numerics = Numerics(),
        compile_unet: bool = False,
        decode_chunk_size: int | None = None,
        pose_cache_device_budget_mb: int | None = None,
    ):
        self.device = resolve_device(device)
        self.dtype = resolve_dtype(dtype, self.device)
        self.numerics = numerics
        self.low_vram = bool(low_vram and self.device.type == "cuda")
        self.vae = vae
        self.image_encoder = image_encoder
        self.reference_unet = reference_unet
        self.denoising_unet = denoising_unet
        self.pose_guider = pose_guider
        self.scheduler = scheduler or make_scheduler()
        self.decode_chunk_size = decode_chunk_size or (1 if self.low_vram else 4)
        if pose_cache_device_budget_mb is None:
            pose_cache_device_budget_mb = 0 if self.low_vram else 1024
        self.pose_cache_device_budget = pose_cache_device_budget_mb << 20
        self.timer: ComponentTimer | None = None  # set by the benchmark

        modules = self._modules()
        for module in modules.values():
            # torch's own .to(): diffusers' override warns about fp32-pinned modules that these models lack.
            torch.nn.Module.to(module.requires_grad_(False).eval(), dtype=self.dtype)

        if offload_after_use is None:
            offload_after_use = self.device.type == "cuda"
        self._placement: dict[str, Any] = {}
        for name, module in modules.items():
            if self.low_vram and name in ("denoising_unet", "reference_unet"):
                self._placement[name] = Sequential(unet_leaves(module), self.device)
            elif self.low_vram or (offload_after_use and name in ("reference_unet", "image_encoder")):
                self._placement[name] = OnDemand(module, self.device)
            else:
                self._placement[name] = Resident(module, self.device)

        if self.low_vram:  # the GEGLU intermediates of 32 images at 64x64 alone would take ~1.5 GB
            self.denoising_unet.set_feed_forward_chunk_size(2)
        self._unet_forward = torch.compile(self.denoising_unet) if compile_unet else self.denoising_unet

    def _modules(self) -> dict[str, torch.nn.Module]:
        return {
            "vae": self.vae,
            "image_encoder": self.image_encoder,
            "reference_unet": self.reference_unet,
            "denoising_unet": self.denoising_unet,
            "pose_guider": self.pose_guider,
        }

    @contextmanager
    def _use(self, name: str, label: str | None = None) -> Iterator[None]:
        """Module `name` on the device (as its placement allows), timed under `label` (default `name`) when
        benchmarking."""
        timed = self.timer.measure(label or name) if self.timer is not None else nullcontext()
        with timed, self._placement[name].active():
            yield

    @property
    def max_context_frames(self) -> int:
        return self.denoising_unet.config.motion_module_kwargs.get("temporal_position_encoding_max_len", 32)

    # --- construction -----------------------------------------------------------------------------------------

    @classmethod
    def from_pretrained(
        cls,
        weights: ReleaseFiles | Mapping[str, Any],
        device: torch.device | str | None = None,
        dtype: torch.dtype | str | None = None,
        low_vram: bool = False,
        progress: Progress | None = None,
        **options: Any,
    ) -> Lmk2VideoPipeline:
        """Load the released files (fp32 on disk) cast to `dtype`. `weights`: ReleaseFiles or a mapping with
        denoising_unet, motion_module, reference_unet, pose_guider, vae_dir, image_encoder_dir."""
        files = ReleaseFiles.coerce(weights)
        files.check_present()
        device = resolve_device(device)
        dtype = resolve_dtype(dtype, device)
        configs = files.model_configs()
        accelerated_resident = device.type == "cuda" and not low_vram
        offloaded = options.get("offload_after_use")
        if offloaded is None:
            offloaded = device.type == "cuda"
        host = torch.device("cpu")

        def target(name: str) -> torch.device:
            if device.type != "cuda":
                return device
            if not accelerated_resident or (offloaded and name in ("reference_unet", "image_encoder")):
                return host
            return device

        steps = [
            (
                "denoising_unet",
                lambda: load_denoising_unet(
                    files.denoising_unet, files.motion_module, configs, dtype, target("denoising_unet")
                ),
            ),
            (
                "reference_unet",
                lambda: load_reference_unet(files.reference_unet, configs, dtype, target("reference_unet")),
            ),
            ("pose_guider", lambda: load_pose_guider(files.pose_guider, configs, dtype, target("pose_guider"))),
            ("vae", lambda: load_vae(files.vae_dir, dtype, target("vae"))),
            ("image_encoder", lambda: load_image_encoder(files.image_encoder_dir, dtype, target("image_encoder"))),
        ]
        modules = {}
        if progress is not None:
            progress("load", 0, len(steps))  # announced before the first (slowest) module loads
        for i, (name, load) in enumerate(steps):
            modules[name] = load()
            if progress is not None:
                progress("load", i + 1, len(steps))
        return cls(**modules, device=device, dtype=dtype, low_vram=low_vram, **options)

    @classmethod
    def from_config(
        cls,
        configs: ModelConfigs | None = None,
        device: torch.device | str | None = "cpu",
        dtype: torch.dtype | str | None = None,
        seed: int = 0,
        **options: Any,
    ) -> Lmk2VideoPipeline:
        """Random-weight networks of the given sizes (default: tiny), e.g. for tests and benchmarks."""
        from .tiny import random_modules

        device = resolve_device(device)
        dtype = resolve_dtype(dtype, device)
        modules = random_modules(configs, seed=seed, device=device, dtype=dtype)
        return cls(**modules, device=device, dtype=dtype, **options)

    @classmethod
    def from_kit_case(
        cls,
        case_dir: str | Path,
        device: torch.device | str | None = "cpu",
        dtype: torch.dtype | str | None = None,
        **options: Any,
    ) -> Lmk2VideoPipeline:
        """The conformance kit's case 04: tiny configs from config.json, weights from weights/*.safetensors."""
        from .tiny import kit_case_modules

        device = resolve_device(device)
        dtype = resolve_dtype(dtype, device)
        return cls(**kit_case_modules(Path(case_dir), dtype=dtype), device=device, dtype=dtype, **options)

    # --- the three stages -----------------------------------------------------------------------------------

    @torch.no_grad()
    def encode_reference(self, ref_image: np.ndarray, width: int, height: int) -> ReferenceConditioning:
        """CLIP image embedding, VAE latents and the reference-attention bank of the reference image."""
        pixels = clip_pixel_values(_rgb(ref_image, "reference image"))
        with self._use("image_encoder", "clip"):
            image_embeds = self.image_encoder(pixels.to(self.device, self.dtype)).image_embeds
        vae_pixels = vae_pixel_values(ref_image, width, height).to(self.device, self.dtype)
        with self._use("vae", "vae_encode"):
            ref_latents = self.vae.encode(vae_pixels).latent_dist.mean * VAE_SCALING_FACTOR
        bank_dtype = torch.float16 if self.numerics.fp16_reference_bank else None
        with self._use("reference_unet"):
            bank = capture_reference_bank(self.reference_unet, ref_latents, image_embeds.unsqueeze(1), bank_dtype)
        return ReferenceConditioning(pixels, image_embeds, ref_latents, bank)

    def initial_latents(self, num_frames: int, width: int, height: int, seed: int) -> torch.Tensor:
        """As the original: default CPU generator seeded with `seed`, drawn in the weight dtype, then moved."""
        shape = (1, self.denoising_unet.config.in_channels, num_frames, height // 8, width // 8)
        generator = torch.Generator("cpu").manual_seed(seed)
        return torch.randn(shape, generator=generator, dtype=self.dtype).to(self.device)

    @torch.no_grad()
    def denoise(
        self,
        reference: ReferenceConditioning,
        pose_frames: Sequence[np.ndarray],
        latents: torch.Tensor,
        steps: int = 25,
        cfg: float = 3.5,
        context_frames: int = 16,
        context_overlap: int = 4,
        progress: Progress | None = None,
        on_step: Callable[[int, torch.Tensor, torch.Tensor], None] | None = None,
    ) -> torch.Tensor:
        """Run the sampler over all frames; returns the final latents (1, 4, F, H/8, W/8)."""
        num_frames = latents.shape[2]
        scheduler = DDIMScheduler.from_config(self.scheduler.config)
        scheduler.set_timesteps(steps, device=self.device)
        latents = latents.to(self.device, self.dtype) * scheduler.init_noise_sigma
        windows = context_windows(num_frames, context_frames, context_overlap)
        window_indices = [torch.tensor(w, device=self.device) for w in windows]

        do_cfg = cfg > 1.0
        clip_token = reference.image_embeds.unsqueeze(1)
        text = torch.cat([torch.zeros_like(clip_token), clip_token]) if do_cfg else clip_token
        batch_mask = (False, True) if do_cfg else (True,)  # only the conditional half reads the bank
        pose_cache = _PoseFeatureCache(self.device, self.pose_cache_device_budget)
        divide_by_255 = self.numerics.pose_guider_eval

        def pose_features(k: int) -> list[torch.Tensor]:
            cached = pose_cache.get(k)
            if cached is not None:
                return cached
            frames = np.stack([pose_frames[i] for i in windows[k]])
            poses = pose_images_to_tensor(frames, self.dtype, self.device, divide_by_255=divide_by_255)
            with self._use("pose_guider"):
                self.pose_guider.set_batch_statistics(not self.numerics.pose_guider_eval)
                # The conditional images alone: duplicating them for CFG leaves the batch statistics unchanged.
                features = [unfold_frames(f, 1) for f in self.pose_guider.forward_frames(poses)]
            pose_cache.put(k, features)
            return features

        total = len(scheduler.timesteps) * len(windows)
        done = 0
        if progress is not None:
            progress("denoise", 0, total)  # a one-window CPU job spends minutes in its first unit
        with self.denoising_unet.reference_attention(reference.bank, batch_mask):
            for i, t in enumerate(scheduler.timesteps):
                noise_pred = torch.zeros(
                    (2 if do_cfg else 1, *latents.shape[1:]), device=self.device, dtype=latents.dtype
                )
                counter = torch.zeros((1, 1, num_frames, 1, 1), device=self.device, dtype=latents.dtype)
                for k, index in enumerate(window_indices):
                    model_input = latents[:, :, index]
                    if do_cfg:
                        model_input = model_input.repeat(2, 1, 1, 1, 1)
                    model_input = scheduler.scale_model_input(model_input, t)
                    features = pose_features(k)
                    with self._use("denoising_unet"):
                        pred = self._unet_forward(model_input, t, text, features)
                    noise_pred[:, :, index] = noise_pred[:, :, index] + pred
                    counter[:, :, index] = counter[:, :, index] + 1
                    done += 1
                    if progress is not None:
                        progress("denoise", done, total)
                noise_pred = noise_pred / counter
                if do_cfg:
                    uncond, cond = noise_pred.chunk(2)
                    noise_pred = uncond + cfg * (cond - uncond)
                with self.timer.measure("scheduler") if self.timer is not None else nullcontext():
                    latents = scheduler.step(noise_pred, t, latents, eta=0.0, return_dict=False)[0]
                if on_step is not None:
                    on_step(i, t, latents)
        return latents

    @torch.no_grad()
    def decode(
        self,
        latents: torch.Tensor,
        on_frames: OnFrames | None = None,
        output_type: Literal["uint8", "float"] = "uint8",
        progress: Progress | None = None,
    ) -> np.ndarray | torch.Tensor | None:
        """VAE-decode in chunks of `decode_chunk_size` frames (the original decodes one at a time; the decoder
        works per image, so chunking changes nothing but speed and memory).

        uint8: frames (F, H, W, 3) RGB, [0, 1] x 255 truncated as the original converts them, returned, or handed
        chunk by chunk to `on_frames(start, frames)` (then None is returned). float: the original's output, a
        (1, 3, F, H, W) float32 CPU tensor in [0, 1], or (n, 3, H, W) chunks handed to `on_frames`.
        """
        num_frames = latents.shape[2]
        collected: list[torch.Tensor] = []
        frames_u8: np.ndarray | None = None
        if progress is not None:
            progress("decode", 0, num_frames)
        for start in range(0, num_frames, self.decode_chunk_size):
            z = latents[0, :, start : start + self.decode_chunk_size].permute(1, 0, 2, 3) / VAE_SCALING_FACTOR
            with self._use("vae", "vae_decode"):
                images = self.vae.decode(z.to(self.dtype)).sample
            images = (images / 2 + 0.5).clamp(0, 1)
            if output_type == "float" and on_frames is not None:
                on_frames(start, images.float().cpu())
            elif output_type == "float":
                collected.append(images.float().cpu())
            else:
                chunk = frames_to_uint8(images)
                if on_frames is not None:
                    on_frames(start, chunk)
                else:
                    if frames_u8 is None:
                        frames_u8 = np.empty((num_frames, *chunk.shape[1:]), dtype=np.uint8)
                    frames_u8[start : start + len(chunk)] = chunk
            if progress is not None:
                progress("decode", min(start + self.decode_chunk_size, num_frames), num_frames)
        if output_type == "float" and on_frames is None:
            return torch.cat(collected).permute(1, 0, 2, 3).unsqueeze(0)
        return frames_u8

    # --- the whole thing ---------------------------------------------------------------------------------------

    def __call__(
        self,
        ref_image: np.ndarray,
        pose_images: Iterable[np.ndarray],
        width: int,
        height: int,
        steps: int = 25,
        cfg: float = 3.5,
        seed: int = 42,
        context_frames: int = 16,
        context_overlap: int = 4,
        progress: Progress | None = None,
        on_frames: OnFrames | None = None,
        *,
        latents: torch.Tensor | None = None,
        on_step: Callable[[int, torch.Tensor, torch.Tensor], None] | None = None,
        output_type: Literal["uint8", "float"] = "uint8",
    ) -> np.ndarray | torch.Tensor | None:
        """Generate one frame per pose image.

        ref_image: HxWx3 uint8 RGB (any size; squashed to width x height like the original). pose_images: F
        drawings HxWx3 uint8 (resized with nearest neighbour when not height x width). Returns (F, H, W, 3)
        uint8 RGB frames, or None when `on_frames` receives them chunk by chunk. `latents` overrides the seeded
        initial noise (1, 4, F, H/8, W/8); `on_step(i, t, latents)` sees the latents after each DDIM step.
        """
        self._check_call(width, height, steps, context_frames, context_overlap)
        ref_image = _rgb(ref_image, "reference image")
        pose_frames = _collect_pose_frames(pose_images, width, height)
        reference = self.encode_reference(ref_image, width, height)
        if latents is None:
            latents = self.initial_latents(len(pose_frames), width, height, seed)
        elif tuple(latents.shape[2:]) != (len(pose_frames), height // 8, width // 8):
            raise InputError(
                f"latents of shape {tuple(latents.shape)} do not fit {len(pose_frames)} frames of {width}x{height}"
            )
        latents = self.denoise(
            reference, pose_frames, latents, steps, cfg, context_frames, context_overlap, progress, on_step
        )
        del reference
        return self.decode(latents, on_frames, output_type, progress)

    def _check_call(self, width: int, height: int, steps: int, context_frames: int, context_overlap: int) -> None:
        if width <= 0 or height <= 0 or width % 8 or height % 8:
            raise InputError(f"video size {width}x{height}: width and height must be positive multiples of 8")
        if steps < 1:
            raise InputError(f"steps must be >= 1, got {steps}")
        if not 1 <= context_frames <= self.max_context_frames:
            raise InputError(f"context frames must be between 1 and {self.max_context_frames}, got {context_frames}")
        if not 0 <= context_overlap < context_frames:
            raise InputError(f"context overlap must be in [0, {context_frames - 1}], got {context_overlap}")


def _rgb(image: Any, what: str) -> np.ndarray:
    array = np.asarray(image)
    if array.dtype != np.uint8 or array.ndim != 3 or array.shape[2] != 3:
        raise InputError(f"{what} must be an HxWx3 uint8 RGB image, got {array.dtype} array of shape {array.shape}")
    return array


class _PoseFrames:
    """Pose images at the video size (nearest-neighbour resize when needed).

    A sequence (`len` + indexing, e.g. drawn on demand from a motion) is read lazily, window by window, so
    host memory does not grow with the video's length; any other iterable is collected first.
    """

    def __init__(self, pose_images: Iterable[np.ndarray], width: int, height: int):
        self.width, self.height = width, height
        lazy = hasattr(pose_images, "__len__") and hasattr(pose_images, "__getitem__")
        self.source = pose_images if lazy else list(pose_images)
        if len(self.source) == 0:
            raise InputError("no pose images: the video needs at least one frame")

    def __len__(self) -> int:
        return len(self.source)

    def __getitem__(self, i: int) -> np.ndarray:
        frame = _rgb(self.source[i], f"pose image {i}")
        if frame.shape[:2] != (self.height, self.width):
            x = torch.from_numpy(np.ascontiguousarray(frame)).permute(2, 0, 1)[None].float()
            x = F.interpolate(x, size=(self.height, self.width), mode="nearest")
            frame = x[0].permute(1, 2, 0).to(torch.uint8).numpy()
        return np.ascontiguousarray(frame)


def _collect_pose_frames(pose_images: Iterable[np.ndarray], width: int, height: int) -> _PoseFrames:
    return _PoseFrames(pose_images, width, height)
