"""docs/legal-requirements.md names, for each of the sixteen testable requirements, the tests that
show it: every one it names exists. docs/statistics-modes.md cites the guidance it reads."""

from __future__ import annotations

import re

from tests.support.paths import REPO

DOC = REPO / "docs" / "legal-requirements.md"
REQUIREMENTS = (
    "No cookies before consent",
    "Reject on the first layer",
    "Equal weight",
    "No pre-ticked boxes",
    "No legitimate interest",
    "Justified necessities",
    "Easy withdrawal",
    "Silence is not consent",
    "No cookie wall",
    "Full information",
    "One choice per purpose",
    "Minimal receipts",
    "Refusals count",
    "Re-prompting",
    "Global Privacy Control",
    "Google Consent Mode v2",
)


def sections() -> dict[str, str]:
    parts = re.split(r"^### ", DOC.read_text(encoding="utf-8"), flags=re.M)[1:]
    return {part.split("\n", 1)[0]: part.split("\n## ", 1)[0] for part in parts}


def test_every_requirement_has_its_numbered_section_with_a_test() -> None:
    found = sections()
    assert list(found) == [f"{i}. {name}" for i, name in enumerate(REQUIREMENTS, start=1)]
    untested = [title for title, body in found.items() if not re.search(r"`[\w/]+\.py::test_\w+`", body)]
    assert untested == []


def test_every_test_the_document_names_exists() -> None:
    named = re.findall(r"`([\w/]+\.py)::(test_\w+)`", DOC.read_text(encoding="utf-8"))
    assert len(named) > 40
    missing = [
        f"{path}::{name}"
        for path, name in named
        if not (REPO / "tests" / path).is_file()
        or not re.search(rf"^def {name}\(", (REPO / "tests" / path).read_text(encoding="utf-8"), re.M)
    ]
    assert missing == []


def test_the_statistics_modes_cite_the_edpb_imy_and_pts() -> None:
    text = (REPO / "docs" / "statistics-modes.md").read_text(encoding="utf-8")
    assert "Guidelines 2/2023" in text and "EDPB" in text
    assert "IMY" in text and "PTS" in text
