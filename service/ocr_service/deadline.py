"""One deadline per request, seen by every model call it makes (issue 13, item 7).

The web app opens a deadline when a request's headers arrive (`OCR_TIMEOUT_S` from then); the
pipeline checks it between stages and line batches, and every runner gives each model call only
what is left of it (a gRPC deadline, a REST read timeout). A page with many lines therefore cannot
outlive the request: it ends with a 504 that says so, before the load balancer's `timeout server`.

A context variable, not an argument: gunicorn runs each request in its own thread, and the runners'
`predict(model, inputs)` interface stays the same for every caller (tests, benches, the CLI).
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from contextvars import ContextVar
from dataclasses import dataclass

from .errors import BackendTimeout


@dataclass(frozen=True)
class Deadline:
    at: float  # time.monotonic() value
    budget_s: float  # the whole request's allowance, for messages

    def remaining(self) -> float:
        return self.at - time.monotonic()

    def check(self, stage: str) -> None:
        if self.remaining() <= 0:
            raise BackendTimeout(
                f"the request ran out of its {self.budget_s:g} s deadline (OCR_TIMEOUT_S) at {stage}"
            )


_current: ContextVar[Deadline | None] = ContextVar("ocr_deadline", default=None)


def current() -> Deadline | None:
    return _current.get()


def start(budget_s: float) -> object:
    """Open this context's deadline; returns the token for `end`."""
    return _current.set(Deadline(time.monotonic() + budget_s, budget_s))


def end(token: object) -> None:
    _current.reset(token)  # type: ignore[arg-type]


@contextlib.contextmanager
def scope(budget_s: float) -> Iterator[Deadline]:
    """The deadline already open in this context, or a new one of `budget_s` for the block."""
    existing = _current.get()
    if existing is not None:
        yield existing
        return
    token = _current.set(Deadline(time.monotonic() + budget_s, budget_s))
    try:
        yield _current.get()  # type: ignore[misc]
    finally:
        _current.reset(token)


def call_timeout(default_s: float, what: str) -> float:
    """Seconds one model call may take: what is left of the request's deadline (at most default_s).

    Raises BackendTimeout when nothing is left, so no call starts that could not finish in time.
    """
    deadline = _current.get()
    if deadline is None:
        return default_s
    deadline.check(what)
    return min(default_s, deadline.remaining())
