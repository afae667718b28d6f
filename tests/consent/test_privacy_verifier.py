"""The privacy page's in-browser verifier gives the Python verifier's answers, proof for proof.

``consent/web/static/privacy/verify.js`` is a shortcut of ``consent.ledger``: the same
inclusion check (RFC 9162 2.1.3.2) and the same signed-note check, in WebCrypto.  Node runs
it (the same ``globalThis.crypto`` as the browser) over proofs made by the Python log, for
tree sizes 1, 2, powers of two, one either side of them and odd sizes, every index of the
small trees, each proof also tampered in every way that matters, and over checkpoints
genuine and tampered.  Each answer must equal ``consent.ledger.merkle.verify_inclusion``'s
and the independent oracle's (``tests/consent/rfc6962.py``), and ``note.verify``'s.
"""

from __future__ import annotations

import base64
import json
import random
import shutil
import subprocess
from collections.abc import Iterator
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from starlette.testclient import TestClient

from consent.ledger import note
from consent.ledger.keys import SigningKey, parse_public_keys
from consent.ledger.merkle import MerkleTree, leaf_hash, node_hash, verify_inclusion
from tests.consent import rfc6962
from tests.consent.helpers import choice
from tests.support.paths import REPO

VERIFIER = REPO / "consent" / "web" / "static" / "privacy" / "verify.js"
SIZES = [
    1,
    2,
    3,
    4,
    5,
    6,
    7,
    8,
    9,
    15,
    16,
    17,
    31,
    32,
    33,
    63,
    64,
    65,
    100,
    127,
    128,
    129,
    255,
    256,
    257,
    1000,
]
ORIGIN = "samtycke/example.se/consent-log"

# Reads cases from stdin, answers each with the module's verdict, one JSON array on stdout.
DRIVER = """
import { readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
const v = await import(pathToFileURL(process.argv[1]).href);
const cases = JSON.parse(readFileSync(0, 'utf8'));
const out = [];
for (const c of cases.inclusion) {
  const path = c.path.map(v.fromHex);
  out.push(await v.verifyInclusion(v.fromHex(c.leaf), c.index, c.size, path, v.fromHex(c.root)));
}
const keys = await v.publicKeys(cases.jwks);
const notes = [];
for (const text of cases.notes) {
  try {
    const cp = await v.verifyNote(text, keys);
    notes.push({ ok: true, origin: cp.origin, size: cp.size, root: v.toHex(cp.root), kid: cp.kid });
  } catch (e) {
    if (!(e instanceof v.VerifyError)) throw e;
    notes.push({ ok: false });
  }
}
const receipts = [];
for (const c of cases.receipts || []) {
  try {
    const r = await v.verifyReceipt(c.integrity, c.proof, c.note, cases.jwks);
    receipts.push({ ok: true, index: r.index, size: r.size, kid: r.kid });
  } catch (e) {
    if (!(e instanceof v.VerifyError)) throw e;
    receipts.push({ ok: false, code: e.code });
  }
}
process.stdout.write(JSON.stringify({ inclusion: out, notes, receipts }));
"""


