"""What the privacy page's script says, in Swedish and English.

The page's fixed text is in its template; these are the words its script fills in from the
visitor's history (events, methods, decisions) and the verdicts of the log check.  Placeholders
in braces are filled by the script.
"""

from __future__ import annotations

PRIVACY_SCRIPT_TEXTS: dict[str, dict[str, object]] = {
    "sv": {
        "loading": "Hämtar dina samtycken …",
        "load_failed": "Dina samtycken kunde inte hämtas just nu. Försök igen om en stund.",
        "summary": "Du gjorde valet {time} ({method}). Det gäller till {expires}, sedan frågar vi igen.",
        "category": "Kategori",
        "choice": "Ditt val",
        "granted": "Tillåten",
        "refused": "Avvisad",
        "always": "Alltid på",
        "time": "Tidpunkt",
        "method": "Hur valet gjordes",
        "version": "Textversion",
        "categories": "Kategorier",
        "receipt_id": "Kvittots id",
        "log_index": "Index i loggen",
        "none_granted": "inga utöver de nödvändiga",
        "verify": "Kontrollera i loggen",
        "verify_label": "Kontrollera i loggen: kvittot från {time}",
        "verifying": "Kontrollerar signaturen och beviset …",
        "verified": (
            "Kontrollerat: kvittot finns i samtyckesloggen med index {index}, i det signerade trädet med "
            "{size} poster. Signaturen gjordes med loggens nyckel {kid}; servern anger att kontrollpunkten "
            "signerades {time}."
        ),
        "failed": (
            "Kontrollen misslyckades: {reason} Det går alltså inte att visa att kvittot finns i loggen."
        ),
        "reasons": {
            "signature": "signaturen på loggens kontrollpunkt stämmer inte med loggens publicerade nycklar.",
            "path": "beviset leder inte till den signerade kontrollpunktens rothash.",
            "other-entry": "beviset gäller en annan post i loggen än ditt kvitto.",
            "malformed": "svaret från loggen gick inte att läsa.",
            "unavailable": "loggen gick inte att nå. Försök igen om en stund.",
        },
        "events": {
            "ConsentGiven": "Samtycke lämnat",
            "RenewedConsentGiven": "Samtycke ändrat eller förnyat",
            "ConsentRefused": "Samtycke nekat",
            "ConsentWithdrawn": "Samtycke återkallat",
            "ConsentExpired": "Samtycke upphört",
        },
        "methods": {
            "accept_all": "Acceptera alla",
            "reject_all": "Avvisa alla",
            "custom": "egna val",
            "gpc": "Global Privacy Control",
            "withdraw": "återkallelse",
        },
        "withdrawn": "Ditt samtycke är återkallat. Ett nytt kvitto har lagts till i historiken.",
        "withdraw_failed": "Samtycket kunde inte återkallas just nu. Försök igen om en stund.",
        "erased": (
            "Raderat. Kopplingen mellan dig och dina kvitton är förstörd, och loggen har fått en "
            "gravsten med index {index}. Cookien med ditt id är borttagen från webbläsaren."
        ),
        "nothing_erased": "Det fanns inget att radera för den här webbläsaren.",
        "erase_failed": "Raderingen kunde inte göras just nu. Försök igen om en stund.",
    },
    "en": {
        "loading": "Fetching your consents …",
        "load_failed": "Your consents could not be fetched just now. Please try again in a while.",
        "summary": "You made this choice on {time} ({method}). It lasts until {expires}; then we ask again.",
        "category": "Category",
        "choice": "Your choice",
        "granted": "Allowed",
        "refused": "Refused",
        "always": "Always on",
        "time": "Time",
        "method": "How the choice was made",
        "version": "Notice version",
        "categories": "Categories",
        "receipt_id": "Receipt id",
        "log_index": "Index in the log",
        "none_granted": "none beyond the necessary",
        "verify": "Verify in the log",
        "verify_label": "Verify in the log: the receipt of {time}",
        "verifying": "Checking the signature and the proof …",
        "verified": (
            "Verified: the receipt is in the consent log at index {index}, in the signed tree of {size} "
            "entries. The signature was made with the log's key {kid}; the server says the checkpoint "
            "was signed on {time}."
        ),
        "failed": "The check failed: {reason} So it cannot be shown that the receipt is in the log.",
        "reasons": {
            "signature": "the signature on the log's checkpoint does not match the log's published keys.",
            "path": "the proof does not lead to the root hash of the signed checkpoint.",
            "other-entry": "the proof is for another entry in the log than your receipt.",
            "malformed": "the log's answer could not be read.",
            "unavailable": "the log could not be reached. Please try again in a while.",
        },
        "events": {
            "ConsentGiven": "Consent given",
            "RenewedConsentGiven": "Consent changed or renewed",
            "ConsentRefused": "Consent refused",
            "ConsentWithdrawn": "Consent withdrawn",
            "ConsentExpired": "Consent expired",
        },
        "methods": {
            "accept_all": "Accept all",
            "reject_all": "Reject all",
            "custom": "own choices",
            "gpc": "Global Privacy Control",
            "withdraw": "withdrawal",
        },
        "withdrawn": "Your consent is withdrawn. A new receipt has been added to the history.",
        "withdraw_failed": "Your consent could not be withdrawn just now. Please try again in a while.",
        "erased": (
            "Erased. The link between you and your receipts is destroyed, and the log has a tombstone "
            "at index {index}. The cookie holding your id is removed from the browser."
        ),
        "nothing_erased": "There was nothing to erase for this browser.",
        "erase_failed": "The erasure could not be made just now. Please try again in a while.",
    },
}
