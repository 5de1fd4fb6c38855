"""SIGTERM and SIGHUP (sent by `timeout`, `kill`, SLURM time limits, `docker stop`, a closed terminal) are
handled like Ctrl-C: they raise `Interrupted`, a KeyboardInterrupt, in the main thread, so every cleanup that
runs for Ctrl-C runs for them too (ffmpeg stopped, temporary files deleted), then the CLI prints one line and
exits with 128 + the signal number (130 Ctrl-C, 143 SIGTERM, 129 SIGHUP).

SIGKILL cannot be caught; what a killed run leaves is removed by the next run (media.atomic.remove_stale_parts).
"""

from __future__ import annotations

import signal

NAMES = {signal.SIGINT: "interrupted (Ctrl-C)", signal.SIGTERM: "terminated (SIGTERM)"}
if hasattr(signal, "SIGHUP"):
    NAMES[signal.SIGHUP] = "hung up (SIGHUP)"


class Interrupted(KeyboardInterrupt):
    def __init__(self, signum: int):
        super().__init__(signum)
        self.signum = signum


def install() -> None:
    """Turn the first SIGINT/SIGTERM/SIGHUP into `Interrupted`; later ones are ignored so cleanup can finish."""

    def on_signal(signum, frame) -> None:
        for number in NAMES:
            signal.signal(number, signal.SIG_IGN)
        raise Interrupted(signum)

    for number in NAMES:
        if signal.getsignal(number) is signal.SIG_IGN:
            continue  # ignored on purpose by whoever started us (`nohup`, a background job of a script)
        try:
            signal.signal(number, on_signal)
        except (OSError, ValueError):  # not the main thread, or not supported here
            pass


def describe_interruption(exc: BaseException) -> tuple[str, int]:
    """The one line to print and the exit code for an interruption (`kept_outputs` set by a batch)."""
    signum = getattr(exc, "signum", signal.SIGINT)
    what = NAMES.get(signum, f"stopped by signal {signum}")
    kept = getattr(exc, "kept_outputs", 0)
    if kept:
        tail = f"{kept} finished output{'s' if kept != 1 else ''} kept; resume with --skip-existing"
    else:
        tail = "no output was written"
    return f"{what}; {tail}", 128 + int(signum)
