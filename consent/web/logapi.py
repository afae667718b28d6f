"""The public log API: checkpoints, proofs, entries and keys, for anyone to audit.

The checkpoint, inclusion proofs and keys are on the visitor surface too: a visitor's
privacy page verifies their receipts with them, and behind ``samtycke proxy`` that page is
on the website's origin.  Consistency proofs and entries serve auditors, on samtycke's own.
"""

from __future__ import annotations

import json
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import BaseRoute, Route

from consent.ledger import note
from consent.ledger.entries import rfc3339
from consent.recording.service import ConsentService
from samtycke.numbers import is_whole_number
from samtycke.web.errors import Unprocessable
from samtycke.web.surface import for_visitors, own_origin_only

MAX_PAGE = 1000


def int_param(request: Request, name: str, default: int | None = None) -> int:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        if default is None:
            raise Unprocessable(f"{name} is required", field=name)
        return default
    if not is_whole_number(raw) or len(raw) > 18:
        raise Unprocessable(f"{name} must be a whole number", field=name)
    return int(raw)


def entry_json(row: dict[str, Any]) -> dict[str, Any]:
    text = str(row["entry"])
    return {
        "index": int(row["idx"]),
        "leaf_hash": str(row["leaf_hash"]),
        "kind": str(row["kind"]),
        "entry": json.loads(text) if text else None,
    }


