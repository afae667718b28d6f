"""Table definitions rendered for one server or for a cluster.

Domains describe their tables as ``Table`` and ``MaterializedView`` values instead of
writing DDL text, so the same description renders two ways:

* single server (chDB or one ClickHouse): ``CREATE TABLE events ... ENGINE = MergeTree``;
* cluster ``c``: ``CREATE TABLE events_local ON CLUSTER c ... ENGINE = ReplicatedMergeTree``,
  then ``CREATE TABLE events ON CLUSTER c AS events_local ENGINE = Distributed(c, db,
  events_local, <sharding key>)``.  Reads and journal inserts use the logical name
  (``events``) in both modes; materialized views read the local table and write the local
  rollup, so each shard aggregates its own rows.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

DEDUP_WINDOW = 10_000


@dataclass(frozen=True)
class Table:
    name: str
    columns: Sequence[tuple[str, str]]
    engine: str = "MergeTree"  # MergeTree, AggregatingMergeTree, ReplacingMergeTree(version), ...
    order_by: str = "tuple()"
    partition_by: str = ""
    primary_key: str = ""
    sample_by: str = ""
    ttl: str = ""
    settings: Sequence[tuple[str, str]] = field(default_factory=tuple)
    sharding_key: str = "rand()"
    journalled: bool = True  # inserts carry deduplication tokens, so keep a window


@dataclass(frozen=True)
class MaterializedView:
    name: str
    to: str
    source: str
    select: str  # uses {source} for the table it reads


@dataclass(frozen=True)
class Layout:
    """How DDL is rendered: ``cluster`` empty means one server."""

    database: str
    cluster: str = ""

    def local(self, name: str) -> str:
        return f"{name}_local" if self.cluster else name

    @property
    def on_cluster(self) -> str:
        return f" ON CLUSTER `{self.cluster}`" if self.cluster else ""

    def engine(self, engine: str) -> str:
        if not self.cluster:
            return engine
        # With no arguments the server's default_replica_path / default_replica_name apply,
        # which is what ON CLUSTER DDL across replicas expects.
        name, _, args = engine.partition("(")
        args = args.rstrip(")")
        return f"Replicated{name}({args})" if args else f"Replicated{name}"

    def create_table(self, table: Table) -> list[str]:
        columns = ",\n    ".join(f"`{name}` {kind}" for name, kind in table.columns)
        clauses = [f"ENGINE = {self.engine(table.engine)}"]
        if table.partition_by:
            clauses.append(f"PARTITION BY {table.partition_by}")
        if table.primary_key:
            clauses.append(f"PRIMARY KEY {table.primary_key}")
        clauses.append(f"ORDER BY {table.order_by}")
        if table.sample_by:
            clauses.append(f"SAMPLE BY {table.sample_by}")
        if table.ttl:
            clauses.append(f"TTL {table.ttl}")
        settings = list(table.settings)
        if table.journalled and not self.cluster:
            settings.append(("non_replicated_deduplication_window", str(DEDUP_WINDOW)))
        elif table.journalled:
            settings.append(("replicated_deduplication_window", str(DEDUP_WINDOW)))
        if settings:
            clauses.append("SETTINGS " + ", ".join(f"{k} = {v}" for k, v in settings))
        local = self.local(table.name)
        statements = [
            f"CREATE TABLE IF NOT EXISTS `{local}`{self.on_cluster} (\n    {columns}\n)\n"
            + "\n".join(clauses)
        ]
        if self.cluster:
            statements.append(
                f"CREATE TABLE IF NOT EXISTS `{table.name}`{self.on_cluster} AS `{local}` "
                f"ENGINE = Distributed(`{self.cluster}`, `{self.database}`, `{local}`, {table.sharding_key})"
            )
        return statements

    def create_view(self, view: MaterializedView) -> list[str]:
        select = view.select.format(source=f"`{self.local(view.source)}`")
        return [
            f"CREATE MATERIALIZED VIEW IF NOT EXISTS `{view.name}`{self.on_cluster} "
            f"TO `{self.local(view.to)}` AS\n{select}"
        ]
