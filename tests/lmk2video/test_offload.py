"""Offloading: every weight lives in some uploadable block, and hooks upload exactly around each use.

No GPU here: the "device" is the meta device. A forward pass on meta inputs only works if every block's
weights were moved to meta before it ran, so it proves the hooks cover the whole network.
"""

from __future__ import annotations

import torch

from aniportrait_cli.lmk2video.configs import tiny_configs
from aniportrait_cli.lmk2video.loading import build_denoising_unet, build_reference_unet_from
from aniportrait_cli.lmk2video.offload import OnDemand, Sequential, unet_leaves

META = torch.device("meta")


def covered_fraction(module, leaves):
    inside = {id(t) for leaf in leaves for t in [*leaf.parameters(), *leaf.buffers()]}
    tensors = [*module.parameters(), *module.buffers()]
    return sum(id(t) in inside for t in tensors) / len(tensors)


def test_leaves_cover_every_weight():
    configs = tiny_configs()
    for unet in (build_denoising_unet(configs), build_reference_unet_from(configs)):
        assert covered_fraction(unet, unet_leaves(unet)) == 1.0


def test_sequential_uploads_each_block_for_its_forward_only():
    unet = build_denoising_unet(tiny_configs()).eval()
    Sequential(unet_leaves(unet), META)
    assert all(p.device.type == "cpu" for p in unet.parameters())
    with torch.no_grad():
        out = unet(
            torch.empty(2, 4, 3, 8, 8, device=META),
            torch.tensor(999, device=META),
            torch.empty(2, 1, 16, device=META),
        )
    assert out.shape == (2, 4, 3, 8, 8) and out.is_meta
    assert all(p.device.type == "cpu" for p in unet.parameters())


def test_on_demand_uploads_inside_the_block_only():
    unet = build_reference_unet_from(tiny_configs())
    placement = OnDemand(unet, META)
    with placement.active():
        assert all(p.is_meta for p in unet.parameters())
    assert all(p.device.type == "cpu" for p in unet.parameters())
