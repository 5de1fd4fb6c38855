"""Keeping weights off the accelerator until they are needed.

A module's weights live on the CPU (pinned when possible, so uploads are fast and asynchronous); `load()` points
its parameters at device copies and `unload()` points them back at the CPU copies, dropping the device copies.
Nothing is copied back, since inference never changes weights.

* `OnDemand`: the whole module is uploaded around each use (reference UNet, image encoder: used once per video).
* `Sequential`: forward hooks upload one leaf block at a time (low-VRAM mode: at most one block on the device).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager

import torch
from torch import nn


class _WeightSwap:
    def __init__(self, module: nn.Module, device: torch.device):
        self.device = device
        self.slots: list[tuple[nn.Module, str, bool, torch.Tensor]] = []
        pin = device.type == "cuda"
        for sub in module.modules():
            for name, tensor in list(sub._parameters.items()) + list(sub._buffers.items()):
                if tensor is None:
                    continue
                host = tensor.detach().to("cpu")
                if pin:
                    try:
                        host = host.pin_memory()
                    except RuntimeError:  # pinning can fail on constrained hosts: pageable still works
                        pin = False
                slot = (sub, name, name in sub._parameters, host)
                self._set(*slot)  # release the original right away: never two full copies of the module
                self.slots.append(slot)

    def _set(self, sub: nn.Module, name: str, is_param: bool, tensor: torch.Tensor) -> None:
        if is_param:  # a fresh Parameter: `.data =` refuses some device pairs (e.g. to/from meta)
            sub._parameters[name] = nn.Parameter(tensor, requires_grad=False)
        else:
            sub._buffers[name] = tensor

    def load(self) -> None:
        for sub, name, is_param, host in self.slots:
            self._set(sub, name, is_param, host.to(self.device, non_blocking=True))

    def unload(self) -> None:
        for sub, name, is_param, host in self.slots:
            self._set(sub, name, is_param, host)


class OnDemand:
    """Whole-module upload around `with placement.active():`."""

    def __init__(self, module: nn.Module, device: torch.device):
        self._swap = _WeightSwap(module, torch.device(device))

    @contextmanager
    def active(self) -> Iterator[None]:
        self._swap.load()
        try:
            yield
        finally:
            self._swap.unload()


class Sequential:
    """Per-block upload through forward hooks; `active()` is a no-op kept for a uniform interface."""

    def __init__(self, leaves: Iterable[nn.Module], device: torch.device):
        self._handles = []
        for leaf in leaves:
            swap = _WeightSwap(leaf, torch.device(device))
            self._handles.append(leaf.register_forward_pre_hook(lambda _m, _a, s=swap: s.load()))
            self._handles.append(leaf.register_forward_hook(lambda _m, _a, _o, s=swap: s.unload()))

    @contextmanager
    def active(self) -> Iterator[None]:
        yield


class Resident:
    """Module kept on the device the whole time."""

    def __init__(self, module: nn.Module, device: torch.device):
        module.to(device)

    @contextmanager
    def active(self) -> Iterator[None]:
        yield


def unet_leaves(unet: nn.Module) -> list[nn.Module]:
    """Blocks small enough to upload one at a time: every resnet / transformer / motion module / resampler and
    the stem and head layers of a (2D or 3D) UNet."""
    leaves: list[nn.Module] = []
    for name, child in unet.named_children():
        if name in ("down_blocks", "up_blocks"):
            for block in child:
                leaves.extend(_block_parts(block))
        elif name == "mid_block":
            leaves.extend(_block_parts(child))
        elif any(True for _ in child.parameters()):
            leaves.append(child)
    return leaves


def _block_parts(block: nn.Module) -> list[nn.Module]:
    parts: list[nn.Module] = []
    for name in ("attentions", "resnets", "motion_modules", "downsamplers", "upsamplers"):
        group = getattr(block, name, None)
        if group is not None:
            parts.extend(group)
    return parts
