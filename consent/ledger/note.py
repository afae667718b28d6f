"""Checkpoints in the C2SP signed-note form (c2sp.org/tlog-checkpoint, c2sp.org/signed-note).

    <origin>
    <tree size>
    <base64 root hash>

    — <key name> <base64(key hash[4] || Ed25519 signature)>

The signature covers the note text: the three lines, each ending in a newline.  The key
hash is the first four bytes of SHA-256(key name || "\\n" || 0x01 || public key), 0x01
being the signed-note algorithm byte for Ed25519.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

from consent.ledger.keys import PublicKey, SigningKey, raw_public
from samtycke.numbers import is_whole_number

DASH = "\u2014"
ED25519 = b"\x01"


@dataclass(frozen=True)
class Checkpoint:
    origin: str
    size: int
    root: bytes

    def body(self) -> str:
        return f"{self.origin}\n{self.size}\n{base64.b64encode(self.root).decode()}\n"


def key_hash(name: str, key: PublicKey) -> bytes:
    return hashlib.sha256(name.encode() + b"\n" + ED25519 + raw_public(key.key)).digest()[:4]


def vkey(name: str, key: PublicKey) -> str:
    """The verifier key string of signed-note tooling: name+hash+base64(alg||key)."""
    encoded = base64.b64encode(ED25519 + raw_public(key.key)).decode()
    return f"{name}+{key_hash(name, key).hex()}+{encoded}"


def sign(checkpoint: Checkpoint, name: str, key: SigningKey) -> str:
    body = checkpoint.body()
    signature = key.sign(body.encode())
    blob = base64.b64encode(key_hash(name, key.public) + signature).decode()
    return f"{body}\n{DASH} {name} {blob}\n"


class NoteError(ValueError):
    """A note that does not parse or whose signature does not verify."""


def parse(note: str) -> tuple[Checkpoint, list[tuple[str, bytes, bytes]]]:
    """The checkpoint and its signature lines as (name, key hash, signature)."""
    body, sep, signatures = note.partition("\n\n")
    if not sep:
        raise NoteError("the note has no blank line before its signatures")
    lines = body.split("\n")
    if len(lines) < 3:
        raise NoteError("a checkpoint needs an origin, a tree size and a root hash")
    origin, size_text, root_text = lines[0], lines[1], lines[2]
    if not is_whole_number(size_text):
        raise NoteError(f"the tree size {size_text!r} is not a number")
    try:
        root = base64.b64decode(root_text, validate=True)
    except binascii.Error as exc:
        raise NoteError("the root hash is not base64") from exc
    if len(root) != 32:
        raise NoteError("the root hash is not 32 bytes")
    found = []
    for line in signatures.rstrip("\n").split("\n"):
        parts = line.split(" ")
        if len(parts) != 3 or parts[0] != DASH:
            raise NoteError(f"not a signature line: {line[:80]!r}")
        try:
            blob = base64.b64decode(parts[2], validate=True)
        except binascii.Error as exc:
            raise NoteError("a signature is not base64") from exc
        if len(blob) != 4 + 64:
            raise NoteError("an Ed25519 note signature must be 4 + 64 bytes")
        found.append((parts[1], blob[:4], blob[4:]))
    return Checkpoint(origin, int(size_text), root), found


def verify(note: str, keys: Sequence[PublicKey]) -> tuple[Checkpoint, str]:
    """The checkpoint and the key id that signed it, or NoteError."""
    checkpoint, signatures = parse(note)
    message = note.partition("\n\n")[0].encode() + b"\n"
    for name, hash4, signature in signatures:
        for key in keys:
            if key_hash(name, key) == hash4 and key.verify(signature, message):
                return checkpoint, key.kid
    raise NoteError("no signature on the checkpoint verifies with the given public keys")
