"""ClickHouse storage: the client pool, DDL rendering and migrations."""

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
