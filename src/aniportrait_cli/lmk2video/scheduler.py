"""The sampler of inference_v2.yaml: DDIM, v-prediction, zero terminal SNR, trailing timesteps."""

from __future__ import annotations

from typing import Any

from diffusers import DDIMScheduler

# noise_scheduler_kwargs of inference_v2.yaml. `set_alpha_to_one=True` (diffusers' default, which the original
# keeps): the last step's previous alpha is 1.
DDIM_CONFIG: dict[str, Any] = {
    "beta_start": 0.00085,
    "beta_end": 0.012,
    "beta_schedule": "linear",
    "clip_sample": False,
    "steps_offset": 1,
    "prediction_type": "v_prediction",
    "rescale_betas_zero_snr": True,
    "timestep_spacing": "trailing",
    "set_alpha_to_one": True,
}


def make_scheduler(**overrides: Any) -> DDIMScheduler:
    return DDIMScheduler(**{**DDIM_CONFIG, **overrides})
