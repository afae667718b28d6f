"""Signed values for cookies: one salt per purpose, a key list for rotation.

The newest key (last in ``server.secret_keys``) signs; every key verifies, so a key can be
retired by adding a new one, waiting out the cookie lifetime, then dropping the old one.
A value that fails verification for any reason reads as "nothing there", never an error.
"""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Any

from itsdangerous import BadData, URLSafeTimedSerializer
from itsdangerous.encoding import base64_encode
from itsdangerous.serializer import Serializer

from samtycke import datadir, durable
from samtycke.settings import Secret


class UncompressedSerializer(URLSafeTimedSerializer):
    """itsdangerous' URL-safe timed format, without its zlib step.

    itsdangerous compresses any payload that zlib shortens by a byte.  The values signed
    here are cookies of a few hundred bytes, where compressing saves a few dozen bytes and
    costs more than the rest of signing (zlib sets up 256 KB of state per call).  ``loads``
    still reads compressed values (they start with "."), so cookies signed before verify.
    """

    def dump_payload(self, obj: Any) -> bytes:
        return base64_encode(Serializer.dump_payload(self, obj))


class Signer:
    def __init__(self, keys: list[Secret]) -> None:
        if not keys:
            raise ValueError("at least one secret key is needed")
        self._keys = [str(k) for k in keys]
        self._serializers: dict[str, URLSafeTimedSerializer] = {}

    def serializer(self, purpose: str) -> URLSafeTimedSerializer:
        """The purpose's serializer, made once: making one costs more than signing with it."""
        serializer = self._serializers.get(purpose)
        if serializer is None:
            # itsdangerous signs with the last key and tries all of them when verifying.
            serializer = UncompressedSerializer(self._keys, salt=f"samtycke.{purpose}")
            self._serializers[purpose] = serializer
        return serializer

    def dumps(self, purpose: str, value: Any) -> str:
        return str(self.serializer(purpose).dumps(value))

    def loads(self, purpose: str, signed: str | None, max_age: int | None = None) -> Any:
        if not signed:
            return None
        try:
            return self.serializer(purpose).loads(signed, max_age=max_age)
        except BadData:
            return None


def load_or_create_keys(configured: list[str], data_dir: Path) -> list[Secret]:
    """Configured keys, or one generated on first start and kept in ``data_dir``."""
    if configured:
        return [Secret(k) for k in configured]
    path = data_dir / "secret-keys"
    if not path.exists():
        datadir.folder(data_dir)
        durable.write(path, (secrets.token_urlsafe(48) + "\n").encode())
    return [Secret(line.strip()) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
