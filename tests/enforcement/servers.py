"""Real HTTP servers for the enforcement tests: uvicorn in a thread, on a chosen loopback address."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import uvicorn
from starlette.types import ASGIApp

from tests.support.ports import free_port


@contextmanager
def serve(app: ASGIApp, host: str = "127.0.0.1", lifespan: str = "off") -> Iterator[str]:
    """Run ``app`` until the block ends; yields its base URL."""
    port = free_port(host)
    config = uvicorn.Config(app, host=host, port=port, log_config=None, access_log=False, lifespan=lifespan)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise AssertionError(f"uvicorn on {host}:{port} did not start")
        time.sleep(0.02)
    try:
        yield f"http://{host}:{port}"
    finally:
        server.should_exit = True
        thread.join(30)
