"""Versioned schema migrations, applied at start-up and by ``samtycke migrate``.

A migration is a named, ordered list of steps; each step renders to statements that are
safe to run twice (``IF NOT EXISTS``), so a migration interrupted half-way simply runs
again.  Applied migrations are recorded in ``schema_migrations`` with a checksum of the
statements they ran; a recorded migration whose statements have since changed is
reported, because editing a released migration instead of adding a new one is a bug.
Once the migrations are applied, every MergeTree table gets the engine settings that keep
its merged-away parts from piling up in memory (``samtycke.storage.part_cleanup``).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from samtycke.storage import part_cleanup
from samtycke.storage.client import Storage
from samtycke.storage.ddl import Layout, MaterializedView, Table

Step = Table | MaterializedView | Callable[[Layout], Sequence[str]]

LEDGER = Table(
    name="schema_migrations",
    columns=(("id", "String"), ("checksum", "String"), ("applied_at", "DateTime64(3, 'UTC')")),
    engine="ReplacingMergeTree(applied_at)",
    order_by="id",
    journalled=False,
    sharding_key="cityHash64(id)",
)


@dataclass(frozen=True)
class Migration:
    id: str  # "<domain>.<NNNN>_<slug>": sorts within its domain
    description: str
    steps: tuple[Step, ...]

    def statements(self, layout: Layout) -> list[str]:
        out: list[str] = []
        for step in self.steps:
            if isinstance(step, Table):
                out.extend(layout.create_table(step))
            elif isinstance(step, MaterializedView):
                out.extend(layout.create_view(step))
            else:
                out.extend(step(layout))
        return out

    def checksum(self, layout: Layout) -> str:
        return hashlib.sha256("\n;\n".join(self.statements(layout)).encode()).hexdigest()[:16]


@dataclass(frozen=True)
class MigrationStatus:
    id: str
    description: str
    applied: bool
    changed: bool  # recorded with a different checksum


def status(storage: Storage, layout: Layout, migrations: Sequence[Migration]) -> list[MigrationStatus]:
    recorded = _recorded(storage, layout)
    return [
        MigrationStatus(
            m.id, m.description, m.id in recorded, m.id in recorded and recorded[m.id] != m.checksum(layout)
        )
        for m in migrations
    ]


def apply(storage: Storage, layout: Layout, migrations: Sequence[Migration]) -> list[str]:
    """Apply what is not yet applied, in order; returns the ids applied now."""
    storage.ensure_database(layout.cluster)
    recorded = _recorded(storage, layout)
    applied: list[str] = []
    for migration in migrations:
        if migration.id in recorded:
            continue
        for statement in migration.statements(layout):
            storage.command(statement)
        storage.insert_rows(
            LEDGER.name,
            [(migration.id, migration.checksum(layout), datetime.now(UTC))],
            ("id", "checksum", "applied_at"),
        )
        applied.append(migration.id)
    part_cleanup.apply(storage, layout)
    return applied


def _recorded(storage: Storage, layout: Layout) -> dict[str, str]:
    storage.ensure_database(layout.cluster)
    for statement in layout.create_table(LEDGER):
        storage.command(statement)
    rows = storage.query(f"SELECT id, argMax(checksum, applied_at) FROM `{LEDGER.name}` GROUP BY id")
    return {str(row[0]): str(row[1]) for row in rows}
