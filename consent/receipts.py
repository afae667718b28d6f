"""Consent receipts: the log entry for a choice, and the receipt the visitor keeps.

The log entry holds what proves the consent and nothing more: no IP address, no
User-Agent, no page URL, and the subject only as a salted commitment.  The receipt
the visitor receives carries the same facts under Kantara Consent Receipt 1.1 / ISO/IEC
TS 27560 names, with their consent id, the controller, and an ``integrity`` block (log
index, leaf hash, key id), signed as a compact JWS (EdDSA over Ed25519).
"""

from __future__ import annotations

import json
import uuid
from datetime import datetime, timedelta
from typing import Any

from consent.choice import Choice
from consent.config import optional_categories
from consent.entries import canonical, rfc3339
from consent.keys import SigningKey, b64url
from consent.notices import Notice
from consent.sequencer import Entry
from samtycke.settings import Site

SCHEMA_VERSION = "samtycke-receipt-1"
STANDARDS = ["Kantara Consent Receipt 1.1", "ISO/IEC TS 27560:2023", "W3C DPV 2"]
JURISDICTION = "SE"
LEGAL_BASIS = "GDPR art. 6(1)(a) consent; LEK (2022:482) ch. 9 § 28"
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


def receipt_entry(
    choice: Choice,
    notice: Notice,
    commitment: str,
    previous_receipt_id: str | None,
    now: datetime,
    days: int,
) -> Entry:
    receipt_id = str(uuid.uuid4())
    body = {
        "type": "receipt",
        "receipt_id": receipt_id,
        "previous_receipt_id": previous_receipt_id,
        "subject": commitment,
        "event": event_for(choice, previous_receipt_id),
        "event_time": rfc3339(now),
        "method": choice.method,
        "gpc": choice.gpc,
        "site_id": choice.site.id,
        "decisions": {"necessary": True, **choice.decisions},
        "validity": {"from": rfc3339(now), "until": rfc3339(now + timedelta(days=days)), "days": days},
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
    return Entry("receipt", body, now, site_id=choice.site.id, subject=commitment, receipt_id=receipt_id)


def receipt_from_entry(
    entry: dict[str, Any], consent_id: str, site: Site | None, leaf_hash: str
) -> dict[str, Any]:
    """The visitor's receipt for a stored log entry (without a signature)."""
    decisions: dict[str, bool] = entry.get("decisions", {})
    if site is not None:
        order = ["necessary", *optional_categories(site)]
        decisions = dict(
            sorted(decisions.items(), key=lambda kv: order.index(kv[0]) if kv[0] in order else 99)
        )
    controller = site.controller if site is not None else None
    return {
        "schema_version": SCHEMA_VERSION,
        "standards": STANDARDS,
        "receipt_id": entry["receipt_id"],
        "previous_receipt_id": entry.get("previous_receipt_id"),
        "subject": {"consent_id": consent_id, "type": "pseudonymous", "commitment": entry.get("subject")},
        "event": entry["event"],
        "event_time": entry["event_time"],
        "method": entry["method"],
        "gpc": entry.get("gpc", False),
        "site": {"id": entry["site_id"], "name": site.name if site else ""},
        "purposes": [
            {
                "category": category,
                "decision": "granted" if granted else "refused",
                "required": category == "necessary",
                "legal_basis": "legal obligation to respect choices (necessary)"
                if category == "necessary"
                else LEGAL_BASIS,
            }
            for category, granted in decisions.items()
        ],
        "validity": entry["validity"],
        "notice": {k: v for k, v in entry["notice"].items()},
        "controller": {
            "name": controller.name if controller else "",
            "org_number": controller.org_number if controller else "",
            "address": controller.address if controller else "",
            "email": controller.email if controller else "",
            "dpo_email": controller.dpo_email if controller else "",
        },
        "jurisdiction": entry.get("jurisdiction", JURISDICTION),
        "withdrawal_method": WITHDRAWAL.get(str(entry["notice"].get("language")), WITHDRAWAL["en"]),
        "integrity": {"log_index": entry["index"], "leaf_hash": leaf_hash},
    }


def sign_receipt(receipt: dict[str, Any], key: SigningKey) -> tuple[dict[str, Any], str]:
    """Add the key id, sign as a compact JWS, and put the JWS signature into ``integrity``."""
    integrity = {**receipt["integrity"], "key_id": key.kid, "alg": "EdDSA"}
    unsigned = {**receipt, "integrity": integrity}
    header = {"alg": "EdDSA", "kid": key.kid, "typ": "consent-receipt+jws"}
    signing_input = (
        b64url(json.dumps(header, separators=(",", ":")).encode()) + "." + b64url(canonical(unsigned))
    )
    signature = b64url(key.sign(signing_input.encode()))
    signed = {**unsigned, "integrity": {**integrity, "signature": signature}}
    return signed, f"{signing_input}.{signature}"
