"""Browser scripts served at fixed top-level paths (``/banner.js``, ``/matomo.js``)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import FileResponse, Response
from starlette.routing import Route

from samtycke.services import STATIC_DIR
from samtycke.web.errors import NotFound

# Sites embed these by URL, so a short max-age lets a new release reach visitors within
# minutes, while stale-while-revalidate and the ETag keep page loads from waiting on it.
SCRIPT_CACHE = "public, max-age=300, stale-while-revalidate=86400"


def script(path: str, filename: str, summary: str) -> Route:
    async def serve(request: Request) -> Response:
        file = STATIC_DIR / filename
        if not file.is_file():
            raise NotFound(f"{filename} is not built in this installation")
        return FileResponse(
            file,
            media_type="text/javascript; charset=utf-8",
            headers={
                "Cache-Control": SCRIPT_CACHE,
                "X-Content-Type-Options": "nosniff",
                "Cross-Origin-Resource-Policy": "cross-origin",
            },
        )

    serve.__doc__ = f"""
        summary: {summary}
        responses:
          200: {{description: JavaScript.}}
          404: {{description: Not built in this installation.}}
        """
    return Route(path, serve, methods=["GET"], name=filename)
