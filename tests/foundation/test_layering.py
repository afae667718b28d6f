"""The architecture, enforced: which package may import which.

Imports are read from the source with ``ast`` (no module is executed), including imports
inside functions, so a lazy import cannot slip past a rule.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def imports(package: str, root: Path = REPO) -> Iterator[tuple[str, str]]:
    """(module file, imported module) for every import under ``package``."""
    for path in sorted((root / package.replace(".", "/")).rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    yield str(path.relative_to(root)), alias.name
            elif isinstance(node, ast.ImportFrom):
                # A relative import names its module from the file's own package.
                module = _absolute(path.relative_to(root), node.level, node.module)
                for alias in node.names:
                    # ``from a import b`` may import the module a.b: judge by the longer name.
                    yield str(path.relative_to(root)), f"{module}.{alias.name}"


def _absolute(path: Path, level: int, module: str | None) -> str:
    if level == 0:
        return module or ""
    package = list(path.parent.parts)[: len(path.parent.parts) - (level - 1)]
    return ".".join([*package, *([module] if module else [])])


def within(name: str, prefix: str) -> bool:
    return name == prefix or name.startswith(prefix + ".")


RULES = [
    ("samtycke", ("consent", "analytics"), (), "plumbing imports no domain"),
    ("consent.ledger", ("starlette", "consent.web", "samtycke.web"), (), "the ledger speaks no HTTP"),
    (
        "consent.recording",
        ("starlette", "consent.web", "samtycke.web"),
        (),
        "recording does not import the web layer",
    ),
    (
        "analytics",
        ("consent",),
        ("consent.cookies", "consent.categories"),
        "analytics takes from consent only the consent cookie and the category vocabulary",
    ),
]


@pytest.mark.parametrize(("package", "forbidden", "allowed", "rule"), RULES, ids=[r[3] for r in RULES])
def test_layering(package: str, forbidden: tuple[str, ...], allowed: tuple[str, ...], rule: str) -> None:
    found = list(imports(package))
    assert found, f"no imports read under {package}"
    broken = sorted(
        f"{source}: {name}"
        for source, name in found
        if any(within(name, f) for f in forbidden) and not any(within(name, a) for a in allowed)
    )
    assert broken == [], f"{rule}:\n" + "\n".join(broken)


def test_the_walker_sees_lazy_and_relative_imports(tmp_path: Path) -> None:
    """A rule is only as good as the walker: an import inside a function, or a relative one, counts."""
    recording = tmp_path / "consent" / "recording"
    recording.mkdir(parents=True)
    (recording / "lazy.py").write_text(
        "def f():\n    from consent.web import api\n    import starlette.routing\n"
    )
    (recording / "relative.py").write_text("from ..web import pages\nfrom . import choice\n")
    found = sorted(name for _, name in imports("consent.recording", root=tmp_path))
    assert found == [
        "consent.recording.choice",
        "consent.web.api",
        "consent.web.pages",
        "starlette.routing",
    ]
