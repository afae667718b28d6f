"""What the banner needs for one site in one language, and the notice text it shows.

``site_config`` is the body of ``GET /api/v1/sites/{id}/consent-config``.  ``notice_text``
is the exact text a visitor is shown in the first layer and the category list; its
sha256 is what receipts point to, so the same function serves the banner and the log.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from consent.categories import CONSENT_MODE, GPC_DENIES, NECESSARY, category_ids
from consent.declaration import declared
from consent.texts import CATEGORIES, COOKIE_TABLE, UI
from samtycke.settings import Category, CookieEntry, Site

NOTICE_ID = "banner"
LANGS = ("sv", "en")


@dataclass(frozen=True)
class CategoryText:
    id: str
    name: str
    description: str


def _override(site: Site, category_id: str) -> Category | None:
    for category in site.categories:
        if category.id == category_id:
            return category
    return None


def category_texts(site: Site, lang: str) -> list[CategoryText]:
    out = []
    for cid in category_ids(site):
        name, description = CATEGORIES[lang].get(cid, (cid.replace("_", " ").capitalize(), ""))
        custom = _override(site, cid)
        if custom is not None:
            name = (custom.name_sv if lang == "sv" else custom.name_en) or custom.name_en or name
            description = (
                (custom.description_sv if lang == "sv" else custom.description_en)
                or custom.description_en
                or description
            )
        out.append(CategoryText(cid, name, description))
    return out


def banner_title(site: Site, lang: str) -> str:
    own = site.notice.title_sv if lang == "sv" else site.notice.title_en
    return own or UI[lang]["title"]


def controller_name(site: Site) -> str:
    """Who the first layer names: the organisation responsible, else the site."""
    return site.controller.name.strip() or site.name


def third_parties(site: Site, lang: str) -> list[str]:
    """The providers of the site's third-party cookies, each once, in registry order."""
    names: list[str] = []
    for entry in site.cookies:
        provider = declared(entry, lang).provider
        if entry.party == "third" and provider and provider not in names:
            names.append(provider)
    return names


def banner_description(site: Site, lang: str) -> str:
    """The first layer's text: the site's own or the built-in one naming the controller, then
    the third parties, whatever the site wrote (the banner links them to the full list)."""
    own = site.notice.text_sv if lang == "sv" else site.notice.text_en
    text = own or UI[lang]["description"].format(controller=controller_name(site))
    providers = third_parties(site, lang)
    if providers:
        text += " " + UI[lang]["third_parties"].format(providers=", ".join(providers))
    return text


def notice_text(site: Site, lang: str) -> str:
    """The rendered notice, byte for byte what its sha256 covers.

    That is everything the visitor is shown before choosing: the first layer, the
    categories and the declaration of every cookie and storage key in them, so a new
    cookie, provider, recipient or lifetime is a new text.
    """
    table = COOKIE_TABLE[lang]
    lines = [banner_title(site, lang), "", banner_description(site, lang), ""]
    for category in category_texts(site, lang):
        lines.append(f"{category.name}: {category.description}")
        for entry in site.cookies:
            if entry.category != category.id:
                continue
            cookie = declared(entry, lang)
            facts = [
                cookie.label,
                cookie.provider,
                cookie.purpose,
                cookie.lifetime,
                table["session"] if cookie.session else table["persistent"],
                table["third"] if entry.party == "third" else table["first"],
            ]
            if entry.category == NECESSARY:
                facts.append(cookie.justification)
            facts.extend([", ".join(cookie.recipients), cookie.transfer, ", ".join(entry.storage_keys)])
            lines.append("- " + " | ".join(facts))
    return "\n".join(lines) + "\n"


def notice_sha256(site: Site, lang: str) -> str:
    return hashlib.sha256(notice_text(site, lang).encode("utf-8")).hexdigest()


def policy_url(site: Site, lang: str) -> str:
    return site.policy_url or f"/sites/{site.id}/policy?lang={lang}"


def cookies_url(site: Site, lang: str) -> str:
    return f"/sites/{site.id}/cookies?lang={lang}"


def privacy_url(site: Site, lang: str) -> str:
    """The visitor's own consents: samtycke's page, whichever policy the site links."""
    return f"/sites/{site.id}/privacy?lang={lang}"


def cookie_paths(site: Site) -> list[str]:
    """Every path the site is known to set cookies on: its configured paths and the registry's."""
    paths: list[str] = []
    for path in [*site.cookie_paths, *(entry.path for entry in site.cookies)]:
        if path.startswith("/") and path not in paths:
            paths.append(path)
    return paths


def _cookie(entry: CookieEntry, lang: str) -> dict[str, Any]:
    """One cookie for the banner, its texts already in the visitor's language."""
    text = declared(entry, lang)
    cookie: dict[str, Any] = {
        "name": entry.name,
        "label": text.label,
        "regex": entry.regex,
        "domain": entry.domain,
        "path": entry.path,
        "provider": text.provider,
        "purpose": text.purpose,
        "lifetime": text.lifetime,
        "session": text.session,
        "party": entry.party,
        "storage_keys": list(entry.storage_keys),
    }
    if entry.category == NECESSARY:
        cookie["justification"] = text.justification
    return cookie


def site_config(
    site: Site,
    lang: str,
    deployed_at: str,
    consent_days: int,
    refusal_days: int,
    gpc: bool = False,
    group: Sequence[Site] = (),
) -> dict[str, Any]:
    """The banner's configuration; ``gpc`` when the request carried ``Sec-GPC: 1``; ``group``:
    the sites of the site's group, whose links carry the visitor's choice (``handoff``)."""
    categories = []
    for text in category_texts(site, lang):
        entries = [c for c in site.cookies if c.category == text.id]
        keys: list[str] = []
        for entry in entries:
            keys.extend(k for k in entry.storage_keys if k not in keys)
        categories.append(
            {
                "id": text.id,
                "name": text.name,
                "description": text.description,
                "required": text.id == NECESSARY,
                "cookies": [_cookie(e, lang) for e in entries],
                "storage_keys": keys,
            }
        )
    texts: dict[str, Any] = {
        **UI[lang],
        "title": banner_title(site, lang),
        "description": banner_description(site, lang),
        "cookie_table": dict(COOKIE_TABLE[lang]),
    }
    return {
        "site_id": site.id,
        "site_name": site.name,
        "lang": lang,
        "notice": {
            "id": NOTICE_ID,
            "version": site.notice.version,
            "sha256": notice_sha256(site, lang),
            "policy_url": policy_url(site, lang),
            "cookies_url": cookies_url(site, lang),
            "privacy_url": privacy_url(site, lang),
            "deployed_at": deployed_at,
        },
        "texts": texts,
        "categories": categories,
        "gpc": {"honoured": site.honour_gpc, "active": gpc and site.honour_gpc, "denies": list(GPC_DENIES)},
        "paths": cookie_paths(site),
        "consent_mode": dict(CONSENT_MODE),
        "lifetimes": {"consent_days": consent_days, "refusal_days": refusal_days},
        "endpoints": {
            "consent": "/api/v1/consent",
            "handoff": "/api/v1/consent/handoff",
            "redeem": "/api/v1/consent/handoff/redeem",
        },
        "handoff": [
            {"site_id": other.id, "domains": list(other.domains)} for other in group if other.id != site.id
        ],
    }
