"""Network awareness for the Hugging Face hub client.

Without a network, each hub call made with HF_HUB_OFFLINE unset retries for ~23 s. Nothing in aniportrait needs
the network except `weights download`, so every other command sets offline mode before the hub libraries are
imported, and `weights download` probes the endpoint first and fails within a second when it is unreachable.
"""

from __future__ import annotations

import os
import socket
import sys
from urllib.parse import urlparse

DEFAULT_ENDPOINT = "https://huggingface.co"
HUB_MODULES = ("huggingface_hub", "transformers", "diffusers")


def endpoint() -> str:
    return os.environ.get("HF_ENDPOINT", DEFAULT_ENDPOINT).rstrip("/")


def force_offline() -> None:
    """Make the hub libraries answer from the local cache only (must run before they are imported)."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")


def offline_requested() -> bool:
    return os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in {"1", "true", "yes", "on"}


def hub_modules_already_imported() -> bool:
    return any(name in sys.modules for name in HUB_MODULES)


def reachable(timeout_s: float = 2.0) -> tuple[bool, str]:
    """Can we open a TCP connection to the hub endpoint? (reason string when not)."""
    url = urlparse(endpoint())
    host = url.hostname or ""
    port = url.port or (443 if url.scheme == "https" else 80)
    try:
        with socket.create_connection((host, port), timeout=timeout_s):
            return True, ""
    except OSError as exc:
        return False, f"cannot reach {url.scheme}://{host} ({exc.strerror or exc.__class__.__name__})"