class LogAPI:
    def __init__(self, service: ConsentService) -> None:
        self.service = service
        self.log = service.log

    async def checkpoint(self, request: Request) -> Response:
        """
        summary: The newest signed checkpoint
        description: C2SP signed note (text/plain); `?format=json` for a JSON wrapper.
        parameters:
          - {name: format, in: query, schema: {type: string, enum: [json]}}
        responses:
          200:
            description: The checkpoint.
            content:
              text/plain: {schema: {type: string}}
              application/json:
                schema:
                  type: object
                  required: [origin, tree_size, root_hash, key_id, note, signed_at]
                  properties:
                    origin: {type: string}
                    tree_size: {type: integer, minimum: 0}
                    root_hash: {type: string}
                    key_id: {type: string}
                    note: {type: string}
                    signed_at:
                      type: string
                      format: date-time
                      description: When it was signed; the signature does not cover it.
        """
        signed = await self.log.checkpoint()
        if request.query_params.get("format") == "json":
            return JSONResponse(
                {
                    "origin": self.log.origin,
                    "tree_size": signed.size,
                    "root_hash": signed.root.hex(),
                    "key_id": signed.key_id,
                    "note": signed.note,
                    "signed_at": rfc3339(signed.created_at),
                }
            )
        return PlainTextResponse(signed.note, headers={"Cache-Control": "no-cache"})

    def tree_size(self, request: Request, name: str) -> int:
        self.log.require_ready()
        size = int_param(request, name, self.log.tree.size)
        if size > self.log.tree.size:
            raise Unprocessable(f"{name} is past the log's size {self.log.tree.size}", field=name)
        return size

    async def inclusion(self, request: Request) -> Response:
        """
        summary: Inclusion proof (RFC 6962 audit path)
        parameters:
          - {name: leaf_index, in: query, required: true, schema: {type: integer}}
          - {name: tree_size, in: query, schema: {type: integer}}
        responses:
          200:
            description: The audit path, hex-encoded.
            content:
              application/json:
                schema:
                  type: object
                  required: [leaf_index, tree_size, leaf_hash, audit_path, root_hash]
                  properties:
                    leaf_index: {type: integer, minimum: 0}
                    tree_size: {type: integer, minimum: 1}
                    leaf_hash: {type: string, pattern: '^[0-9a-f]{64}$'}
                    audit_path: {type: array, items: {type: string, pattern: '^[0-9a-f]{64}$'}}
                    root_hash: {type: string, pattern: '^[0-9a-f]{64}$'}
          422: {description: Index or size out of range.}
        """
        size = self.tree_size(request, "tree_size")
        index = int_param(request, "leaf_index")
        if index >= size:
            raise Unprocessable(f"leaf_index must be below tree_size {size}", field="leaf_index")
        return JSONResponse(self.service.proof(index, size))

    async def consistency(self, request: Request) -> Response:
        """
        summary: Consistency proof between two tree sizes (RFC 6962)
        parameters:
          - {name: first, in: query, required: true, schema: {type: integer}}
          - {name: second, in: query, schema: {type: integer}}
        responses:
          200:
            description: The proof, hex-encoded.
            content:
              application/json:
                schema:
                  type: object
                  required: [first, second, first_root, second_root, proof]
                  properties:
                    first: {type: integer, minimum: 1}
                    second: {type: integer, minimum: 1}
                    first_root: {type: string, pattern: '^[0-9a-f]{64}$'}
                    second_root: {type: string, pattern: '^[0-9a-f]{64}$'}
                    proof: {type: array, items: {type: string, pattern: '^[0-9a-f]{64}$'}}
          422: {description: Sizes out of range.}
        """
        second = self.tree_size(request, "second")
        first = int_param(request, "first")
        if not 0 < first <= second:
            raise Unprocessable("first must be at least 1 and at most second", field="first")
        tree = self.log.tree
        return JSONResponse(
            {
                "first": first,
                "second": second,
                "first_root": tree.root(first).hex(),
                "second_root": tree.root(second).hex(),
                "proof": [h.hex() for h in tree.consistency_proof(first, second)],
            }
        )

    async def entries(self, request: Request) -> Response:
        """
        summary: Log entries [start, end), at most 1000
        parameters:
          - {name: start, in: query, required: true, schema: {type: integer}}
          - {name: end, in: query, schema: {type: integer}}
        responses:
          200:
            description: Entries with index and leaf hash; purged payloads are null.
            content:
              application/json:
                schema:
                  type: object
                  required: [tree_size, entries, next]
                  properties:
                    tree_size: {type: integer, minimum: 0}
                    next: {type: integer}
                    entries:
                      type: array
                      maxItems: 1000
                      items:
                        type: object
                        required: [index, leaf_hash, kind, entry]
                        properties:
                          index: {type: integer, minimum: 0}
                          leaf_hash: {type: string, pattern: '^[0-9a-f]{64}$'}
                          kind: {type: string}
                          entry: {type: object, nullable: true}
        """
        self.log.require_ready()
        start = int_param(request, "start")
        end = min(int_param(request, "end", start + MAX_PAGE), start + MAX_PAGE, self.log.tree.size)
        if start > self.log.tree.size:
            raise Unprocessable(f"start is past the log's size {self.log.tree.size}", field="start")
        rows = await self.log.rows(start, end) if end > start else []
        if len(rows) < end - start:
            await self.log.flush()
            rows = await self.log.rows(start, end)
        return JSONResponse(
            {"tree_size": self.log.tree.size, "entries": [entry_json(r) for r in rows], "next": end}
        )

    async def keys(self, request: Request) -> Response:
        """
        summary: The log's public keys (JWKS)
        responses:
          200:
            description: Ed25519 keys, each with its key id and signed-note verifier key.
            content:
              application/json:
                schema:
                  type: object
                  required: [keys]
                  properties:
                    keys:
                      type: array
                      items:
                        type: object
                        required: [kty, crv, x, kid, alg]
                        properties:
                          kty: {type: string, enum: [OKP]}
                          crv: {type: string, enum: [Ed25519]}
                          x: {type: string}
                          kid: {type: string}
                          alg: {type: string, enum: [EdDSA]}
                          note_vkey: {type: string}
        """
        document = self.log.keys.jwks()
        for jwk, public in zip(document["keys"], self.log.keys.public_keys(), strict=True):
            jwk["note_vkey"] = note.vkey(self.log.origin, public)
        return JSONResponse(document, headers={"Cache-Control": "public, max-age=300"})


def routes(service: ConsentService) -> list[BaseRoute]:
    api = LogAPI(service)
    return [
        *for_visitors(
            [
                Route("/api/v1/log/checkpoint", api.checkpoint, methods=["GET"]),
                Route("/api/v1/log/inclusion", api.inclusion, methods=["GET"]),
                Route("/api/v1/log/keys", api.keys, methods=["GET"]),
            ]
        ),
        *own_origin_only(
            [
                Route("/api/v1/log/consistency", api.consistency, methods=["GET"]),
                Route("/api/v1/log/entries", api.entries, methods=["GET"]),
            ]
        ),
    ]
