"""Every command explains itself with an example; tokens are printed once and stored hashed."""

from __future__ import annotations

import argparse
import hashlib
import subprocess
import sys

from samtycke import cli


def subcommands() -> list[str]:
    parser = cli.build_parser()
    (action,) = (a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return list(action.choices)


def test_every_command_has_help_with_an_example() -> None:
    names = subcommands()
    assert {"serve", "migrate", "init", "token", "hash-password", "settings"} <= set(names)
    for name in names:
        result = subprocess.run(
            [sys.executable, "-m", "samtycke", name, "--help"], capture_output=True, text=True
        )
        assert result.returncode == 0, name
        assert "example" in result.stdout.lower(), f"`samtycke {name} --help` shows no example"


def test_token_prints_the_token_once_and_config_lines_with_its_hash() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "samtycke", "token", "--name", "team", "--role", "auditor"],
        capture_output=True,
        text=True,
        check=True,
    )
    token = result.stdout.split("):", 1)[1].split()[0]
    assert f'sha256 = "{hashlib.sha256(token.encode()).hexdigest()}"' in result.stdout
    assert result.stdout.count(token) == 1
    assert 'role = "auditor"' in result.stdout


def test_no_command_prints_help_and_exits_2() -> None:
    result = subprocess.run([sys.executable, "-m", "samtycke"], capture_output=True, text=True)
    assert result.returncode == 2 and "serve" in result.stdout
