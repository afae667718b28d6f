"""What the banner needs for one site in one language, and the notice text it shows.

``site_config`` is the body of ``GET /api/v1/sites/{id}/consent-config``.  ``notice_text``
is the exact text a visitor is shown in the first layer and the category list; its
sha256 is what receipts point to, so the same function serves the banner and the log.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from consent.categories import CONSENT_MODE, GPC_DENIES, NECESSARY, category_ids
from consent.texts import CATEGORIES, COOKIE_TABLE, UI, lifetime_text
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


def banner_description(site: Site, lang: str) -> str:
    own = site.notice.text_sv if lang == "sv" else site.notice.text_en
    return own or UI[lang]["description"].format(site=site.name)


def notice_text(site: Site, lang: str) -> str:
    """The rendered notice, byte for byte what its sha256 covers."""
    lines = [banner_title(site, lang), "", banner_description(site, lang), ""]
    lines.extend(f"{c.name}: {c.description}" for c in category_texts(site, lang))
    return "\n".join(lines) + "\n"


def notice_sha256(site: Site, lang: str) -> str:
    return hashlib.sha256(notice_text(site, lang).encode("utf-8")).hexdigest()


def policy_url(site: Site, lang: str) -> str:
    return site.policy_url or f"/sites/{site.id}/policy?lang={lang}"


def _cookie(entry: CookieEntry, lang: str) -> dict[str, Any]:
    cookie: dict[str, Any] = {
        "name": entry.name,
        "regex": entry.regex,
        "domain": entry.domain,
        "path": entry.path,
        "provider": entry.provider,
        "purpose": entry.purpose,
        "lifetime": lifetime_text(entry.lifetime, lang),
        "session": entry.lifetime.strip().lower() == "session",
        "party": entry.party,
    }
    if entry.category == NECESSARY:
        cookie["justification"] = entry.justification
    return cookie


def site_config(
    site: Site, lang: str, deployed_at: str, consent_days: int, refusal_days: int
) -> dict[str, Any]:
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
            "deployed_at": deployed_at,
        },
        "texts": texts,
        "categories": categories,
        "gpc": {"honoured": site.honour_gpc, "denies": list(GPC_DENIES)},
        "consent_mode": dict(CONSENT_MODE),
        "lifetimes": {"consent_days": consent_days, "refusal_days": refusal_days},
        "endpoints": {"consent": "/api/v1/consent"},
    }
