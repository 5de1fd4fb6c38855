"""write_tiny_release writes the original release layout, and from_pretrained loads it strictly."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from aniportrait_cli.errors import InputError, WeightsMissing
from aniportrait_cli.lmk2video.loading import TINY_CONFIG_NAME, ReleaseFiles, WeightsMismatch
from aniportrait_cli.lmk2video.models.unet_3d import is_motion_module_key
from aniportrait_cli.lmk2video.pipeline import Lmk2VideoPipeline
from aniportrait_cli.lmk2video.tiny import write_tiny_release
from tests.lmk2video.conftest import CALL


@pytest.fixture(scope="module")
def release(tmp_path_factory):
    return write_tiny_release(tmp_path_factory.mktemp("release"), seed=3)


def test_layout_is_the_original_release(release):
    assert release == ReleaseFiles.in_folder(release.denoising_unet.parent)
    denoising = torch.load(release.denoising_unet, weights_only=True)
    motion = torch.load(release.motion_module, weights_only=True)
    assert denoising and not any(is_motion_module_key(k) for k in denoising)
    assert motion and all(is_motion_module_key(k) for k in motion)
    assert all(v.dtype == torch.float32 for v in {**denoising, **motion}.values())
    reference = torch.load(release.reference_unet, weights_only=True)
    assert not any(k.startswith(("conv_norm_out", "conv_out")) for k in reference)
    assert "conv_layers.1.num_batches_tracked" in torch.load(release.pose_guider, weights_only=True)
    assert json.loads((release.vae_dir / "config.json").read_text())["_class_name"] == "AutoencoderKL"
    assert (
        "CLIPVisionModelWithProjection"
        in json.loads((release.image_encoder_dir / "config.json").read_text())["architectures"]
    )


def test_from_pretrained_equals_the_networks_that_were_written(release, tiny_pipe, inputs):
    """Same seed: loading the files must give exactly the in-memory networks' video."""
    ref, poses = inputs
    stages = []
    loaded = Lmk2VideoPipeline.from_pretrained(
        {name: str(path) for name, path in vars(release).items()}, device="cpu", progress=lambda *a: stages.append(a)
    )
    assert stages[-1] == ("load", 5, 5)
    expected = tiny_pipe(ref, poses, **CALL)
    assert np.array_equal(loaded(ref, poses, **CALL), expected)


def test_missing_file_is_named(release, tmp_path):
    files = ReleaseFiles(**{**vars(release), "pose_guider": tmp_path / "pose_guider.pth"})
    with pytest.raises(WeightsMissing, match="pose_guider.pth"):
        Lmk2VideoPipeline.from_pretrained(files, device="cpu")


def test_a_missing_key_is_named(release, tmp_path):
    state = torch.load(release.pose_guider, weights_only=True)
    del state["cross_attn2.proj_out.bias"]
    damaged = tmp_path / "pose_guider.pth"
    torch.save(state, damaged)
    files = ReleaseFiles(**{**vars(release), "pose_guider": damaged})
    with pytest.raises(WeightsMismatch, match=r"missing keys \(cross_attn2\.proj_out\.bias\)"):
        Lmk2VideoPipeline.from_pretrained(files, device="cpu")


def test_swapped_files_fail_clearly(release):
    files = ReleaseFiles(
        **{**vars(release), "denoising_unet": release.motion_module, "motion_module": release.denoising_unet}
    )
    with pytest.raises(WeightsMismatch, match="non-motion-module keys"):
        Lmk2VideoPipeline.from_pretrained(files, device="cpu")


def test_truncated_file_is_an_input_error(release, tmp_path):
    truncated = tmp_path / "reference_unet.pth"
    truncated.write_bytes(release.reference_unet.read_bytes()[:1000])
    files = ReleaseFiles(**{**vars(release), "reference_unet": truncated})
    with pytest.raises(InputError, match="reference_unet.pth"):
        Lmk2VideoPipeline.from_pretrained(files, device="cpu")


def test_without_the_tiny_config_the_full_size_networks_are_expected(release, tmp_path):
    """The loader only shrinks networks when told to: the tiny files do not fit the full-size UNet."""
    for name in ("denoising_unet.pth", "motion_module.pth"):
        (tmp_path / name).write_bytes((release.denoising_unet.parent / name).read_bytes())
    files = ReleaseFiles(
        **{
            **vars(release),
            "denoising_unet": tmp_path / "denoising_unet.pth",
            "motion_module": tmp_path / "motion_module.pth",
        }
    )
    assert not (tmp_path / TINY_CONFIG_NAME).exists()
    with pytest.raises(WeightsMismatch, match="shape mismatches"):
        Lmk2VideoPipeline.from_pretrained(files, device="cpu")


def test_public_file_quirks_load(tmp_path):
    """The public sd-vae-ft-mse file uses pre-0.21 attention names (query/key/value/proj_attn) and the public
    image_encoder is a pytorch_model.bin that still carries `position_ids`: both must load unchanged."""
    from safetensors.torch import load_file, save_file

    from aniportrait_cli.lmk2video.loading import load_image_encoder, load_vae
    from aniportrait_cli.lmk2video.tiny import random_modules

    modules = random_modules(seed=5)
    vae_dir = tmp_path / "sd-vae-ft-mse"
    modules["vae"].save_pretrained(vae_dir)
    new_names = load_file(vae_dir / "diffusion_pytorch_model.safetensors")
    old = {"to_q": "query", "to_k": "key", "to_v": "value", "to_out.0": "proj_attn"}
    renamed = {}
    for key, tensor in new_names.items():
        for new, legacy in old.items():
            if ".attentions." in key and f".{new}." in key:
                key = key.replace(f".{new}.", f".{legacy}.")
        renamed[key] = tensor
    assert any(".query." in k for k in renamed)
    save_file(renamed, vae_dir / "diffusion_pytorch_model.safetensors")
    vae = load_vae(vae_dir, torch.float32, "cpu")
    assert all(
        torch.equal(a, b) for a, b in zip(modules["vae"].state_dict().values(), vae.state_dict().values(), strict=True)
    )

    clip_dir = tmp_path / "image_encoder"
    modules["image_encoder"].config.save_pretrained(clip_dir)
    state = dict(modules["image_encoder"].state_dict())
    state["vision_model.embeddings.position_ids"] = torch.arange(50)[None]
    torch.save(state, clip_dir / "pytorch_model.bin")
    clip = load_image_encoder(clip_dir, torch.float16, "cpu")
    expected = modules["image_encoder"].state_dict()
    assert all(torch.equal(expected[k].half(), v) for k, v in clip.state_dict().items())
