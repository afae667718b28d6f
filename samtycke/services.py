"""The long-lived parts of a running samtycke, built once from ``Settings``.

Domains receive this object and take what they need from it; nothing here reads the
environment or a file other than ``data_dir``.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from jinja2 import ChoiceLoader, Environment, FileSystemLoader, select_autoescape
from starlette.concurrency import run_in_threadpool
from starlette.templating import Jinja2Templates

from samtycke import datadir
from samtycke.accounts import Accounts
from samtycke.accounts.first_run import FirstRun
from samtycke.auth import Auth
from samtycke.clientip import ClientIP
from samtycke.journal import Journal, Record, Shipper
from samtycke.metrics import Metrics
from samtycke.refusals import RefusalBudget
from samtycke.sessions import SessionStore
from samtycke.settings import Settings
from samtycke.signing import Signer, load_or_create_keys
from samtycke.storage import Layout, Storage, Target, parse_url
from samtycke.storage import migrations as migrations_module
from samtycke.storage.budget import QueryBudget
from samtycke.storage.client import DataDirInUse, StorageError, StorageUnavailable
from samtycke.storage.migrations import Migration
from samtycke.web import links
from samtycke.web.sameorigin import SameOrigin

logger = logging.getLogger("samtycke.storage")

PACKAGE_DIR = Path(__file__).resolve().parent
TEMPLATES_DIR = PACKAGE_DIR / "web" / "templates"


def storage_target(settings: Settings) -> Target:
    """samtycke's ClickHouse: ``storage.clickhouse_url``, else the embedded engine in the data directory."""
    data_dir = Path(settings.storage.data_dir).resolve()
    url = settings.storage.clickhouse_url or f"chdb://{(data_dir / 'clickhouse').resolve()}"
    return parse_url(url, settings.storage.database)


@dataclass
class StorageState:
    reachable: bool = False
    migrated: bool = False
    reason: str = "starting"
    applied: list[str] = field(default_factory=list)


@dataclass
class Services:
    settings: Settings
    data_dir: Path
    storage: Storage
    reports: QueryBudget  # statistics and other report queries: few at a time, each bounded
    layout: Layout
    journal: Journal
    shipper: Shipper
    metrics: Metrics
    signer: Signer
    accounts: Accounts
    auth: Auth
    client_ip: ClientIP
    refusals: RefusalBudget  # refused requests per client network, over the last minute
    templates: Jinja2Templates
    now: Callable[[], datetime]
    state: StorageState = field(default_factory=StorageState)
    migrations: list[Migration] = field(default_factory=list)
    storage_ready: asyncio.Event = field(default_factory=asyncio.Event)
    # Set by ``samtycke serve`` in one process: where to print a setup link when nobody is admin.
    first_run: FirstRun | None = None

    @property
    def embedded(self) -> bool:
        return self.storage.target.embedded

    def add_templates(self, directory: Path) -> None:
        """Let pages render a domain's templates too; the layout's own come first."""
        loader = self.templates.env.loader
        assert isinstance(loader, ChoiceLoader)
        if not any(
            isinstance(known, FileSystemLoader) and str(directory) in known.searchpath
            for known in loader.loaders
        ):
            loader.loaders = [*loader.loaders, FileSystemLoader(str(directory))]

    async def append(self, records: list[Record]) -> None:
        """Journal records durably; raises JournalFull (503) when that is impossible."""
        await self.journal.append(records)

    async def connect_and_migrate(self, retry: bool = True) -> None:
        """Bring ClickHouse up to date, retrying with backoff while it is unreachable."""
        delay = 0.5
        while True:
            try:
                applied = await run_in_threadpool(
                    migrations_module.apply, self.storage, self.layout, self.migrations
                )
            except (StorageUnavailable, StorageError) as exc:
                self.state.reachable = isinstance(exc, StorageError)
                self.state.reason = f"ClickHouse: {exc}"
                self.metrics.storage_up.set(0)
                if not retry or isinstance(exc, StorageError):
                    logger.error("migrations failed", extra={"reason": str(exc)[:300]})
                    if not retry:
                        raise
                await asyncio.sleep(delay)
                delay = min(delay * 2, 30.0)
                continue
            except DataDirInUse as exc:
                # Fatal for this process: say so in /readyz and the log rather than wait forever.
                self.state.reason = str(exc)
                logger.error("embedded data directory in use by another process")
                raise
            self.state.reachable = True
            self.state.migrated = True
            self.state.reason = ""
            self.state.applied = applied
            self.metrics.storage_up.set(1)
            if applied:
                logger.info("migrations applied", extra={"migrations": applied})
            self.storage_ready.set()
            return

    async def watch_storage(self, every: float = 5.0) -> None:
        """Keep readiness honest after start-up: ClickHouse can go away later."""
        while True:
            await asyncio.sleep(every)
            up = await run_in_threadpool(self.storage.ping)
            self.metrics.storage_up.set(1 if up else 0)
            self.state.reachable = up
            self.state.reason = "" if up else (self.shipper.state.last_error or "ClickHouse does not answer")


