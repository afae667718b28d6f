"""Starting a real `samtycke serve` for a benchmark: one place for the port, the wait and the log."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_samtycke(
    work: Path, config_text: str, timeout: float = 120.0
) -> tuple[subprocess.Popen[bytes], str]:
    """``samtycke serve`` with ``config_text`` in ``work``; returns once /readyz says ready."""
    config = work / "samtycke.toml"
    config.write_text(config_text, encoding="utf-8")
    port = free_port()
    log = open(work / "serve.log", "wb")  # noqa: SIM115 - handed to the child
    process = subprocess.Popen(
        [sys.executable, "-m", "samtycke", "serve", "--config", str(config), "--port", str(port)],
        stdout=log,
        stderr=subprocess.STDOUT,
        cwd=work,
    )
    log.close()
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(url + "/readyz", timeout=1).status_code == 200:
                return process, url
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    process.kill()
    raise RuntimeError(f"samtycke did not become ready; see {work / 'serve.log'}")