def run_js(cases: dict[str, Any]) -> dict[str, Any]:
    node = shutil.which("node")
    assert node, "node is needed to run the page's verifier"
    result = subprocess.run(
        [node, "--input-type=module", "-e", DRIVER, str(VERIFIER)],
        input=json.dumps(cases),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    return dict(json.loads(result.stdout))


def flip(data: bytes, at: int = 0) -> bytes:
    return data[:at] + bytes([data[at] ^ 0x01]) + data[at + 1 :]


def tampered(leaf: bytes, index: int, size: int, path: list[bytes], root: bytes) -> Iterator[tuple[Any, ...]]:
    """The genuine proof, then each way it can be changed."""
    yield leaf, index, size, path, root
    for at in range(len(path)):
        yield leaf, index, size, [*path[:at], flip(path[at], at % 32), *path[at + 1 :]], root
    for other in {index - 1, index + 1, index ^ 1, index ^ 2, size - 1, size, size + 1} - {index}:
        if other >= 0:
            yield leaf, other, size, path, root
    for other_size in {size - 1, size + 1, 2 * size} - {size, 0}:
        yield leaf, index, other_size, path, root
    yield flip(leaf), index, size, path, root
    yield leaf, index, size, path, flip(root, 31)
    if path:
        yield leaf, index, size, path[:-1], root
        yield leaf, index, size, path[::-1], root if len(path) > 1 else flip(root)
    yield leaf, index, size, [*path, root], root


def path_root(leaf: bytes, index: int, size: int, path: list[bytes]) -> bytes:
    """The root an audit path leads to (RFC 9162 2.1.3.2 without the final comparison)."""
    fn, sn, r = index, size - 1, leaf
    for p in path:
        if fn % 2 == 1 or fn == sn:
            r = node_hash(p, r)
            while fn % 2 == 0 and fn != 0:
                fn //= 2
                sn //= 2
        else:
            r = node_hash(r, p)
        fn //= 2
        sn //= 2
    return r


def huge_proofs(rng: random.Random) -> Iterator[tuple[Any, ...]]:
    """Trees far past 2^32 leaves (a 32-bit shortcut in JavaScript would break here), built from paths."""
    for index, size in [
        (2**33 + 5, 2**34 + 3),
        (2**40 - 1, 2**40),
        (2**32, 2**32 + 1),
        (2**45 + 12345, 2**52 + 7),
    ]:
        depth = 0
        fn, sn = index, size - 1
        while sn:
            if fn % 2 == 1 or fn == sn:
                while fn % 2 == 0 and fn != 0:
                    fn //= 2
                    sn //= 2
            fn //= 2
            sn //= 2
            depth += 1
        leaf = rng.randbytes(32)
        path = [rng.randbytes(32) for _ in range(depth)]
        root = path_root(leaf, index, size, path)
        yield leaf, index, size, path, root
        yield leaf, index ^ 2**32, size, path, root
        yield leaf, index + 2**31, size, path, root


def inclusion_cases(rng: random.Random) -> list[tuple[Any, ...]]:
    cases: list[tuple[Any, ...]] = []
    for size in SIZES:
        leaves = [leaf_hash(rng.randbytes(20)) for _ in range(size)]
        tree = MerkleTree.from_leaf_hashes(leaves)
        assert tree.root() == rfc6962.mth(leaves)
        indices = (
            range(size)
            if size <= 65
            else sorted({0, 1, size // 2, size - 2, size - 1, *rng.sample(range(size), 8)})
        )
        for index in indices:
            cases.extend(tampered(leaves[index], index, size, tree.inclusion_proof(index), tree.root()))
    cases.extend(huge_proofs(rng))
    return cases


def signed(checkpoint: note.Checkpoint, key: SigningKey, name: str = ORIGIN) -> str:
    return note.sign(checkpoint, name, key)


def note_cases(rng: random.Random, key: SigningKey, retired: SigningKey, stranger: SigningKey) -> list[str]:
    notes = []
    for size in [0, 1, 2, 7, 8, 1000, 2**40 + 3]:
        root = rng.randbytes(32)
        genuine = signed(note.Checkpoint(ORIGIN, size, root), key)
        body, _, signature_line = genuine.partition("\n\n")
        blob = base64.b64decode(signature_line.split(" ")[2])
        other_root = base64.b64encode(flip(root)).decode()
        notes += [
            genuine,
            signed(note.Checkpoint(ORIGIN, size, root), retired),  # an older key of the log still verifies
            signed(note.Checkpoint(ORIGIN, size, root), stranger),  # a key the log never published
            genuine.replace(f"\n{size}\n", f"\n{size + 1}\n", 1),
            genuine.replace(base64.b64encode(root).decode(), other_root, 1),
            genuine.replace(ORIGIN + "\n", "samtycke/evil.example/consent-log\n", 1),
            genuine.replace(signature_line.split(" ")[2], base64.b64encode(flip(blob, 40)).decode()),
            genuine.replace(signature_line.split(" ")[2], base64.b64encode(flip(blob, 0)).decode()),
            signed(note.Checkpoint(ORIGIN, size, root), key, name="another-name"),
            body + "\n" + signature_line.rstrip("\n"),
            body
            + "\n\n"
            + signed(note.Checkpoint(ORIGIN, size, root), stranger).partition("\n\n")[2]
            + signature_line,  # a stranger's signature first, then the log's
            genuine.replace("\n\n", "\n", 1),
            genuine.replace(signature_line.split(" ")[2], signature_line.split(" ")[2].rstrip("=")),
            genuine.replace(signature_line.split(" ")[2], "!" + signature_line.split(" ")[2][1:]),
            genuine.replace(f"\n{size}\n", f"\n+{size}\n", 1),
            body.split("\n")[0] + "\n\n" + signature_line,
        ]
    return notes


def python_note(text: str, keys: list[Any]) -> dict[str, Any]:
    try:
        checkpoint, kid = note.verify(text, keys)
    except note.NoteError:
        return {"ok": False}
    return {
        "ok": True,
        "origin": checkpoint.origin,
        "size": checkpoint.size,
        "root": checkpoint.root.hex(),
        "kid": kid,
    }


@pytest.fixture(scope="module")
def keys() -> tuple[SigningKey, SigningKey, SigningKey]:
    return tuple(SigningKey(Ed25519PrivateKey.generate()) for _ in range(3))  # type: ignore[return-value]


def test_the_page_verifier_answers_as_the_python_verifier_and_the_oracle(
    keys: tuple[SigningKey, SigningKey, SigningKey],
) -> None:
    rng = random.Random(6962)
    key, retired, stranger = keys
    inclusion = inclusion_cases(rng)
    notes = note_cases(rng, key, retired, stranger)
    jwks = {"keys": [key.public.jwk(status="active"), retired.public.jwk(status="retired")]}
    answers = run_js(
        {
            "inclusion": [
                {
                    "leaf": leaf.hex(),
                    "index": i,
                    "size": n,
                    "path": [p.hex() for p in path],
                    "root": root.hex(),
                }
                for leaf, i, n, path, root in inclusion
            ],
            "jwks": jwks,
            "notes": notes,
        }
    )
    expected = [verify_inclusion(*case) for case in inclusion]
    assert expected == [rfc6962.check_inclusion(*case) for case in inclusion], "the two Python checks differ"
    assert answers["inclusion"] == expected
    assert sum(expected) > 400 and expected.count(False) > 2000, "both answers are well represented"
    published = [key.public, retired.public]
    assert answers["notes"] == [python_note(text, published) for text in notes]
    assert [a["ok"] for a in answers["notes"][:3]] == [True, True, False]


def python_receipt(
    integrity: dict[str, Any], proof: dict[str, Any], text: str, keys: list[Any]
) -> dict[str, Any]:
    """What the page must conclude, from the Python verifiers: the note, then the path, then the binding."""
    try:
        checkpoint, kid = note.verify(text, keys)
    except note.NoteError:
        return {"ok": False, "code": "signature"}
    path = [bytes.fromhex(h) for h in proof["audit_path"]]
    leaf = bytes.fromhex(proof["leaf_hash"])
    if not verify_inclusion(leaf, proof["leaf_index"], checkpoint.size, path, checkpoint.root):
        return {"ok": False, "code": "path"}
    if (proof["leaf_index"], proof["leaf_hash"]) != (integrity["log_index"], integrity["leaf_hash"]):
        return {"ok": False, "code": "other-entry"}
    return {"ok": True, "index": proof["leaf_index"], "size": checkpoint.size, "kid": kid}


def test_receipts_of_the_running_log_verify_in_the_page_as_in_python(consent_client: TestClient) -> None:
    receipts = []
    for n in range(13):
        consent_client.cookies.clear()
        made = consent_client.post("/api/v1/consent", json=choice(decisions={"statistics": n % 2 == 0}))
        assert made.status_code == 201
        receipts.append(made.json()["receipt"])
    checkpoint = consent_client.get("/api/v1/log/checkpoint", params={"format": "json"}).json()
    jwks = consent_client.get("/api/v1/log/keys").json()
    size, genuine_note = checkpoint["tree_size"], checkpoint["note"]
    root = base64.b64encode(bytes.fromhex(checkpoint["root_hash"])).decode()
    other_root = base64.b64encode(flip(bytes.fromhex(checkpoint["root_hash"]))).decode()
    cases = []
    proofs = []
    for receipt in receipts:
        index = receipt["integrity"]["log_index"]
        proof = consent_client.get(
            "/api/v1/log/inclusion", params={"leaf_index": index, "tree_size": size}
        ).json()
        proofs.append(proof)
        integrity = {k: receipt["integrity"][k] for k in ("log_index", "leaf_hash")}
        flipped_path = [flip(bytes.fromhex(proof["audit_path"][0])).hex(), *proof["audit_path"][1:]]
        cases += [
            (integrity, proof, genuine_note),
            (integrity, {**proof, "audit_path": flipped_path}, genuine_note),
            (integrity, {**proof, "leaf_index": index - 1}, genuine_note),
            (integrity, {**proof, "leaf_hash": flip(bytes.fromhex(proof["leaf_hash"])).hex()}, genuine_note),
            (integrity, proof, genuine_note.replace(root, other_root, 1)),
            (integrity, proof, genuine_note.replace(f"\n{size}\n", f"\n{size - 1}\n", 1)),
        ]
    for integrity, proof in zip(
        [{k: r["integrity"][k] for k in ("log_index", "leaf_hash")} for r in receipts],
        proofs[1:] + proofs[:1],
        strict=True,
    ):
        cases.append((integrity, proof, genuine_note))  # a genuine proof, of another receipt
    answers = run_js(
        {
            "inclusion": [],
            "notes": [],
            "jwks": jwks,
            "receipts": [{"integrity": i, "proof": p, "note": n} for i, p, n in cases],
        }
    )
    keys = parse_public_keys(json.dumps(jwks))
    expected = [python_receipt(i, p, n, keys) for i, p, n in cases]
    assert answers["receipts"] == expected
    verified = [a for a in answers["receipts"] if a["ok"]]
    assert [(a["index"], a["size"]) for a in verified] == [
        (r["integrity"]["log_index"], size) for r in receipts
    ]
    assert {a["code"] for a in answers["receipts"] if not a["ok"]} == {"signature", "path", "other-entry"}
