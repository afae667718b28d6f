"""Every MergeTree table gets the settings that have its cleanup thread remove merged-away parts promptly."""

from __future__ import annotations

from samtycke.storage import Layout, Migration, Storage, Table, part_cleanup
from samtycke.storage import migrations as migrations_module
from tests.foundation.test_storage import MIGRATIONS


def table_settings(storage: Storage, table: str) -> dict[str, str]:
    rows = storage.query(
        "SELECT create_table_query FROM system.tables "
        "WHERE database = {database:String} AND name = {name:String}",
        {"database": storage.database, "name": table},
    )
    (query,) = (str(row[0]) for row in rows)
    _, _, clause = query.partition(" SETTINGS ")
    return dict(item.split(" = ", 1) for item in clause.split(", ") if " = " in item)


def test_migrated_tables_carry_the_cleanup_settings(storage: Storage) -> None:
    layout = Layout(storage.database)

    migrations_module.apply(storage, layout, MIGRATIONS)

    for table in ("events", "daily", "schema_migrations"):
        settings = table_settings(storage, table)
        assert {name: settings.get(name) for name, _ in part_cleanup.SETTINGS} == dict(part_cleanup.SETTINGS)
    # Settings a table was created with stay.
    assert table_settings(storage, "events")["non_replicated_deduplication_window"] == "10000"
    assert part_cleanup.stale_tables(storage) == []


def test_a_table_added_later_gets_them_and_others_are_left_alone(storage: Storage) -> None:
    layout = Layout(storage.database)
    migrations_module.apply(storage, layout, MIGRATIONS)
    later = Migration("test.0003_later", "a later table", (Table("later", (("x", "UInt8"),), order_by="x"),))

    migrations_module.apply(storage, layout, [*MIGRATIONS, later])

    assert table_settings(storage, "later")["max_cleanup_delay_period"] == "15"
    assert part_cleanup.apply(storage, layout) == []
