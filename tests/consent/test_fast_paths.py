"""The hot path's shortcuts write exactly what the reference code writes, and still verifies.

Recording a receipt encodes with orjson, formats times with ``isoformat``, signs the consent
cookie without itsdangerous' zlib step and writes Set-Cookie headers directly.  Each is
checked here against what it replaces: the reference encoding the offline verifier
recomputes, ``strftime``, ``Signer.loads`` and Starlette's ``set_cookie``.
"""

from __future__ import annotations

import base64
import json
import time
import uuid
from datetime import UTC, datetime, timedelta, timezone
from typing import Any
from urllib.parse import quote

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from hypothesis import given, settings
from hypothesis import strategies as st
from itsdangerous import URLSafeTimedSerializer
from itsdangerous.encoding import base64_decode
from starlette.datastructures import MutableHeaders
from starlette.requests import Request
from starlette.responses import Response
from starlette.testclient import TestClient

from consent import cookies
from consent.ledger.entries import canonical, canonical_fast, ch_time, rfc3339
from consent.ledger.keys import SigningKey, b64url_decode, parse_public_keys
from consent.ledger.merkle import leaf_hash
from consent.ledger.verify import verify_export
from consent.recording.receipts import new_receipt_id, sign_receipt
from samtycke.settings import Secret
from samtycke.signing import Signer
from samtycke.web import cors
from samtycke.web.asgi import header
from tests.consent.helpers import VERSION, choice
from tests.support.tokens import AUDITOR

# What entries and receipts hold: no floats (orjson and json write some differently).
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(), children, max_size=4),
    max_leaves=20,
)


# -- encodings -----------------------------------------------------------------------------------


def test_canonical_fast_is_the_reference_encoding_for_every_code_point() -> None:
    for start in range(0, 0x110000, 0x1000):
        text = "".join(chr(c) for c in range(start, start + 0x1000) if not 0xD800 <= c <= 0xDFFF)
        entry = {text[:50]: text, "k": [text, {text[-3:]: text[::-1]}]}
        assert canonical_fast(entry) == canonical(entry)


@settings(max_examples=300, deadline=None)
@given(value=st.dictionaries(st.text(), json_values, max_size=6))
def test_canonical_fast_matches_canonical(value: dict[str, Any]) -> None:
    # Integers past 64 bits, which orjson refuses, take the reference path.
    assert canonical_fast(value) == canonical(value)


def test_times_match_strftime() -> None:
    def reference(moment: datetime, sep: str) -> str:
        return (
            moment.astimezone(UTC).strftime(f"%Y-%m-%d{sep}%H:%M:%S.") + f"{moment.microsecond // 1000:03d}"
        )

    moments = [
        datetime(2026, 11, 1, 23, 59, 59, 999_999, tzinfo=UTC),
        datetime(2026, 11, 2, 0, 30, 0, 500, tzinfo=timezone(timedelta(hours=2))),
        datetime(2026, 3, 29, 1, 0, tzinfo=timezone(timedelta(hours=-9, minutes=-30))),
        datetime(999, 1, 1, 0, 0, 0, 1000, tzinfo=UTC),
        datetime.now(UTC),
    ]
    for moment in moments:
        assert rfc3339(moment) == reference(moment, "T") + "Z"
        assert ch_time(moment) == reference(moment, " ")


def test_receipt_ids_are_version_4_uuids() -> None:
    ids = {new_receipt_id() for _ in range(1000)}
    assert len(ids) == 1000
    for text in ids:
        parsed = uuid.UUID(text)
        assert str(parsed) == text and parsed.version == 4 and parsed.variant == uuid.RFC_4122


# -- the receipt and its JWS ---------------------------------------------------------------------------


def test_the_jws_verifies_and_its_payload_is_the_reference_encoding(consent_client: TestClient) -> None:
    body = consent_client.post("/api/v1/consent", json=choice()).json()
    receipt, jws = body["receipt"], body["jws"]
    header_b64, payload_b64, signature_b64 = jws.split(".")
    header = json.loads(b64url_decode(header_b64))
    assert header == {"alg": "EdDSA", "kid": receipt["integrity"]["key_id"], "typ": "consent-receipt+jws"}
    unsigned = {**receipt, "integrity": {k: v for k, v in receipt["integrity"].items() if k != "signature"}}
    assert b64url_decode(payload_b64) == canonical(unsigned)
    assert receipt["integrity"]["signature"] == signature_b64

    jwks = consent_client.get("/api/v1/log/keys").json()["keys"]
    jwk = next(k for k in jwks if k["kid"] == header["kid"])
    public = Ed25519PublicKey.from_public_bytes(b64url_decode(jwk["x"]))
    public.verify(b64url_decode(signature_b64), f"{header_b64}.{payload_b64}".encode())


