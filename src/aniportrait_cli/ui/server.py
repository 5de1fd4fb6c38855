"""`aniportrait ui`: start the page on a local port, say where it is, clean up on Ctrl-C or SIGTERM."""

from __future__ import annotations

import importlib.util
import ipaddress
import os
import signal
import socket
import time
from pathlib import Path

from aniportrait_cli.errors import InputError

INSTALL_HINT = "the web page needs Gradio: pip install 'aniportrait-cli[ui]' (or pipx inject aniportrait-cli gradio)"


def is_local(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def startup_line(host: str, port: int) -> str:
    """The URL (on stdout, for people and scripts), and whether other machines can reach it."""
    url = f"http://{f'[{host}]' if ':' in host else host}:{port}/"
    where = ("this machine only" if is_local(host) else
             f"--host {host}: reachable from other machines; anyone who can reach it can run jobs here")
    return f"aniportrait ui: {url} ({where}; Ctrl-C stops it)"


def check_port(host: str, port: int) -> None:
    """Fail with one line before Gradio starts (its own failure is a traceback and a retry loop)."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror:
        raise InputError(f"--host {host}: not an address of this machine; use 127.0.0.1 (default) or 0.0.0.0") from None
    family, kind, proto, _, address = infos[0]
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(address)
        except OSError as exc:
            raise InputError(f"--host {host} --port {port}: cannot listen there ({exc.strerror}); "
                             "choose another port with --port") from None


def serve(host: str, port: int, weights_dir: Path | None, reporter) -> None:
    if importlib.util.find_spec("gradio") is None:
        raise InputError(INSTALL_HINT)
    check_port(host, port)

    from aniportrait_cli.ui.workspace import Workspace

    workspace = Workspace()
    # Set before Gradio is imported: it reads these once. Uploads go into the workspace; nothing phones home.
    os.environ["GRADIO_TEMP_DIR"] = str(workspace.root)
    os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"
    page = None
    previous = signal.signal(signal.SIGTERM, _interrupt)
    try:
        from aniportrait_cli.ui.actions import Actions
        from aniportrait_cli.ui.page import CSS, build_page

        page = build_page(Actions(workspace, weights_dir))
        page.queue(default_concurrency_limit=1)
        page.launch(server_name=host, server_port=port, share=False, prevent_thread_lock=True, quiet=True,
                    show_error=True, ssr_mode=False, run_history=False, css=CSS)  # its history can upload runs to a hub
        print(startup_line(host, port), flush=True)
        reporter.info(f"files of this server: {workspace.root} (deleted when it stops)")
        while True:
            time.sleep(0.5)
    except KeyboardInterrupt:
        pass  # Ctrl-C (or SIGTERM) is how a server is stopped
    finally:
        signal.signal(signal.SIGTERM, previous)
        if page is not None:
            page.close()
        workspace.remove()
    reporter.info("stopped; its temporary files are deleted")


def _interrupt(signum, frame) -> None:
    raise KeyboardInterrupt


