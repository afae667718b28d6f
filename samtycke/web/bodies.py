"""Request bodies read as JSON: a size limit while reading, then one parser for every endpoint.

Too large is 413, before or while the body arrives; not JSON (including too deep or too
large numbers, ``samtycke.jsontext``) is 400; an empty body is ``None``.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request

from samtycke import jsontext
from samtycke.numbers import is_whole_number
from samtycke.web.asgi import header
from samtycke.web.errors import BadRequest, PayloadTooLarge


async def read_json(request: Request, limit: int) -> Any:
    length = header(request.scope, b"content-length") or ""
    if is_whole_number(length) and int(length) > limit:
        raise PayloadTooLarge(f"the body is over {limit} bytes")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise PayloadTooLarge(f"the body is over {limit} bytes")
    if not body.strip():
        return None
    try:
        return jsontext.parse(body)
    except jsontext.NotJSON as exc:
        raise BadRequest("the body is not valid JSON", field="body") from exc
