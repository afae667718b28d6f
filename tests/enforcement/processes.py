"""The proxy as a real subprocess (`python -m consent.enforcement.cli`), with its own data directory."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import tomli_w

from tests.support.config import deep_merge, demo_raw
from tests.support.live import stop, wait_serving
from tests.support.ports import free_port


def write_config(base: Path, **overrides: Any) -> Path:
    raw = deep_merge(
        demo_raw(**overrides),
        {
            "storage": {"data_dir": str(base / "data")},
            "server": {"secret_keys": ["proxy-test-key"]},
            "journal": {"ship_interval": 0.2},
        },
    )
    path = base / "samtycke.toml"
    path.write_text(tomli_w.dumps(raw), encoding="utf-8")
    return path


@contextmanager
def proxy_process(
    base: Path, upstream: str, site: int = 1, *, options: Sequence[str] = (), **overrides: Any
) -> Iterator[str]:
    """``samtycke proxy`` on a free port, with ``options`` added to its command line; its URL."""
    config = write_config(base, **overrides)
    port = free_port()
    log_path = base / "proxy.log"
    env = {k: v for k, v in os.environ.items() if k != "SAMTYCKE_CONFIG"}
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "consent.enforcement.cli",
                "--upstream",
                upstream,
                "--config",
                str(config),
                "--site",
                str(site),
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                *options,
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=base,
            env=env,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_serving(process, url + "/_samtycke/readyz", log_path)
        yield url
    finally:
        stop(process)
