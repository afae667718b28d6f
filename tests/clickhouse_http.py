"""ClickHouse's HTTP interface, served by chDB, for tests.

No ClickHouse server can be installed on the test machines, yet samtycke's "HTTP
ClickHouse" storage path talks to one through clickhouse-connect. This module serves
the part of the protocol that clickhouse-connect uses, executing everything with chDB:

* ``GET /ping`` and a bare ``GET /`` answer ``Ok.``. SQL comes from the ``query`` URL
  parameter, the body, both (joined by a newline), or ``multipart/form-data`` fields.
* ``INSERT ... FORMAT <fmt>`` data is fed to chDB's streaming inserter as it arrives.
* Other URL parameters than transport ones (``database``, ``session_id``, ``param_*``...)
  are settings for that request only. ``session_id`` keeps one chDB connection (``SET``,
  ``USE``, temporary tables) per session.
* Bodies may be gzip/deflate/lz4/zstd encoded, in one frame or several. Responses are
  compressed on ``enable_http_compression=1`` with an acceptable ``Accept-Encoding``.
* Results are buffered (as with ``wait_end_of_query=1``), so errors always arrive as a
  non-200 status with ``X-ClickHouse-Exception-Code``.
* ``client_protocol_version`` is refused: chDB writes Native blocks without the block-info
  header it implies, so clickhouse-connect's probe fails and the client uses revision 0.

chDB binds one data path per process, and pytest opens its own, so this runs as a
separate process (``tests/clickhouse_server.py`` manages it)::

    python -m tests.clickhouse_http --path DATA_DIR --port PORT [--host H] [--user U --password P]
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import binascii
import contextlib
import gzip
import json
import re
import signal
import sys
import threading
import time
import uuid
import zlib
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, NoReturn, Protocol

import anyio.to_thread
import chdb
import lz4.frame  # type: ignore[import-untyped]
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

if sys.version_info >= (3, 14):
    from compression import zstd
else:
    from backports import zstd

# chdb's own functions are unannotated; these aliases give them types once.
_connect: Callable[[str], Any] = chdb.connect
ENGINE_VERSION = str(chdb.engine_version)

_TRANSPORT_PARAMS = frozenset(
    {
        "query",
        "database",
        "default_format",
        "session_id",
        "session_timeout",
        "session_check",
        "query_id",
        "wait_end_of_query",
        "client_protocol_version",
        "compress",
        "decompress",
        "buffer_size",
        "user",
        "password",
        "quota_key",
        "role",
        "stacktrace",
    }
)
_HTTP_STATUS = {
    **dict.fromkeys((6, 27, 36, 38, 41, 53, 62, 117, 271), 400),
    **dict.fromkeys((192, 193, 194, 516), 401),
    **dict.fromkeys((164, 497), 403),
    **dict.fromkeys((46, 47, 60, 73, 81, 115, 372), 404),
    48: 501,
}
_RESULT_KEYWORDS = frozenset({"SELECT", "WITH", "SHOW", "DESC", "DESCRIBE", "EXISTS", "EXPLAIN", "CHECK"})
_CODE_RE = re.compile(r"Code: (\d+)\.")
_SETTING_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_FORMAT_RE = re.compile(r"\bFORMAT\s+(\w+)\s*;?\s*$", re.I)
_INSERT_QUERY_RE = re.compile(r"\s*(INSERT\s.*?)\s+FORMAT\s+(\w+)\s*", re.I | re.S)
# The client puts the statement and its data in one body: "INSERT ... FORMAT fmt\n<data>".
_INSERT_BODY_RE = re.compile(rb"\s*(INSERT\s.*?)\s+FORMAT\s+(\w+)[ \t]*\r?\n", re.I | re.S)
_MAX_STATEMENT_HEAD = 1 << 20
_APPEND_SIZE = 1 << 20


class ClickHouseError(Exception):
    """An error reported to the client the way ClickHouse reports it."""

    def __init__(self, code: int, text: str) -> None:
        super().__init__(text)
        self.code = code
        self.text = text

    @classmethod
    def new(cls, code: int, name: str, message: str) -> ClickHouseError:
        return cls(code, f"Code: {code}. DB::Exception: {message}. ({name})")

    @classmethod
    def from_engine(cls, exc: BaseException) -> ClickHouseError:
        if isinstance(exc, ClickHouseError):
            return exc
        text = str(exc)
        match = _CODE_RE.search(text)
        if match is None:
            return cls.new(1001, "STD_EXCEPTION", text)
        # chdb's Python wrappers prefix their own context ("Streaming insert append failed: ").
        return cls(int(match[1]), text[match.start() :].strip())

    def body(self) -> bytes:
        suffix = "" if "(version " in self.text else f" (version {ENGINE_VERSION})"
        return f"{self.text}{suffix}\n".encode()


class _Decompressor(Protocol):
    @property
    def eof(self) -> bool: ...
    @property
    def unused_data(self) -> bytes: ...
    def decompress(self, data: bytes) -> bytes: ...


_DECOMPRESSORS: dict[str, Callable[[], _Decompressor]] = {
    "gzip": lambda: zlib.decompressobj(wbits=31),
    "deflate": zlib.decompressobj,
    "lz4": lambda: lz4.frame.LZ4FrameDecompressor(),
    "zstd": zstd.ZstdDecompressor,
}


def _compress(encoding: str, data: bytes) -> bytes:
    if encoding == "gzip":
        return gzip.compress(data)
    if encoding == "deflate":
        return zlib.compress(data)
    if encoding == "lz4":
        return bytes(lz4.frame.compress(data))
    return zstd.compress(data)


async def _decoded(chunks: AsyncIterator[bytes], encoding: str) -> AsyncIterator[bytes]:
    """Decompress a body made of one or more concatenated frames (clickhouse-connect sends one per block)."""
    if encoding in ("", "identity"):
        async for chunk in chunks:
            yield chunk
        return
    factory = _DECOMPRESSORS.get(encoding)
    if factory is None:
        raise ClickHouseError.new(48, "NOT_IMPLEMENTED", f"Unsupported Content-Encoding: {encoding}")
    current: _Decompressor | None = None
    async for chunk in chunks:
        data = chunk
        try:
            while data:
                current = current or factory()
                if out := current.decompress(data):
                    yield out
                if not current.eof:
                    break
                data, current = current.unused_data, None
        except (OSError, RuntimeError, ValueError, EOFError, zlib.error, zstd.ZstdError) as exc:
            raise ClickHouseError.new(271, "CANNOT_DECOMPRESS", f"{encoding}: {exc}") from None
    if current is not None:
        raise ClickHouseError.new(271, "CANNOT_DECOMPRESS", f"{encoding}: body ends inside a frame")


@dataclass
class _Insert:
    statement: str
    fmt: str
    data: bytes
    rest: AsyncIterator[bytes]


async def _read_statement(head: str | None, body: AsyncIterator[bytes]) -> str | _Insert:
    """Split a request into SQL, or an INSERT whose data is still being received."""
    if head is not None:
        if match := _INSERT_QUERY_RE.fullmatch(head):
            return _Insert(match[1], match[2], b"", body)
        rest = b"".join([chunk async for chunk in body])
        return f"{head}\n{rest.decode(errors='replace')}" if rest else head
    buffer = bytearray()
    async for chunk in body:
        buffer += chunk
        stripped = buffer.lstrip()
        if len(stripped) >= 6 and stripped[:6].upper() != b"INSERT":
            break
        if found := _INSERT_BODY_RE.match(buffer):
            return _Insert(found[1].decode(), found[2].decode(), bytes(buffer[found.end() :]), body)
        if len(buffer) > _MAX_STATEMENT_HEAD:
            break
    async for chunk in body:
        buffer += chunk
    return buffer.decode(errors="replace")


def _literal(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _identifier(name: str) -> str:
    return "`" + name.replace("\\", "\\\\").replace("`", "\\`") + "`"


def _run(conn: Any, sql: str, fmt: str = "TabSeparated", params: Mapping[str, str] | None = None) -> Any:
    try:
        return conn.query(sql, fmt, params=dict(params or {}))
    except Exception as exc:
        raise ClickHouseError.from_engine(exc) from None


@dataclass
class _Session:
    conn: Any
    persistent: bool
    timeout: float = 60.0
    lock: threading.Lock = field(default_factory=threading.Lock)
    last_used: float = field(default_factory=time.monotonic)

    def apply(self, settings: Mapping[str, str], database: str | None) -> list[str]:
        """Apply per-request settings and database; return the statements that undo them."""
        undo: list[str] = []
        if self.persistent and database:
            current = _run(self.conn, "SELECT currentDatabase()", "JSONEachRow").bytes()
            undo.append(f"USE {_identifier(json.loads(current)['currentDatabase()'])}")
        if self.persistent and settings:
            names = ", ".join(_literal(name) for name in settings)
            sql = f"SELECT name, value, changed FROM system.settings WHERE name IN ({names})"
            rows = _run(self.conn, sql, "JSONEachRow").bytes().splitlines()
            previous = {row["name"]: row for row in map(json.loads, rows)}
            for name in settings:
                row = previous.get(name)
                value = _literal(row["value"]) if row and row["changed"] else "DEFAULT"
                undo.append(f"SET {name} = {value}")
        try:
            if database:
                _run(self.conn, f"USE {_identifier(database)}")
            for name, value in settings.items():
                if not _SETTING_RE.fullmatch(name):
                    raise ClickHouseError.new(115, "UNKNOWN_SETTING", f"Unknown setting '{name}'")
                _run(self.conn, f"SET {name} = {_literal(value)}")
        except BaseException:
            self.revert(undo)
            raise
        return undo

    def revert(self, undo: list[str]) -> None:
        for statement in undo:
            with contextlib.suppress(ClickHouseError):
                _run(self.conn, statement)


class Engine:
    """The chDB engine on one data path, plus the connections of open HTTP sessions."""

    def __init__(self, path: str) -> None:
        self.path = path
        # chDB shuts the engine down with its last connection; this one keeps it up between requests.
        self._keeper = _connect(path)
        self.timezone = _run(self._keeper, "SELECT timezone()").bytes().decode().strip()
        self._sessions: dict[str, _Session] = {}

    def acquire(self, session_id: str | None, timeout: float, check: bool) -> _Session:
        """Called on the event loop only, so the session table needs no lock."""
        now = time.monotonic()
        for sid, idle in list(self._sessions.items()):
            if now - idle.last_used > idle.timeout and idle.lock.acquire(blocking=False):
                del self._sessions[sid]
                idle.conn.close()
        if not session_id:
            session = _Session(_connect(self.path), persistent=False)
        elif (existing := self._sessions.get(session_id)) is not None:
            session = existing
        elif check:
            raise ClickHouseError.new(372, "SESSION_NOT_FOUND", f"Session {session_id} not found")
        else:
            session = self._sessions[session_id] = _Session(_connect(self.path), persistent=True)
        if not session.lock.acquire(blocking=False):
            message = f"Session {session_id} is locked by a concurrent client"
            raise ClickHouseError.new(373, "SESSION_IS_LOCKED", message)
        session.timeout = timeout
        return session

    def release(self, session: _Session) -> None:
        session.last_used = time.monotonic()
        if session.persistent:
            session.lock.release()
        else:
            session.conn.close()

    def close(self) -> None:
        for session in self._sessions.values():
            session.conn.close()
        self._sessions.clear()
        self._keeper.close()


def _statement_format(sql: str, default: str) -> str | None:
    """The output format of a statement that returns a result set, None for one that does not."""
    if match := _FORMAT_RE.search(sql):
        return match[1]
    words = sql.lstrip(" \t\r\n(").split(None, 1)
    return default if words and words[0].upper() in _RESULT_KEYWORDS else None


def _summary(**counters: float) -> str:
    """X-ClickHouse-Summary: a JSON object whose values are strings."""
    return json.dumps({name: str(int(value)) for name, value in counters.items()})


class ClickHouseHTTP:
    """The ASGI side: protocol parsing, authentication and responses."""

    def __init__(self, engine: Engine, user: str, password: str) -> None:
        self.engine = engine
        self.user = user
        self.password = password

    def app(self) -> Starlette:
        return Starlette(
            routes=[
                Route("/ping", self.ping, methods=["GET", "HEAD"]),
                Route("/", self.root, methods=["GET", "POST"]),
            ]
        )

    async def ping(self, request: Request) -> Response:
        return PlainTextResponse("Ok.\n")

    async def root(self, request: Request) -> Response:
        if request.method == "GET" and "query" not in request.query_params:
            return PlainTextResponse("Ok.\n")
        url = request.query_params
        headers = {
            "X-ClickHouse-Query-Id": url.get("query_id") or str(uuid.uuid4()),
            "X-ClickHouse-Timezone": self.engine.timezone,
            "X-ClickHouse-Server-Display-Name": "chdb-http-fixture",
        }
        is_form = request.headers.get("content-type", "").startswith("multipart/form-data")
        raw = None if is_form else request.stream()
        try:
            self._authenticate(request)
            if url.get("client_protocol_version", "0") not in ("", "0"):
                raise ClickHouseError.new(48, "NOT_IMPLEMENTED", "client_protocol_version is not supported")
            return await self._execute(request, raw, headers)
        except Exception as error:
            exc = ClickHouseError.from_engine(error)
            if raw is not None:
                # Read what the client is still sending, or it sees a reset instead of this error.
                with contextlib.suppress(Exception):
                    async for _ in raw:
                        pass
            return Response(
                exc.body(),
                status_code=_HTTP_STATUS.get(exc.code, 500),
                headers={**headers, "X-ClickHouse-Exception-Code": str(exc.code)},
                media_type="text/plain; charset=UTF-8",
            )

    def _authenticate(self, request: Request) -> None:
        auth = request.headers.get("authorization", "")
        if auth[:6].lower() == "basic ":
            try:
                user, _, password = base64.b64decode(auth[6:], validate=True).decode().partition(":")
            except (binascii.Error, UnicodeDecodeError):
                user, password = "", None
        else:
            url = request.query_params
            user = request.headers.get("x-clickhouse-user") or url.get("user") or "default"
            password = request.headers.get("x-clickhouse-key") or url.get("password") or ""
        if (user, password) != (self.user, self.password):
            message = f"{user}: Authentication failed: password is incorrect or there is no such user"
            raise ClickHouseError.new(516, "AUTHENTICATION_FAILED", message)

    async def _execute(
        self, request: Request, raw: AsyncIterator[bytes] | None, headers: dict[str, str]
    ) -> Response:
        url = request.query_params
        head = url.get("query")
        params = {key[6:]: value for key, value in url.items() if key.startswith("param_")}
        settings = {
            key: value
            for key, value in url.items()
            if key not in _TRANSPORT_PARAMS and not key.startswith("param_")
        }
        statement: str | _Insert = head or ""
        if raw is not None:
            encoding = request.headers.get("content-encoding", "").strip().lower()
            statement = await _read_statement(head, _decoded(raw, encoding))
        else:
            async with request.form() as form:
                for key, value in form.multi_items():
                    if not isinstance(value, str):
                        raise ClickHouseError.new(48, "NOT_IMPLEMENTED", "external data is not supported")
                    if key == "query":
                        statement = value
                    elif key.startswith("param_"):
                        params[key[6:]] = value
        session = self.engine.acquire(
            url.get("session_id"),
            float(url.get("session_timeout") or 60),
            url.get("session_check", "0") == "1",
        )
        try:
            if isinstance(statement, _Insert):
                summary = await self._insert(session, statement, settings, url.get("database"))
                return Response(b"", headers={**headers, "X-ClickHouse-Summary": summary})
            fmt = url.get("default_format") or "TabSeparated"
            data, headers["X-ClickHouse-Summary"] = await anyio.to_thread.run_sync(
                self._query, session, statement, fmt, params, settings, url.get("database")
            )
        finally:
            self.engine.release(session)
        if (result_format := _statement_format(statement, fmt)) is not None:
            headers["X-ClickHouse-Format"] = result_format
        if settings.get("enable_http_compression", "0").lower() in ("1", "true") and data:
            accept = request.headers.get("accept-encoding", "").split(",")
            accepted = (item.split(";")[0].strip().lower() for item in accept)
            if chosen := next((name for name in accepted if name in _DECOMPRESSORS), None):
                data = _compress(chosen, data)
                headers["Content-Encoding"] = chosen
        binary = (result_format or fmt) in ("Native", "RowBinary", "Arrow", "Parquet")
        return Response(
            data,
            headers=headers,
            media_type="application/octet-stream" if binary else "text/plain; charset=UTF-8",
        )

    @staticmethod
    def _query(
        session: _Session,
        sql: str,
        fmt: str,
        params: dict[str, str],
        settings: dict[str, str],
        database: str | None,
    ) -> tuple[bytes, str]:
        undo = session.apply(settings, database)
        try:
            result = _run(session.conn, sql, fmt, params)
        finally:
            session.revert(undo)
        summary = _summary(
            read_rows=result.rows_read(),
            read_bytes=result.bytes_read(),
            written_rows=result.rows_written(),
            written_bytes=result.bytes_written(),
            elapsed_ns=result.elapsed() * 1e9,
        )
        return bytes(result.bytes()), summary

    @staticmethod
    async def _insert(
        session: _Session, insert: _Insert, settings: dict[str, str], database: str | None
    ) -> str:
        undo = await anyio.to_thread.run_sync(session.apply, settings, database)
        try:
            try:
                begin = session.conn.send_insert
                inserter = await anyio.to_thread.run_sync(begin, insert.statement, insert.fmt)
            except Exception as exc:
                raise ClickHouseError.from_engine(exc) from None
            try:
                pending = bytearray(insert.data)
                async for chunk in insert.rest:
                    pending += chunk
                    if len(pending) >= _APPEND_SIZE:
                        await anyio.to_thread.run_sync(inserter.append, bytes(pending))
                        pending.clear()
                if pending:
                    await anyio.to_thread.run_sync(inserter.append, bytes(pending))
                result = await anyio.to_thread.run_sync(inserter.finish)
            except BaseException as exc:
                # Never commit a partial body: a client that gave up has not been told the insert succeeded.
                with contextlib.suppress(Exception):
                    inserter.cancel()
                if isinstance(exc, Exception):
                    raise ClickHouseError.from_engine(exc) from None
                raise
        finally:
            await anyio.to_thread.run_sync(session.revert, undo)
        return _summary(
            written_rows=result.rows_written,
            written_bytes=result.bytes_written,
            elapsed_ns=result.elapsed * 1e9,
        )


async def _serve(server: uvicorn.Server, host: str) -> None:
    task = asyncio.create_task(server.serve())
    while not server.started and not task.done():
        await asyncio.sleep(0.01)
    if server.started:
        port = server.servers[0].sockets[0].getsockname()[1]
        print(f"listening on http://{host}:{port}", flush=True)
    await task


def _exit_on_sigterm(signum: int, frame: object) -> NoReturn:
    raise SystemExit(0)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--path", required=True, help="chDB data directory")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8123, help="0 picks a free port")
    parser.add_argument("--user", default="default")
    parser.add_argument("--password", default="")
    args = parser.parse_args(argv)
    # uvicorn re-raises SIGTERM after its graceful shutdown; SystemExit lets chDB close cleanly.
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    try:
        engine = Engine(args.path)
    except Exception as exc:
        sys.exit(f"cannot open chDB data directory {args.path}: {exc}")
    app = ClickHouseHTTP(engine, args.user, args.password).app()
    config = uvicorn.Config(
        app,
        host=args.host,
        port=args.port,
        log_level="warning",
        access_log=False,
        lifespan="off",
        timeout_graceful_shutdown=5,
    )
    try:
        asyncio.run(_serve(uvicorn.Server(config), args.host))
    finally:
        engine.close()


if __name__ == "__main__":
    main()
