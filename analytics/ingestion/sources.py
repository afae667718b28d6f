"""Where a visit came from: referrer and campaign parameters, classified into a channel.

Campaign parameters are read from the page URL in Matomo's (``mtm_``, ``pk_``) and
Google's (``utm_``) spellings, plus the ad networks' click ids.  The rules follow the
usual default channel grouping: paid beats organic, a campaign beats a bare referrer,
and a visit with neither is Direct.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import SplitResult, parse_qsl, urlsplit

from samtycke.caching import bounded_cache

DIRECT = "Direct"
ORGANIC_SEARCH = "Organic Search"
PAID_SEARCH = "Paid Search"
ORGANIC_SOCIAL = "Organic Social"
PAID_SOCIAL = "Paid Social"
EMAIL = "Email"
REFERRAL = "Referral"
CAMPAIGN = "Campaign"
CHANNELS = (DIRECT, ORGANIC_SEARCH, PAID_SEARCH, ORGANIC_SOCIAL, PAID_SOCIAL, EMAIL, REFERRAL, CAMPAIGN)

# Host fragment -> source name.  Matched against the referrer host's labels.
_SEARCH = {
    "google": "Google",
    "bing": "Bing",
    "duckduckgo": "DuckDuckGo",
    "yahoo": "Yahoo!",
    "yandex": "Yandex",
    "ecosia": "Ecosia",
    "baidu": "Baidu",
    "qwant": "Qwant",
    "startpage": "Startpage",
    "brave": "Brave Search",
    "kagi": "Kagi",
}
_SOCIAL = {
    "facebook": "Facebook",
    "fb": "Facebook",
    "instagram": "Instagram",
    "linkedin": "LinkedIn",
    "lnkd": "LinkedIn",
    "twitter": "Twitter",
    "t.co": "Twitter",
    "x.com": "Twitter",
    "youtube": "YouTube",
    "reddit": "Reddit",
    "pinterest": "Pinterest",
    "tiktok": "TikTok",
    "mastodon": "Mastodon",
    "threads": "Threads",
}
_WEBMAIL = {
    "mail.google": "Gmail",
    "outlook.live": "Outlook.com",
    "outlook.office": "Outlook",
    "mail.yahoo": "Yahoo! Mail",
    "webmail": "Webmail",
}
_PAID_MEDIUMS = {"cpc", "ppc", "paid", "paidsearch", "paid-search", "paid_search", "cpm", "cpv", "display"}
_PAID_SOCIAL_MEDIUMS = {"paid-social", "paidsocial", "paid_social", "social-paid", "social_paid"}
_SOCIAL_MEDIUMS = {"social", "social-network", "social-media", "sm", "social network", "social media"}
_EMAIL_MEDIUMS = {"email", "e-mail", "e_mail", "e mail", "newsletter", "mail"}
_PREFIXES = ("mtm_", "pk_", "utm_")
_FIELDS = {
    "campaign": ("campaign", "name"),
    "source": ("source",),
    "medium": ("medium",),
    "term": ("term", "kwd", "keyword"),
    "content": ("content",),
}


@dataclass(frozen=True)
class Source:
    channel: str
    source: str  # "Google", a referrer host, a campaign source, or "" for Direct
    referrer: str  # host + path of an external referrer, without the query
    utm_medium: str = ""
    utm_source: str = ""
    utm_campaign: str = ""
    utm_term: str = ""
    utm_content: str = ""

    @property
    def campaign_key(self) -> str:
        """What identifies a campaign; a change of it starts a new visit."""
        if not (self.utm_campaign or self.utm_source or self.utm_medium):
            return ""
        return f"{self.utm_campaign}|{self.utm_source}|{self.utm_medium}"


@bounded_cache(maxsize=16384, longest=2048)
def classify(page_url: str, referrer_url: str, own_hosts: frozenset[str]) -> Source:
    """The source of a visit landing on ``page_url`` from ``referrer_url`` (cached: pure)."""
    return _classify(page_url, referrer_url, own_hosts)


def _classify(page_url: str, referrer_url: str, own_hosts: frozenset[str]) -> Source:
    campaign, click_id = _campaign(page_url)
    host, referrer = _referrer(referrer_url, own_hosts)
    medium = campaign.get("medium", "").lower()
    source_param = campaign.get("source", "")
    webmail = _match(host, _WEBMAIL)  # before search: mail.google.com is not a search
    known_search = "" if webmail else _match(host, _SEARCH) or _match(source_param.lower(), _SEARCH)
    known_social = _match(host, _SOCIAL) or _match(source_param.lower(), _SOCIAL)
    source = source_param or webmail or known_search or known_social or host
    channel = _channel(medium, click_id, bool(campaign), webmail, known_search, known_social, host)
    return Source(
        channel=channel,
        source=source[:200],
        referrer=referrer,
        utm_medium=campaign.get("medium", "")[:200],
        utm_source=source_param[:200],
        utm_campaign=campaign.get("campaign", "")[:200],
        utm_term=campaign.get("term", "")[:200],
        utm_content=campaign.get("content", "")[:200],
    )


def _channel(
    medium: str, click_id: str, has_campaign: bool, webmail: str, search: str, social: str, host: str
) -> str:
    if click_id in ("gclid", "msclkid") or (medium in _PAID_MEDIUMS and not social):
        return PAID_SEARCH
    if medium in _PAID_SOCIAL_MEDIUMS or (medium in _PAID_MEDIUMS and social):
        return PAID_SOCIAL
    if medium in _EMAIL_MEDIUMS or (not has_campaign and webmail):
        return EMAIL
    if medium in _SOCIAL_MEDIUMS or (social and (not has_campaign or not medium)):
        return ORGANIC_SOCIAL
    if click_id == "fbclid":
        return ORGANIC_SOCIAL  # Facebook adds fbclid to every outbound link, paid or not
    if has_campaign:
        return CAMPAIGN
    if search:
        return ORGANIC_SEARCH
    if host:
        return REFERRAL
    return DIRECT


def _campaign(page_url: str) -> tuple[dict[str, str], str]:
    query = _split(page_url).query
    if not query:
        return {}, ""
    found: dict[str, str] = {}
    click_id = ""
    for name, value in parse_qsl(query, keep_blank_values=False):
        lowered = name.lower()
        if lowered in ("gclid", "msclkid", "fbclid") and not click_id:
            click_id = lowered
            continue
        for prefix in _PREFIXES:
            if not lowered.startswith(prefix):
                continue
            suffix = lowered[len(prefix) :]
            for key, names in _FIELDS.items():
                if suffix in names and key not in found:
                    found[key] = value
    return found, click_id


def _referrer(referrer_url: str, own_hosts: frozenset[str]) -> tuple[str, str]:
    parts = _split(referrer_url)
    host = (parts.hostname or "").lower()
    if not host or parts.scheme not in ("http", "https", "android-app"):
        return "", ""
    bare = host.removeprefix("www.")
    if host in own_hosts or bare in own_hosts:
        return "", ""
    return bare, (bare + parts.path)[:500]


def _match(host: str, table: dict[str, str]) -> str:
    if not host:
        return ""
    return _lookup(host, _TABLE_NAMES[id(table)])


@bounded_cache(maxsize=4096, longest=256)
def _lookup(host: str, table_name: str) -> str:
    labels = host.split(".")
    for fragment, name in _TABLES[table_name].items():
        if ("." in fragment and fragment in host) or fragment in labels:
            return name
    return ""


_TABLES = {"search": _SEARCH, "social": _SOCIAL, "webmail": _WEBMAIL}
_TABLE_NAMES = {id(table): name for name, table in _TABLES.items()}


def _split(url: str) -> SplitResult:
    try:
        return urlsplit(url)
    except ValueError:
        return urlsplit("")
