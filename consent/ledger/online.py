"""Online verification: is the log we see now an extension of the log we saw before?

The state file keeps the last verified checkpoint (origin, size, root) and the key ids
trusted on first use.  Each run fetches the current signed checkpoint, checks its
signature, then a consistency proof from the remembered size to the new one (RFC 9162
2.1.4.2), and remembers the new checkpoint only when everything holds.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path

import httpx

from consent.ledger import note
from consent.ledger.keys import PublicKey, parse_public_keys
from consent.ledger.merkle import verify_consistency


def verify_online(base_url: str, state_path: Path, pinned: Sequence[PublicKey]) -> int:
    base = base_url.rstrip("/")
    state = json.loads(state_path.read_text()) if state_path.exists() else {}
    try:
        with httpx.Client(timeout=30) as client:
            keys = list(pinned)
            if not keys:
                published = parse_public_keys(client.get(f"{base}/api/v1/log/keys").raise_for_status().text)
                trusted = set(state.get("key_ids", []))
                keys = [k for k in published if not trusted or k.kid in trusted]
                if trusted and not keys:
                    print("FAILED: none of the keys trusted before is still published", flush=True)
                    return 1
            text = client.get(f"{base}/api/v1/log/checkpoint").raise_for_status().text
            try:
                checkpoint, kid = note.verify(text, keys)
            except note.NoteError as exc:
                print(f"FAILED: checkpoint: {exc}")
                return 1
            old_size, old_root = int(state.get("size", 0)), bytes.fromhex(state.get("root", ""))
            if state and state.get("origin") != checkpoint.origin:
                print(f"FAILED: the origin changed from {state.get('origin')!r} to {checkpoint.origin!r}")
                return 1
            if checkpoint.size < old_size:
                print(f"FAILED: the log shrank from {old_size} to {checkpoint.size} entries")
                return 1
            if old_size and old_size <= checkpoint.size:
                response = client.get(
                    f"{base}/api/v1/log/consistency", params={"first": old_size, "second": checkpoint.size}
                ).raise_for_status()
                proof = [bytes.fromhex(h) for h in response.json()["proof"]]
                if not verify_consistency(old_size, checkpoint.size, old_root, checkpoint.root, proof):
                    print(f"FAILED: tree size {checkpoint.size} is inconsistent with size {old_size}")
                    return 1
    except (httpx.HTTPError, ValueError, KeyError) as exc:
        print(f"cannot check {base}: {exc}")
        return 2
    new_state = {
        "origin": checkpoint.origin,
        "size": checkpoint.size,
        "root": checkpoint.root.hex(),
        "key_ids": sorted({k.kid for k in keys}),
    }
    tmp = state_path.with_suffix(state_path.suffix + ".tmp")
    tmp.write_text(json.dumps(new_state, indent=2))
    os.replace(tmp, state_path)
    print(f"OK: checkpoint at tree size {checkpoint.size} (key {kid}) is consistent with size {old_size}")
    return 0
