"""A Matomo tracking request, parsed into a validated value before anything else runs.

``parse_query`` turns raw query-string bytes into parameters (strict UTF-8) and
``parse_hit`` turns parameters into a ``Hit``.  Anything malformed raises ``InvalidHit``
(400) naming the parameter; values the pipeline would otherwise have to second-guess
(numbers out of range, oversized text) never get past this module.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import unquote_to_bytes

from samtycke.errors import BadRequest
from samtycke.numbers import is_integer, is_whole_number

MAX_VALUE_BYTES = 8192
MAX_QUERY_BYTES = 64 * 1024
MAX_PARAMETERS = 200
MAX_SITE_ID = 2**31 - 1
MAX_AMOUNT = 1e15
MAX_DIMENSION = 999
MAX_DIMENSION_VALUE = 255

_VISITOR_ID = re.compile(r"[0-9a-fA-F]{16}")
_RESOLUTION = re.compile(r"(\d{1,5})x(\d{1,5})")
_DIMENSION = re.compile(r"dimension(\d{1,4})")


class InvalidHit(BadRequest):
    code = "invalid_tracking_request"


@dataclass(frozen=True)
class Hit:
    """One tracking request, as the tracker sent it (validated, nothing derived yet)."""

    idsite: int
    rec: bool
    url: str = ""
    action_name: str = ""
    urlref: str = ""
    pv_id: str = ""
    visitor_id: str = ""  # `_id`, the tracker cookie's id
    cid: str = ""
    uid: str = ""
    new_visit: bool = False
    cdt: datetime | None = None
    cip: str = ""
    token_auth: str = ""
    event_category: str = ""
    event_action: str = ""
    event_name: str = ""
    event_value: float | None = None
    idgoal: int | None = None
    revenue: float | None = None
    search: str = ""
    search_cat: str = ""
    search_count: int | None = None
    link: str = ""  # outlink target
    download: str = ""
    ping: bool = False
    bots: bool = False
    send_image: bool = True
    resolution: str = ""
    lang: str = ""
    ua: str = ""
    uadata: Mapping[str, Any] = field(default_factory=dict)
    consent: bool = False
    dimensions: Mapping[str, str] = field(default_factory=dict)


def parse_query(raw: bytes | str, source: str = "query") -> dict[str, str]:
    """Parameters from query-string text; the last value of a repeated name wins, as in PHP.

    Hand-rolled rather than ``parse_qsl``: this runs for every hit and most values need no
    unquoting, which ``parse_qsl`` does regardless.
    """
    if len(raw) > MAX_QUERY_BYTES:
        raise InvalidHit(f"the {source} is over {MAX_QUERY_BYTES} bytes", field=source)
    data = raw.encode("utf-8", "surrogatepass") if isinstance(raw, str) else raw
    if data[:1] == b"?":
        data = data[1:]
    params: dict[str, str] = {}
    if not data:
        return params
    parts = data.split(b"&")
    if len(parts) > MAX_PARAMETERS:
        raise InvalidHit(f"the {source} has more than {MAX_PARAMETERS} parameters", field=source)
    try:
        for part in parts:
            if not part:
                continue
            name, _, value = part.partition(b"=")
            params[_unquote(name)] = _unquote(value)
    except UnicodeDecodeError as exc:
        raise InvalidHit(f"the {source} is not valid UTF-8", field=source) from exc
    return params


def _unquote(data: bytes) -> str:
    if b"+" in data:
        data = data.replace(b"+", b" ")
    if b"%" in data:
        data = unquote_to_bytes(data)
    return data.decode("utf-8")


def parse_hit(params: Mapping[str, str]) -> Hit:
    """Validate tracking parameters; raises ``InvalidHit`` naming the first bad one."""
    for name, value in params.items():
        if len(value.encode("utf-8", "surrogatepass")) > MAX_VALUE_BYTES:
            raise InvalidHit(f"{name} is over {MAX_VALUE_BYTES} bytes", field=_shown(name))
        if "\x00" in value:
            raise InvalidHit(f"{name} contains a NUL character", field=_shown(name))
    p = _Params(params)
    if "idsite" not in params:
        raise InvalidHit("idsite is required", field="idsite")
    return Hit(
        idsite=p.integer("idsite", 1, MAX_SITE_ID),
        rec=params.get("rec") == "1",
        url=p.text("url"),
        action_name=p.text("action_name", 2048),
        urlref=p.text("urlref"),
        pv_id=p.text("pv_id", 64),
        visitor_id=p.pattern("_id", _VISITOR_ID, strict=False).lower(),
        cid=p.pattern("cid", _VISITOR_ID, strict=True).lower(),
        uid=p.text("uid", 200),
        new_visit=p.flag("new_visit"),
        cdt=p.timestamp("cdt"),
        cip=p.text("cip", 64),
        token_auth=p.text("token_auth", 256),
        event_category=p.text("e_c", 500),
        event_action=p.text("e_a", 500),
        event_name=p.text("e_n", 500),
        event_value=p.amount("e_v"),
        idgoal=p.optional_integer("idgoal", 0, MAX_SITE_ID),
        revenue=p.amount("revenue"),
        search=p.text("search", 500),
        search_cat=p.text("search_cat", 500),
        search_count=p.optional_integer("search_count", 0, MAX_SITE_ID),
        link=p.text("link"),
        download=p.text("download"),
        ping=p.flag("ping"),
        bots=p.flag("bots"),
        send_image=params.get("send_image", "1") != "0",
        resolution=p.pattern("res", _RESOLUTION, strict=False),
        lang=p.text("lang", 200),
        ua=p.text("ua", 1024),
        uadata=p.json_object("uadata"),
        consent=p.flag("consent"),
        dimensions=p.dimensions(),
    )


def _shown(name: str) -> str:
    return name if len(name) <= 64 else name[:64] + "…"


class _Params:
    def __init__(self, params: Mapping[str, str]) -> None:
        self.params = params

    def text(self, name: str, limit: int = MAX_VALUE_BYTES) -> str:
        value = self.params.get(name, "")
        if len(value) > limit:
            raise InvalidHit(f"{name} is longer than {limit} characters", field=name)
        return value

    def flag(self, name: str) -> bool:
        value = self.params.get(name, "")
        if value in ("", "0"):
            return False
        if value == "1":
            return True
        raise InvalidHit(f"{name} must be 0 or 1", field=name)

    def integer(self, name: str, low: int, high: int) -> int:
        value = self.params.get(name, "").strip()
        if not is_integer(value):
            raise InvalidHit(f"{name} must be a whole number", field=name)
        if len(value) > 20 or not low <= int(value) <= high:
            raise InvalidHit(f"{name} must be between {low} and {high}", field=name)
        return int(value)

    def optional_integer(self, name: str, low: int, high: int) -> int | None:
        if self.params.get(name, "") == "":
            return None
        return self.integer(name, low, high)

    def amount(self, name: str) -> float | None:
        value = self.params.get(name, "").strip()
        if value == "":
            return None
        try:
            number = float(value)
        except ValueError as exc:
            raise InvalidHit(f"{name} must be a number", field=name) from exc
        if not math.isfinite(number) or abs(number) > MAX_AMOUNT:
            raise InvalidHit(f"{name} must be a finite number below {MAX_AMOUNT:.0e}", field=name)
        return number

    def pattern(self, name: str, pattern: re.Pattern[str], *, strict: bool) -> str:
        value = self.params.get(name, "")
        if value == "" or pattern.fullmatch(value):
            return value
        if strict:
            raise InvalidHit(f"{name} has the wrong format", field=name)
        return ""  # what trackers send here is informative only; a bad value is ignored

    def timestamp(self, name: str) -> datetime | None:
        value = self.params.get(name, "").strip()
        if value == "":
            return None
        try:
            if is_whole_number(value):
                seconds = int(value[:10]) if len(value) == 13 else int(value)  # ms, as some trackers send
                if seconds > 4_102_444_800:  # 2100-01-01
                    raise ValueError(value)
                return datetime.fromtimestamp(seconds, UTC)
            parsed = datetime.fromisoformat(value)
        except (ValueError, OverflowError, OSError) as exc:
            raise InvalidHit(f"{name} must be a Unix timestamp or 'YYYY-MM-DD HH:MM:SS'", field=name) from exc
        return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)

    def json_object(self, name: str) -> Mapping[str, Any]:
        value = self.params.get(name, "")
        if value == "":
            return {}
        try:
            parsed = json.loads(value)
        except ValueError:
            return {}  # client hints are optional; a bad blob means "none"
        return parsed if isinstance(parsed, dict) else {}

    def dimensions(self) -> dict[str, str]:
        found: dict[str, str] = {}
        for name, value in self.params.items():
            match = _DIMENSION.fullmatch(name)
            if match is None:
                continue
            if not 1 <= int(match.group(1)) <= MAX_DIMENSION:
                raise InvalidHit(f"custom dimensions are numbered 1-{MAX_DIMENSION}", field=name)
            found[match.group(1)] = value[:MAX_DIMENSION_VALUE]
        return found
