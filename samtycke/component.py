"""What a domain (consent, analytics) contributes to the app."""

from __future__ import annotations

import importlib
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

from starlette.routing import BaseRoute

from samtycke.storage.migrations import Migration

Task = Callable[[], Awaitable[None]]


@dataclass
class Component:
    name: str
    routes: Sequence[BaseRoute] = ()
    templates: Path | None = None  # a folder of Jinja templates the domain's pages render
    static: Path | None = None  # a folder of browser files, served under /static/ at their paths in it
    migrations: Sequence[Migration] = ()
    # Started at start-up, before storage is known to be up; must not need ClickHouse.
    on_startup: Sequence[Task] = ()
    # Started once ClickHouse is reachable and migrated; long-running loops are fine.
    on_storage_ready: Sequence[Task] = ()
    on_shutdown: Sequence[Task] = ()
    # Readiness checks beyond storage: name -> (ok, reason).
    readiness: dict[str, Callable[[], tuple[bool, str]]] = field(default_factory=dict)
    # Shapes its handlers' docstrings share in the API description, by section ("schemas",
    # "responses") and name; declared once and referenced with ``$ref``.
    api_components: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)


def optional_module(name: str) -> ModuleType | None:
    """Import ``name`` if the package has it; a module that exists but fails still raises."""
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as exc:
        if exc.name is not None and (name == exc.name or name.startswith(exc.name + ".")):
            return None
        raise
