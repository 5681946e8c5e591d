"""The permit portal's web service: ``mpeil serve`` (FastAPI), its store, its page.

Nothing happens at import: :func:`create_app` builds an app whose state (library, scenarios,
methods, store, job runner) lives on ``app.state``.
"""

from __future__ import annotations

__all__ = ["create_app", "Settings"]


def __getattr__(name: str):
    if name == "create_app":
        from .app import create_app

        return create_app
    if name == "Settings":
        from .settings import Settings

        return Settings
    raise AttributeError(name)
