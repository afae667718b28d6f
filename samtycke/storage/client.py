"""ClickHouse through clickhouse-connect, embedded (``chdb://``) or over HTTP, one code path.

clickhouse-connect's clients are synchronous and a client serves one thread at a time,
so ``Storage`` keeps a small pool of them and async callers reach it through worker
threads.  chDB allows one engine path per process; a second process on the same path
gets ``DataDirInUse`` with a message a person can act on, not chDB's lock error.
Every clickhouse-connect exception is translated here, so nothing above this module
knows which driver is underneath.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import queue
import re
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import clickhouse_connect
from clickhouse_connect.driver import exceptions as ch_errors
from starlette.concurrency import run_in_threadpool

from samtycke.storage import dedup_log
from samtycke.storage.engine import require_embedded
from samtycke.unavailable import Unavailable

logger = logging.getLogger("samtycke.storage")


class StorageError(Exception):
    """ClickHouse refused a statement (bad SQL, a type error): a bug, not an outage."""

    def __init__(self, message: str, code: int | None = None) -> None:
        super().__init__(message)
        self.code = code


class StorageUnavailable(Unavailable):
    code = "storage_unavailable"


class QueryLimitExceeded(StorageUnavailable):
    """A query ran past its ``max_execution_time`` or ``max_memory_usage``: ClickHouse is well,
    the query asked too much.  ``limit`` is "time" or "memory"."""

    code = "query_limit_exceeded"

    def __init__(self, message: str, *, limit: str = "time", retry_after: int | None = 5) -> None:
        super().__init__(message, retry_after=retry_after)
        self.limit = limit


class DataDirInUse(Exception):
    """Another process holds the embedded engine's data directory."""


@dataclass(frozen=True)
class Target:
    """Where ClickHouse is, parsed from the configured URL; repr hides credentials."""

    scheme: str
    path: str  # chdb only
    host: str
    port: int
    username: str
    password: str
    database: str

    @property
    def embedded(self) -> bool:
        return self.scheme == "chdb"

    def describe(self) -> str:
        if self.embedded:
            return f"embedded ClickHouse (chDB) in {self.path}"
        return f"ClickHouse server at {self.scheme}://{self.host}:{self.port}/{self.database}"

    def __repr__(self) -> str:
        return f"Target({self.describe()!r})"


def parse_url(url: str, default_database: str) -> Target:
    parts = urlsplit(url)
    if parts.scheme == "chdb":
        return Target("chdb", parts.path, "", 0, "", "", default_database)
    database = parts.path.strip("/") or default_database
    port = parts.port or (8443 if parts.scheme == "https" else 8123)
    return Target(
        parts.scheme,
        "",
        parts.hostname or "localhost",
        port,
        unquote(parts.username or "default"),
        unquote(parts.password or ""),
        database,
    )


def in_use(path: str) -> bool:
    """Whether another process holds the embedded engine's data directory ``path``."""
    try:
        _check_not_in_use(path)
    except DataDirInUse:
        return True
    return False


def _check_not_in_use(path: str) -> None:
    """Fail early, and clearly, when another process holds the embedded engine's lock.

    chDB reports a held lock only as "Error initializing EmbeddedServer"; the engine takes
    an flock on ``status`` in its data path, so probing that lock tells us first.  The file
    names the holder's PID: when that is this process, the engine is ours to share.
    """
    status = os.path.join(path, "status")
    if not os.path.exists(status):
        return
    with open(status, "rb") as handle:
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            if _holder_pid(handle.read()) == os.getpid():
                return
            raise DataDirInUse(_in_use_message(path)) from exc
        fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


# One preparation at a time in this process, so that no thread's lock probe meets the
# repair's hold on the engine's lock and takes it for another process.
_preparing = threading.Lock()
_repaired: set[str] = set()


def _prepare_embedded(path: str) -> None:
    """Before this process first opens the engine on ``path``: check that no other process
    holds it, and forget the blocks a crash left logged but unstored.  Later openings in
    the same process follow the engine's own clean shutdown, so they need no repair."""
    with _preparing:
        _check_not_in_use(path)
        if path not in _repaired:
            _repair_dedup_logs(path)
            _repaired.add(path)


def _repair_dedup_logs(path: str) -> None:
    for repaired in dedup_log.repair(Path(path)):
        logger.warning(
            "a crash left block ids of inserts never stored in a table's deduplication log; "
            "forgotten, so that the journal's replay stores them",
            extra={"table_folder": repaired.table.name, "blocks": repaired.forgotten},
        )


def _holder_pid(status: bytes) -> int | None:
    match = re.search(rb"PID: (\d+)", status)
    return int(match.group(1)) if match else None


def _in_use_message(path: str) -> str:
    return (
        f"Another samtycke process is using the data directory {path}. Stop it, or point "
        "this one at a different storage.data_dir; commands that need the data while the "
        "server runs must use its HTTP API."
    )


# Rows per answer when the embedded engine exports a table (``Storage.export_native``).
EXPORT_BUCKET_ROWS = 200_000
_LOCK_MESSAGE = re.compile(r"Cannot lock file|Another server instance|already running", re.I)


