"""A real `aniportrait ui` server on a free localhost port, started once for all the tests of this folder."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
from PIL import Image

from aniportrait_cli.weights.registry import WEIGHTS_DIR_ENV
from tests.media_factory import write_syllables

STARTUP_TIMEOUT_S = 120
VOICE_S = 1.7
# The server's weights folder (as the CLI's, from ANIPORTRAIT_WEIGHTS_DIR): none, whatever this machine has.
NO_WEIGHTS = "/nonexistent/aniportrait-weights"


@dataclass
class Server:
    process: subprocess.Popen
    url: str
    root: Path  # the server's temporary folder (uploads, session outputs)
    stderr_lines: list[str]

    def stop(self, how: signal.Signals = signal.SIGTERM) -> int:
        if self.process.poll() is None:
            self.process.send_signal(how)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return self.process.returncode


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_server(*args: str) -> Server:
    pytest.importorskip("gradio", reason="the ui extra is not installed: pip install -e '.[ui]'")
    # A closed page is noticed when its heartbeat stops: every second here instead of Gradio's 15 s.
    env = {**os.environ, "COLUMNS": "200", "GRADIO_HEARTBEAT_INTERVAL": "1", WEIGHTS_DIR_ENV: NO_WEIGHTS}
    process = subprocess.Popen([sys.executable, "-m", "aniportrait_cli", "ui", *args], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True, env=env)
    stderr_lines: list[str] = []
    threading.Thread(target=lambda: stderr_lines.extend(process.stderr), daemon=True).start()
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    line = ""
    while time.monotonic() < deadline and process.poll() is None:
        line = process.stdout.readline()
        if line.startswith("aniportrait ui: "):
            break
    else:
        process.kill()
        pytest.fail(f"the server did not start: {line!r} {''.join(stderr_lines)}")
    url = line.split()[2]
    while not any("files of this server:" in s for s in stderr_lines) and time.monotonic() < deadline:
        time.sleep(0.05)
    root = Path(re.search(r"files of this server: (\S+)", "".join(stderr_lines)).group(1))
    return Server(process, url, root, stderr_lines)


@pytest.fixture(scope="package")
def server():
    running = start_server("--port", str(free_port()))
    yield running
    # SIGTERM, as a service manager stops it (Ctrl-C ends in the same place): a clean exit that deletes every file
    # the server made.
    assert running.stop(signal.SIGTERM) == 0, running.stderr_lines
    assert not running.root.exists()
    assert running.stderr_lines[-1].startswith("stopped;") and not any("Traceback" in s for s in running.stderr_lines)


@pytest.fixture(scope="package")
def inputs(tmp_path_factory) -> Path:
    """The astronaut portrait and 1.7 s of syllable-like bursts (the CLI tests' inputs)."""
    from skimage import data

    folder = tmp_path_factory.mktemp("ui_inputs")
    Image.fromarray(data.astronaut()).save(folder / "face.png")
    write_syllables(folder / "voice.wav", VOICE_S)
    return folder
