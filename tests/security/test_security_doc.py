"""docs/SECURITY.md names the test that shows how each threat is met: every one it names exists."""

from __future__ import annotations

import re

from tests.support.paths import REPO

DOC = REPO / "docs" / "SECURITY.md"
THREATS = (
    "Forged or replayed consent",
    "An insider rewriting the log",
    "IP leakage",
    "Token and session theft",
    "The proxy as an attack surface",
    "Denial of service",
)


def test_every_threat_has_its_section() -> None:
    headings = re.findall(r"^### (.+)$", DOC.read_text(encoding="utf-8"), re.M)
    assert headings == list(THREATS)


def test_every_test_the_threat_model_names_exists() -> None:
    named = re.findall(r"`([\w/]+\.py)::(test_\w+)`", DOC.read_text(encoding="utf-8"))
    assert len(named) > 30
    missing = [
        f"{path}::{name}"
        for path, name in named
        if not (REPO / "tests" / path).is_file()
        or not re.search(rf"^def {name}\(", (REPO / "tests" / path).read_text(encoding="utf-8"), re.M)
    ]
    assert missing == []
