"""The gates every change passes: ruff, ruff format, mypy --strict, reproducible assets."""

from __future__ import annotations

import shutil
import subprocess
import sys

import pytest

from tests.support.paths import REPO


def run(*command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=600)


def test_ruff_finds_nothing() -> None:
    result = run(sys.executable, "-m", "ruff", "check", ".")
    assert result.returncode == 0, result.stdout + result.stderr


def test_code_is_formatted() -> None:
    result = run(sys.executable, "-m", "ruff", "format", "--check", "samtycke", "consent", "analytics")
    assert result.returncode == 0, result.stdout + result.stderr


def test_mypy_strict_passes() -> None:
    result = run(sys.executable, "-m", "mypy")
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("script", sorted(p.name for p in (REPO / "static").glob("build*.mjs")))
def test_built_assets_match_their_sources(script: str) -> None:
    node = shutil.which("node")
    assert node, "node is needed to check the browser assets"
    result = run(node, f"static/{script}", "--check")
    assert result.returncode == 0, result.stdout + result.stderr
