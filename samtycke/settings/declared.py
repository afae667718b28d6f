"""Every setting samtycke has, declared once with its default and help text.

The TOML file mirrors these classes: ``[storage]`` is ``StorageSettings``, each
``[[sites]]`` is a ``Site``, each ``[[sites.cookies]]`` a ``CookieEntry``, and so on.
``samtycke.settings.loading`` turns a parsed file into these values and names the key of
anything it cannot accept; the README's configuration table is generated from here and
a test keeps the two in step.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

DEFAULT_DATA_DIR = "./samtycke-data"
# The categories every site has; ``consent.categories`` owns what they mean.
NECESSARY = "necessary"
BUILTIN_CATEGORIES = (NECESSARY, "preferences", "statistics", "marketing")


def setting(default: Any = None, help: str = "", *, env: str | None = None, **extra: Any) -> Any:
    """A dataclass field carrying its help text (and the environment variable that may set it)."""
    metadata = {"help": help, "env": env, **extra}
    show = not extra.get("secret", False)
    if isinstance(default, list | dict):
        factory = type(default)
        items = default

        def copy_default() -> Any:
            return factory(items)

        return field(default_factory=copy_default, metadata=metadata, repr=show)
    return field(default=default, metadata=metadata, repr=show)


def required(help: str, **extra: Any) -> Any:
    return field(metadata={"help": help, "required": True, **extra})


class Secret(str):
    """A string that keeps out of reprs and logs."""

    def __repr__(self) -> str:
        return "Secret('**********')"


@dataclass(frozen=True)
class StorageSettings:
    clickhouse_url: str = setting(
        "",
        "Where ClickHouse is: `chdb:///<absolute path>` for the embedded engine, or "
        "`http(s)://user:pass@host:8123/<database>` for a server. Empty means embedded, "
        "in `<data_dir>/clickhouse`.",
        env="SAMTYCKE_CLICKHOUSE_URL",
        secret=True,
    )
    data_dir: str = setting(
        DEFAULT_DATA_DIR, "Local state: the journal, signing keys and the embedded database.", env=None
    )
    embedded_niceness: int = setting(
        10,
        "Nice value (0-19) of the embedded ClickHouse's own threads, so that its inserts and "
        "merges yield the CPU to request handling. 0 leaves them at the service's priority. "
        "Linux only; no effect with a ClickHouse server.",
        minimum=0,
        maximum=19,
    )
    database: str = setting("samtycke", "Database name, unless the ClickHouse URL names one in its path.")
    cluster: str = setting(
        "",
        "Name of a ClickHouse cluster. When set, DDL is rendered `ON CLUSTER` with "
        "`Replicated*` engines and `Distributed` tables in front of them.",
    )


@dataclass(frozen=True)
class JournalSettings:
    segment_bytes: int = setting(
        16 * 1024 * 1024, "A journal segment is sealed for shipping once it grows past this size."
    )
    max_bytes: int = setting(
        2 * 1024**3,
        "Journal backlog at which new writes are refused with 503 instead of acknowledged.",
    )
    ship_interval: float = setting(0.5, "Seconds between shipments of journalled records to ClickHouse.")
    batch_rows: int = setting(
        50_000, "Rows per insert when shipping; also ships early when this many are waiting."
    )
    fsync: bool = setting(
        True, "fsync every group commit. Turn off only for throwaway demos; it breaks durability."
    )


@dataclass(frozen=True)
class ServerSettings:
    host: str = setting("127.0.0.1", "Address `samtycke serve` listens on.")
    port: int = setting(8000, "Port `samtycke serve` listens on.")
    public_url: str = setting(
        "", "The URL visitors reach samtycke at, used in links and checkpoints. Empty: derived per request."
    )
    trusted_proxies: list[str] = setting(
        ["127.0.0.1/32", "::1/128"],
        "Networks whose `X-Forwarded-For` / `Forwarded` headers are believed.",
    )
    secret_keys: list[str] = setting(
        [],
        "Signing keys for cookies, newest last; older keys still verify. Empty: a key is "
        "generated into `data_dir` on first start.",
        env="SAMTYCKE_SECRET_KEYS",
        secret=True,
    )
    log_level: str = setting(
        "info", "Log level: debug, info, warning or error.", choices=("debug", "info", "warning", "error")
    )
    max_body_bytes: int = setting(1024 * 1024, "Largest request body accepted by any endpoint.")
    max_header_bytes: int = setting(
        16 * 1024,
        "Largest request headers, all lines together; a request over it is refused with 431.",
        minimum=1024,
    )
    max_header_field_bytes: int = setting(
        8 * 1024,
        "Largest single request header line; a request with one over it is refused with 431.",
        minimum=256,
    )
    refusals_per_minute: int = setting(
        50,
        "Requests refused for bad input (400, 413, 422, 429, 431) one client network may cause per "
        "minute, counting an IPv4 address or an IPv6 /64 as one network; past it, every request "
        "from the network is answered 429 at once, unread, until it falls back within. "
        "Generous, because one address may be a company or a carrier's NAT. 0: no limit.",
        minimum=0,
    )
    demo: bool = setting(False, "Serve the built-in demo pages at `/demo`.")


@dataclass(frozen=True)
class AnalyticsSettings:
    ip_mask_level: int = setting(
        2,
        "Matomo IP anonymisation level 0-4: how many trailing bytes (IPv4) are zeroed.",
        minimum=0,
        maximum=4,
    )
    store_masked_ip: bool = setting(False, "Store the masked IP address with each event.")
    geoip_database: str = setting(
        "", "Path of a MaxMind-format `.mmdb` city or country database. Empty: no location."
    )
    recording: bool = setting(True, "Accept tracking requests; when off the collector answers 503.")
    visits_in_memory: int = setting(
        200_000,
        "Visitors whose current visit the collector holds in memory. Their table is reserved "
        "in full at start-up, 49 bytes a visitor plus 8 to 16 for its index (200,000 take "
        "12 MB, 1,000,000 take 57 MB), and does not grow; each distinct entry page and source "
        "of the visits held is kept once besides. Past it the least recently seen are "
        "forgotten, and a forgotten visitor's next hit starts a new visit. A visit ends after "
        "30 minutes without hits, so enough for 30 minutes of new visitors counts every visit.",
        minimum=100,
        maximum=100_000_000,
    )
    stats_max_execution_time: float = setting(
        30.0,
        "Seconds a statistics query may run in ClickHouse (`max_execution_time`); past it the "
        "query ends with 503 and a hint to narrow it.",
    )
    stats_max_memory_bytes: int = setting(
        1024**3,
        "Memory a statistics query may use in ClickHouse (`max_memory_usage`); past it the "
        "query ends with 503 and a hint to narrow it.",
        minimum=1024 * 1024,
    )
    stats_concurrency: int = setting(
        2,
        "Statistics queries that run at once; keep it below the 4 pooled ClickHouse clients so "
        "that shipping the journal always finds one.",
        minimum=1,
    )
    stats_queue_seconds: float = setting(
        5.0, "How long a statistics query waits for a turn before it is answered 503 with Retry-After."
    )


@dataclass(frozen=True)
class ConsentSettings:
    consent_days: int = setting(
        395,
        "How long a consent lasts before the visitor is asked again (at most 13 months).",
        minimum=1,
        maximum=397,
    )
    refusal_days: int = setting(
        180, "How long a refusal is remembered before the visitor is asked again.", minimum=1, maximum=397
    )
    checkpoint_interval: float = setting(60.0, "Seconds between signed log checkpoints.")
    writes_per_minute: int = setting(
        120,
        "Consent writes (choices, withdrawals, erasures) one client network may make per minute, "
        "counting an IPv4 address or an IPv6 /64 as one network; more are refused with 429.",
        minimum=1,
    )
    log_origin: str = setting(
        "", "Origin line of signed checkpoints. Empty: `samtycke/<public host>/consent-log`."
    )
    receipt_retention_days: int = setting(
        3650, "Receipt payloads older than this are purged; their tombstones keep the log verifiable."
    )


@dataclass(frozen=True)
class CookieEntry:
    name: str = required("Exact cookie name, or a regular expression when `regex` is true.")
    category: str = required("necessary, preferences, statistics, marketing or a custom category.")
    regex: bool = setting(False, "Treat `name` as a regular expression matched against the whole name.")
    provider: str = setting("", "Who sets the cookie, in any language; `provider_sv`/`provider_en` win.")
    provider_sv: str = setting("", "Who sets the cookie, in Swedish.")
    provider_en: str = setting("", "Who sets the cookie, in English.")
    purpose: str = setting("", "Why the cookie is set, in any language; `purpose_sv`/`purpose_en` win.")
    purpose_sv: str = setting("", "Why the cookie is set, in Swedish.")
    purpose_en: str = setting("", "Why the cookie is set, in English.")
    lifetime: str = setting("session", 'How long it lives, e.g. "13 months"; "session" for session cookies.')
    party: str = setting("first", "first or third party.", choices=("first", "third"))
    domain: str = setting("", "Domain the cookie is set on; empty means the site's host.")
    path: str = setting("/", "Path the cookie is set on.")
    justification: str = setting(
        "",
        "Why a necessary cookie is necessary, in any language; a necessary cookie needs this or "
        "both `justification_sv` and `justification_en`.",
    )
    justification_sv: str = setting("", "Why a necessary cookie is necessary, in Swedish.")
    justification_en: str = setting("", "Why a necessary cookie is necessary, in English.")
    storage_keys: list[str] = setting([], "localStorage / sessionStorage keys that belong with this cookie.")
    recipients: list[str] = setting(
        [], "Who else receives the data the cookie carries (e.g. an ad network); shown in the policy."
    )
    transfer_country: str = setting(
        "", "Country outside the EU/EEA the data is transferred to; empty: it stays within the EU/EEA."
    )
    transfer_safeguard: str = setting(
        "",
        "The legal ground for that transfer: adequacy (an adequacy decision, e.g. the EU-US Data "
        "Privacy Framework), scc (standard contractual clauses) or bcr (binding corporate rules).",
        choices=("", "adequacy", "scc", "bcr"),
    )


@dataclass(frozen=True)
class Category:
    id: str = required("Identifier, e.g. `support_chat`.")
    name_sv: str = setting("", "Swedish name.")
    name_en: str = setting("", "English name.")
    description_sv: str = setting("", "Swedish description shown in the banner's second layer.")
    description_en: str = setting("", "English description shown in the banner's second layer.")


@dataclass(frozen=True)
class Notice:
    version: str = setting("1", "Version of the banner and policy texts; bump it to ask everyone again.")
    deployed_at: str = setting("", "When this version went live (RFC 3339); empty: first start.")
    title_sv: str = setting("", "Banner title in Swedish; empty: the built-in text.")
    title_en: str = setting("", "Banner title in English; empty: the built-in text.")
    text_sv: str = setting("", "Banner text in Swedish; empty: the built-in text.")
    text_en: str = setting("", "Banner text in English; empty: the built-in text.")


@dataclass(frozen=True)
class Controller:
    name: str = setting("", "The personuppgiftsansvarig: the organisation responsible for the data.")
    org_number: str = setting("", "Organisation number.")
    address: str = setting("", "Postal address.")
    email: str = setting("", "Contact address for privacy questions.")
    dpo_email: str = setting("", "Contact address of the data protection officer.")


@dataclass(frozen=True)
class Goal:
    id: int = required("Matomo goal id (`idgoal`).")
    name: str = required("Goal name shown in statistics.")
    page: str = setting("", "Path pattern that converts, `*` as wildcard, e.g. `/tack*`.")
    event_category: str = setting("", "Event category that converts.")
    event_action: str = setting("", "Event action that converts.")
    event_name: str = setting("", "Event name that converts.")
    revenue: float = setting(
        0.0,
        "Revenue counted for a conversion whose hit sends none (Matomo's default goal revenue).",
        minimum=0,
    )


# Per site, the environment variable is named after the site's id, e.g. SAMTYCKE_SITE_1_ACCOUNTS_SECRET.
ACCOUNTS_SECRET_ENV = "SAMTYCKE_SITE_{id}_ACCOUNTS_SECRET"  # noqa: S105 - a variable's name


@dataclass(frozen=True)
class Accounts:
    secret: str = setting(
        "",
        "Shared secret (at least 32 characters) with which the site's customer portal signs account "
        "tokens (HS256 JWTs): a choice made with one follows the customer's account to their other "
        "devices. Set it through the environment, not the file. Empty: choices follow no account.",
        env=ACCOUNTS_SECRET_ENV.replace("{id}", "<id>"),
        secret=True,
    )


@dataclass(frozen=True)
class CustomDimension:
    id: int = required("Matomo's custom dimension number: `dimensionN` in the tracking request.", minimum=1)
    name: str = required(
        "The name reports use (`event:props:<name>`): letters, digits, spaces, `_` and `-`, not only digits."
    )
    scope: str = setting(
        "action",
        "visit: one value per visit (its last), counting everything the visit did; action: the "
        "value of each hit, counting only hits that carry it.",
        choices=("visit", "action"),
    )


@dataclass(frozen=True)
class Site:
    id: int = required("The Matomo `idsite`.", minimum=1, maximum=2**32 - 1)
    name: str = required("Shown in the dashboard, banner and policy.")
    domains: list[str] = required("Host names the site is served on; hits and CORS are limited to them.")
    timezone: str = setting("Europe/Stockholm", "IANA time zone for days, midnights and salt rotation.")
    retention_months: int = setting(13, "Raw events are deleted after this many months; rollups remain.")
    honour_dnt: bool = setting(True, "Drop hits that carry `DNT: 1`.")
    honour_gpc: bool = setting(True, "Treat `Sec-GPC: 1` as an opt-out of marketing and of tracking ids.")
    statistics_mode: str = setting(
        "cookieless",
        "cookieless: visits are counted without cookies when the visitor has not consented to "
        "statistics (a daily-salted hash), and with the tracker's visitor id when they have. "
        "consent: hits are counted only with consent to statistics. The policy states the "
        "legal basis of the chosen mode; docs/statistics-modes.md explains both.",
        choices=("cookieless", "consent"),
    )
    geo_detail: str = setting(
        "country",
        "Location detail kept: none, country, region or city.",
        choices=("none", "country", "region", "city"),
    )
    excluded_ips: list[str] = setting([], "Networks whose hits are not counted (e.g. the office).")
    referrer_spam: list[str] = setting([], "Referrer hosts whose hits are dropped as spam.")
    unknown_cookies: str = setting(
        "block",
        "What server-side enforcement does with cookies missing from the registry.",
        choices=("block", "allow"),
    )
    cookie_paths: list[str] = setting(
        [],
        "Paths besides `/` that the site's pages or embeds set cookies on, e.g. `/shop`. The "
        "banner and server-side enforcement expire cookies without consent on each, since a "
        "browser tells no one a cookie's path.",
    )
    policy_url: str = setting("", "The site's own privacy policy; empty: samtycke's generated page.")
    group: str = setting(
        "",
        "Name of the group of the organisation's own sites that this site shares a visitor's "
        "choice with; empty: none. A visitor who follows a link from one site of the group to "
        "another brings their choice along through a one-time code, and the policy page names "
        "every site of the group. Being one value, it puts a site in one group at most; a group "
        "needs at least two sites.",
    )
    controller: Controller = setting(Controller(), "Controller details for the generated policy.")
    notice: Notice = setting(Notice(), "Current version of the banner and policy texts.")
    categories: list[Category] = setting([], "Custom categories beside the four built-in ones.")
    cookies: list[CookieEntry] = setting([], "The cookie registry.")
    goals: list[Goal] = setting([], "Conversion goals.")
    dimensions: list[CustomDimension] = setting(
        [],
        "Declared custom dimensions, reported under their names. Undeclared ones are still "
        "stored and are reported under their numbers (`event:props:3`).",
    )
    accounts: Accounts = setting(Accounts(), "Consent that follows a customer's account.")


@dataclass(frozen=True)
class Token:
    name: str = required("Who holds the token.")
    role: str = required("marketer, auditor or admin.", choices=("marketer", "auditor", "admin"))
    sha256: str = required("Hex sha256 of the bearer token; the token itself never goes in a file.")


@dataclass(frozen=True)
class User:
    name: str = required("Login name.")
    role: str = required("marketer, auditor or admin.", choices=("marketer", "auditor", "admin"))
    password_argon2: str = required("argon2 hash of the password (`samtycke hash-password`).")


@dataclass(frozen=True)
class Settings:
    storage: StorageSettings = setting(StorageSettings(), "Where data lives.")
    journal: JournalSettings = setting(JournalSettings(), "The local write-ahead journal.")
    server: ServerSettings = setting(ServerSettings(), "The HTTP server.")
    analytics: AnalyticsSettings = setting(AnalyticsSettings(), "The statistics collector.")
    consent: ConsentSettings = setting(ConsentSettings(), "Consent receipts and the log.")
    sites: list[Site] = setting([], "The sites samtycke serves.")
    tokens: list[Token] = setting([], "API bearer tokens.")
    users: list[User] = setting([], "People who log in to the dashboard and auditor pages.")

    def site(self, site_id: int) -> Site | None:
        for site in self.sites:
            if site.id == site_id:
                return site
        return None
