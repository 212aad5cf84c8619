"""`ocr-healthcheck`: exit 0 when this container's service answers /readyz with 200, else 1.

The image's HEALTHCHECK and the compose files run it, so Docker's "healthy" means ready to read
images (models loaded, or TF Serving reporting the service's models AVAILABLE), not merely "process up".
Standard library only: it runs every few seconds and must start fast.
"""

from __future__ import annotations

import sys
import urllib.error
import urllib.request

from .settings import settings_or_exit

_ANY_ADDRESS = {"0.0.0.0": "127.0.0.1", "::": "::1", "[::]": "::1"}


def readyz_url(host: str, port: int) -> str:
    host = _ANY_ADDRESS.get(host, host)
    return f"http://[{host}]:{port}/readyz" if ":" in host else f"http://{host}:{port}/readyz"


def main(timeout_s: float = 4.0) -> int:
    settings = settings_or_exit()
    url = readyz_url(settings.host, settings.port)
    try:
        with urllib.request.urlopen(url, timeout=timeout_s) as response:
            print(f"{url}: {response.status}")
            return 0
    except urllib.error.HTTPError as exc:
        print(f"{url}: {exc.code} {exc.read(500).decode('utf-8', 'replace')}", file=sys.stderr)
    except OSError as exc:
        print(f"{url}: {exc}", file=sys.stderr)
    return 1


def entry_point() -> None:
    raise SystemExit(main())
