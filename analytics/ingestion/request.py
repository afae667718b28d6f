"""A Matomo tracking request, parsed into a validated value before anything else runs.

``parse_query`` splits query-string text into ``Params`` and ``parse_hit`` turns those into
a ``Hit``.  Anything malformed raises ``InvalidHit`` (400) naming the parameter; values the
pipeline would otherwise have to second-guess (numbers out of range, oversized text,
invalid UTF-8) never get past this module.

This runs for every hit, and trackers send two dozen parameters of which a hit uses a
handful, so values are percent-decoded (and validated) only when read: parameters nobody
reads are never stored, and so never need decoding.
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote, unquote_to_bytes

from samtycke import jsontext
from samtycke.numbers import is_integer, is_whole_number
from samtycke.web.errors import BadRequest

MAX_VALUE_BYTES = 8192
MAX_QUERY_BYTES = 64 * 1024
MAX_PARAMETERS = 200
MAX_SITE_ID = 2**31 - 1
MAX_AMOUNT = 1e15
MAX_DIMENSION = 999
MAX_DIMENSION_VALUE = 255
MAX_CACHED_VALUE = 512

_VISITOR_ID = re.compile(r"[0-9a-fA-F]{16}")
_RESOLUTION = re.compile(r"(\d{1,5})x(\d{1,5})")
_DIMENSION = re.compile(r"dimension(\d{1,4})")


class InvalidHit(BadRequest):
    code = "invalid_tracking_request"


@dataclass(slots=True)  # not frozen: a frozen __init__ costs microseconds per hit
class Hit:
    """One tracking request, as the tracker sent it (validated, nothing derived yet)."""

    idsite: int
    rec: bool = False
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
    # Ecommerce, as sent: read and bounded by ``analytics.ingestion.ecommerce`` (a malformed
    # value drops the hit with a counted reason rather than failing the request).
    ec_id: str = ""
    ec_items: str = ""
    ec_subtotal: str = ""
    ec_tax: str = ""
    ec_shipping: str = ""
    ec_discount: str = ""
    product_sku: str = ""  # _pks .. _pkp: the product (or category) a pageview shows
    product_name: str = ""
    product_category: str = ""
    product_price: str = ""


class Params:
    """Tracking parameters as sent: split once, each value percent-decoded when it is read.

    The last value of a repeated name wins, as in PHP.
    """

    __slots__ = ("_encoded", "source")

    def __init__(self, encoded: dict[str, str], source: str = "query") -> None:
        self._encoded = encoded  # name -> value, still percent-encoded
        self.source = source

    @classmethod
    def of(cls, values: Mapping[str, str], source: str = "query") -> Params:
        """Parameters that arrived already decoded (bulk JSON objects, defaults)."""
        return cls({name: _encode(name, value) for name, value in values.items()}, source)

    def __contains__(self, name: str) -> bool:
        return name in self._encoded

    def __len__(self) -> int:
        return len(self._encoded)

    def get(self, name: str) -> str:
        """The decoded value of ``name``, or "" when it was not sent."""
        value = self._encoded.get(name)
        return _value(name, value) if value else ""

    def items(self) -> Iterable[tuple[str, str]]:
        """Names with their values still percent-encoded; ``_value`` decodes one."""
        return self._encoded.items()

    def update(self, other: Params) -> None:
        self._encoded.update(other._encoded)

    def setdefault(self, name: str, value: str) -> None:
        """Add an already decoded value unless ``name`` was sent."""
        if name not in self._encoded:
            self._encoded[name] = _encode(name, value)


def _value(name: str, value: str) -> str:
    """A parameter's value decoded and checked: UTF-8, its size, no NUL."""
    if "%" in value or "+" in value:
        try:
            value = _decoded(value) if len(value) <= MAX_CACHED_VALUE else _decode(value)
        except UnicodeDecodeError as exc:
            raise InvalidHit(f"{_shown(name)} is not valid UTF-8", field=_shown(name)) from exc
    # A character is at most four UTF-8 bytes: short values need no encoding to measure.
    if len(value) > MAX_VALUE_BYTES // 4 and _utf8_length(value) > MAX_VALUE_BYTES:
        raise InvalidHit(f"{_shown(name)} is over {MAX_VALUE_BYTES} bytes", field=_shown(name))
    if "\x00" in value:
        raise InvalidHit(f"{_shown(name)} contains a NUL character", field=_shown(name))
    return value


