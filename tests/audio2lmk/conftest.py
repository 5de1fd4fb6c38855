"""The audio2lmk tests run their tiny models on one thread (see `single_torch_thread`)."""

import pytest


@pytest.fixture(scope="module", autouse=True)
def _single_thread(single_torch_thread):
    yield
