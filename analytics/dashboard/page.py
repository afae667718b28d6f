"""``GET /dashboard``: the shell page; the script in ``static/dashboard`` does the rest.

Everything the script needs to start is in one inert JSON block: the sites the person may
see, each with its local "today" (so relative ranges follow the site's clock, frozen or
not), its goals and declared custom dimensions, the stats API's capabilities and the language.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from jinja2 import ChoiceLoader, Environment, FileSystemLoader, select_autoescape
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route
from starlette.templating import Jinja2Templates

from analytics.managed import backfill
from analytics.managed.api import definitions_of
from analytics.stats import parser as stats_parser
from samtycke.auth import Principal
from samtycke.days import RANGES
from samtycke.services import Services
from samtycke.settings import Site
from samtycke.web import links
from samtycke.web.i18n import language
from samtycke.web.params import local_today

TEMPLATES = Path(__file__).resolve().parent / "templates"


class Dashboard:
    def __init__(self, services: Services) -> None:
        self.services = services
        self.templates = _templates(services)

    async def dashboard(self, request: Request) -> Response:
        services = self.services
        if await services.auth.authenticate(request) is None:
            return links.to_login(request)
        principal = await services.auth.require(request, "marketer")
        lang = language(request)
        config = _config(services, principal, lang)
        store = definitions_of(services)
        for listed, site in zip(config["sites"], services.settings.sites, strict=True):
            listed["goals"] += [{"id": g.id, "name": g.definition.name} for g in await store.goals(site.id)]
        config["root"] = links.href(request, "")  # the script's API calls go under the same prefix
        return self.templates.TemplateResponse(
            request,
            "dashboard.html",
            {"lang": lang, "config": json.dumps(config, ensure_ascii=False).replace("</", "<\\/")},
            headers={"Cache-Control": "no-store"},  # its policy is every page's (samtycke.web.pageheaders)
        )

    async def goals(self, request: Request) -> Response:
        """Goals and saved funnels: marketers and admins change them, auditors read them."""
        services = self.services
        if await services.auth.authenticate(request) is None:
            return links.to_login(request)
        principal = await services.auth.require(request, "marketer", "auditor")
        lang = language(request)
        config = {
            "lang": lang,
            "root": links.href(request, ""),
            "user": {"name": principal.name, "role": principal.role},
            "editable": principal.role in ("marketer", "admin"),
            "sites": [
                {"id": site.id, "name": site.name, "backfill": backfill.statement(site, lang)}
                for site in services.settings.sites
            ],
        }
        return self.templates.TemplateResponse(
            request,
            "goals.html",
            {"lang": lang, "config": json.dumps(config, ensure_ascii=False).replace("</", "<\\/")},
            headers={"Cache-Control": "no-store"},
        )


def routes(services: Services) -> list[BaseRoute]:
    dashboard = Dashboard(services)
    return [
        Route("/dashboard", dashboard.dashboard, methods=["GET"], include_in_schema=False),
        Route("/dashboard/goals", dashboard.goals, methods=["GET"], include_in_schema=False),
    ]


def _templates(services: Services) -> Jinja2Templates:
    # Own folder first, then the app's (for layout.html).
    base = services.templates.env.loader
    loaders = [FileSystemLoader(str(TEMPLATES)), *([base] if base is not None else [])]
    environment = Environment(loader=ChoiceLoader(loaders), autoescape=select_autoescape(default=True))
    links.install(environment)
    return Jinja2Templates(env=environment)


def _config(services: Services, principal: Principal, lang: str) -> dict[str, Any]:
    now = services.now()
    return {
        "lang": lang,
        "user": {"name": principal.name, "role": principal.role},
        "sites": [_site(site, now) for site in services.settings.sites],
        "ranges": list(RANGES),
        "dimensions": list(
            dict.fromkeys(
                [*stats_parser.DIMENSIONS, "event:goal", stats_parser.PROPS, *stats_parser.TIME_DIMENSIONS]
            )
        ),
        "metrics": list(stats_parser.METRICS),
    }


def _site(site: Site, now: Any) -> dict[str, Any]:
    return {
        "id": site.id,
        "name": site.name,
        "timezone": site.timezone,
        "today": local_today(now, site).isoformat(),
        "goals": [{"id": goal.id, "name": goal.name} for goal in site.goals],
        "dimensions": [{"id": d.id, "name": d.name, "scope": d.scope} for d in site.dimensions],
    }
