"""Browser files: scripts at fixed top-level paths (``/banner.js``, ``/matomo.js``) and ``/static/``.

Each package keeps the files it serves in a ``static`` folder beside its modules, so an
installed wheel serves them as a source checkout does.  Under ``/static/`` the folders of
every mounted domain are one tree: a domain's folder holds files at the paths it serves them
at (the dashboard's under ``dashboard/``), and this package's own (the site stylesheet) are
in ``STATIC``.  The demo pages are kept apart in ``DEMO``: they are served only at ``/demo``,
with the nonce of their response and only while ``server.demo`` is on, never as files.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from starlette.requests import Request
from starlette.responses import FileResponse, Response
from starlette.routing import Route
from starlette.staticfiles import PathLike, StaticFiles

from samtycke.web.errors import NotFound

STATIC = Path(__file__).resolve().parent / "static"
DEMO = Path(__file__).resolve().parent / "demo"

# Sites embed these by URL, so a short max-age lets a new release reach visitors within
# minutes, while stale-while-revalidate and the ETag keep page loads from waiting on it.
SCRIPT_CACHE = "public, max-age=300, stale-while-revalidate=86400"


def script(path: str, file: Path, summary: str) -> Route:
    async def serve(request: Request) -> Response:
        if not file.is_file():
            raise NotFound(f"{file.name} is not built in this installation")
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
    return Route(path, serve, methods=["GET"], name=file.name)


class StaticFolders(StaticFiles):
    """Files from several folders as one tree; the first folder that has a path serves it."""

    def __init__(self, folders: Sequence[Path]) -> None:
        self.folders = list(folders)
        super().__init__(check_dir=False)

    def get_directories(
        self,
        directory: PathLike | None = None,
        packages: list[str | tuple[str, str]] | None = None,
    ) -> list[PathLike]:
        return [*self.folders]
