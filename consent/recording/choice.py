"""A consent request, parsed and validated into a ``Choice`` before anything is recorded.

Global Privacy Control reaches the server as a ``Sec-GPC: 1`` header, or, when only the
page's script sees it (``navigator.globalPrivacyControl``), as ``"gpc": true`` in the body.
Either one opts out of the categories in ``GPC_DENIES`` unless the visitor explicitly
chose them just now.  The receipt keeps both facts: ``gpc`` (the signal decided something)
and ``gpc_signal`` (it was present, also when an explicit choice overrode it).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from consent.categories import GPC_DENIES, NECESSARY, optional_ids
from samtycke.invalid import Invalid
from samtycke.settings import Settings, Site

METHODS = ("accept_all", "reject_all", "custom", "gpc", "withdraw")
MAX_BODY = 16 * 1024


class InvalidChoice(Invalid):
    """A consent request that is not a choice this site can record (the web answers 422)."""


@dataclass(frozen=True)
class Choice:
    site: Site
    decisions: dict[str, bool]  # every optional category
    method: str
    notice_version: str
    lang: str
    gpc: bool  # the GPC signal applied to this choice
    gpc_signal: bool = False  # the GPC signal was present, applied or overridden by an explicit choice

    @property
    def granted(self) -> list[str]:
        return [c for c, on in self.decisions.items() if on]

    @property
    def refused_all(self) -> bool:
        return not any(self.decisions.values())  # no list: asked twice for every receipt


def parse_choice(settings: Settings, body: Any, gpc_header: bool, default_lang: str) -> Choice:
    if not isinstance(body, dict):
        raise InvalidChoice("the body must be a JSON object")
    site_id = body.get("site_id")
    if not isinstance(site_id, int) or isinstance(site_id, bool):
        raise InvalidChoice("site_id must be a whole number", field="site_id")
    site = settings.site(site_id)
    if site is None:
        raise InvalidChoice(f"there is no site {site_id}", field="site_id")
    method = body.get("method", "custom")
    if method not in METHODS:
        raise InvalidChoice(f"method must be one of {', '.join(METHODS)}", field="method")
    lang = body.get("lang", default_lang)
    if lang not in ("sv", "en"):
        raise InvalidChoice("lang must be sv or en", field="lang")
    version = body.get("notice_version")
    if not isinstance(version, str) or not version or len(version) > 100:
        raise InvalidChoice("notice_version must name the notice the visitor saw", field="notice_version")
    signalled = body.get("gpc", False)
    if not isinstance(signalled, bool):
        raise InvalidChoice("gpc must be true or false", field="gpc")
    signalled = signalled or gpc_header
    raw = body.get("decisions", {})
    if not isinstance(raw, dict):
        raise InvalidChoice("decisions must be an object of category: true|false", field="decisions")
    optional = optional_ids(site)
    for category, value in raw.items():
        where = f"decisions.{category}"[:100]
        if category == NECESSARY:
            if value is not True:
                raise InvalidChoice("necessary cookies cannot be refused", field=where)
            continue
        if category not in optional:
            raise InvalidChoice(f"unknown category {category[:60]!r}", field=where)
        if not isinstance(value, bool):
            raise InvalidChoice("a decision must be true or false", field=where)
    explicit = {c: v for c, v in raw.items() if c != NECESSARY}
    if method == "accept_all":
        if False in explicit.values():
            raise InvalidChoice("accept_all cannot refuse a category; use custom", field="decisions")
        decisions = dict.fromkeys(optional, True)
    elif method in ("reject_all", "withdraw"):
        if True in explicit.values():
            raise InvalidChoice(f"{method} cannot grant a category; use custom", field="decisions")
        decisions = dict.fromkeys(optional, False)
    else:
        decisions = {c: bool(explicit.get(c, False)) for c in optional}
    gpc = method == "gpc"
    if signalled and site.honour_gpc:
        for category in GPC_DENIES:
            # GPC is an opt-out unless the visitor explicitly chose otherwise just now.
            if decisions.get(category) and explicit.get(category) is not True:
                decisions[category] = False
                gpc = True
    if method == "gpc":
        for category in GPC_DENIES:
            if explicit.get(category) is not True:
                decisions[category] = False
    if gpc and method not in ("withdraw", "reject_all"):
        method = "gpc"
    return Choice(site, decisions, method, version, lang, gpc, signalled)
