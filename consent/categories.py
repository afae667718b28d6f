"""The category vocabulary: the one place that says which categories exist and what they gate.

``necessary`` is always granted and needs no consent.  The built-in ids come from the
settings schema (a configuration file names them); a site may add its own.  Google Consent
Mode's storage types and the Global Privacy Control signal map onto categories here, and
nowhere else.
"""

from __future__ import annotations

from samtycke.settings.declared import BUILTIN_CATEGORIES as BUILTIN
from samtycke.settings.declared import NECESSARY, Site
from samtycke.settings.per_site import per_site

__all__ = [
    "BUILTIN",
    "CONSENT_MODE",
    "GPC_DENIES",
    "NECESSARY",
    "category_ids",
    "category_rank",
    "optional_categories",
    "optional_ids",
]

CONSENT_MODE = {
    "ad_storage": "marketing",
    "ad_user_data": "marketing",
    "ad_personalization": "marketing",
    "analytics_storage": "statistics",
    "functionality_storage": "preferences",
    "personalization_storage": "preferences",
    "security_storage": NECESSARY,
}
GPC_DENIES = ("marketing",)


def category_ids(site: Site) -> list[str]:
    custom = [c.id for c in site.categories if c.id not in BUILTIN]
    return [*BUILTIN, *custom]


def optional_categories(site: Site) -> list[str]:
    return [c for c in category_ids(site) if c != NECESSARY]


@per_site
def optional_ids(site: Site) -> tuple[str, ...]:
    """``optional_categories``, computed once a site (choices and receipts need it each time)."""
    return tuple(optional_categories(site))


@per_site
def category_rank(site: Site) -> dict[str, int]:
    """Each category's place in the site's order, necessary first (as ``list.index`` gives)."""
    rank: dict[str, int] = {}
    for position, category in enumerate([NECESSARY, *optional_categories(site)]):
        rank.setdefault(category, position)
    return rank
