"""``samtycke account create``: in ClickHouse itself, or through the server that holds the embedded data."""

from __future__ import annotations

import os
import subprocess
import sys
import tomllib
from collections.abc import Callable

import httpx
import tomli_w

from tests.support.live import LiveServer
from tests.support.tokens import ADMIN_TOKEN, token_entries

PASSWORD = "correct horse battery"


def account(
    server: LiveServer, *args: str, password: str = PASSWORD, token: str = ""
) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("SAMTYCKE_CONFIG", "SAMTYCKE_TOKEN")}
    if token:
        env["SAMTYCKE_TOKEN"] = token
    return subprocess.run(
        [sys.executable, "-m", "samtycke", "account", *args, "--config", str(server.config_path)],
        input=password + "\n",
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )


def logs_in(server: LiveServer, name: str, password: str = PASSWORD) -> bool:
    response = httpx.post(f"{server.url}/login", data={"name": name, "password": password}, timeout=30)
    return response.status_code == 303


def test_an_admin_made_on_the_command_line_logs_in_and_no_link_is_printed(
    live_server_factory: Callable[..., LiveServer],
) -> None:
    server = live_server_factory(start=False)
    made = account(server, "create", "root", "--role", "admin")
    assert made.returncode == 0, made.stderr
    assert made.stdout.strip() == "created root (admin); log in at /login"
    assert PASSWORD not in made.stdout + made.stderr

    again = account(server, "create", "root", "--role", "marketer")
    assert again.returncode == 2 and "exists" in again.stderr and "Traceback" not in again.stderr
    bad = account(server, "create", "bad name", "--role", "marketer")
    assert bad.returncode == 2 and "user name" in bad.stderr
    short = account(server, "create", "anna", "--role", "marketer", password="short")
    assert short.returncode == 2 and "at least 10 characters" in short.stderr

    server.start()
    assert logs_in(server, "root")
    assert "/setup/" not in server.logs(), "an admin exists: no setup link"


def test_while_the_server_holds_the_data_the_command_asks_it(
    live_server_factory: Callable[..., LiveServer],
) -> None:
    server = live_server_factory(start=False, tokens=token_entries("admin"))
    # The configured port is the one the server listens on, as with a plain `samtycke serve`.
    raw = tomllib.loads(server.config_path.read_text(encoding="utf-8"))
    raw["server"]["port"] = server.port
    server.config_path.write_text(tomli_w.dumps(raw), encoding="utf-8")
    server.start()
    made = account(server, "create", "anna", "--role", "auditor", token=ADMIN_TOKEN)
    assert made.returncode == 0, made.stderr
    assert made.stdout.strip() == "created anna (auditor); log in at /login"
    assert logs_in(server, "anna")

    without_token = account(server, "create", "bo", "--role", "auditor", "--server", server.url)
    assert without_token.returncode == 2
    assert "setup link" in without_token.stderr and "--token" in without_token.stderr


def test_help_shows_an_example() -> None:
    shown = subprocess.run(
        [sys.executable, "-m", "samtycke", "account", "create", "--help"], capture_output=True, text=True
    )
    assert shown.returncode == 0
    assert "example:\n  samtycke account create anna --role admin" in shown.stdout
