"""Worker process for the word pass of `phones.recognise_all`: `python -m aniportrait_cli.classic.word_worker`.

stdin: pieces of 16 kHz audio, each a little-endian float64 start time (s) and int64 sample count, then that
many float32 samples. stdout: one JSON line per piece, its phones as [label, start_s, end_s] (floats survive
JSON exactly, so the phones equal those decoded in the parent). A subprocess rather than multiprocessing: it
never re-imports the caller's main script, so it works from scripts without a `__main__` guard and from stdin.
"""

from __future__ import annotations

import json
import os
import signal
import struct
import subprocess
import sys
from pathlib import Path

import numpy as np

HEADER = struct.Struct("<dq")


def environment() -> dict[str, str]:
    """The parent's environment, with this package importable however the parent found it."""
    package_root = str(Path(__file__).resolve().parents[2])
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (package_root, env.get("PYTHONPATH", "")) if p)
    return env


def encode_pieces(samples: np.ndarray, pieces: list[tuple[int, int]], sample_rate: int = 16000) -> bytes:
    return b"".join(HEADER.pack(a / sample_rate, b - a) + samples[a:b].astype("<f4").tobytes() for a, b in pieces)


def decode_pieces(data: bytes) -> list[tuple[float, np.ndarray]]:
    pieces, position = [], 0
    while position < len(data):
        start_s, count = HEADER.unpack_from(data, position)
        position += HEADER.size
        pieces.append((start_s, np.frombuffer(data, "<f4", count, position)))
        position += 4 * count
    return pieces


def read_results(proc: subprocess.Popen, expected: int):
    """The phones of each piece from a finished worker, or None when it failed (its pieces are redone)."""
    from aniportrait_cli.classic.phones import Phone

    output = proc.stdout.read()
    if proc.wait() != 0:
        return None
    lines = output.decode("utf-8").splitlines()
    if len(lines) != expected:
        return None
    return [[Phone(label, start, end) for label, start, end in json.loads(line)] for line in lines]


def main() -> int:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle; it stops this worker
    from aniportrait_cli.classic import phones

    for start_s, samples in decode_pieces(sys.stdin.buffer.read()):
        found = phones.decode_word_piece(samples, start_s)
        sys.stdout.write(json.dumps([[p.label, p.start_s, p.end_s] for p in found]) + "\n")
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
