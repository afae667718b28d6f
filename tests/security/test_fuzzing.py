"""Property tests for the three parsers of untrusted text: tracking parameters, consent bodies, configuration.

Each parser documents one error type (``InvalidHit``, a 400; ``InvalidChoice``, a 422;
``ConfigError``, exit status 2).  Whatever it is given, it returns a value or raises that
type, never anything else, which would reach a visitor as a 500 or an operator as a
traceback.  Where a value can be written and read back, it reads back as written.

Example counts are modest so the suite stays quick on two CPUs; the inputs are the same on
every run (tests/conftest.py's "repeatable" profile).
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import typing
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
import tomli_w
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from analytics.ingestion.request import (
    MAX_PARAMETERS,
    MAX_VALUE_BYTES,
    InvalidHit,
    Params,
    parse_hit,
    parse_query,
)
from consent.categories import NECESSARY, optional_ids
from consent.recording.choice import METHODS, Choice, InvalidChoice, parse_choice
from samtycke.settings import Settings, loading
from samtycke.settings.loading import ConfigError

EXAMPLES = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
FEW = settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# -- tracking parameters ------------------------------------------------------------------------------

TRACKING_NAMES = st.sampled_from(
    [
        "idsite",
        "rec",
        "url",
        "action_name",
        "urlref",
        "_id",
        "cid",
        "uid",
        "new_visit",
        "cdt",
        "res",
        "h",
        "m",
        "s",
        "lang",
        "uadata",
        "_cvar",
        "e_c",
        "e_a",
        "e_v",
        "revenue",
        "search",
        "search_count",
        "dimension1",
        "dimension9999",
        "pv_id",
        "send_image",
        "ping",
        "link",
        "download",
        "gt_ms",
        "pf_net",
        "idgoal",
    ]
)
TEXT = st.text(max_size=60)
NUMBERISH = st.one_of(
    st.integers().map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.sampled_from(["", "-0", "1e999", "0x10", "9" * 5000, "NaN", "1_000", "٣", " 1", "1 "]),
)
VALUES = st.one_of(TEXT, NUMBERISH, st.sampled_from(["[" * 3000, '{"a":' * 40, "%", "%ff", "%00", "+"]))
RAW_QUERIES = st.one_of(
    st.binary(max_size=300),
    st.text(max_size=300),
    st.lists(st.tuples(TRACKING_NAMES | TEXT, VALUES), max_size=12).map(
        lambda pairs: "&".join(f"{name}={value}" for name, value in pairs)
    ),
)


@EXAMPLES
@given(raw=RAW_QUERIES)
def test_tracking_text_is_parsed_or_refused_as_an_invalid_hit(raw: bytes | str) -> None:
    try:
        hit = parse_hit(parse_query(raw))
    except InvalidHit:
        return
    assert hit.idsite >= 0


@EXAMPLES
@given(params=st.dictionaries(TRACKING_NAMES, VALUES, max_size=12))
def test_decoded_tracking_parameters_are_parsed_or_refused_as_an_invalid_hit(params: dict[str, str]) -> None:
    with contextlib.suppress(InvalidHit):
        parse_hit(Params.of(params))
    with contextlib.suppress(InvalidHit):
        parse_hit(parse_query(urlencode(params)))


# Text a tracker can send: any Unicode but surrogates (which UTF-8 cannot carry) and NUL.
SENDABLE = st.text(st.characters(blacklist_categories=["Cs"], blacklist_characters="\x00"), max_size=80)


@EXAMPLES
@given(params=st.dictionaries(SENDABLE.filter(bool), SENDABLE, max_size=MAX_PARAMETERS // 4))
def test_an_encoded_query_reads_back_as_sent(params: dict[str, str]) -> None:
    assume(all(len(v.encode()) <= MAX_VALUE_BYTES for v in params.values()))
    for parsed in (
        parse_query(urlencode(params)),
        parse_query(urlencode(params).encode()),
        Params.of(params),
    ):
        assert {name: parsed.get(name) for name in params} == params


@EXAMPLES
@given(
    idsite=st.integers(min_value=1, max_value=2**31 - 1),
    url=SENDABLE,
    title=SENDABLE,
    visitor=st.text("0123456789abcdef", min_size=16, max_size=16),
)
def test_a_valid_hit_keeps_its_values(idsite: int, url: str, title: str, visitor: str) -> None:
    query = urlencode({"idsite": idsite, "rec": 1, "url": url, "action_name": title, "_id": visitor})
    hit = parse_hit(parse_query(query))
    assert (hit.idsite, hit.rec, hit.url, hit.action_name, hit.visitor_id) == (
        idsite,
        True,
        url,
        title,
        visitor,
    )


# -- consent bodies -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def site_settings() -> Settings:
    return loading.from_mapping(loading.demo_config())


JSON_SCALARS = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text(max_size=30)
)
JSON_VALUES = st.recursive(
    JSON_SCALARS,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=12,
)
CATEGORIES = st.sampled_from([NECESSARY, "preferences", "statistics", "marketing", "unknown", ""])
BODIES = st.one_of(
    JSON_VALUES,
    st.fixed_dictionaries(
        {},
        optional={
            "site_id": st.one_of(st.sampled_from([1, 2, 0, -1, True, 2**70]), JSON_VALUES),
            "decisions": st.one_of(st.dictionaries(CATEGORIES, JSON_SCALARS, max_size=5), JSON_VALUES),
            "method": st.one_of(st.sampled_from(METHODS), JSON_VALUES),
            "notice_version": st.one_of(st.sampled_from(["2026-11-01", "", "x" * 101]), JSON_VALUES),
            "lang": st.one_of(st.sampled_from(["sv", "en", "de"]), JSON_VALUES),
            "gpc": st.one_of(st.booleans(), JSON_VALUES),
        },
    ),
)


@EXAMPLES
@given(body=BODIES, gpc_header=st.booleans(), default_lang=st.sampled_from(["sv", "en", "xx"]))
def test_a_consent_body_is_a_choice_or_invalid(
    site_settings: Settings, body: Any, gpc_header: bool, default_lang: str
) -> None:
    try:
        choice = parse_choice(site_settings, body, gpc_header, default_lang)
    except InvalidChoice:
        return
    # What was recorded is a decision on every optional category of the site, and nothing else.
    assert set(choice.decisions) == set(optional_ids(choice.site))
    assert all(isinstance(on, bool) for on in choice.decisions.values())
    assert choice.method in METHODS and choice.lang in ("sv", "en")
    if choice.method in ("reject_all", "withdraw"):
        assert not any(choice.decisions.values())


@EXAMPLES
@given(data=st.data(), method=st.sampled_from(["custom", "accept_all", "reject_all"]))
def test_an_explicit_choice_without_gpc_is_recorded_as_made(
    site_settings: Settings, data: st.DataObject, method: str
) -> None:
    site = site_settings.sites[0]
    optional = sorted(optional_ids(site))
    chosen = {
        "custom": data.draw(st.fixed_dictionaries({c: st.booleans() for c in optional})),
        "accept_all": dict.fromkeys(optional, True),
        "reject_all": dict.fromkeys(optional, False),
    }[method]
    body = {"site_id": site.id, "decisions": chosen, "method": method, "notice_version": "v1", "lang": "en"}
    # The body survives JSON as the banner sends it.
    choice = parse_choice(site_settings, json.loads(json.dumps(body)), False, "sv")
    assert choice == Choice(site, chosen, method, "v1", "en", gpc=False, gpc_signal=False)


# -- the configuration --------------------------------------------------------------------------------

SECTIONS = [f.name for f in dataclasses.fields(Settings)]
# The settings the environment can set, as the CLI hands them in.
VARIABLES = {
    item.metadata["env"]
    for section in typing.get_type_hints(Settings).values()
    if dataclasses.is_dataclass(section)
    for item in dataclasses.fields(section)
    if item.metadata.get("env")
}
TOML_SCALARS = st.one_of(
    st.booleans(),
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=40),
    st.sampled_from(["9" * 5000, "-1", "0", "../../etc", "a" * 300, "*", "chdb://relative", "http://:x"]),
)
TOML_VALUES = st.recursive(
    TOML_SCALARS,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=10), inner, max_size=3),
    max_leaves=8,
)


def settings_keys() -> list[tuple[str, ...]]:
    """Every key the demo configuration sets, as a path into the raw mapping (lists by index)."""
    found: list[tuple[str, ...]] = []

    def walk(value: Any, path: tuple[Any, ...]) -> None:
        if path:
            found.append(path)
        if isinstance(value, dict):
            for key, item in value.items():
                walk(item, (*path, key))
        elif isinstance(value, list):
            for index, item in enumerate(value):
                walk(item, (*path, index))

    walk(loading.demo_config(), ())
    return found


def replaced(raw: dict[str, Any], path: tuple[Any, ...], value: Any) -> dict[str, Any]:
    changed = json.loads(json.dumps(raw))
    target = changed
    for step in path[:-1]:
        target = target[step]
    target[path[-1]] = value
    return changed


@EXAMPLES
@given(path=st.sampled_from(settings_keys()), value=TOML_VALUES)
def test_any_value_for_any_setting_loads_or_is_a_config_error(path: tuple[Any, ...], value: Any) -> None:
    try:
        loading.from_mapping(replaced(loading.demo_config(), path, value))
    except ConfigError as exc:
        assert exc.key and exc.message


@FEW
@given(
    section=st.sampled_from(SECTIONS),
    value=TOML_VALUES,
)
def test_any_section_loads_or_is_a_config_error(section: str, value: Any) -> None:
    with contextlib.suppress(ConfigError):
        loading.from_mapping({**loading.demo_config(), section: value})


@FEW
@given(
    text=st.text(max_size=400) | st.sampled_from(['[server]\nport = "' + "9" * 5000 + '"', "[[sites]]\n" * 3])
)
def test_any_file_loads_or_is_a_config_error(tmp_path_factory: pytest.TempPathFactory, text: str) -> None:
    path = tmp_path_factory.mktemp("config") / "samtycke.toml"
    path.write_text(text, encoding="utf-8", errors="surrogatepass")
    try:
        loading.load(path, {})
    except ConfigError as exc:
        assert exc.source == str(path)


ENVIRONMENT = st.dictionaries(
    st.sampled_from(sorted(VARIABLES)),
    st.text(st.characters(blacklist_categories=["Cs"]), max_size=40),
)


@FEW
@given(environ=ENVIRONMENT)
def test_any_environment_loads_or_is_a_config_error(environ: dict[str, str]) -> None:
    with contextlib.suppress(ConfigError):
        loading.load(None, environ)


@FEW
@given(path=st.sampled_from(settings_keys()), data=st.data())
def test_a_configuration_written_as_toml_loads_as_the_mapping_does(
    tmp_path_factory: pytest.TempPathFactory, path: tuple[Any, ...], data: st.DataObject
) -> None:
    raw = replaced(loading.demo_config(), path, data.draw(TOML_SCALARS))
    try:
        expected = loading.from_mapping(raw)
    except ConfigError:
        return
    file = tmp_path_factory.mktemp("config") / "samtycke.toml"
    file.write_text(tomli_w.dumps(raw), encoding="utf-8")
    assert dataclasses.asdict(loading.load(Path(file), {})) == dataclasses.asdict(expected)
