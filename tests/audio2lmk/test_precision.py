"""CPU levers of the learned motion: threads for the idle cores."""

import torch

from aniportrait_cli.audio2lmk import precision


def test_threads_follow_the_idle_cores(monkeypatch):
    threads = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        for idle, expected in ((0.0, 1), (0.7, 1), (1.6, 2), (8.0, 2)):
            monkeypatch.setattr(precision, "idle_cores", lambda idle=idle: idle)
            with precision.threads_for_idle_cores(torch.device("cpu")):
                assert torch.get_num_threads() == expected, idle
            assert torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(threads)


def test_idle_cores_is_a_count_of_cores():
    import os

    idle = precision.idle_cores(0.05)
    assert idle is not None and 0.0 <= idle <= os.cpu_count() + 1e-6
