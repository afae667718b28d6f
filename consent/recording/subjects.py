"""Subjects: the consent id, kept out of the log behind a salted commitment.

A visitor's consent id is a random secret held in their cookie.  The log stores only
``HMAC-SHA256(salt, consent id)``, with a random salt per subject kept in
``consent_subjects`` under a lookup key (a hash of the consent id).  Erasure deletes the
salt: the commitments in the log stay, the tree still verifies, and nobody, the operator
included, can link them to the consent id again (crypto-shredding).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime

from consent import schema
from consent.ledger.entries import ch_time
from samtycke.journal import Record, record
from samtycke.storage import Storage

CACHE_SIZE = 100_000
CONSENT_ID_BYTES = 18  # 24 characters of URL-safe base64
SALT_BYTES = 32


def lookup_key(consent_id: str) -> str:
    return hashlib.sha256(b"samtycke.subject\x00" + consent_id.encode()).hexdigest()


def commit(salt: bytes, consent_id: str) -> str:
    # hmac.digest is the one-shot C path: the same MAC as hmac.new(...).hexdigest(), cheaper.
    return hmac.digest(salt, consent_id.encode(), "sha256").hex()


@dataclass(frozen=True)
class Subject:
    key: str
    commitment: str
    new_record: Record | None  # the salt row to journal with the first entry, if new


class Subjects:
    def __init__(self, storage: Storage) -> None:
        self.storage = storage
        self._cache: OrderedDict[str, str] = OrderedDict()  # lookup key -> commitment

    def _remember(self, key: str, commitment: str) -> None:
        self._cache[key] = commitment
        self._cache.move_to_end(key)
        while len(self._cache) > CACHE_SIZE:
            self._cache.popitem(last=False)

    async def find(self, consent_id: str) -> str | None:
        """The commitment for a consent id, or None when unknown or erased."""
        key = lookup_key(consent_id)
        if key in self._cache:
            return self._cache[key]
        rows = await self.storage.aquery(
            f"SELECT commitment FROM `{schema.SUBJECTS}` FINAL WHERE subject_key = {{key:String}}",
            {"key": key},
        )
        if not rows:
            return None
        commitment = str(rows[0][0])
        self._remember(key, commitment)
        return commitment

    async def get_or_create(self, consent_id: str, now: datetime) -> Subject:
        """The subject's commitment, made under a new salt if the id is not known."""
        found = await self.find(consent_id)
        if found is not None:
            return Subject(lookup_key(consent_id), found, None)
        return self._create(consent_id, secrets.token_bytes(SALT_BYTES), now)

    def create(self, now: datetime) -> tuple[str, Subject]:
        """A new subject: a fresh consent id and its commitment, under a fresh salt.

        Both come from one ``os.urandom`` call (``secrets`` draws from it too): every new
        visitor's first receipt needs them, and each draw is a system call.
        """
        entropy = os.urandom(CONSENT_ID_BYTES + SALT_BYTES)
        # What secrets.token_urlsafe(CONSENT_ID_BYTES) makes of its bytes.
        consent_id = base64.urlsafe_b64encode(entropy[:CONSENT_ID_BYTES]).rstrip(b"=").decode("ascii")
        return consent_id, self._create(consent_id, entropy[CONSENT_ID_BYTES:], now)

    def _create(self, consent_id: str, salt: bytes, now: datetime) -> Subject:
        key = lookup_key(consent_id)
        commitment = commit(salt, consent_id)
        self._remember(key, commitment)
        row = {"subject_key": key, "commitment": commitment, "salt": salt.hex(), "created_at": ch_time(now)}
        return Subject(key, commitment, record(schema.SUBJECTS, row))

    def forget(self, consent_id: str) -> None:
        self._cache.pop(lookup_key(consent_id), None)

    async def shred(self, commitments: list[str]) -> None:
        """Delete the salts behind these commitments for good (they are already shipped)."""
        if not commitments:
            return
        keep = set(commitments)
        for key in [k for k, c in self._cache.items() if c in keep]:
            del self._cache[key]
        await self.storage.acommand(
            f"ALTER TABLE `{schema.SUBJECTS}` DELETE WHERE commitment IN {{c:Array(String)}}",
            {"c": list(keep)},
            {"mutations_sync": 2},
        )

    async def shred_tombstoned(self) -> None:
        """Finish erasures a crash interrupted: no salt may outlive its subject's tombstone."""
        rows = await self.storage.aquery(
            f"SELECT commitment FROM `{schema.SUBJECTS}` FINAL WHERE commitment IN "
            f"(SELECT subject FROM `{schema.LOG}` WHERE kind = 'tombstone' AND subject != '')"
        )
        await self.shred([str(r[0]) for r in rows])
