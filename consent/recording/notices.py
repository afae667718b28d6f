"""Notice versions: each (site, version, language) with the sha256 of its exact text.

Every notice a visitor can be shown is published as a log entry before any receipt can
point to it: at start-up, the current notice of every site in both languages is
published unless the log already holds that exact text.  Receipts may name any version
the log has published for the site; any other version is refused.

Each published notice keeps the declaration's material facts (``consent.declaration``).
A configuration that changes them materially (a new cookie, category, provider, recipient
or third party, a longer lifetime) under a version the log already published is refused:
the consent log does not open until the operator bumps ``notice.version``, so consent
given to the old declaration is never taken for consent to the new one.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from consent import schema
from consent.banner import LANGS, NOTICE_ID, notice_text, policy_url
from consent.declaration import material_changes, material_facts
from consent.ledger.entries import parse_time, rfc3339, rfc3339_seconds
from consent.ledger.sequencer import Entry
from samtycke.settings import Settings
from samtycke.storage import Storage


@dataclass(frozen=True)
class Notice:
    site_id: int
    version: str
    lang: str
    sha256: str
    deployed_at: str
    policy_url: str
    index: int
    declaration: dict[str, Any] | None  # None in notices published before declarations were kept


class Notices:
    def __init__(self) -> None:
        self.known: dict[tuple[int, str, str], Notice] = {}

    def add(self, entry: dict[str, object]) -> None:
        notice = Notice(
            int(str(entry["site_id"])),
            str(entry["version"]),
            str(entry["lang"]),
            str(entry["sha256"]),
            str(entry["deployed_at"]),
            str(entry.get("policy_url", "")),
            int(str(entry["index"])),
            _facts(entry.get("declaration")),
        )
        self.known[(notice.site_id, notice.version, notice.lang)] = notice

    def get(self, site_id: int, version: str, lang: str) -> Notice | None:
        return self.known.get((site_id, version, lang))

    async def load(self, storage: Storage) -> None:
        rows = await storage.aquery(
            f"SELECT entry FROM `{schema.LOG}` FINAL WHERE kind = 'notice' ORDER BY idx"
        )
        for (text,) in rows:
            if text:
                self.add(json.loads(text))

    def unbumped_changes(self, settings: Settings) -> list[str]:
        """Material changes to a declaration the log already published under the same version."""
        out = []
        for i, site in enumerate(settings.sites):
            for lang in LANGS:
                known = self.get(site.id, site.notice.version, lang)
                if known is None or known.declaration is None:
                    continue
                changes = material_changes(known.declaration, material_facts(site))
                if changes:
                    out.append(
                        f"site {site.id} changed its cookie declaration materially "
                        f"({'; '.join(changes)}) but still calls it notice version "
                        f"{site.notice.version!r}: set sites[{i}].notice.version to a new value, "
                        "so that every visitor is asked again"
                    )
                    break
        return out

    def missing(self, settings: Settings, now: datetime) -> list[Entry]:
        """Entries publishing each site's current notice texts the log does not hold yet."""
        out = []
        for site in settings.sites:
            for lang in LANGS:
                text = notice_text(site, lang)
                sha = hashlib.sha256(text.encode("utf-8")).hexdigest()
                known = self.get(site.id, site.notice.version, lang)
                if known is not None and known.sha256 == sha:
                    continue
                deployed = site.notice.deployed_at
                deployed_at = rfc3339_seconds(parse_time(deployed) if deployed else now)
                body = {
                    "type": "notice",
                    "site_id": site.id,
                    "notice_id": NOTICE_ID,
                    "version": site.notice.version,
                    "lang": lang,
                    "sha256": sha,
                    "deployed_at": deployed_at,
                    "published_at": rfc3339(now),
                    "policy_url": policy_url(site, lang),
                    "text": text,
                    "declaration": material_facts(site),
                }
                out.append(Entry("notice", body, now, site_id=site.id))
        return out


def _facts(value: object) -> dict[str, Any] | None:
    return value if isinstance(value, dict) else None
