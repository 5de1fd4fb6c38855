"""check-sync: measure lip sync of any talking-face video."""

from __future__ import annotations

from aniportrait_cli.errors import NotAvailableYet


def run(**kwargs):
    raise NotAvailableYet("check-sync is not available yet in this build")