def parse_query(raw: bytes | str, source: str = "query") -> Params:
    """Split query-string text into parameters; raises ``InvalidHit`` for oversized or non-UTF-8 text."""
    if len(raw) > MAX_QUERY_BYTES:
        raise InvalidHit(f"the {source} is over {MAX_QUERY_BYTES} bytes", field=source)
    if isinstance(raw, bytes):
        try:
            raw = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise InvalidHit(f"the {source} is not valid UTF-8", field=source) from exc
    text = raw.removeprefix("?")
    if not text:
        return Params({}, source)
    if text.count("&") >= MAX_PARAMETERS:
        raise InvalidHit(f"the {source} has more than {MAX_PARAMETERS} parameters", field=source)
    encoded: dict[str, str] = {}
    for part in text.split("&"):  # a plain loop: twice as fast as dict() over a generator
        if part:
            name, _, value = part.partition("=")
            encoded[name] = value
    names = "".join(encoded)
    if "%" in names or "+" in names:
        encoded = {_decode_name(name, source): value for name, value in encoded.items()}
    return Params(encoded, source)


def _decode(value: str) -> str:
    return unquote_to_bytes(value.replace("+", " ")).decode("utf-8")


# Page URLs, titles and referrers repeat from hit to hit, and decoding them is a good
# share of parsing one; short ones are remembered (a few MB at most, in memory only).
_decoded = functools.lru_cache(maxsize=4096)(_decode)


def _encode(name: str, value: str) -> str:
    try:
        return quote(value, safe="")
    except UnicodeEncodeError as exc:  # a lone surrogate, from a JSON escape
        raise InvalidHit(f"{_shown(name)} is not valid Unicode text", field=_shown(name)) from exc


def _decode_name(name: str, source: str) -> str:
    try:
        return unquote_to_bytes(name.replace("+", " ")).decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidHit(f"a parameter name in the {source} is not valid UTF-8", field=source) from exc


def parse_hit(params: Params | Mapping[str, str]) -> Hit:
    """Validate tracking parameters; raises ``InvalidHit`` naming the first bad one.

    Only parameters a ``Hit`` has a field for are read; the rest are ignored, as Matomo does.
    """
    if not isinstance(params, Params):
        params = Params.of(params)
    if "idsite" not in params:
        raise InvalidHit("idsite is required", field="idsite")
    fields: dict[str, Any] = {}
    dimensions: dict[str, str] = {}
    for name, value in params.items():
        reader = _READERS.get(name)
        if reader is not None:
            attribute, read = reader
            fields[attribute] = read(name, _value(name, value) if value else "")
        elif name not in _IGNORED and name.startswith("dimension"):
            _dimension(name, _value(name, value) if value else "", dimensions)
    if dimensions:
        fields["dimensions"] = dimensions
    return Hit(**fields)


def _utf8_length(value: str) -> int:
    return len(value.encode("utf-8", "surrogatepass"))


def _shown(name: str) -> str:
    return name if len(name) <= 64 else name[:64] + "…"


Reader = Callable[[str, str], Any]


def _text(limit: int = MAX_VALUE_BYTES) -> Reader:
    def read(name: str, value: str) -> str:
        if len(value) > limit:
            raise InvalidHit(f"{name} is longer than {limit} characters", field=name)
        return value

    return read


def _flag(name: str, value: str) -> bool:
    if value in ("", "0"):
        return False
    if value == "1":
        return True
    raise InvalidHit(f"{name} must be 0 or 1", field=name)


def _integer(low: int, high: int) -> Reader:
    def read(name: str, value: str) -> int:
        value = value.strip()
        if not is_integer(value):
            raise InvalidHit(f"{name} must be a whole number", field=name)
        if len(value) > 20 or not low <= int(value) <= high:
            raise InvalidHit(f"{name} must be between {low} and {high}", field=name)
        return int(value)

    return read


def _optional_integer(low: int, high: int) -> Reader:
    required = _integer(low, high)

    def read(name: str, value: str) -> int | None:
        return None if value == "" else required(name, value)

    return read


def _amount(name: str, value: str) -> float | None:
    value = value.strip()
    if value == "":
        return None
    try:
        number = float(value)
    except ValueError as exc:
        raise InvalidHit(f"{name} must be a number", field=name) from exc
    if not math.isfinite(number) or abs(number) > MAX_AMOUNT:
        raise InvalidHit(f"{name} must be a finite number below {MAX_AMOUNT:.0e}", field=name)
    return number


