"""A samtycke that is ready: an in-process client once /readyz answers, a real ``samtycke serve``."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import tomli_w
from starlette.testclient import TestClient

from tests.support.config import deep_merge
from tests.support.ports import free_port


def wait_ready(test_client: TestClient | httpx.Client, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if test_client.get("/readyz").status_code == 200:
            return
        time.sleep(0.05)
    raise AssertionError(f"not ready after {timeout}s: {test_client.get('/readyz').text}")


def wait_serving(
    process: subprocess.Popen[bytes], url: str, log_path: Path, timeout: float = 60.0, interval: float = 0.1
) -> None:
    """Return once GET ``url`` answers 200; fail with the process's log when it exits or time runs out."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"the server exited with {process.returncode}:\n{read_log(log_path)}")
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(interval)
    raise AssertionError(f"{url} did not answer 200 within {timeout}s:\n{read_log(log_path)}")


def stop(process: subprocess.Popen[bytes], timeout: float = 30.0) -> int:
    """SIGTERM and wait, killing it after ``timeout``; the exit status (uvicorn re-raises the signal: -15)."""
    if process.poll() is not None:
        return process.returncode
    process.terminate()
    try:
        return process.wait(timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        return process.wait()


def read_log(path: Path) -> str:
    return path.read_text(errors="replace") if path.exists() else ""


@dataclass
class LiveServer:
    data_dir: Path
    config_path: Path
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None
    env: dict[str, str] = field(default_factory=dict)

    @classmethod
    def of(cls, base: Path, raw: dict[str, Any], name: str = "samtycke.toml", **options: Any) -> LiveServer:
        """A server, not started yet, of the configuration ``raw`` written to ``base / name``,
        with its data directory ``base / "data"``."""
        config = base / name
        raw = deep_merge(raw, {"storage": {"data_dir": str(base / "data")}})
        config.write_text(tomli_w.dumps(raw), encoding="utf-8")
        return cls(data_dir=base / "data", config_path=config, **options)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def log_path(self) -> Path:
        return self.data_dir.parent / f"serve-{self.port}.log"

    def start(self, ready: bool = True, timeout: float = 60.0) -> LiveServer:
        log = open(self.log_path, "ab")  # noqa: SIM115 - handed to the child
        env = {**os.environ, **self.env}
        env.pop("SAMTYCKE_CONFIG", None)
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "samtycke",
                "serve",
                "--config",
                str(self.config_path),
                "--port",
                str(self.port),
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=self.data_dir.parent,
            env=env,
        )
        log.close()
        wait_serving(self.process, self.url + ("/readyz" if ready else "/healthz"), self.log_path, timeout)
        return self

    def stop(self, timeout: float = 30.0) -> int:
        """SIGTERM and wait; returns the exit status (uvicorn re-raises the signal: -15)."""
        return stop(self.process, timeout) if self.process is not None else 0

    def stopped_gracefully(self) -> bool:
        return self.stop() in (0, -signal.SIGTERM) and "samtycke stopped" in self.logs()

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()

    def logs(self) -> str:
        return read_log(self.log_path)
