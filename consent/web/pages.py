"""The pages a site's visitors read: the cookie declaration, the policy and their own consents.

``/sites/{id}/cookies`` lists every registry entry by category: a full page, an HTML
fragment to embed in the site's own page (``?format=fragment``), or JSON
(``?format=json`` or ``Accept: application/json``).  ``/sites/{id}/policy`` is the
privacy and cookie policy.  Both name the notice version the banner shows, with the
date the consent log published it and the sha256 of its text, which is what every
receipt points to; the revision date is that publication date.

``/sites/{id}/privacy`` ("Mina samtycken") is the same page for every visitor: its script
(``static/privacy/``) reads the visitor's own state and history from the consent API with
the consent cookie, verifies receipts against the log in the browser, and changes,
withdraws or erases through the same API.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from consent.banner import category_texts, notice_sha256, privacy_url
from consent.categories import NECESSARY
from consent.declaration import declared
from consent.groups import group_sites
from consent.privacy_texts import PRIVACY_SCRIPT_TEXTS
from consent.recording.notices import Notices
from consent.texts import COOKIE_TABLE, UI
from samtycke.component import Component
from samtycke.numbers import is_whole_number
from samtycke.services import Services
from samtycke.settings import Site
from samtycke.storage.client import StorageError, StorageUnavailable
from samtycke.web.errors import BadRequest, NotFound
from samtycke.web.i18n import language
from samtycke.web.surface import for_visitors

TEMPLATES = Path(__file__).resolve().parent / "templates"

logger = logging.getLogger("samtycke.consent.pages")

FORMATS = ("html", "fragment", "json")
IMY_URL = "https://www.imy.se/"


@dataclass(frozen=True)
class NoticeFacts:
    version: str
    published: str  # YYYY-MM-DD
    sha256: str


def cookie_rows(site: Site, lang: str) -> list[dict[str, Any]]:
    """The declaration: one group per category, every registry entry in it, in ``lang``."""
    table = COOKIE_TABLE[lang]
    groups = []
    for text in category_texts(site, lang):
        entries = []
        for entry in site.cookies:
            if entry.category != text.id:
                continue
            cookie = declared(entry, lang)
            entries.append(
                {
                    "name": cookie.label,
                    "pattern": entry.name if entry.regex else "",
                    "provider": cookie.provider,
                    "purpose": cookie.purpose,
                    "lifetime": cookie.lifetime,
                    "session": cookie.session,
                    "type": table["session"] if cookie.session else table["persistent"],
                    "party": entry.party,
                    "party_text": table["third"] if entry.party == "third" else table["first"],
                    "domain": entry.domain,
                    "justification": cookie.justification if entry.category == NECESSARY else "",
                    "storage_keys": list(entry.storage_keys),
                    "recipients": list(cookie.recipients),
                    "transfer": cookie.transfer,
                }
            )
        groups.append({"id": text.id, "name": text.name, "description": text.description, "cookies": entries})
    return groups


class Pages:
    def __init__(self, services: Services) -> None:
        self.services = services
        self.notices = Notices()
        self.loaded_at: datetime | None = None

    def site(self, request: Request) -> Site:
        raw = request.path_params["site_id"]
        site = self.services.settings.site(int(raw)) if is_whole_number(raw) and len(raw) < 10 else None
        if site is None:
            raise NotFound(f"there is no site {raw[:20]}")
        return site

    async def notice(self, site: Site, lang: str) -> NoticeFacts:
        """The notice as the consent log published it; the configuration until the log answers."""
        now = self.services.now()
        stale = self.loaded_at is None or (now - self.loaded_at).total_seconds() > 60
        if self.services.state.migrated and stale:
            try:
                notices = Notices()
                await notices.load(self.services.storage)
            except (StorageError, StorageUnavailable) as exc:
                logger.warning("notice versions unavailable", extra={"reason": str(exc)[:200]})
            else:
                self.notices, self.loaded_at = notices, now
        known = self.notices.get(site.id, site.notice.version, lang)
        if known is not None:
            return NoticeFacts(known.version, known.deployed_at[:10], known.sha256)
        deployed = site.notice.deployed_at[:10] or now.astimezone(UTC).date().isoformat()
        return NoticeFacts(site.notice.version, deployed, notice_sha256(site, lang))

    def context(self, request: Request, site: Site, lang: str, notice: NoticeFacts) -> dict[str, Any]:
        settings = self.services.settings
        return {
            "lang": lang,
            "site": site,
            "controller": site.controller,
            "groups": cookie_rows(site, lang),
            "table": COOKIE_TABLE[lang],
            "notice": notice,
            "mask_level": settings.analytics.ip_mask_level,
            "store_masked_ip": settings.analytics.store_masked_ip,
            "consent_days": settings.consent.consent_days,
            "refusal_days": settings.consent.refusal_days,
            "receipt_years": round(settings.consent.receipt_retention_days / 365, 1),
            "imy_url": IMY_URL,
            "cookies_url": f"/sites/{site.id}/cookies?lang={lang}",
            "policy_url": f"/sites/{site.id}/policy?lang={lang}",
            "privacy_url": privacy_url(site, lang),
            "other_lang": "en" if lang == "sv" else "sv",
            "reopen": UI[lang]["reopen"],
            "statistics_mode": site.statistics_mode,
            "shared_with": [other for other in group_sites(settings, site) if other.id != site.id],
        }

    async def cookies(self, request: Request) -> Response:
        """
        summary: Cookie declaration
        description: Every cookie of the site by category, as a page, an HTML fragment or JSON.
        parameters:
          - {name: site_id, in: path, required: true, schema: {type: integer}}
          - {name: lang, in: query, schema: {type: string, enum: [sv, en]}}
          - {name: format, in: query, schema: {type: string, enum: [html, fragment, json]}}
        responses:
          200: {description: The declaration.}
          400: {description: Unknown format.}
          404: {description: No such site.}
        """
        site = self.site(request)
        lang = language(request)
        wanted = request.query_params.get("format", "")
        if wanted and wanted not in FORMATS:
            raise BadRequest("format must be html, fragment or json", field="format")
        accept = request.headers.get("accept", "")
        if not wanted and "application/json" in accept and "text/html" not in accept:
            wanted = "json"
        notice = await self.notice(site, lang)
        headers = {"Cache-Control": "public, max-age=300", "Vary": "Accept, Accept-Language"}
        if wanted == "json":
            body = {
                "site_id": site.id,
                "site_name": site.name,
                "lang": lang,
                "notice_version": notice.version,
                "last_revised": notice.published,
                "categories": cookie_rows(site, lang),
            }
            return JSONResponse(body, headers=headers)
        context = self.context(request, site, lang, notice)
        name = "cookies_fragment.html" if wanted == "fragment" else "cookies.html"
        html = self.services.templates.get_template(name).render(request=request, **context)
        return HTMLResponse(html, headers=headers)

    async def policy(self, request: Request) -> Response:
        """
        summary: Privacy and cookie policy
        parameters:
          - {name: site_id, in: path, required: true, schema: {type: integer}}
          - {name: lang, in: query, schema: {type: string, enum: [sv, en]}}
        responses:
          200: {description: The policy page.}
          404: {description: No such site.}
        """
        site = self.site(request)
        lang = language(request)
        notice = await self.notice(site, lang)
        context = self.context(request, site, lang, notice)
        html = self.services.templates.get_template("policy.html").render(request=request, **context)
        return HTMLResponse(html, headers={"Cache-Control": "public, max-age=300", "Vary": "Accept-Language"})

    async def privacy(self, request: Request) -> Response:
        """
        summary: The visitor's own consents ("Mina samtycken")
        description: >-
          Current choice, history with in-browser verification against the log, change,
          download, withdrawal and erasure. The page is the same for everyone; its script
          reads the visitor's history from `GET /api/v1/consent` with the consent cookie.
        parameters:
          - {name: site_id, in: path, required: true, schema: {type: integer}}
          - {name: lang, in: query, schema: {type: string, enum: [sv, en]}}
        responses:
          200: {description: The page.}
          404: {description: No such site.}
        """
        site = self.site(request)
        lang = language(request)
        notice = await self.notice(site, lang)
        context = self.context(request, site, lang, notice)
        script_texts = {
            **PRIVACY_SCRIPT_TEXTS[lang],
            "category_names": {text.id: text.name for text in category_texts(site, lang)},
        }
        html = self.services.templates.get_template("privacy.html").render(
            request=request, script_texts=script_texts, **context
        )
        return HTMLResponse(html, headers={"Cache-Control": "public, max-age=300", "Vary": "Accept-Language"})


def build(services: Services) -> Component:
    pages = Pages(services)
    return Component(
        name="pages",
        templates=TEMPLATES,
        routes=for_visitors(
            [
                Route("/sites/{site_id}/cookies", pages.cookies, methods=["GET"]),
                Route("/sites/{site_id}/policy", pages.policy, methods=["GET"]),
                Route("/sites/{site_id}/privacy", pages.privacy, methods=["GET"]),
            ]
        ),
    )
