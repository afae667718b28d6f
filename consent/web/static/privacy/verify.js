// The consent log's proofs, checked where the visitor is: the Ed25519 signature of a checkpoint in
// C2SP signed-note form (consent/ledger/note.py) and an RFC 6962 / RFC 9162 inclusion proof
// (consent/ledger/merkle.py), with WebCrypto and nothing else. Each function follows its Python
// counterpart step by step; tests/consent/test_privacy_verifier.py runs both over the same proofs,
// genuine and tampered, and requires the same answers. An ES module: the privacy page imports it,
// and so can Node (which has the same globalThis.crypto).

const DASH = '\u2014';
const ED25519 = 0x01;
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const HEX32 = /^[0-9a-f]{64}$/;

/** Why a receipt did not verify; `code` names the check that failed. */
export class VerifyError extends Error {
  constructor(code, message) {
    super(message);
    this.code = code;
  }
}

const subtle = () => globalThis.crypto.subtle;
const utf8 = (text) => new TextEncoder().encode(text);

function concat(...parts) {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) out.set(p, at), (at += p.length);
  return out;
}

function same(a, b) {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

export function fromHex(text) {
  if (typeof text !== 'string' || !HEX32.test(text)) throw new VerifyError('malformed', 'a hash is not 32 bytes of hex');
  return Uint8Array.from(text.match(/../g), (b) => parseInt(b, 16));
}

export const toHex = (bytes) => Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');

// Python's base64.b64decode(text, validate=True): the standard alphabet with its padding, or an error.
function fromBase64(text, what) {
  if (!BASE64.test(text)) throw new VerifyError('malformed', what + ' is not base64');
  return Uint8Array.from(atob(text), (c) => c.charCodeAt(0));
}

function fromBase64Url(text) {
  const plain = String(text).replace(/-/g, '+').replace(/_/g, '/');
  return fromBase64(plain + '='.repeat((4 - (plain.length % 4)) % 4), 'a public key');
}

async function sha256(bytes) {
  return new Uint8Array(await subtle().digest('SHA-256', bytes));
}

export const leafHash = (data) => sha256(concat(Uint8Array.of(0), data));
export const nodeHash = (left, right) => sha256(concat(Uint8Array.of(1), left, right));

/**
 * RFC 9162 section 2.1.3.2, as consent.ledger.merkle.verify_inclusion. Indices are JavaScript
 * numbers, exact up to 2^53, so halving is division (bitwise operators would cut them to 32 bits).
 */
export async function verifyInclusion(leaf, index, size, proof, root) {
  if (!Number.isSafeInteger(index) || !Number.isSafeInteger(size) || index < 0 || index >= size) return false;
  let fn = index;
  let sn = size - 1;
  let r = leaf;
  for (const p of proof) {
    if (sn === 0) return false;
    if (fn % 2 === 1 || fn === sn) {
      r = await nodeHash(p, r);
      if (fn % 2 === 0) {
        while (fn % 2 === 0 && fn !== 0) {
          fn = Math.floor(fn / 2);
          sn = Math.floor(sn / 2);
        }
      }
    } else {
      r = await nodeHash(r, p);
    }
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  return sn === 0 && same(r, root);
}

/** The checkpoint and its signature lines, as consent.ledger.note.parse. */
export function parseNote(note) {
  const blank = note.indexOf('\n\n');
  if (blank < 0) throw new VerifyError('malformed', 'the note has no blank line before its signatures');
  const body = note.slice(0, blank);
  const lines = body.split('\n');
  if (lines.length < 3) throw new VerifyError('malformed', 'a checkpoint needs an origin, a tree size and a root hash');
  const [origin, sizeText, rootText] = lines;
  // Python takes any number of digits; past 2^53 a JavaScript number is no longer exact.
  if (!/^[0-9]+$/.test(sizeText) || !Number.isSafeInteger(Number(sizeText))) {
    throw new VerifyError('malformed', 'the tree size is not a number');
  }
  const root = fromBase64(rootText, 'the root hash');
  if (root.length !== 32) throw new VerifyError('malformed', 'the root hash is not 32 bytes');
  const signatures = [];
  for (const line of note.slice(blank + 2).replace(/\n+$/, '').split('\n')) {
    const parts = line.split(' ');
    if (parts.length !== 3 || parts[0] !== DASH) throw new VerifyError('malformed', 'not a signature line');
    const blob = fromBase64(parts[2], 'a signature');
    if (blob.length !== 4 + 64) throw new VerifyError('malformed', 'an Ed25519 note signature must be 4 + 64 bytes');
    signatures.push({ name: parts[1], keyHash: blob.slice(0, 4), signature: blob.slice(4) });
  }
  return { origin, size: Number(sizeText), root, signatures, message: utf8(body + '\n') };
}

/** The signed-note key hash: SHA-256(name || "\n" || 0x01 || public key), first four bytes. */
export async function keyHash(name, publicKey) {
  return (await sha256(concat(utf8(name + '\n'), Uint8Array.of(ED25519), publicKey))).slice(0, 4);
}

/** The Ed25519 keys of a JWKS document, as consent.ledger.keys.parse_public_keys reads them. */
export async function publicKeys(jwks) {
  const found = [];
  for (const jwk of (jwks && jwks.keys) || []) {
    if (!jwk || jwk.kty !== 'OKP' || jwk.crv !== 'Ed25519') continue;
    const raw = fromBase64Url(jwk.x);
    if (raw.length !== 32) continue;
    const kid = toHex((await sha256(raw)).slice(0, 8));
    found.push({ kid, raw, key: await subtle().importKey('raw', raw, { name: 'Ed25519' }, false, ['verify']) });
  }
  return found;
}

/** The checkpoint and the id of the key that signed it, as consent.ledger.note.verify; else VerifyError. */
export async function verifyNote(note, keys) {
  const checkpoint = parseNote(note);
  for (const { name, keyHash: hash4, signature } of checkpoint.signatures) {
    for (const key of keys) {
      if (!same(await keyHash(name, key.raw), hash4)) continue;
      if (await subtle().verify({ name: 'Ed25519' }, key.key, signature, checkpoint.message)) {
        return { origin: checkpoint.origin, size: checkpoint.size, root: checkpoint.root, kid: key.kid };
      }
    }
  }
  throw new VerifyError('signature', 'no signature on the checkpoint verifies with the log\'s public keys');
}

/**
 * Is this receipt in the log? `integrity` is the receipt's {log_index, leaf_hash}; `proof` the answer of
 * /api/v1/log/inclusion; `note` the signed checkpoint; `jwks` the answer of /api/v1/log/keys.
 * The audit path is checked against the root the checkpoint signs, never the root the proof claims,
 * and only then is the proof held to the receipt's own index and leaf hash.
 */
export async function verifyReceipt(integrity, proof, note, jwks) {
  const checkpoint = await verifyNote(note, await publicKeys(jwks));
  if (!proof || !Array.isArray(proof.audit_path)) throw new VerifyError('malformed', 'the proof has no audit path');
  const path = proof.audit_path.map(fromHex);
  const leaf = fromHex(proof.leaf_hash);
  if (!(await verifyInclusion(leaf, proof.leaf_index, checkpoint.size, path, checkpoint.root))) {
    throw new VerifyError('path', 'the audit path does not lead to the signed root');
  }
  if (proof.leaf_index !== integrity.log_index || proof.leaf_hash !== integrity.leaf_hash) {
    throw new VerifyError('other-entry', 'the proof is for another log entry than the receipt');
  }
  return { index: proof.leaf_index, size: checkpoint.size, origin: checkpoint.origin, kid: checkpoint.kid };
}
