"""What the views and gunicorn's worker hooks need from the app: its settings and pipeline holder.

A module of its own so that the views (`api`, `page`) and `gunicorn.conf.py` reach the state
through one function instead of importing the app factory or Flask's extension keys.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from flask import Flask, current_app

if TYPE_CHECKING:
    from .holder import PipelineHolder
    from .settings import Settings

_KEY = "ocr_service"


@dataclass
class ServiceState:
    settings: Settings
    holder: PipelineHolder


def attach(app: Flask, service_state: ServiceState) -> None:
    app.extensions[_KEY] = service_state


def of(app: Any) -> ServiceState | None:
    """The state of `app` (a Flask app, e.g. gunicorn's worker.wsgi), None for anything else."""
    extensions = getattr(app, "extensions", None)
    return extensions.get(_KEY) if isinstance(extensions, dict) else None


def state() -> ServiceState:
    """The state of the app serving the current request."""
    return current_app.extensions[_KEY]
