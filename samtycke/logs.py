"""Structured logs without personal data, and the access log that replaces uvicorn's.

Log lines are JSON objects on stderr.  The access log records the method, the route
*template* (``/api/v1/sites/{site_id}/consent-config``, never the query string, which can
carry page URLs), the status, the duration and a request id; never the client address.
uvicorn's own access log is switched off because it prints the client address.
"""

from __future__ import annotations

import contextvars
import json
import logging
import random
import re
import sys
import time
from datetime import UTC, datetime
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from samtycke.metrics import Metrics
from samtycke.web.asgi import header

request_id: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="")
_notes: contextvars.ContextVar[dict[str, Any] | None] = contextvars.ContextVar("access_notes", default=None)

access = logging.getLogger("samtycke.access")

# Record attributes that are not ours to print; uvicorn adds a coloured copy of its message.
_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime", "color_message"}
_REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")


class JSONFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "event": record.getMessage(),
        }
        rid = request_id.get()
        if rid:
            entry["request_id"] = rid
        for key, value in vars(record).items():
            if key not in _STANDARD and not key.startswith("_"):
                entry[key] = value
        if record.exc_info and record.exc_info[0] is not None:
            entry["error"] = record.exc_info[0].__name__
        return json.dumps(entry, default=str, ensure_ascii=False)


def configure(level: str = "info") -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JSONFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for name in ("uvicorn", "uvicorn.error"):
        logger = logging.getLogger(name)
        logger.handlers[:] = []
        logger.propagate = True
    # uvicorn's access log names the client address; ours does not.
    logging.getLogger("uvicorn.access").disabled = True


def note(**fields: Any) -> None:
    """Put what a handler decided about the request (why a login was refused) on its access line.

    A request makes one log line, however it ends; a second line per refusal would let every
    bad request cost two.  Outside a request nothing is written.
    """
    notes = _notes.get()
    if notes is not None:
        notes.update(fields)


# Methods named as themselves in metrics and logs.  HTTP allows any token as a method (and
# h11 passes them on), so the others share one label: a client cannot grow the metrics.
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE", "CONNECT"})


class AccessLog:
    """ASGI middleware: request id, access log line and request metrics."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics
        # Labelled metric children by (route, method, status): looking them up is a
        # measurable share of a tracking request.  Routes, ``METHODS`` and statuses are
        # finite sets, so this stays small.
        self._children: dict[tuple[str, str, int], tuple[Any, Any]] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        supplied = header(scope, b"x-request-id")
        # Request ids only need to be unique, not secret: the PRNG is far cheaper than urandom.
        rid = supplied if supplied and _REQUEST_ID.fullmatch(supplied) else f"{random.getrandbits(64):016x}"
        token = request_id.set(rid)
        notes: dict[str, Any] = {}
        notes_token = _notes.set(notes)
        started = time.perf_counter()
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"], (b"x-request-id", rid.encode())]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            seconds = time.perf_counter() - started
            # The matched route's path template (the router puts the route in the scope).
            route = getattr(scope.get("route"), "path", "(unmatched)")
            method = scope["method"] if scope["method"] in METHODS else "(other)"
            key = (route, method, status)
            children = self._children.get(key)
            if children is None:
                children = self._children[key] = (
                    self.metrics.requests.labels(route, method, str(status)),
                    self.metrics.latency.labels(route),
                )
            children[0].inc()
            children[1].observe(seconds)
            if access.isEnabledFor(logging.INFO):
                access.info(
                    "request",
                    extra={
                        "method": method,
                        "route": route,
                        "status": status,
                        "duration_ms": round(seconds * 1000, 2),
                        **notes,
                    },
                )
            request_id.reset(token)
            _notes.reset(notes_token)
