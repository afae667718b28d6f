"""Reading a TOML file (and the environment handed in by the CLI) into ``Settings``.

Validation is strict: an unknown key, a value of the wrong type or a bad URL raises
``ConfigError`` naming the key, e.g. ``sites[0].cookies[2].category``.  The CLI prints that
as one paragraph and exits with status 2.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import re
import tomllib
import types
import typing
from collections.abc import Mapping
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from samtycke.settings import Secret, Settings, Site
from samtycke.settings.declared import ACCOUNTS_SECRET_ENV, BUILTIN_CATEGORIES, NECESSARY

T = TypeVar("T")
MIN_ACCOUNTS_SECRET = 32


class ConfigError(Exception):
    def __init__(self, key: str, message: str, source: str = "") -> None:
        super().__init__(f"{key}: {message}")
        self.key = key
        self.message = message
        self.source = source

    def explain(self) -> str:
        where = f" in {self.source}" if self.source else ""
        return (
            f"Configuration error{where}: `{self.key}` {self.message}. "
            "Fix the value and start again; `samtycke init` writes a commented example "
            "and the README lists every setting."
        )


def load(path: Path | None, environ: Mapping[str, str]) -> Settings:
    """Settings from ``path`` (or the built-in demo when None), overridden by ``environ``."""
    if path is None:
        raw = demo_config()
        source = "the built-in demo configuration"
    else:
        source = str(path)
        try:
            raw = tomllib.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError as exc:
            raise ConfigError("--config", f"names a file that does not exist ({path})", source) from exc
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError("(file)", f"is not valid TOML: {exc}", source) from exc
    apply_environment(raw, environ)
    try:
        return from_mapping(raw)
    except ConfigError as exc:
        exc.source = source
        raise


def apply_environment(raw: dict[str, Any], environ: Mapping[str, str]) -> None:
    """Environment variables declared on settings win over the file."""
    hints = typing.get_type_hints(Settings)
    for section_field in dataclasses.fields(Settings):
        section_type = hints[section_field.name]
        if not dataclasses.is_dataclass(section_type):
            continue
        for item in dataclasses.fields(section_type):
            env = item.metadata.get("env")
            if env and env in environ:
                value: Any = environ[env]
                if typing.get_type_hints(section_type)[item.name] == list[str]:
                    value = [part.strip() for part in value.split(",") if part.strip()]
                raw.setdefault(section_field.name, {})[item.name] = value
    sites = raw.get("sites")
    for site in sites if isinstance(sites, list) else []:
        # A site's secret is named by its id; a site whose id is not yet valid is left to _build to name.
        if isinstance(site, dict) and isinstance(site.get("id"), int):
            env = ACCOUNTS_SECRET_ENV.format(id=site["id"])
            if env in environ:
                accounts = site.setdefault("accounts", {})
                if isinstance(accounts, dict):
                    accounts["secret"] = environ[env]


def from_mapping(raw: Mapping[str, Any]) -> Settings:
    settings = _build(Settings, raw, "")
    _check(settings)
    return settings


def _build(cls: type[T], raw: Any, prefix: str) -> T:
    if not isinstance(raw, Mapping):
        raise ConfigError(prefix or "(top level)", "must be a table")
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    for key in raw:
        if key not in fields:
            known = ", ".join(sorted(fields))
            raise ConfigError(_join(prefix, key), f"is not a known setting (known here: {known})")
    values: dict[str, Any] = {}
    for name, spec in fields.items():
        key = _join(prefix, name)
        if name not in raw:
            if spec.metadata.get("required"):
                raise ConfigError(key, "is required")
            continue
        values[name] = _convert(hints[name], raw[name], key)
        if spec.metadata.get("secret") and isinstance(values[name], str):
            values[name] = Secret(values[name])
        choices = spec.metadata.get("choices")
        if choices and values[name] not in choices:
            raise ConfigError(key, f"must be one of {', '.join(choices)}, not {values[name]!r}")
        low, high = spec.metadata.get("minimum"), spec.metadata.get("maximum")
        if low is not None and values[name] < low:
            raise ConfigError(key, f"must be at least {low}")
        if high is not None and values[name] > high:
            raise ConfigError(key, f"must be at most {high}")
    return cls(**values)


def _convert(hint: Any, value: Any, key: str) -> Any:
    origin = typing.get_origin(hint)
    if origin is list:
        (item_type,) = typing.get_args(hint)
        if not isinstance(value, list):
            raise ConfigError(key, "must be a list")
        return [_convert(item_type, item, f"{key}[{i}]") for i, item in enumerate(value)]
    if origin in (types.UnionType, typing.Union):
        raise ConfigError(key, "has an unsupported type")  # no optional settings: defaults instead
    if dataclasses.is_dataclass(hint):
        return _build(hint, value, key)  # type: ignore[arg-type]
    if hint is bool:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("true", "false", "1", "0"):
            return value.lower() in ("true", "1")
        raise ConfigError(key, f"must be true or false, not {value!r}")
    if hint is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        # From the environment every value is text.  ASCII digits only, and few enough that
        # int() accepts them (it refuses over 4300) and every setting can hold them.
        if isinstance(value, str) and re.fullmatch(r"-?[0-9]{1,18}", value):
            return int(value)
        raise ConfigError(key, f"must be a whole number, not {value!r}")
    if hint is float:
        if isinstance(value, int | float) and not isinstance(value, bool):
            return float(value)
        raise ConfigError(key, f"must be a number, not {value!r}")
    if hint is str:
        if isinstance(value, str):
            return value
        raise ConfigError(key, f"must be a string, not {value!r}")
    raise ConfigError(key, f"has an unsupported type {hint!r}")


def _join(prefix: str, key: str) -> str:
    return f"{prefix}.{key}" if prefix else key


def _check(settings: Settings) -> None:
    """Rules that span several keys."""
    url = settings.storage.clickhouse_url
    if url:
        parts = urlsplit(url)
        if parts.scheme == "chdb":
            if not parts.path.startswith("/") or parts.netloc:
                raise ConfigError(
                    "storage.clickhouse_url", "must be chdb:///<absolute path> for the embedded engine"
                )
        elif parts.scheme in ("http", "https"):
            if not parts.hostname:
                raise ConfigError(
                    "storage.clickhouse_url", "needs a host name, e.g. http://host:8123/samtycke"
                )
            try:
                parts.port  # noqa: B018 - raises ValueError for a malformed port
            except ValueError as exc:
                raise ConfigError("storage.clickhouse_url", "has an invalid port") from exc
            if parts.path.strip("/"):
                _identifier(parts.path.strip("/"), "storage.clickhouse_url", "its database (the path)")
        else:
            raise ConfigError(
                "storage.clickhouse_url",
                f"must start with chdb://, http:// or https://, not {parts.scheme or url!r}",
            )
    _identifier(settings.storage.database, "storage.database")
    if settings.storage.cluster:
        _identifier(settings.storage.cluster, "storage.cluster")
    for i, network in enumerate(settings.server.trusted_proxies):
        _network(network, f"server.trusted_proxies[{i}]")
    seen: set[int] = set()
    for i, site in enumerate(settings.sites):
        if site.id in seen:
            raise ConfigError(f"sites[{i}].id", f"repeats site id {site.id}")
        seen.add(site.id)
        _check_site(site, f"sites[{i}]")
    _check_groups(settings)
    for i, token in enumerate(settings.tokens):
        if not re.fullmatch(r"[0-9a-f]{64}", token.sha256):
            raise ConfigError(
                f"tokens[{i}].sha256", "must be 64 lowercase hex digits (a sha256, never the token)"
            )


GROUP_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")


def _check_groups(settings: Settings) -> None:
    """A group names at least two sites, so that a site alone never hands out codes."""
    members: dict[str, list[int]] = {}
    for i, site in enumerate(settings.sites):
        if not site.group:
            continue
        if not GROUP_NAME.fullmatch(site.group):
            raise ConfigError(f"sites[{i}].group", "must be letters, digits, _, . and -, up to 64 characters")
        members.setdefault(site.group, []).append(i)
    for name, indices in members.items():
        if len(indices) < 2:
            raise ConfigError(
                f"sites[{indices[0]}].group",
                f"names group {name!r}, which no other site is in; a group needs at least two sites",
            )


def _check_site(site: Site, key: str) -> None:
    if site.id < 1:
        raise ConfigError(f"{key}.id", "must be a positive whole number")
    if not site.domains:
        raise ConfigError(f"{key}.domains", "must list at least one host name")
    try:
        ZoneInfo(site.timezone)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ConfigError(f"{key}.timezone", f"is not a known time zone: {site.timezone!r}") from exc
    for i, network in enumerate(site.excluded_ips):
        _network(network, f"{key}.excluded_ips[{i}]")
    if site.accounts.secret and len(site.accounts.secret) < MIN_ACCOUNTS_SECRET:
        raise ConfigError(
            f"{key}.accounts.secret",
            f"must have at least {MIN_ACCOUNTS_SECRET} characters (HS256 wants 256 bits), e.g. from "
            "`openssl rand -hex 32`",
        )
    for i, path in enumerate(site.cookie_paths):
        # Written into the Path attribute of expiring cookies: a path, and nothing that ends it.
        if not re.fullmatch(r"/[^\s;,]*", path):
            raise ConfigError(f"{key}.cookie_paths[{i}]", f"must be a path starting with /, not {path!r}")
    _check_dimensions(site, key)
    categories = set(BUILTIN_CATEGORIES) | {c.id for c in site.categories}
    for i, category in enumerate(site.categories):
        if not re.fullmatch(r"[a-z][a-z0-9_]{0,39}", category.id):
            raise ConfigError(f"{key}.categories[{i}].id", "must be lowercase letters, digits and _")
    for i, cookie in enumerate(site.cookies):
        where = f"{key}.cookies[{i}]"
        if cookie.category not in categories:
            raise ConfigError(f"{where}.category", f"names an unknown category {cookie.category!r}")
        justified = cookie.justification.strip() or (
            cookie.justification_sv.strip() and cookie.justification_en.strip()
        )
        if cookie.category == NECESSARY and not justified:
            raise ConfigError(
                f"{where}.justification",
                "is required for a necessary cookie (or both justification_sv and justification_en)",
            )
        if cookie.transfer_country.strip() and not cookie.transfer_safeguard:
            raise ConfigError(
                f"{where}.transfer_safeguard",
                "must name the legal ground (adequacy, scc or bcr) for a transfer outside the EU/EEA",
            )
        if cookie.regex:
            try:
                re.compile(cookie.name)
            except re.error as exc:
                raise ConfigError(f"{where}.name", f"is not a valid regular expression: {exc}") from exc


# Matomo numbers custom dimensions from 1; the collector accepts up to 999.
MAX_CUSTOM_DIMENSION = 999
# Also the shape the stats API accepts after ``event:props:``.
CUSTOM_DIMENSION_NAME = re.compile(r"\w[\w -]{0,63}")


def _check_dimensions(site: Site, key: str) -> None:
    ids: set[int] = set()
    names: set[str] = set()
    for i, dimension in enumerate(site.dimensions):
        where = f"{key}.dimensions[{i}]"
        if dimension.id > MAX_CUSTOM_DIMENSION:
            raise ConfigError(f"{where}.id", f"must be at most {MAX_CUSTOM_DIMENSION}")
        if dimension.id in ids:
            raise ConfigError(f"{where}.id", f"repeats dimension {dimension.id}")
        # Reports name undeclared dimensions by their numbers, so a name never looks like one.
        if not CUSTOM_DIMENSION_NAME.fullmatch(dimension.name) or dimension.name.isdigit():
            raise ConfigError(
                f"{where}.name",
                "must be 1-64 letters, digits, spaces, _ or - (not starting with a space or -), and not"
                " only digits",
            )
        if dimension.name.casefold() in names:
            raise ConfigError(f"{where}.name", f"repeats the name {dimension.name!r}")
        ids.add(dimension.id)
        names.add(dimension.name.casefold())


# Database and cluster names are written into DDL (``ON CLUSTER `c```, ``Distributed(`c`, `db`, ...)``),
# where no query parameter can stand in for them, so only plain names get that far.
IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_-]{0,63}")


def _identifier(value: str, key: str, what: str = "it") -> None:
    if not IDENTIFIER.fullmatch(value):
        raise ConfigError(
            key, f"must be a ClickHouse name: {what} may hold letters, digits, _ and -, up to 64 characters"
        )


def _network(value: str, key: str) -> None:
    try:
        ipaddress.ip_network(value, strict=False)
    except ValueError as exc:
        raise ConfigError(key, f"is not an IP network: {value!r}") from exc


def demo_config() -> dict[str, Any]:
    """The built-in demo: one site served on this machine, so `samtycke serve` works bare."""
    text = (Path(__file__).parent / "demo" / "demo.toml").read_text(encoding="utf-8")
    return tomllib.loads(text)