class Storage:
    """A pool of clickhouse-connect clients bound to one database."""

    def __init__(self, target: Target, *, pool_size: int = 4, connect_timeout: float = 3.0) -> None:
        if target.embedded:
            require_embedded()
        self.target = target
        self._pool_size = pool_size
        self._connect_timeout = connect_timeout
        self._idle: queue.LifoQueue[Any] = queue.LifoQueue()
        self._created = 0
        self._lock = threading.Lock()
        self._database_ready = False
        self._closed = False

    @property
    def database(self) -> str:
        return self.target.database

    # -- connections -------------------------------------------------------------------------

    def _new_client(self, database: str | None) -> Any:
        t = self.target
        try:
            if t.embedded:
                dsn = f"chdb://{t.path}"
                if database:
                    return clickhouse_connect.get_client(dsn=dsn, database=database)
                return clickhouse_connect.get_client(dsn=dsn)
            return clickhouse_connect.get_client(
                host=t.host,
                port=t.port,
                username=t.username,
                password=t.password,
                database=database or "default",
                secure=t.scheme == "https",
                connect_timeout=self._connect_timeout,
                send_receive_timeout=60,
                compress=False,
                autogenerate_session_id=False,
            )
        except ch_errors.ProgrammingError as exc:
            if t.embedded and _LOCK_MESSAGE.search(str(exc)):
                raise DataDirInUse(_in_use_message(t.path)) from exc
            raise StorageError(_scrub(str(exc))) from exc
        except ch_errors.Error as exc:
            raise StorageUnavailable(f"ClickHouse is unreachable: {_scrub(str(exc))}") from exc
        except OSError as exc:
            raise StorageUnavailable(f"ClickHouse is unreachable: {exc.strerror or exc}") from exc

    def ensure_database(self, on_cluster: str = "") -> None:
        """Create the database if needed; the pooled clients all use it."""
        if self._database_ready:
            return
        if self.target.embedded:
            _prepare_embedded(self.target.path)
        admin = self._new_client(None)
        try:
            cluster = f" ON CLUSTER {quote_identifier(on_cluster)}" if on_cluster else ""
            _translate(
                admin.command, f"CREATE DATABASE IF NOT EXISTS {quote_identifier(self.database)}{cluster}"
            )
        finally:
            admin.close()
        self._database_ready = True

    @contextlib.contextmanager
    def client(self) -> Iterator[Any]:
        if self._closed:
            raise StorageUnavailable("storage is closed")
        self.ensure_database()
        try:
            client = self._idle.get_nowait()
        except queue.Empty:
            with self._lock:
                grow = self._created < self._pool_size
                if grow:
                    self._created += 1
            if grow:
                try:
                    client = self._new_client(self.database)
                except BaseException:
                    with self._lock:
                        self._created -= 1
                    raise
            else:
                client = self._idle.get(timeout=60)
        healthy = True
        try:
            yield client
        except QueryLimitExceeded:
            raise  # the connection is fine; the query asked too much
        except StorageUnavailable:
            healthy = False
            raise
        finally:
            if healthy and not self._closed:
                self._idle.put(client)
            else:
                with contextlib.suppress(Exception):
                    client.close()
                with self._lock:
                    self._created -= 1

    def close(self) -> None:
        self._closed = True
        while True:
            try:
                client = self._idle.get_nowait()
            except queue.Empty:
                break
            with contextlib.suppress(Exception):
                client.close()

    # -- statements ---------------------------------------------------------------------------

    def command(
        self, sql: str, parameters: Mapping[str, Any] | None = None, settings: Mapping[str, Any] | None = None
    ) -> Any:
        with self.client() as client:
            return _translate(client.command, sql, parameters=parameters, settings=dict(settings or {}))

    def query(
        self, sql: str, parameters: Mapping[str, Any] | None = None, settings: Mapping[str, Any] | None = None
    ) -> list[tuple[Any, ...]]:
        """Rows as tuples."""
        with self.client() as client:
            result = _translate(client.query, sql, parameters=parameters, settings=dict(settings or {}))
            return [tuple(row) for row in result.result_rows]

    def query_dicts(
        self, sql: str, parameters: Mapping[str, Any] | None = None, settings: Mapping[str, Any] | None = None
    ) -> list[dict[str, Any]]:
        with self.client() as client:
            result = _translate(client.query, sql, parameters=parameters, settings=dict(settings or {}))
            names = result.column_names
            return [dict(zip(names, row, strict=True)) for row in result.result_rows]

    def insert_rows(
        self,
        table: str,
        rows: Sequence[Sequence[Any]],
        columns: Sequence[str],
        dedup_token: str | None = None,
    ) -> None:
        with self.client() as client:
            _translate(client.insert, table, rows, column_names=list(columns), settings=_dedup(dedup_token))

    def insert_json_lines(self, table: str, body: bytes, dedup_token: str | None = None) -> None:
        """Insert JSONEachRow text; ClickHouse parses it, which beats Python-side encoding."""
        with self.client() as client:
            _translate(client.raw_insert, table, None, body, settings=_dedup(dedup_token), fmt="JSONEachRow")

    def export_native(self, sql: str, write: Callable[[bytes], object]) -> None:
        """Write a query's result to ``write`` in ClickHouse's Native format, in pieces.

        Over HTTP the answer streams block by block.  chDB's streamed answer costs about
        9 ms a block (17 s for 200,000 rows, against 0.04 s for the same rows as one
        answer), so the embedded engine is read as whole answers of about
        ``EXPORT_BUCKET_ROWS`` rows each instead: every row falls in exactly one bucket by a
        hash of its values, which keeps equal rows and bounds memory.
        """
        with self.client() as client:
            if not self.target.embedded:
                stream = _translate(client.raw_stream, sql, fmt="Native")
                try:
                    _translate(_pump, stream, write)
                finally:
                    stream.close()
                return
            rows = int(_translate(client.command, f"SELECT count() FROM ({sql})"))
            buckets = max(1, -(-rows // EXPORT_BUCKET_ROWS))
            for bucket in range(buckets):
                # A NULL in the row makes the hash NULL; such rows go to the first bucket.
                part = f"SELECT * FROM ({sql}) WHERE ifNull(cityHash64(*), 0) % {buckets} = {bucket}"
                write(_translate(client.raw_query, part, fmt="Native"))

    def insert_native(self, table: str, blocks: Iterator[bytes]) -> int:
        """Insert Native data as it is read; the rows written.  Deduplication is off, because
        these are rows ClickHouse held before (a backup's), and equal blocks among them are real."""
        with self.client() as client:
            summary = _translate(
                client.raw_insert, table, None, blocks, settings={"insert_deduplicate": 0}, fmt="Native"
            )
            return int(summary.written_rows)

    def ping(self) -> bool:
        try:
            self.query("SELECT 1")
        except (StorageUnavailable, StorageError, DataDirInUse):
            return False
        return True

    # -- async façade ----------------------------------------------------------------------------

    async def acommand(
        self, sql: str, parameters: Mapping[str, Any] | None = None, settings: Mapping[str, Any] | None = None
    ) -> Any:
        return await run_in_threadpool(self.command, sql, parameters, settings)

    async def aquery(
        self, sql: str, parameters: Mapping[str, Any] | None = None, settings: Mapping[str, Any] | None = None
    ) -> list[tuple[Any, ...]]:
        return await run_in_threadpool(self.query, sql, parameters, settings)

    async def aquery_dicts(
        self, sql: str, parameters: Mapping[str, Any] | None = None, settings: Mapping[str, Any] | None = None
    ) -> list[dict[str, Any]]:
        return await run_in_threadpool(self.query_dicts, sql, parameters, settings)


def _pump(stream: Iterable[bytes], write: Callable[[bytes], object]) -> None:
    for block in stream:
        write(block)


def _dedup(token: str | None) -> dict[str, Any]:
    if token is None:
        return {}
    # Without the second setting a deduplicated block still reaches materialized views,
    # and a replay would count twice in the rollups.
    return {"insert_deduplication_token": token, "deduplicate_blocks_in_dependent_materialized_views": 1}


def _translate(call: Any, *args: Any, **kwargs: Any) -> Any:
    try:
        return call(*args, **kwargs)
    except ch_errors.OperationalError as exc:
        raise StorageUnavailable(f"ClickHouse is unreachable: {_scrub(str(exc))}") from exc
    except ch_errors.DatabaseError as exc:
        message = str(exc)
        code = _error_code(message)
        if code in _LIMIT_CODES:
            raise QueryLimitExceeded(
                f"ClickHouse ended the query: {_scrub(message)}", limit=_LIMIT_CODES[code]
            ) from exc
        if code in _UNAVAILABLE_CODES:
            raise StorageUnavailable(f"ClickHouse is not serving: {_scrub(message)}") from exc
        raise StorageError(_scrub(message), code) from exc
    except ch_errors.Error as exc:
        raise StorageUnavailable(f"ClickHouse failed: {_scrub(str(exc))}") from exc
    except OSError as exc:
        raise StorageUnavailable(f"ClickHouse is unreachable: {exc.strerror or exc}") from exc


# Codes meaning "not now" rather than "never": timeouts, shutdown, too many queries, network.
_UNAVAILABLE_CODES = {159, 160, 202, 209, 210, 241, 242, 252, 394, 999}
# TIMEOUT_EXCEEDED and MEMORY_LIMIT_EXCEEDED: the query's own limits, not an outage.
_LIMIT_CODES = {159: "time", 241: "memory"}


def _error_code(message: str) -> int | None:
    match = re.search(r"Code: (\d+)", message)
    return int(match.group(1)) if match else None


def _scrub(message: str) -> str:
    """Driver messages can echo URLs with credentials and whole statements; keep them short."""
    message = re.sub(r"//[^/@\s]+@", "//***@", message)
    return message[:500]


_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def quote_identifier(name: str) -> str:
    if not _IDENTIFIER.fullmatch(name):
        raise ValueError(f"not a plain identifier: {name!r}")
    return f"`{name}`"
