"""How soon ClickHouse removes the parts it has merged away, on every MergeTree table.

A merge leaves its source parts "outdated" until the table's cleanup thread removes them,
and each outdated part keeps its metadata in the engine's memory until then; with the
embedded engine that memory is samtycke's own.  The cleanup thread paces itself between
``cleanup_delay_period`` (30 s) and ``max_cleanup_delay_period`` (300 s): a run that finds
less than ``cleanup_thread_preferred_points_per_iteration`` (150) to clean makes the next
pause longer, and it wakes early only once a table holds twice that many.  The journal
ships into every table twice a second, so at those defaults each table gathers a few
hundred outdated parts before a run; in the soak benchmark (``bench/soak.py``) the
embedded engine held 1,151 outdated parts across ten tables after five minutes against
about 35 active ones, and the server's memory grew with them.

These settings change only when the thread looks, every 5 to 20 seconds.  Which parts
it may then remove is still ``old_parts_lifetime``'s to say, left at the engine's default
(0 in chDB, 480 s on a ClickHouse server): the journal deletes a segment once ClickHouse
confirms its rows, so the source parts of a merge are the only copy left should a merged
part be lost in a crash, and shortening their life is not this module's to decide.

They are applied to every MergeTree table of the database after the migrations, and
again whenever a table lacks them, so tables added by later migrations get them too;
statements are issued only for tables whose settings differ.
"""

from __future__ import annotations

import re

from samtycke.storage.client import Storage, quote_identifier
from samtycke.storage.ddl import Layout

SETTINGS = (
    ("cleanup_delay_period", "5"),
    ("max_cleanup_delay_period", "15"),
    ("cleanup_delay_period_random_add", "5"),
)


def stale_tables(storage: Storage) -> list[str]:
    """MergeTree tables of the database whose cleanup settings are not ``SETTINGS`` yet."""
    rows = storage.query(
        "SELECT name, create_table_query FROM system.tables "
        "WHERE database = {database:String} AND engine LIKE '%MergeTree' ORDER BY name",
        {"database": storage.database},
    )
    return [str(name) for name, query in rows if not _has_settings(str(query))]


def apply(storage: Storage, layout: Layout) -> list[str]:
    """Give every MergeTree table the cleanup settings; the tables changed now."""
    changed = stale_tables(storage)
    assignments = ", ".join(f"{name} = {value}" for name, value in SETTINGS)
    for table in changed:
        target = f"{quote_identifier(table)}{layout.on_cluster}"
        storage.command(f"ALTER TABLE {target} MODIFY SETTING {assignments}")
    return changed


def _has_settings(create_table_query: str) -> bool:
    return all(
        re.search(rf"\b{name} = {value}\b", create_table_query) is not None for name, value in SETTINGS
    )