def _pattern(pattern: re.Pattern[str], *, strict: bool) -> Reader:
    def read(name: str, value: str) -> str:
        if value == "" or pattern.fullmatch(value):
            return value.lower() if pattern is _VISITOR_ID else value
        if strict:
            raise InvalidHit(f"{name} has the wrong format", field=name)
        return ""  # what trackers send here is informative only; a bad value is ignored

    return read


def _timestamp(name: str, value: str) -> datetime | None:
    value = value.strip()
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


def _json_object(name: str, value: str) -> Mapping[str, Any]:
    if value == "":
        return {}
    try:
        parsed = jsontext.parse(value)
    except jsontext.NotJSON:
        return {}  # client hints are optional; a bad blob means "none"
    return parsed if isinstance(parsed, dict) else {}


def _send_image(name: str, value: str) -> bool:
    return value != "0"


def _dimension(name: str, value: str, found: dict[str, str]) -> None:
    match = _DIMENSION.fullmatch(name)
    if match is None:
        return
    if not 1 <= int(match.group(1)) <= MAX_DIMENSION:
        raise InvalidHit(f"custom dimensions are numbered 1-{MAX_DIMENSION}", field=name)
    found[str(int(match.group(1)))] = value[:MAX_DIMENSION_VALUE]  # dimension07 is dimension 7


# Tracking parameter -> (Hit field, reader).
_READERS: dict[str, tuple[str, Reader]] = {
    "idsite": ("idsite", _integer(1, MAX_SITE_ID)),
    "rec": ("rec", lambda name, value: value == "1"),
    "url": ("url", _text()),
    "action_name": ("action_name", _text(2048)),
    "urlref": ("urlref", _text()),
    "pv_id": ("pv_id", _text(64)),
    "_id": ("visitor_id", _pattern(_VISITOR_ID, strict=False)),
    "cid": ("cid", _pattern(_VISITOR_ID, strict=True)),
    "uid": ("uid", _text(200)),
    "new_visit": ("new_visit", _flag),
    "cdt": ("cdt", _timestamp),
    "cip": ("cip", _text(64)),
    "token_auth": ("token_auth", _text(256)),
    "e_c": ("event_category", _text(500)),
    "e_a": ("event_action", _text(500)),
    "e_n": ("event_name", _text(500)),
    "e_v": ("event_value", _amount),
    "idgoal": ("idgoal", _optional_integer(0, MAX_SITE_ID)),
    "revenue": ("revenue", _amount),
    "search": ("search", _text(500)),
    "search_cat": ("search_cat", _text(500)),
    "search_count": ("search_count", _optional_integer(0, MAX_SITE_ID)),
    "link": ("link", _text()),
    "download": ("download", _text()),
    "ping": ("ping", _flag),
    "bots": ("bots", _flag),
    "send_image": ("send_image", _send_image),
    "res": ("resolution", _pattern(_RESOLUTION, strict=False)),
    "lang": ("lang", _text(200)),
    "ua": ("ua", _text(1024)),
    "uadata": ("uadata", _json_object),
    "consent": ("consent", _flag),
    "ec_id": ("ec_id", _text()),
    "ec_items": ("ec_items", _text()),
    "ec_st": ("ec_subtotal", _text()),
    "ec_tx": ("ec_tax", _text()),
    "ec_sh": ("ec_shipping", _text()),
    "ec_dt": ("ec_discount", _text()),
    "_pks": ("product_sku", _text()),
    "_pkn": ("product_name", _text()),
    "_pkc": ("product_category", _text()),
    "_pkp": ("product_price", _text()),
}

# Parameters Matomo's JavaScript tracker sends with every hit that samtycke does not store
# (cache busters, the visitor's local clock, plugin flags, its own cookie timestamps).
_IGNORED = frozenset(
    {
        "r",
        "h",
        "m",
        "s",
        "cookie",
        "pdf",
        "qt",
        "realp",
        "wma",
        "fla",
        "java",
        "ag",
        "gears",
        "dir",
        "_idn",
        "_refts",
        "_viewts",
        "_idvc",
        "_ref",
        "_rcn",
        "_rck",
        "gt_ms",
        "pf_net",
        "pf_srv",
        "pf_tfr",
        "pf_dm1",
        "pf_dm2",
        "pf_onl",
        "ca",
    }
)
