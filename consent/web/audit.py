"""The auditor's side: streaming exports, "what did this visitor agree to then", the page.

The page also shows the latest changes to accounts and tokens (who, what, to whom,
when), since who could read or change the records is part of what an auditor checks.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import BaseRoute, Route

from consent import schema
from consent.ledger.entries import parse_time, rfc3339
from consent.ledger.merkle import verify_inclusion
from consent.recording.service import ConsentService, HistoryItem
from consent.web.logapi import entry_json, int_param
from samtycke import csvcells
from samtycke.numbers import is_whole_number
from samtycke.unavailable import Unavailable
from samtycke.web import links
from samtycke.web.errors import HTTPError, NotFound, Unauthorized, Unprocessable
from samtycke.web.i18n import language

ROLES = ("auditor",)
ACCOUNT_EVENTS = 100  # the latest account changes on the page; the API gives up to 1000


EARLIEST_YEAR, LATEST_YEAR = 1900, 9999


def moment(request: Request, name: str) -> datetime | None:
    raw = request.query_params.get(name)
    if not raw:
        return None
    try:
        value = parse_time(raw)
    except ValueError as exc:
        raise Unprocessable(
            f"{name} must be an RFC 3339 time, e.g. 2026-11-21T10:00:00Z", field=name
        ) from exc
    # Years before 1900 are typos, and ClickHouse cannot bind years before 1000 at all.
    if not EARLIEST_YEAR <= value.year <= LATEST_YEAR:
        raise Unprocessable(f"{name} must lie between {EARLIEST_YEAR} and {LATEST_YEAR}", field=name)
    return value


class Audit:
    def __init__(self, service: ConsentService) -> None:
        self.service = service
        self.services = service.services
        self.log = service.log
        self.storage = service.services.storage

    async def index_range(self, request: Request, size: int) -> tuple[int, int]:
        raw_from, raw_to = request.query_params.get("from", ""), request.query_params.get("to", "")
        if (not raw_from or is_whole_number(raw_from)) and (not raw_to or is_whole_number(raw_to)):
            start = int_param(request, "from", 0)
            end = min(int_param(request, "to", size), size)
            return min(start, end), end
        since, until = moment(request, "from"), moment(request, "to")
        rows = await self.storage.aquery(
            f"SELECT min(idx), max(idx), count() FROM `{schema.LOG}` FINAL WHERE idx < {{size:UInt64}}"
            + (" AND event_time >= {since:DateTime64(3, 'UTC')}" if since else "")
            + (" AND event_time < {until:DateTime64(3, 'UTC')}" if until else ""),
            {"size": size, **({"since": since} if since else {}), **({"until": until} if until else {})},
        )
        low, high, count = rows[0]
        return (int(low), int(high) + 1) if int(count) else (0, 0)

    async def export(self, request: Request) -> Response:
        """
        summary: Stream log entries for an auditor (JSONL ends with a signed checkpoint)
        description: >-
          `from`/`to` are indices (to exclusive) or RFC 3339 times; without them the whole log.
          Needs role auditor or admin.
        parameters:
          - {name: from, in: query, schema: {type: string}}
          - {name: to, in: query, schema: {type: string}}
          - {name: format, in: query, schema: {type: string, enum: [jsonl, csv]}}
        responses:
          200: {description: The entries.}
          401: {description: No credentials.}
          403: {description: Not an auditor.}
        """
        await self.services.auth.require(request, *ROLES)
        fmt = request.query_params.get("format", "jsonl")
        if fmt not in ("jsonl", "csv"):
            raise Unprocessable("format must be jsonl or csv", field="format")
        self.log.require_ready()
        await self.log.flush()
        checkpoint = await self.log.checkpoint()
        start, end = await self.index_range(request, checkpoint.size)

        async def jsonl() -> AsyncIterator[bytes]:
            async for row in self.log.iter_rows(start, end):
                yield json.dumps(entry_json(row), ensure_ascii=False).encode() + b"\n"
            if (start, end) != (0, checkpoint.size):
                outside = self.log.tree.outside_hashes(start, end, checkpoint.size)
                yield json.dumps({"outside": {k: v.hex() for k, v in outside.items()}}).encode() + b"\n"
            yield json.dumps({"checkpoint": checkpoint.note}, ensure_ascii=False).encode() + b"\n"

        async def csv_rows() -> AsyncIterator[bytes]:
            buffer = io.StringIO()
            writer = csv.writer(buffer)
            writer.writerow(["index", "leaf_hash", "kind", "event_time", "entry"])
            async for row in self.log.iter_rows(start, end):
                cells = [row["idx"], row["leaf_hash"], row["kind"], rfc3339(row["event_time"]), row["entry"]]
                writer.writerow([csvcells.text(cell) for cell in cells])
                if buffer.tell() > 64 * 1024:
                    yield buffer.getvalue().encode()
                    buffer.seek(0)
                    buffer.truncate()
            yield buffer.getvalue().encode()

        name = f"consent-log-{start}-{end}.{fmt}"
        return StreamingResponse(
            jsonl() if fmt == "jsonl" else csv_rows(),
            media_type="application/x-ndjson" if fmt == "jsonl" else "text/csv; charset=utf-8",
            headers={
                "Content-Disposition": f'attachment; filename="{name}"',
                "X-Tree-Size": str(checkpoint.size),
            },
        )

    async def subject_at(self, consent_id: str, at: datetime) -> dict[str, Any]:
        items, checkpoint = await self.service.history(consent_id)
        if not items:
            raise NotFound("no receipts for this consent id (unknown, or erased)", field="consent_id")
        before = [i for i in items if parse_time(str(i.entry["event_time"])) <= at]
        if not before:
            raise NotFound("this consent id has no receipt at or before that time", field="at")
        item = before[-1]
        return {
            **self.describe(item, consent_id, checkpoint.size),
            "at": rfc3339(at),
            "checkpoint": checkpoint.note,
        }

    def describe(self, item: HistoryItem, consent_id: str, size: int) -> dict[str, Any]:
        entry = item.entry
        proof = self.service.proof(item.index, size)
        verified = verify_inclusion(
            bytes.fromhex(item.leaf_hash),
            item.index,
            size,
            [bytes.fromhex(h) for h in proof["audit_path"]],
            bytes.fromhex(proof["root_hash"]),
        )
        return {
            "consent_id": consent_id,
            "state": {
                "event": entry["event"],
                "method": entry["method"],
                "decisions": entry["decisions"],
                "notice_version": entry["notice"]["version"],
                "notice_sha256": entry["notice"]["sha256"],
                "language": entry["notice"]["language"],
                "valid_until": entry["validity"]["until"],
            },
            "receipt": self.service.receipt_of(item, consent_id),
            "inclusion_proof": proof,
            "verified": verified,
        }

    async def subject(self, request: Request) -> Response:
        """
        summary: What a visitor had agreed to at a moment
        parameters:
          - {name: consent_id, in: query, required: true, schema: {type: string}}
          - {name: at, in: query, schema: {type: string, format: date-time}}
        responses:
          200: {description: 'The receipt in force, its inclusion proof and a checkpoint.'}
          404: {description: 'Unknown or erased consent id, or no receipt by then.'}
        """
        await self.services.auth.require(request, *ROLES)
        consent_id = request.query_params.get("consent_id", "").strip()
        if not consent_id or len(consent_id) > 200:
            raise Unprocessable("consent_id is required", field="consent_id")
        at = moment(request, "at") or self.services.now()
        return JSONResponse(await self.subject_at(consent_id, at))

    async def purge(self, request: Request) -> Response:
        """
        summary: Purge receipt payloads now (admin)
        parameters:
          - {name: before, in: query, schema: {type: string, format: date-time}}
        responses:
          200: {description: How many payloads were purged.}
        """
        await self.services.auth.require(request, "admin")
        days = self.services.settings.consent.receipt_retention_days
        before = moment(request, "before") or self.services.now() - timedelta(days=days)
        return JSONResponse({"purged": await self.service.purge(before), "before": rfc3339(before)})

    async def rates(self) -> list[dict[str, Any]]:
        rows = await self.storage.aquery_dicts(
            "SELECT site_id, JSONExtractString(entry, 'notice', 'version') AS version, kv.1 AS category, "
            "count() AS total, countIf(kv.2) AS granted "
            f"FROM `{schema.LOG}` FINAL "
            "ARRAY JOIN JSONExtractKeysAndValues(entry, 'decisions', 'Bool') AS kv "
            "WHERE kind = 'receipt' AND entry != '' AND kv.1 != 'necessary' "
            "GROUP BY site_id, version, category ORDER BY site_id, version, category"
        )
        for row in rows:
            row["rate"] = round(100.0 * int(row["granted"]) / max(int(row["total"]), 1), 1)
        return rows

    async def page(self, request: Request) -> Response:
        lang = language(request)
        try:
            await self.services.auth.require(request, *ROLES)
        except Unauthorized:
            return links.to_login(request)
        context: dict[str, Any] = {"lang": lang, "problem": "", "results": [], "entries": [], "rates": []}
        context["query"] = dict(request.query_params)
        if not self.log.ready:
            context["problem"] = self.log.problem
            return self.services.templates.TemplateResponse(request, "audit.html", context, status_code=503)
        await self.log.flush()
        checkpoint = await self.log.checkpoint()
        context["checkpoint"] = checkpoint
        try:
            consent_id = request.query_params.get("consent_id", "").strip()[:200]
            if consent_id:
                at = moment(request, "at") or self.services.now()
                items, _ = await self.service.history(consent_id)
                context["results"] = [
                    self.describe(i, consent_id, checkpoint.size)
                    for i in items
                    if parse_time(str(i.entry["event_time"])) <= at
                ]
                if not context["results"]:
                    context["problem"] = (
                        "Inga kvitton för detta samtyckes-id."
                        if lang == "sv"
                        else "No receipts for this consent id."
                    )
            day = request.query_params.get("date", "").strip()
            if day:
                since = parse_time(day[:10] + "T00:00:00Z")
                rows = await self.storage.aquery_dicts(
                    "SELECT idx, kind, site_id, subject, receipt_id, event_time, entry, leaf_hash "
                    f"FROM `{schema.LOG}` FINAL "
                    "WHERE event_time >= {a:DateTime64(3, 'UTC')} AND event_time < {b:DateTime64(3, 'UTC')} "
                    "ORDER BY idx LIMIT 500",
                    {"a": since, "b": since + timedelta(days=1)},
                )
                context["entries"] = [entry_json(r) for r in rows]
            if is_whole_number(request.query_params.get("index", "")):
                index = int(request.query_params["index"])
                if index < checkpoint.size:
                    rows = await self.log.rows(index, index + 1)
                    for row in rows:
                        item = HistoryItem(
                            index, str(row["leaf_hash"]), json.loads(str(row["entry"] or "{}"))
                        )
                        proof = self.service.proof(index, checkpoint.size)
                        context["entry"] = {
                            **entry_json(row),
                            "proof": proof,
                            "verified": verify_inclusion(
                                bytes.fromhex(item.leaf_hash),
                                index,
                                checkpoint.size,
                                [bytes.fromhex(h) for h in proof["audit_path"]],
                                bytes.fromhex(proof["root_hash"]),
                            ),
                        }
        except (HTTPError, Unavailable, ValueError) as exc:
            context["problem"] = getattr(exc, "message", None) or str(exc)
        context["rates"] = await self.rates()
        context["account_events"] = await self.services.accounts.events.recent(ACCOUNT_EVENTS)
        context["local"] = self.local_time
        return self.services.templates.TemplateResponse(request, "audit.html", context)

    def local_time(self, moment: datetime) -> str:
        """A moment as the page shows it: in the (first) site's time zone."""
        sites = self.services.settings.sites
        zone = ZoneInfo(sites[0].timezone if sites else "UTC")
        return moment.astimezone(zone).strftime("%Y-%m-%d %H:%M:%S %Z")


def routes(service: ConsentService) -> list[BaseRoute]:
    audit = Audit(service)
    return [
        Route("/api/v1/audit/export", audit.export, methods=["GET"]),
        Route("/api/v1/audit/subject", audit.subject, methods=["GET"]),
        Route("/api/v1/audit/purge", audit.purge, methods=["POST"]),
        Route("/audit", audit.page, methods=["GET"], include_in_schema=False),
    ]
