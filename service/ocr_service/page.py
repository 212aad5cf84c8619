"""The upload page: pick or drop an image, see the lines and their boxes. No external assets."""

from __future__ import annotations

from flask import Blueprint, render_template

from .state import state

page = Blueprint("page", __name__)


@page.get("/")
def index() -> str:
    settings = state().settings
    return render_template("index.html", max_upload_bytes=settings.max_upload_bytes, mode=settings.mode)
