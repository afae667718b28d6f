"""The log's Ed25519 signing keys: generated on first start, rotatable, published as JWKS.

Keys live in ``<data_dir>/consent-keys/``: one ``<key id>.pem`` per key (private, mode
0600) and ``active``, naming the key that signs now.  Retired keys stay so that old
checkpoints and receipts keep verifying, and they stay in the JWKS.  A key id is the
hex of the first eight bytes of SHA-256 over the raw public key; the C2SP note key hash
(four bytes over the key name and key) is derived separately, see ``consent.ledger.note``.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from samtycke import datadir, durable

KEY_DIR = "consent-keys"


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def raw_public(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def key_id(public: Ed25519PublicKey) -> str:
    return hashlib.sha256(raw_public(public)).hexdigest()[:16]


@dataclass(frozen=True)
class PublicKey:
    kid: str
    key: Ed25519PublicKey

    def verify(self, signature: bytes, message: bytes) -> bool:
        try:
            self.key.verify(signature, message)
        except InvalidSignature:
            return False
        return True

    def jwk(self, **extra: Any) -> dict[str, Any]:
        return {
            "kty": "OKP",
            "crv": "Ed25519",
            "x": b64url(raw_public(self.key)),
            "kid": self.kid,
            "alg": "EdDSA",
            "use": "sig",
            **extra,
        }


@dataclass(frozen=True)
class SigningKey:
    private: Ed25519PrivateKey

    @cached_property
    def public(self) -> PublicKey:
        # Derived once: every receipt's signature names the key id, so this is on the hot path.
        public = self.private.public_key()
        return PublicKey(key_id(public), public)

    @property
    def kid(self) -> str:
        return self.public.kid

    def sign(self, message: bytes) -> bytes:
        return self.private.sign(message)


class KeyRing:
    """All keys in a directory; the active one signs, every one verifies."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.keys: dict[str, SigningKey] = {}
        self.active_kid = ""

    @classmethod
    def load_or_create(cls, data_dir: Path) -> KeyRing:
        ring = cls(data_dir / KEY_DIR)
        datadir.folder(ring.directory)
        ring._load()
        if not ring.keys:
            ring.rotate()
        return ring

    def _load(self) -> None:
        for path in sorted(self.directory.glob("*.pem")):
            loaded = serialization.load_pem_private_key(path.read_bytes(), password=None)
            if isinstance(loaded, Ed25519PrivateKey):
                key = SigningKey(loaded)
                self.keys[key.kid] = key
        active = self.directory / "active"
        if active.exists():
            self.active_kid = active.read_text().strip()
        if self.active_kid not in self.keys and self.keys:
            self.active_kid = sorted(self.keys)[-1]

    def rotate(self) -> SigningKey:
        """Make a new key and sign with it from now on; older keys keep verifying."""
        key = SigningKey(Ed25519PrivateKey.generate())
        pem = key.private.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        durable.write(self.directory / f"{key.kid}.pem", pem)
        durable.write(self.directory / "active", key.kid.encode())
        self.keys[key.kid] = key
        self.active_kid = key.kid
        return key

    @property
    def active(self) -> SigningKey:
        return self.keys[self.active_kid]

    def public_keys(self) -> list[PublicKey]:
        return [key.public for key in self.keys.values()]

    def jwks(self) -> dict[str, Any]:
        return {
            "keys": [
                key.jwk(status="active" if key.kid == self.active_kid else "retired")
                for key in self.public_keys()
            ]
        }


_PEM_BLOCK = re.compile(r"-----BEGIN ([A-Z ]+)-----.*?-----END \1-----", re.S)


def parse_public_keys(text: str) -> list[PublicKey]:
    """Public keys from a JWKS document, a single JWK, or PEM blocks (public or private)."""
    stripped = text.strip()
    found: list[PublicKey] = []
    if stripped.startswith("{"):
        document = json.loads(stripped)
        jwks = document.get("keys", [document]) if isinstance(document, dict) else []
        for jwk in jwks:
            if isinstance(jwk, dict) and jwk.get("kty") == "OKP" and jwk.get("crv") == "Ed25519":
                public = Ed25519PublicKey.from_public_bytes(b64url_decode(str(jwk["x"])))
                found.append(PublicKey(key_id(public), public))
        return found
    for match in _PEM_BLOCK.finditer(stripped):
        block = match.group(0).encode()
        if "PRIVATE" in match.group(1):
            private = serialization.load_pem_private_key(block, password=None)
            if isinstance(private, Ed25519PrivateKey):
                found.append(SigningKey(private).public)
            continue
        loaded = serialization.load_pem_public_key(block)
        if isinstance(loaded, Ed25519PublicKey):
            found.append(PublicKey(key_id(loaded), loaded))
    return found
