"""Exceptions the CLI turns into one-line messages and exit codes.

Anything raised as one of these is an expected failure: the CLI prints `error: <message>` and exits with
`exit_code`, with no traceback (unless --debug). Every other exception is a bug and keeps its traceback.
"""


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