def test_sign_receipt_signs_the_reference_encoding() -> None:
    key = SigningKey(Ed25519PrivateKey.generate())
    receipt = {
        "receipt_id": "r",
        "site": {"name": "Smörgås \u2028 \U0001f36a"},
        "integrity": {"log_index": 3},
    }
    signed, jws = sign_receipt(receipt, key)
    header_b64, payload_b64, signature = jws.split(".")
    assert signed["integrity"]["signature"] == signature
    unsigned = {**receipt, "integrity": {"log_index": 3, "key_id": key.kid, "alg": "EdDSA"}}
    assert b64url_decode(payload_b64) == canonical(unsigned)
    key.public.key.verify(b64url_decode(signature), f"{header_b64}.{payload_b64}".encode())


def test_an_export_written_with_the_reference_encoding_still_verifies(consent_client: TestClient) -> None:
    """Entries written before the orjson encoder hash the same: the reference recomputes both."""
    consent_client.post("/api/v1/consent", json=choice())
    export = consent_client.get("/api/v1/audit/export", headers=AUDITOR).text
    lines = [json.loads(line) for line in export.splitlines() if line.strip()]
    entries = [line for line in lines if "index" in line]
    assert entries
    for line in entries:
        assert bytes.fromhex(line["leaf_hash"]) == leaf_hash(canonical(line["entry"]))
        assert canonical(line["entry"]) == canonical_fast(line["entry"])
    keys = consent_client.get("/api/v1/log/keys").text
    report = verify_export([json.dumps(line) for line in lines], parse_public_keys(keys))
    assert report.ok, report.text()


# -- cookies -----------------------------------------------------------------------------------------


SIGNER = Signer([Secret("old"), Secret("new")])
COOKIE = cookies.ConsentCookie(
    consent_id="abc_DEF-123",
    site_id=1,
    granted=["statistics", "anpassad_kategori"],
    decisions={"preferences": False, "statistics": True, "anpassad_kategori": True},
    version='vår-2026 "beta"',
    method="custom",
    receipt_id="2f1c8b1e-8d43-4a5e-9a57-0c2b6f7d1e33",
    exp=1_800_000_000,
)


def test_the_consent_cookie_is_itsdangerous_format_without_compression() -> None:
    value = SIGNER.dumps(cookies.PURPOSE, COOKIE.payload())
    assert not value.startswith("."), "a leading '.' marks a zlib-compressed payload"
    assert json.loads(base64_decode(value.split(".")[0])) == COOKIE.payload()
    assert SIGNER.loads(cookies.PURPOSE, value) == COOKIE.payload()
    assert Signer([Secret("new")]).loads(cookies.PURPOSE, value) == COOKIE.payload()  # newest key signs
    assert Signer([Secret("old")]).loads(cookies.PURPOSE, value) is None


def test_compressed_cookies_from_before_still_read() -> None:
    # itsdangerous' own format, zlib and all, as cookies were signed before.
    older = URLSafeTimedSerializer(["old", "new"], salt=f"samtycke.{cookies.PURPOSE}").dumps(COOKIE.payload())
    assert older.startswith(".")
    request = _request([(b"cookie", f"{cookies.CONSENT_COOKIE}={older}".encode())])
    assert cookies.read(request, SIGNER, time.time()) == COOKIE
    assert cookies.read(request, Signer([Secret("other")]), time.time()) is None


def test_set_cookie_headers_are_starlettes() -> None:
    for secure in (False, True):
        fast = Response()
        cookies.set_cookies(fast, COOKIE, SIGNER, 34_128_000, secure)
        reference = Response()
        consent_value = fast.raw_headers[-2][1].decode().split(";")[0].split("=", 1)[1]
        for name, value, httponly in (
            (cookies.CONSENT_COOKIE, consent_value, True),
            (cookies.STATE_COOKIE, quote(json.dumps(_state(COOKIE), separators=(",", ":")), safe=""), False),
        ):
            reference.set_cookie(
                name, value, max_age=34_128_000, path="/", httponly=httponly, samesite="lax", secure=secure
            )
        assert fast.raw_headers == reference.raw_headers


