"""Exceptions the CLI turns into one-line messages and exit codes.

Anything raised as one of these is an expected failure: the CLI prints `error: <message>` and exits with
`exit_code`, with no traceback (unless --debug). Any other exception is reported by `describe_unexpected` in one
line too (a full disk and running out of memory said plainly, anything else as an internal error to report).
"""

import errno


class AniportraitError(Exception):
    """Base class; message must say what is wrong, naming the file, and how to fix it."""

    exit_code = 1


class InputError(AniportraitError):
    """Bad input or usage: missing/unreadable file, wrong option value. Exit code 2."""

    exit_code = 2


class RuntimeFailure(AniportraitError):
    """The inputs were fine but the run failed (out of memory, ffmpeg died, ...). Exit code 1."""

    exit_code = 1


class NotAvailableYet(InputError):
    """A feature whose code has not landed yet; never pretend to work. Exit code 2."""


class WeightsMissing(InputError):
    """Weights needed by the chosen engine are not on disk; the message names them and the download command."""


def describe_unexpected(exc: BaseException) -> str:
    """One line for an exception that is not an AniportraitError."""
    if isinstance(exc, OSError) and exc.errno == errno.ENOSPC:
        where = f" writing {exc.filename}" if exc.filename else ""
        return f"disk full: no space left on device{where}; free some space or write elsewhere"
    if isinstance(exc, MemoryError):
        return "out of memory; close other programs, or use a smaller --size or a shorter input"
    return f"internal error: {exc.__class__.__name__}: {exc}; rerun with --debug and report it"
