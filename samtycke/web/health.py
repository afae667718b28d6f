"""Liveness, readiness, metrics and the API description."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from samtycke.component import Component
from samtycke.metrics import CONTENT_TYPE
from samtycke.services import Services
from samtycke.web.openapi import Description
from samtycke.web.surface import for_visitors, own_origin_only


async def healthz(request: Request) -> Response:
    """
    summary: Liveness
    responses:
      200:
        description: The process is up.
        content:
          application/json:
            schema: {type: object, required: [status], properties: {status: {type: string, enum: [ok]}}}
    """
    return JSONResponse({"status": "ok"})


class Health:
    def __init__(self, services: Services, parts: Sequence[Component]) -> None:
        self.services = services
        self.parts = parts
        self.schemas = Description(part.api_components for part in parts)

    async def readyz(self, request: Request) -> Response:
        """
        summary: Readiness
        description: ClickHouse reachable, migrations applied, and the journal backlog.
        responses:
          200:
            description: Ready.
            content: {application/json: {schema: {$ref: "#/components/schemas/Readiness"}}}
          503:
            description: Not ready; `reasons` says why.
            content: {application/json: {schema: {$ref: "#/components/schemas/Readiness"}}}
        """
        services = self.services
        records, size = services.journal.backlog()
        checks: dict[str, dict[str, Any]] = {
            "clickhouse": {
                "ok": services.state.reachable,
                "mode": "embedded" if services.embedded else "server",
            },
            "migrations": {"ok": services.state.migrated, "applied": len(services.migrations)},
            "journal": {
                "ok": True,
                "backlog_records": records,
                "backlog_bytes": size,
                "quarantined_segments": services.shipper.state.quarantined_segments,
                # Kept and retried: safe, but ClickHouse does not hold what it acknowledged.
                "unconfirmed_segments": sorted(services.shipper.state.unconfirmed_segments),
            },
        }
        reasons = [services.state.reason] if services.state.reason else []
        for part in self.parts:
            for name, check in part.readiness.items():
                ok, reason = check()
                checks[name] = {"ok": ok}
                if not ok:
                    reasons.append(reason)
        ready = all(c["ok"] for c in checks.values())
        return JSONResponse(
            {"ready": ready, "checks": checks, "reasons": reasons}, status_code=200 if ready else 503
        )

    async def metrics(self, request: Request) -> Response:
        """
        summary: Prometheus metrics
        responses:
          200: {description: Prometheus text format.}
        """
        return Response(self.services.metrics.render(), media_type=CONTENT_TYPE)

    async def openapi(self, request: Request) -> Response:
        """
        summary: This API description
        responses:
          200: {description: OpenAPI 3 document.}
        """
        return JSONResponse(self.schemas.get_schema(routes=request.app.routes))


def routes(services: Services, parts: Sequence[Component]) -> list[BaseRoute]:
    health = Health(services, parts)
    # Probes answer on every origin samtycke is served on, so a load balancer can check the proxy.
    return [
        *for_visitors(
            [Route("/healthz", healthz, methods=["GET"]), Route("/readyz", health.readyz, methods=["GET"])]
        ),
        *own_origin_only(
            [
                Route("/metrics", health.metrics, methods=["GET"], include_in_schema=False),
                Route("/openapi.json", health.openapi, methods=["GET"], include_in_schema=False),
            ]
        ),
    ]
