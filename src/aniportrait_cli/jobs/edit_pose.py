"""edit-pose: change head motion while keeping lips and expression."""

from __future__ import annotations

from aniportrait_cli.errors import NotAvailableYet


def run(**kwargs):
    raise NotAvailableYet("edit-pose is not available yet in this build")
