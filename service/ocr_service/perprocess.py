"""A value built lazily, once per process: the one fork-safety rule of the runners and the holder.

gunicorn forks its workers; a gRPC channel, an HTTP session or a loaded model made in one process
is unusable in another. `PerProcess` builds its value on first use in each process (again after a
fork) and closes it only in the process that built it.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")


class PerProcess(Generic[T]):
    def __init__(self, build: Callable[[], T], close: Callable[[T], None] | None = None) -> None:
        self._build = build
        self._close = close
        self._lock = threading.Lock()
        self._value: T | None = None
        self._pid: int | None = None

    def get(self) -> T:
        """This process's value, built now if this process has none (a failed build is retried next time)."""
        if self._pid != os.getpid():
            with self._lock:
                if self._pid != os.getpid():
                    self._value = self._build()
                    self._pid = os.getpid()
        return self._value  # type: ignore[return-value]

    def peek(self) -> T | None:
        """This process's value if it was built, else None; builds nothing."""
        return self._value if self._pid == os.getpid() else None

    def close(self) -> None:
        """Close the value if this process built it; the next `get` builds a new one."""
        with self._lock:
            if self._value is not None and self._pid == os.getpid() and self._close is not None:
                self._close(self._value)
            self._value, self._pid = None, None
