"""The upstream behind the proxy: the bad demo site plus pages that exercise the plumbing."""

from __future__ import annotations

import base64
import functools
import gzip
import hashlib
import zlib
from collections.abc import AsyncIterator

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response, StreamingResponse
from starlette.routing import Mount, Route

from tests.enforcement.sample_site import bad_site

BIG_CHUNK = bytes(range(256)) * 256  # 64 KiB
BIG_CHUNKS = 80  # 5 MiB
HTML = b"<!doctype html><html><head><title>x</title></head><body><p>hej</p></body></html>"
BOMB_BYTES = 64 * 1024 * 1024  # inflated; about 64 KiB as gzip
HEADLESS_BYTES = 2 * 1024 * 1024  # a page whose first tag comes after this many spaces
ETAG = '"page-v1"'
RANGE_END = 59  # a range of HTML from its start past </head>


@functools.cache
def gzip_of_spaces(head: bytes, size: int) -> bytes:
    """``head`` padded with spaces to ``size`` bytes, as gzip, compressed a piece at a time."""
    deflate = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    parts = [deflate.compress(head)]
    left = size - len(head)
    while left > 0:
        parts.append(deflate.compress(b" " * min(left, 1 << 20)))
        left -= 1 << 20
    return b"".join([*parts, deflate.flush()])


def upstream_app(third_party: str) -> Starlette:
    async def gzipped(request: Request) -> Response:
        return Response(gzip.compress(HTML), media_type="text/html", headers={"Content-Encoding": "gzip"})

    async def deflated(request: Request) -> Response:
        return Response(zlib.compress(HTML), media_type="text/html", headers={"Content-Encoding": "deflate"})

    async def bomb(request: Request) -> Response:
        body = gzip_of_spaces(b"<!doctype html><html><head><title>bomb</title></head><body>", BOMB_BYTES)
        return Response(body, media_type="text/html", headers={"Content-Encoding": "gzip"})

    async def headless_bomb(request: Request) -> Response:
        body = gzip_of_spaces(b"<!doctype html>", HEADLESS_BYTES)
        return Response(body, media_type="text/html", headers={"Content-Encoding": "gzip"})

    async def no_head(request: Request) -> Response:
        return HTMLResponse("<html><body class='b'><p>utan head</p></body></html>")

    async def with_csp(request: Request) -> Response:
        return HTMLResponse(HTML, headers={"Content-Security-Policy": "script-src 'self' 'nonce-abc123'"})

    async def big(request: Request) -> Response:
        async def chunks() -> AsyncIterator[bytes]:
            for _ in range(BIG_CHUNKS):
                yield BIG_CHUNK

        return StreamingResponse(chunks(), media_type="application/octet-stream")

    async def redirect(request: Request) -> Response:
        # An absolute redirect to the upstream's own address, as many frameworks send.
        return RedirectResponse(str(request.url_for("target")), status_code=302)

    async def target(request: Request) -> Response:
        return HTMLResponse(HTML)

    async def echo(request: Request) -> Response:
        body = await request.body()
        return JSONResponse(
            {
                "method": request.method,
                "body": body.decode(),
                "query": request.url.query,
                "forwarded_host": request.headers.get("x-forwarded-host"),
                "accept_encoding": request.headers.get("accept-encoding"),
                "custom": request.headers.get("x-custom"),
            },
            status_code=201,
            headers={"X-Upstream": "yes"},
        )

    async def credentials(request: Request) -> Response:
        return JSONResponse(
            {"cookie": request.headers.get("cookie"), "authorization": request.headers.get("authorization")}
        )

    async def validated(request: Request) -> Response:
        # A page with every validator of its exact bytes, revalidated and ranged as servers do.
        tags = {tag.strip().removeprefix("W/") for tag in request.headers.get("if-none-match", "").split(",")}
        if ETAG in tags:
            return Response(status_code=304, headers={"ETag": ETAG})
        headers = {
            "ETag": ETAG,
            "Last-Modified": "Tue, 01 Sep 2026 08:00:00 GMT",
            "Accept-Ranges": "bytes",
            "Content-MD5": base64.b64encode(hashlib.md5(HTML).digest()).decode(),
            "Repr-Digest": f"sha-256=:{base64.b64encode(hashlib.sha256(HTML).digest()).decode()}:",
        }
        if request.headers.get("range") == f"bytes=0-{RANGE_END}":
            headers["Content-Range"] = f"bytes 0-{RANGE_END}/{len(HTML)}"
            return Response(HTML[: RANGE_END + 1], status_code=206, media_type="text/html", headers=headers)
        return Response(HTML, media_type="text/html", headers=headers)

    async def teapot(request: Request) -> Response:
        return Response("kort och tjock", status_code=418, headers={"X-Teapot": "1"})

    return Starlette(
        routes=[
            Route("/gzip", gzipped),
            Route("/deflate", deflated),
            Route("/bomb", bomb),
            Route("/headless-bomb", headless_bomb),
            Route("/nohead", no_head),
            Route("/csp", with_csp),
            Route("/big", big),
            Route("/redirect", redirect),
            Route("/target", target, name="target"),
            Route("/echo", echo, methods=["GET", "POST", "PUT"]),
            Route("/teapot", teapot),
            Route("/validated", validated),
            Route("/credentials", credentials),
            Mount("/", bad_site(third_party)),
        ]
    )
