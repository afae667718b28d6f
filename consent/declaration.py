"""The cookie declaration in one language: what a visitor is told about each cookie.

A registry entry carries its texts per language (``purpose_sv``, ``purpose_en``, ...) beside
a language-neutral one; ``declared`` resolves them, so the banner, the declaration page,
the policy and the notice hash all show the same words in the visitor's language.  A
pattern is shown as a reader would write it (``_pk_id.*``), never as the regular expression.

``material_facts`` is the part of the declaration whose change needs a new consent: which
cookies and storage keys exist, in which category, who sets and who receives them, whether
a third party is involved, how long they live and where the data goes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from consent.registry import is_session, lifetime_seconds
from consent.texts import TRANSFER_SAFEGUARDS, lifetime_text
from samtycke.settings import CookieEntry, Site

# Regular-expression pieces that stand for "anything" in a cookie name.
_WILDCARD = re.compile(r"\.[*+]\??|\\[dws][*+]\??|\[[^\]]*\][*+]\??")


@dataclass(frozen=True)
class DeclaredCookie:
    entry: CookieEntry
    label: str  # the name as a visitor reads it
    provider: str
    purpose: str
    justification: str
    lifetime: str
    session: bool
    recipients: tuple[str, ...]
    transfer: str  # "" when the data stays within the EU/EEA


def readable_name(name: str, regex: bool) -> str:
    """``_pk_id\\..*`` as ``_pk_id.*``: escapes dropped, "anything" written as ``*``."""
    if not regex:
        return name
    text = name.removeprefix("^")
    if text.endswith("$") and not text.endswith("\\$"):
        text = text[:-1]
    out: list[str] = []
    at = 0
    while at < len(text):
        wildcard = _WILDCARD.match(text, at)
        if wildcard:
            if not out or out[-1] != "*":
                out.append("*")
            at = wildcard.end()
        elif text[at] == "\\" and at + 1 < len(text):
            out.append(text[at + 1])
            at += 2
        else:
            out.append(text[at])
            at += 1
    return "".join(out)


def _in(lang: str, neutral: str, sv: str, en: str) -> str:
    """The visitor's language first, then the neutral text, then the other language."""
    own, other = (sv, en) if lang == "sv" else (en, sv)
    return own or neutral or other


def transfer_text(entry: CookieEntry, lang: str) -> str:
    country = entry.transfer_country.strip()
    if not country:
        return ""
    return f"{country}, {TRANSFER_SAFEGUARDS[lang][entry.transfer_safeguard]}"


def declared(entry: CookieEntry, lang: str) -> DeclaredCookie:
    return DeclaredCookie(
        entry=entry,
        label=readable_name(entry.name, entry.regex),
        provider=_in(lang, entry.provider, entry.provider_sv, entry.provider_en),
        purpose=_in(lang, entry.purpose, entry.purpose_sv, entry.purpose_en),
        justification=_in(lang, entry.justification, entry.justification_sv, entry.justification_en),
        lifetime=lifetime_text(entry.lifetime, lang),
        session=is_session(entry.lifetime),
        recipients=tuple(entry.recipients),
        transfer=transfer_text(entry, lang),
    )


def material_facts(site: Site) -> dict[str, Any]:
    """What a change of needs a new consent, as plain JSON kept with each published notice."""
    cookies = []
    for entry in site.cookies:
        seconds = lifetime_seconds(entry.lifetime)
        cookies.append(
            {
                "name": entry.name,
                "category": entry.category,
                "providers": sorted({declared(entry, lang).provider for lang in ("sv", "en")}),
                "party": entry.party,
                "lifetime": entry.lifetime.strip().lower(),
                "seconds": 0 if is_session(entry.lifetime) else seconds,
                "recipients": sorted(entry.recipients),
                "transfer_country": entry.transfer_country.strip(),
                "storage_keys": sorted(entry.storage_keys),
            }
        )
    return {
        "categories": sorted({entry.category for entry in site.cookies}),
        "cookies": cookies,
        "statistics_mode": site.statistics_mode,
    }


def material_changes(before: dict[str, Any], after: dict[str, Any]) -> list[str]:
    """How ``after`` asks more of the visitor than ``before`` did, in words for the operator."""
    changes = [f"new category {c!r}" for c in after["categories"] if c not in before["categories"]]
    if after["statistics_mode"] == "cookieless" and before["statistics_mode"] != "cookieless":
        changes.append("visits are now counted without consent (statistics_mode cookieless)")
    old = {c["name"]: c for c in before["cookies"]}
    for cookie in after["cookies"]:
        name = cookie["name"]
        was = old.get(name)
        if was is None:
            changes.append(f"new cookie {name!r}")
            continue
        if cookie["category"] != was["category"]:
            changes.append(f"cookie {name!r} moved to category {cookie['category']!r}")
        if set(cookie["providers"]) - set(was["providers"]):
            changes.append(f"cookie {name!r} has a new provider")
        if cookie["party"] == "third" and was["party"] != "third":
            changes.append(f"cookie {name!r} is now set by a third party")
        if set(cookie["recipients"]) - set(was["recipients"]):
            changes.append(f"cookie {name!r} has a new recipient")
        if cookie["transfer_country"] and cookie["transfer_country"] != was["transfer_country"]:
            changes.append(f"cookie {name!r} is transferred to {cookie['transfer_country']}")
        if set(cookie["storage_keys"]) - set(was["storage_keys"]):
            changes.append(f"cookie {name!r} has a new storage key")
        if _longer(was, cookie):
            changes.append(f"cookie {name!r} lives longer ({was['lifetime']} -> {cookie['lifetime']})")
    return changes


def _longer(was: dict[str, Any], now: dict[str, Any]) -> bool:
    if was["lifetime"] == now["lifetime"]:
        return False
    if was["seconds"] is None or now["seconds"] is None:  # a lifetime in free text: any change counts
        return True
    return bool(now["seconds"] > was["seconds"])