def test_values_that_need_quoting_go_through_starlette() -> None:
    fast = Response()
    cookies._set_cookie(fast, "n", 'a "b";c', 10, True, False)
    reference = Response()
    reference.set_cookie("n", 'a "b";c', max_age=10, path="/", httponly=True, samesite="lax")
    assert fast.raw_headers == reference.raw_headers


@settings(max_examples=100, deadline=None)
@given(
    version=st.text(min_size=1, max_size=30),
    granted=st.lists(st.text(max_size=10), max_size=4),
    exp=st.integers(0, 2**40),
)
def test_the_state_cookie_is_quoted_compact_json(version: str, granted: list[str], exp: int) -> None:
    cookie = cookies.ConsentCookie("id", 1, granted, {}, version, "gpc", "r", exp)
    assert cookies.state_value(cookie) == quote(json.dumps(_state(cookie), separators=(",", ":")), safe="")


def test_the_consent_cookie_is_read_as_starlette_reads_cookies() -> None:
    headers = [
        (b"cookie", b"a=1; samtycke_consent=first"),
        (b"x-other", b"samtycke_consent=no"),
        (b"cookie", b"samtycke_consent=second; b=2"),
        (b"cookie", b"c=3"),
    ]
    for raw in (headers, headers[:1], headers[3:], []):
        request = _request(raw)
        assert cookies.consent_value(request) == request.cookies.get(cookies.CONSENT_COOKIE)


def _state(cookie: cookies.ConsentCookie) -> dict[str, Any]:
    return {"v": cookie.version, "exp": cookie.exp, "g": cookie.granted, "m": cookie.method}


# -- HTTP details ------------------------------------------------------------------------------------


def _request(headers: list[tuple[bytes, bytes]], scheme: str = "http") -> Request:
    return Request({"type": "http", "method": "POST", "path": "/", "headers": headers, "scheme": scheme})


def test_headers_are_read_as_starlette_reads_them() -> None:
    request = _request([(b"origin", b"http://a"), (b"sec-gpc", b"1"), (b"origin", b"http://b")])
    for name in ("origin", "sec-gpc", "content-length"):
        assert header(request.scope, name.encode()) == request.headers.get(name)


def test_https_is_the_scheme_or_a_trusted_proxys_word() -> None:
    forwarded = [(b"x-forwarded-proto", b"HTTPS")]
    assert cookies.is_secure(_request([], "https"), lambda: False)
    assert not cookies.is_secure(_request(forwarded), lambda: False)
    assert cookies.is_secure(_request(forwarded), lambda: True)
    assert not cookies.is_secure(_request([]), lambda: True)


def test_cors_headers_are_set_as_mutable_headers_set_them() -> None:
    for existing in ([], [(b"vary", b"Accept")], [(b"access-control-allow-origin", b"x")] * 2):
        for origin in (None, "https://www.samtycke.test"):
            fast = Response(headers=None)
            fast.raw_headers = [*fast.raw_headers, *existing]
            reference = Response(headers=None)
            reference.raw_headers = [*reference.raw_headers, *existing]
            cors.apply(fast, origin)
            headers = MutableHeaders(raw=reference.raw_headers)
            headers.setdefault("Vary", "Origin")
            if origin:
                headers["Access-Control-Allow-Origin"] = origin
                headers["Access-Control-Allow-Credentials"] = "true"
            assert fast.raw_headers == reference.raw_headers


def test_a_choice_without_lang_takes_the_requests_language(consent_client: TestClient) -> None:
    body = choice()
    del body["lang"]
    response = consent_client.post(
        "/api/v1/consent", json=body, headers={"Accept-Language": "sv-SE,sv;q=0.9"}
    )
    assert response.json()["receipt"]["notice"]["language"] == "sv"
    response = consent_client.post("/api/v1/consent", json=body, headers={"Accept-Language": "en-GB"})
    assert response.json()["receipt"]["notice"]["language"] == "en"
    assert consent_client.post("/api/v1/consent", json=choice(lang=None)).status_code == 422


def test_receipt_response_is_what_json_response_wrote(consent_client: TestClient) -> None:
    response = consent_client.post("/api/v1/consent", json=choice(notice_version=VERSION))
    assert response.headers["content-type"] == "application/json"
    assert response.headers["cache-control"] == "no-store" and response.headers["vary"] == "Origin"
    body = response.json()
    expected = json.dumps(body, ensure_ascii=False, allow_nan=False, separators=(",", ":")).encode()
    assert response.content == expected
    assert base64.urlsafe_b64decode(body["jws"].split(".")[1] + "==")
