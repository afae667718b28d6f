"""Run the chDB-backed ClickHouse HTTP fixture (tests/clickhouse_http.py) in a subprocess.

chDB binds one data path per process and the test process usually holds its own,
so the fixture server always runs as a child process::

    with ClickHouseHTTPProcess(tmp_path / "ch") as server:
        client = clickhouse_connect.get_client(dsn=server.url)
        ...
        server.kill()   # crash it
        server.start()  # same path, same port: the data is still there
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from types import TracebackType
from typing import IO, Self
from urllib.parse import quote

from tests.support.paths import REPO
from tests.support.ports import free_port


class ClickHouseHTTPProcess:
    """A ``python -m tests.clickhouse_http`` child process serving one chDB data directory."""

    def __init__(
        self,
        path: str | os.PathLike[str],
        port: int | None = None,
        user: str | None = None,
        password: str | None = None,
        host: str = "127.0.0.1",
        startup_timeout: float = 30.0,
    ) -> None:
        self.path = Path(path)
        self.host = host
        # Chosen once, so that a restarted server is reachable at the same URL.
        self.port = port or free_port(host)
        self.user = user or "default"
        self.password = password or ""
        self.startup_timeout = startup_timeout
        self._process: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None

    @property
    def url(self) -> str:
        """A clickhouse-connect DSN, e.g. ``http://default:@127.0.0.1:8123``."""
        return f"http://{quote(self.user, safe='')}:{quote(self.password, safe='')}@{self.host}:{self.port}"

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    def is_running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def start(self) -> Self:
        """Spawn the server and return once ``/ping`` answers; raise RuntimeError (with its output) if not."""
        if self.is_running():
            raise RuntimeError(f"ClickHouse HTTP fixture already running on port {self.port}")
        self.path.mkdir(parents=True, exist_ok=True)
        command = [
            sys.executable,
            "-m",
            "tests.clickhouse_http",
            "--path",
            str(self.path),
            "--host",
            self.host,
            "--port",
            str(self.port),
            "--user",
            self.user,
            "--password",
            self.password,
        ]
        pythonpath = [str(REPO), *filter(None, [os.environ.get("PYTHONPATH")])]
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(pythonpath)}
        self._close_log()
        # A file, not a pipe: nothing drains a pipe while tests run, and the output explains failed starts.
        self._log = tempfile.TemporaryFile()  # noqa: SIM115 - lives as long as the process it logs
        self._process = subprocess.Popen(
            command, cwd=REPO, env=env, stdout=self._log, stderr=subprocess.STDOUT
        )
        deadline = time.monotonic() + self.startup_timeout
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                code = self._process.returncode
                raise RuntimeError(f"ClickHouse HTTP fixture exited with {code}:\n{self.output()}")
            if self.ping():
                return self
            time.sleep(0.05)
        self.kill()
        raise RuntimeError(f"ClickHouse HTTP fixture silent after {self.startup_timeout} s:\n{self.output()}")

    def ping(self) -> bool:
        try:
            with urllib.request.urlopen(f"http://{self.host}:{self.port}/ping", timeout=1) as response:
                return bool(response.read() == b"Ok.\n")
        except (urllib.error.URLError, OSError):
            return False

    def stop(self, timeout: float = 10.0) -> None:
        """Graceful shutdown (SIGTERM), escalating to SIGKILL after ``timeout`` seconds."""
        if self._process is not None and self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.kill()

    def kill(self) -> None:
        """SIGKILL, to simulate a crash."""
        if self._process is not None and self._process.poll() is None:
            self._process.kill()
            self._process.wait()

    def output(self) -> str:
        """Everything the server printed so far (stdout and stderr)."""
        if self._log is None:
            return ""
        self._log.seek(0)
        return self._log.read().decode(errors="replace")

    def _close_log(self) -> None:
        if self._log is not None:
            self._log.close()
            self._log = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.stop()
        self._close_log()
