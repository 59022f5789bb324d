"""Commands of this group; registered on the shared apps in ui.cli.app."""

from __future__ import annotations

from ui.cli.app import app, eval_app, export_app, keys_app  # noqa: F401
