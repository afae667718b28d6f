"""Consent receipts: the log entry for a choice, and the receipt the visitor keeps.

The log entry holds what proves the consent and nothing more: no IP address, no
User-Agent, no page URL, and the subject only as a salted commitment.  The receipt
the visitor receives carries the same facts under Kantara Consent Receipt 1.1 / ISO/IEC
TS 27560 names, with their consent id, the controller, and an ``integrity`` block (log
index, leaf hash, key id), signed as a compact JWS (EdDSA over Ed25519).
"""

from __future__ import annotations

import json
import os
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any

from consent.categories import NECESSARY, category_rank
from consent.ledger.entries import canonical_fast, rfc3339
from consent.ledger.keys import SigningKey, b64url
from consent.ledger.sequencer import Entry
from consent.recording.choice import Choice
from consent.recording.notices import Notice
from samtycke.settings import Site
from samtycke.settings.per_site import per_site

SCHEMA_VERSION = "samtycke-receipt-1"
STANDARDS = ["Kantara Consent Receipt 1.1", "ISO/IEC TS 27560:2023", "W3C DPV 2"]
JURISDICTION = "SE"
LEGAL_BASIS = "GDPR art. 6(1)(a) consent; LEK (2022:482) ch. 9 § 28"
NECESSARY_BASIS = "legal obligation to respect choices (necessary)"
NO_CONTROLLER = {"name": "", "org_number": "", "address": "", "email": "", "dpo_email": ""}
WITHDRAWAL = {
    "sv": "Välj Cookieinställningar längst ned på varje sida, eller POST /api/v1/consent/withdraw.",
    "en": "Choose Cookie settings at the bottom of any page, or POST /api/v1/consent/withdraw.",
}
EVENTS = ("ConsentGiven", "RenewedConsentGiven", "ConsentRefused", "ConsentWithdrawn", "ConsentExpired")


def event_for(choice: Choice, previous_receipt_id: str | None) -> str:
    if choice.method == "withdraw":
        return "ConsentWithdrawn"
    if choice.refused_all:
        return "ConsentRefused"
    return "RenewedConsentGiven" if previous_receipt_id else "ConsentGiven"


def lifetime_days(choice: Choice, consent_days: int, refusal_days: int) -> int:
    return refusal_days if choice.refused_all else consent_days


def new_receipt_id() -> str:
    """``str(uuid.uuid4())`` without building a UUID object: a random version 4 UUID."""
    raw = bytearray(os.urandom(16))
    raw[6] = raw[6] & 0x0F | 0x40  # version 4
    raw[8] = raw[8] & 0x3F | 0x80  # the RFC 4122 variant
    h = raw.hex()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def receipt_entry(
    choice: Choice,
    notice: Notice,
    commitment: str,
    previous_receipt_id: str | None,
    now: datetime,
    days: int,
    source_receipt_id: str | None = None,
    account: dict[str, Any] | None = None,
) -> Entry:
    """The log entry for ``choice``; ``source_receipt_id`` names the receipt an adopted choice came from,
    and ``account`` says whether the choice is linked to a customer account."""
    receipt_id = new_receipt_id()
    start = rfc3339(now)
    body = {
        "type": "receipt",
        "receipt_id": receipt_id,
        "previous_receipt_id": previous_receipt_id,
        "subject": commitment,
        "event": event_for(choice, previous_receipt_id),
        "event_time": start,
        "method": choice.method,
        "gpc": choice.gpc,
        "gpc_signal": choice.gpc_signal,
        "site_id": choice.site.id,
        "decisions": {NECESSARY: True, **choice.decisions},
        "validity": {"from": start, "until": rfc3339(now + timedelta(days=days)), "days": days},
        "notice": {
            "id": "banner",
            "version": notice.version,
            "sha256": notice.sha256,
            "language": notice.lang,
            "policy_url": notice.policy_url,
            "log_index": notice.index,
        },
        "jurisdiction": JURISDICTION,
    }
    if source_receipt_id is not None:
        body["source_receipt_id"] = source_receipt_id
    if account is not None:
        body["account"] = account
    return Entry("receipt", body, now, site_id=choice.site.id, subject=commitment, receipt_id=receipt_id)


def receipt_from_entry(
    entry: dict[str, Any], consent_id: str, site: Site | None, leaf_hash: str
) -> dict[str, Any]:
    """The visitor's receipt for a stored log entry (without a signature)."""
    decisions: dict[str, bool] = entry.get("decisions", {})
    if site is not None:
        rank = category_rank(site)
        decisions = dict(sorted(decisions.items(), key=lambda kv: rank.get(kv[0], 99)))
    adopted: dict[str, Any] = {key: entry[key] for key in ("source_receipt_id", "account") if key in entry}
    return {
        "schema_version": SCHEMA_VERSION,
        "standards": STANDARDS,
        "receipt_id": entry["receipt_id"],
        "previous_receipt_id": entry.get("previous_receipt_id"),
        **adopted,
        "subject": {"consent_id": consent_id, "type": "pseudonymous", "commitment": entry.get("subject")},
        "event": entry["event"],
        "event_time": entry["event_time"],
        "method": entry["method"],
        "gpc": entry.get("gpc", False),
        "gpc_signal": entry.get("gpc_signal", entry.get("gpc", False)),
        "site": {"id": entry["site_id"], "name": site.name if site else ""},
        "purposes": [_purpose(category, granted) for category, granted in decisions.items()],
        "validity": entry["validity"],
        "notice": dict(entry["notice"]),
        "controller": dict(_controller(site)) if site is not None else dict(NO_CONTROLLER),
        "jurisdiction": entry.get("jurisdiction", JURISDICTION),
        "withdrawal_method": WITHDRAWAL.get(str(entry["notice"].get("language")), WITHDRAWAL["en"]),
        "integrity": {"log_index": entry["index"], "leaf_hash": leaf_hash},
    }


def _purpose(category: str, granted: bool) -> dict[str, Any]:
    necessary = category == NECESSARY
    return {
        "category": category,
        "decision": "granted" if granted else "refused",
        "required": necessary,
        "legal_basis": NECESSARY_BASIS if necessary else LEGAL_BASIS,
    }


@per_site
def _controller(site: Site) -> dict[str, str]:
    controller = site.controller
    return {
        "name": controller.name,
        "org_number": controller.org_number,
        "address": controller.address,
        "email": controller.email,
        "dpo_email": controller.dpo_email,
    }


@lru_cache(maxsize=64)
def jws_header(kid: str) -> str:
    """The protected header, encoded: the same for every receipt a key signs."""
    header = {"alg": "EdDSA", "kid": kid, "typ": "consent-receipt+jws"}
    return b64url(json.dumps(header, separators=(",", ":")).encode())


def sign_receipt(receipt: dict[str, Any], key: SigningKey) -> tuple[dict[str, Any], str]:
    """Add the key id, sign as a compact JWS, and put the JWS signature into ``integrity``.

    The payload is the canonical encoding of the receipt without its signature.
    """
    integrity = {**receipt["integrity"], "key_id": key.kid, "alg": "EdDSA"}
    unsigned = {**receipt, "integrity": integrity}
    signing_input = jws_header(key.kid) + "." + b64url(canonical_fast(unsigned))
    signature = b64url(key.sign(signing_input.encode()))
    signed = {**unsigned, "integrity": {**integrity, "signature": signature}}
    return signed, f"{signing_input}.{signature}"