def build(settings: Settings, *, now: Callable[[], datetime] | None = None) -> Services:
    data_dir = Path(settings.storage.data_dir).resolve()
    datadir.folder(data_dir)
    if changed := datadir.tighten(data_dir):
        logger.info("data directory: files and folders made private to this user", extra={"changed": changed})
    target = storage_target(settings)
    storage = Storage(target)
    layout = Layout(target.database, settings.storage.cluster)
    metrics = Metrics()
    journal = Journal(
        data_dir / "journal",
        segment_bytes=settings.journal.segment_bytes,
        max_bytes=settings.journal.max_bytes,
        fsync=settings.journal.fsync,
        wake_after_records=settings.journal.batch_rows,
    )
    journal.on_commit = metrics.observe_commit
    shipper = Shipper(
        journal,
        storage,
        interval=settings.journal.ship_interval,
        batch_rows=settings.journal.batch_rows,
        on_shipped=metrics.observe_ship,
    )
    signer = Signer(load_or_create_keys(settings.server.secret_keys, data_dir))
    environment = Environment(
        loader=ChoiceLoader([FileSystemLoader(str(TEMPLATES_DIR))]),
        autoescape=select_autoescape(default=True),
    )
    links.install(environment)
    templates = Jinja2Templates(env=environment)
    state = StorageState()
    clock = now or (lambda: datetime.now(UTC))
    sessions = SessionStore(storage, clock, ready=lambda: state.migrated)
    accounts = Accounts(
        storage,
        clock,
        sessions=sessions,
        users=settings.users,
        tokens=settings.tokens,
        ready=lambda: state.migrated,
    )
    services = Services(
        settings=settings,
        data_dir=data_dir,
        storage=storage,
        reports=QueryBudget(
            storage,
            concurrency=settings.analytics.stats_concurrency,
            queue_seconds=settings.analytics.stats_queue_seconds,
            max_execution_time=settings.analytics.stats_max_execution_time,
            max_memory_usage=settings.analytics.stats_max_memory_bytes,
        ),
        layout=layout,
        journal=journal,
        shipper=shipper,
        metrics=metrics,
        signer=signer,
        accounts=accounts,
        auth=Auth(accounts, signer, sessions, SameOrigin(settings.server.public_url)),
        client_ip=ClientIP(settings.server.trusted_proxies),
        refusals=RefusalBudget(settings.server.refusals_per_minute),
        templates=templates,
        now=clock,
        state=state,
    )
    metrics.gauge(
        "samtycke_journal_backlog_records",
        "Journalled records not yet in ClickHouse.",
        lambda: float(journal.backlog()[0]),
    )
    metrics.gauge(
        "samtycke_journal_backlog_bytes",
        "Journal bytes not yet shipped.",
        lambda: float(journal.backlog()[1]),
    )
    metrics.gauge(
        "samtycke_journal_quarantined_segments",
        "Segments ClickHouse rejected, kept aside.",
        lambda: float(shipper.state.quarantined_segments),
    )
    metrics.gauge(
        "samtycke_journal_unconfirmed_segments",
        "Segments kept because ClickHouse does not hold every row it acknowledged.",
        lambda: float(len(shipper.state.unconfirmed_segments)),
    )
    metrics.gauge("samtycke_uptime_seconds", "Seconds since start.", _uptime())
    return services


def _uptime() -> Callable[[], float]:
    started = time.monotonic()
    return lambda: time.monotonic() - started
