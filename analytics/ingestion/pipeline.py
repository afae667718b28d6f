"""Where a hit goes: named steps from a validated ``Hit`` to a journal record.

    exclusion -> ecommerce -> consent -> client IP -> GeoIP -> IP masking -> visitor identity
              -> device -> source -> visit -> row for the journal

The consent step drops every hit without consent to statistics on a site whose
``statistics_mode`` is "consent"; in "cookieless" mode such hits are counted under a
daily-salted hash instead.  Any step may drop the hit with a ``DropReason``; drops are
counted in ``/metrics`` and the tracker still gets its normal answer.  The full client
address exists only inside ``process``: GeoIP and the visitor hash read it, the masked
form (if stored at all) replaces it, and nothing else leaves.
"""

from __future__ import annotations

import enum
import ipaddress
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from analytics.ingestion import devices, ecommerce, sources
from analytics.ingestion.anonymize import mask_ip
from analytics.ingestion.geo import GeoIP
from analytics.ingestion.request import Hit, InvalidHit
from analytics.ingestion.salts import Salts, identified_hash, visitor_hash
from analytics.ingestion.visits import Visits
from analytics.schema import EVENTS
from consent.cookies import ConsentCookie, for_site
from samtycke.auth import Auth
from samtycke.caching import bounded_cache
from samtycke.clientip import Address, Networks
from samtycke.journal import Record, record
from samtycke.metrics import Metrics
from samtycke.settings import Settings, Site
from samtycke.settings.hosts import Hosts
from samtycke.unavailable import Unavailable


class DropReason(enum.Enum):
    NOT_RECORDED = "not_recorded"  # no rec=1
    BOT = "bot"
    DNT = "dnt"
    EXCLUDED_IP = "excluded_ip"
    REFERRER_SPAM = "referrer_spam"
    NO_URL = "no_url"
    FOREIGN_DOMAIN = "foreign_domain"
    PING_WITHOUT_VISIT = "ping_without_visit"
    NO_CONSENT = "no_consent"  # the site counts only visitors who consented to statistics
    INVALID_ECOMMERCE = "invalid_ecommerce"  # an order, cart or product view out of shape or bounds


STATISTICS = "statistics"  # the consent category that lets a tracker's own visitor id be used


class Dropped(Exception):
    def __init__(self, reason: DropReason) -> None:
        super().__init__(reason.value)
        self.reason = reason


@dataclass(slots=True)  # not frozen: a frozen __init__ costs a microsecond per hit
class Context:
    """What the HTTP request says about the visitor, beside the tracking parameters."""

    address: Address | None
    user_agent: str
    accept_language: str
    dnt: bool
    gpc: bool
    consent: ConsentCookie | None  # the samtycke consent cookie; it counts only for its own site
    received: datetime


@dataclass(frozen=True)
class SitePolicy:
    """A site's settings, pre-digested for the hot path."""

    site: Site
    hosts: frozenset[str]  # the names listed exactly: a referrer from one of them is internal
    served_on: Hosts
    excluded: Networks
    spam: tuple[str, ...]
    zone: ZoneInfo

    @classmethod
    def of(cls, site: Site) -> SitePolicy:
        served_on = Hosts(site.domains)
        return cls(
            site=site,
            hosts=served_on.exact,
            served_on=served_on,
            excluded=Networks(site.excluded_ips),
            spam=tuple(h.strip().lower().removeprefix("www.") for h in site.referrer_spam if h.strip()),
            zone=ZoneInfo(site.timezone),
        )

    def owns(self, host: str) -> bool:
        return host in self.served_on

    def is_excluded(self, address: Address | None) -> bool:
        return address is not None and address in self.excluded

    def is_spam(self, referrer: str) -> bool:
        if not self.spam or not referrer:
            return False
        host = (_split(referrer).hostname or "").lower().removeprefix("www.")
        return any(host == s or host.endswith("." + s) for s in self.spam)


