"""Tiny models gain nothing from intra-op threads, and on a busy machine OpenMP threads waiting for each other
slow the decoder's thousands of small steps down tenfold: run these tests single-threaded."""

from __future__ import annotations

import pytest
import torch


@pytest.fixture(autouse=True)
def _single_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
