"""The WSGI entry point gunicorn loads in each worker (`ocr_service.wsgi:app`)."""

from __future__ import annotations

from .app import create_app
from .settings import settings_or_exit

app = create_app(settings_or_exit())