class Pipeline:
    def __init__(
        self, settings: Settings, *, auth: Auth, geo: GeoIP, salts: Salts, visits: Visits, metrics: Metrics
    ) -> None:
        self.settings = settings
        self.auth = auth
        self.geo = geo
        self.salts = salts
        self.visits = visits
        self.metrics = metrics
        self.policies = {site.id: SitePolicy.of(site) for site in settings.sites}

    def policy(self, hit: Hit) -> SitePolicy:
        policy = self.policies.get(hit.idsite)
        if policy is None:
            raise InvalidHit(f"idsite {hit.idsite} is not a configured site", field="idsite")
        return policy

    async def process(self, hit: Hit, context: Context) -> Record | None:
        """The journal record for a hit, or None when a step dropped it (and counted why)."""
        policy = self.policy(hit)
        try:
            return await self._steps(hit, context, policy)
        except Dropped as drop:
            self.metrics.dropped.labels(drop.reason.value).inc()
            return None

    async def _steps(self, hit: Hit, context: Context, policy: SitePolicy) -> Record:
        site = policy.site
        user_agent = hit.ua or context.user_agent
        device = devices.detect(user_agent, hit.uadata)
        path, host = self._exclusion(hit, context, policy, device)
        shop = _ecommerce(hit)
        if site.statistics_mode == "consent" and not self._consented(hit, context, site):
            raise Dropped(DropReason.NO_CONSENT)
        admin = await self._is_admin(hit)
        address = self._client_address(hit, context, admin)
        at = hit.cdt if (admin and hit.cdt is not None) else context.received
        location = self.geo.locate(address, site.geo_detail) if address is not None else None
        masked = self._masked(address)
        visitor, identified = await self._identity(hit, context, site, address, user_agent)
        source = sources.classify(hit.url, hit.urlref, policy.hosts)
        kind = shop.kind if shop is not None and shop.kind != "product_view" else _kind(hit)
        placement = self.visits.place(
            site.id,
            visitor,
            at,
            at.astimezone(policy.zone).date(),
            page=path,
            source=source,
            is_action=kind != "ping",
            force_new=hit.new_visit,
        )
        if placement is None:
            raise Dropped(DropReason.PING_WITHOUT_VISIT)
        visit_source = placement.source
        row: dict[str, Any] = {
            "site_id": site.id,
            "timestamp": at.astimezone(UTC).replace(tzinfo=None).isoformat(" ", "milliseconds"),
            "kind": kind,
            "visitor_id": visitor,
            "identified": 1 if identified else 0,
            "visit_id": placement.visit_id,
            "is_entry": 1 if placement.is_entry else 0,
            "bounce_delta": placement.bounce_delta,
            "duration_ms": placement.duration_ms,
            "entry_page": placement.entry_page,
            "hostname": host,
            "pathname": path,
            "title": hit.action_name,
            "pv_id": hit.pv_id,
            "referrer": source.referrer if placement.is_entry else "",
            "source": visit_source.source,
            "channel": visit_source.channel,
            "utm_medium": visit_source.utm_medium,
            "utm_source": visit_source.utm_source,
            "utm_campaign": visit_source.utm_campaign,
            "utm_term": visit_source.utm_term,
            "utm_content": visit_source.utm_content,
            "country": location.country if location else "",
            "region": location.region if location else "",
            "city": location.city if location else "",
            "browser": device.browser,
            "browser_version": device.browser_version,
            "os": device.os,
            "os_version": device.os_version,
            "device": device.device,
            "resolution": hit.resolution,
            "language": _language(hit.lang or context.accept_language),
            "event_category": hit.event_category,
            "event_action": hit.event_action,
            "event_name": hit.event_name,
            "event_value": hit.event_value,
            "goal_id": hit.idgoal or 0,
            "revenue": hit.revenue or 0.0,
            "search_keyword": hit.search,
            "search_category": hit.search_cat,
            "search_count": hit.search_count,
            "link": (hit.link or hit.download)[:2000],
            "dimensions": dict(hit.dimensions),
            "masked_ip": masked,
            "retention_months": site.retention_months,
        }
        if shop is not None:
            row.update(_ecommerce_columns(shop))
        return record(EVENTS, row)

    # -- the steps ---------------------------------------------------------------------------------

    def _exclusion(
        self, hit: Hit, context: Context, policy: SitePolicy, device: devices.Device
    ) -> tuple[str, str]:
        """The page's path and host, unless a step drops the hit."""
        if not hit.rec:
            raise Dropped(DropReason.NOT_RECORDED)
        if device.is_bot and not hit.bots:
            raise Dropped(DropReason.BOT)
        if context.dnt and policy.site.honour_dnt:
            raise Dropped(DropReason.DNT)
        if policy.is_excluded(context.address):
            raise Dropped(DropReason.EXCLUDED_IP)
        if policy.is_spam(hit.urlref):
            raise Dropped(DropReason.REFERRER_SPAM)
        if not hit.url:
            raise Dropped(DropReason.NO_URL)
        path, host = _page(hit.url)
        if not policy.owns(host):
            raise Dropped(DropReason.FOREIGN_DOMAIN)
        return path, host

    async def _is_admin(self, hit: Hit) -> bool:
        if not hit.token_auth or not (hit.cip or hit.cdt):
            return False
        try:
            principal = await self.auth.check_token(hit.token_auth)
        except Unavailable:
            # A token issued in samtycke is checked in ClickHouse; while it is away the hit is
            # still journalled, as an ordinary one.
            return False
        return principal is not None and principal.role == "admin"

    def _client_address(self, hit: Hit, context: Context, admin: bool) -> Address | None:
        if admin and hit.cip:
            try:
                return ipaddress.ip_address(hit.cip)
            except ValueError as exc:
                raise InvalidHit("cip is not an IP address", field="cip") from exc
        return context.address

    def _masked(self, address: Address | None) -> str:
        if not self.settings.analytics.store_masked_ip or address is None:
            return ""
        # Level 0 would store the address itself; stored addresses are always masked.
        return mask_ip(str(address), max(1, self.settings.analytics.ip_mask_level))

    def _consented(self, hit: Hit, context: Context, site: Site) -> bool:
        """The visitor consented to statistics, and no honoured GPC signal says otherwise."""
        cookie = for_site(context.consent, site.id)
        granted = cookie is not None and STATISTICS in cookie.granted
        return (granted or hit.consent) and not (context.gpc and site.honour_gpc)

    async def _identity(
        self, hit: Hit, context: Context, site: Site, address: Address | None, user_agent: str
    ) -> tuple[int, bool]:
        tracker_id = hit.cid or hit.uid or hit.visitor_id
        if tracker_id and self._consented(hit, context, site):
            return identified_hash(site.id, tracker_id), True
        salt = self.salts.cached(site.id) or await self.salts.current(site.id)
        return visitor_hash(salt, site.id, str(address or ""), user_agent), False


