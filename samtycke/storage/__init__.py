"""ClickHouse storage: the client pool, DDL rendering and migrations.

A query flows ``client`` (one code path for the embedded engine and a server; foreign
errors become ``StorageError`` or ``StorageUnavailable``), report queries through
``budget`` (a few at a time, bounded in time and memory).  Tables are declared with
``ddl`` (one server or a cluster) and created by ``migrations``; ``engine`` says whether the
embedded ClickHouse is installed, ``priority`` lowers its threads' CPU priority,
``part_cleanup`` sets how soon it removes merged-away parts and ``dedup_log`` mends its
deduplication logs after a crash, before it opens.
"""

from samtycke.storage.client import (
    DataDirInUse,
    QueryLimitExceeded,
    Storage,
    StorageError,
    StorageUnavailable,
    Target,
    in_use,
    parse_url,
    quote_identifier,
)
from samtycke.storage.ddl import Layout, MaterializedView, Table
from samtycke.storage.engine import EngineMissing
from samtycke.storage.migrations import Migration

__all__ = [
    "DataDirInUse",
    "EngineMissing",
    "Layout",
    "MaterializedView",
    "Migration",
    "QueryLimitExceeded",
    "Storage",
    "StorageError",
    "StorageUnavailable",
    "Table",
    "Target",
    "in_use",
    "parse_url",
    "quote_identifier",
]
