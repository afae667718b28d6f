"""``POST /api/v1/backup``: a running samtycke backs itself up and sends the result (admin).

The embedded database belongs to the server process, so a backup made while it runs is
made by it.  It ships the journal, pauses shipping while it copies the data directory's
files and exports every table into a private folder under ``<data_dir>/.backups``, and
streams that folder as a tar archive, deleting it afterwards.  One backup at a time.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import shutil
from collections.abc import Iterator
from pathlib import Path

from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from samtycke import datadir
from samtycke.backup import archive, files, writer
from samtycke.component import Component
from samtycke.services import Services
from samtycke.unavailable import Unavailable
from samtycke.web.errors import Conflict, Unprocessable
from samtycke.web.surface import own_origin_only

logger = logging.getLogger("samtycke.backup")

MEDIA_TYPE = "application/x-tar"


class NotNow(Unavailable):
    code = "backup_unavailable"


class BackupAPI:
    def __init__(self, services: Services) -> None:
        self.services = services
        self.busy = asyncio.Lock()

    async def backup(self, request: Request) -> Response:
        """
        summary: Back up the whole service (admin)
        description: >-
          Every table of the database and the data directory's files (signing keys, the
          journal, the consent log's kept checkpoint), with a manifest of checksums and row
          counts, as a tar archive.  `samtycke backup DIR` calls this while samtycke runs.
          Shipping from the journal pauses while the copy is made.
        security: [{bearer: []}]
        responses:
          200: {description: 'The backup, a tar archive.'}
          401: {description: No credentials.}
          403: {description: 'Not an admin, or a cookie-authenticated call from another origin.'}
          409: {description: Another backup is being made.}
          422: {description: 'The storage is a cluster, which ClickHouse backs up itself.'}
          503: {description: 'ClickHouse is not ready, or holds journal rows it has not confirmed.'}
        """
        await self.services.auth.require(request, "admin")
        if self.services.settings.storage.cluster:
            raise Unprocessable(
                "a cluster is backed up with ClickHouse's BACKUP DATABASE ... ON CLUSTER; see the README"
            )
        if self.busy.locked():
            raise Conflict("a backup is being made; try again when it is done")
        async with self.busy:
            folder = await self._make()
        logger.info(
            "backup made", extra={"bytes": sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())}
        )
        return StreamingResponse(
            _sent_then_removed(folder),
            media_type=MEDIA_TYPE,
            headers={"content-disposition": 'attachment; filename="samtycke-backup.tar"'},
            background=BackgroundTask(shutil.rmtree, folder, ignore_errors=True),
        )

    async def _make(self) -> Path:
        services = self.services
        if not services.state.migrated:
            raise NotNow(f"ClickHouse is not ready: {services.state.reason}", retry_after=5)
        if not await services.shipper.ship() or services.shipper.state.unconfirmed_segments:
            raise NotNow(
                "the journal cannot be shipped now, and a backup made meanwhile could hold its records "
                f"twice: {services.shipper.state.last_error}",
                retry_after=30,
            )
        parent = datadir.folder(services.data_dir / files.IN_PROGRESS)
        for left in parent.iterdir():  # an earlier backup whose answer was cut off
            shutil.rmtree(left, ignore_errors=True)
        folder = parent / secrets.token_hex(8)
        async with services.shipper.paused():
            try:
                await asyncio.to_thread(writer.write, services.storage, services.data_dir, folder)
            except BaseException:
                shutil.rmtree(folder, ignore_errors=True)
                raise
        return folder


def _sent_then_removed(folder: Path) -> Iterator[bytes]:
    try:
        yield from archive.stream(folder)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def build(services: Services) -> Component:
    api = BackupAPI(services)
    return Component(
        name="backup", routes=own_origin_only([Route("/api/v1/backup", api.backup, methods=["POST"])])
    )