def _ecommerce(hit: Hit) -> ecommerce.Ecommerce | None:
    try:
        return ecommerce.read(hit)
    except ecommerce.MalformedEcommerce as exc:
        raise Dropped(DropReason.INVALID_ECOMMERCE) from exc


def _ecommerce_columns(shop: ecommerce.Ecommerce) -> dict[str, Any]:
    """A product view's product, a cart's content or an order's items, in ``events``' item arrays."""
    return {
        "order_id": shop.order_id,
        "ec_subtotal": shop.subtotal,
        "ec_tax": shop.tax,
        "ec_shipping": shop.shipping,
        "ec_discount": shop.discount,
        "item_skus": [item.sku for item in shop.items],
        "item_names": [item.name for item in shop.items],
        "item_categories": [list(item.categories) for item in shop.items],
        "item_prices": [item.price for item in shop.items],
        "item_quantities": [item.quantity for item in shop.items],
    }


def _kind(hit: Hit) -> str:
    if hit.ping:
        return "ping"
    if hit.idgoal:
        return "goal"
    if hit.event_category and hit.event_action:
        return "event"
    if hit.search:
        return "search"
    if hit.link:
        return "outlink"
    if hit.download:
        return "download"
    return "pageview"


@bounded_cache(maxsize=1024, longest=256)  # a few distinct Accept-Language values serve most visitors
def _language(value: str) -> str:
    first = value.split(",", 1)[0].split(";", 1)[0].strip().lower()
    return first[:16] if first.replace("-", "").isalpha() else ""


@bounded_cache(maxsize=4096, longest=1024)  # a site's pages repeat from hit to hit
def _page(url: str) -> tuple[str, str]:
    """A page URL's path ("/" when empty) and lower-case host."""
    parts = _split(url)
    return parts.path or "/", (parts.hostname or "").lower()


def _split(url: str) -> Any:
    try:
        return urlsplit(url)
    except ValueError:
        return urlsplit("")
