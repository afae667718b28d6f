"""A visitor's receipts as W3C Data Privacy Vocabulary (DPV) JSON-LD, for portability."""

from __future__ import annotations

from typing import Any

CONTEXT = {
    "dpv": "https://w3id.org/dpv#",
    "dct": "http://purl.org/dc/terms/",
    "xsd": "http://www.w3.org/2001/XMLSchema#",
}
STATUS = {
    "ConsentGiven": "dpv:ConsentGiven",
    "RenewedConsentGiven": "dpv:RenewedConsentGiven",
    "ConsentRefused": "dpv:ConsentRefused",
    "ConsentWithdrawn": "dpv:ConsentWithdrawn",
    "ConsentExpired": "dpv:ConsentExpired",
}


def _status(event: str, granted: bool) -> str:
    if granted:
        return STATUS["RenewedConsentGiven"] if event == "RenewedConsentGiven" else STATUS["ConsentGiven"]
    return STATUS["ConsentWithdrawn"] if event == "ConsentWithdrawn" else STATUS["ConsentRefused"]


def as_dpv(receipts: list[dict[str, Any]]) -> dict[str, Any]:
    graph = []
    for receipt in receipts:
        for purpose in receipt["purposes"]:
            granted = purpose["decision"] == "granted"
            graph.append(
                {
                    "@id": f"urn:uuid:{receipt['receipt_id']}#{purpose['category']}",
                    "@type": "dpv:ConsentRecord",
                    "dct:identifier": receipt["receipt_id"],
                    "dpv:hasDataSubject": {
                        "@id": f"urn:samtycke:consent:{receipt['subject']['consent_id']}",
                        "@type": "dpv:DataSubject",
                    },
                    "dpv:hasPurpose": {"@type": "dpv:Purpose", "dct:title": purpose["category"]},
                    "dpv:hasConsentStatus": {"@id": _status(receipt["event"], granted)},
                    "dpv:hasLegalBasis": {"@id": "dpv:Consent"},
                    "dpv:hasDataController": {
                        "@type": "dpv:DataController",
                        "dct:title": receipt["controller"]["name"],
                    },
                    "dpv:hasJurisdiction": receipt["jurisdiction"],
                    "dct:created": {"@value": receipt["event_time"], "@type": "xsd:dateTime"},
                    "dpv:hasExpiryTime": {"@value": receipt["validity"]["until"], "@type": "xsd:dateTime"},
                    "dpv:hasNotice": {
                        "@type": "dpv:ConsentNotice",
                        "dct:hasVersion": receipt["notice"]["version"],
                        "dct:language": receipt["notice"]["language"],
                        "dpv:hasIdentifier": f"sha256:{receipt['notice']['sha256']}",
                    },
                    "samtycke:decision": purpose["decision"],
                    "samtycke:method": receipt["method"],
                }
            )
    return {"@context": {**CONTEXT, "samtycke": "https://samtycke.se/ns#"}, "@graph": graph}
