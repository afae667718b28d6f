"""Shipment receipts: what ClickHouse itself says it stored under each deduplication token.

A ClickHouse insert answers the same whether it stored a block or dropped it as a repeat
of a token it has seen, so an acknowledged insert proves nothing about the rows.  Every
journalled table therefore feeds a materialized view that writes one receipt per stored
block: the insert's ``insert_deduplication_token`` and the number of rows.  A block
ClickHouse drops as a duplicate reaches no view (``deduplicate_blocks_in_dependent_
materialized_views``), so it leaves no receipt.  The shipper reads the receipts back after
each segment and deletes the segment only when every chunk's rows are accounted for.

Domains add ``migration(...)`` for their journalled tables; the receipts table is created
by each such migration (``IF NOT EXISTS``), so no domain depends on another's.
"""

from __future__ import annotations

from collections.abc import Sequence

from samtycke.storage import Migration, Storage
from samtycke.storage.ddl import MaterializedView, Table

SHIPMENTS = "journal_shipments"

# Long enough to confirm a replay after any outage the journal can hold out through.
KEEP_DAYS = 90

TABLE = Table(
    name=SHIPMENTS,
    columns=(
        ("token", "String"),
        ("table", "LowCardinality(String)"),
        ("rows", "UInt64"),
        ("shipped_at", "DateTime"),
    ),
    order_by="token",
    ttl=f"shipped_at + INTERVAL {KEEP_DAYS} DAY",
    sharding_key="cityHash64(token)",
)


def view(table: str) -> MaterializedView:
    """The receipt view of one journalled table."""
    return MaterializedView(
        name=f"{table}_shipments_mv",
        to=SHIPMENTS,
        source=table,
        select=(
            "SELECT getSetting('insert_deduplication_token') AS token,\n"
            f"    '{table}' AS table, count() AS rows, now() AS shipped_at\n"
            "FROM {source}\n"
            "WHERE getSetting('insert_deduplication_token') != ''"
        ),
    )


def migration(id: str, tables: Sequence[str]) -> Migration:
    return Migration(
        id=id,
        description="Shipment receipts, so the journal deletes only what ClickHouse stored",
        steps=(TABLE, *(view(table) for table in tables)),
    )


def stored_rows(storage: Storage, tokens: Sequence[str]) -> dict[str, int]:
    """Rows ClickHouse stored under each token; a token it never stored is absent."""
    if not tokens:
        return {}
    rows = storage.query(
        f"SELECT token, sum(rows) FROM `{SHIPMENTS}` WHERE token IN {{tokens:Array(String)}} GROUP BY token",
        {"tokens": list(tokens)},
    )
    return {str(token): int(count) for token, count in rows}
