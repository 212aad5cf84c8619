"""`ocr-service`: run gunicorn with the packaged configuration, so no long command lines are needed.

Settings are checked here first, so a bad OCR_* value is reported before gunicorn starts. Extra
arguments go to gunicorn unchanged (e.g. `ocr-service --check-config`).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from .settings import settings_or_exit

CONFIG = Path(__file__).with_name("gunicorn.conf.py")


def main(argv: list[str] | None = None) -> None:
    settings_or_exit()
    args = sys.argv[1:] if argv is None else argv
    command = [sys.executable, "-m", "gunicorn", "--config", str(CONFIG), *args]
    os.execv(sys.executable, command)  # gunicorn becomes this process: signals reach it directly


if __name__ == "__main__":
    main()
