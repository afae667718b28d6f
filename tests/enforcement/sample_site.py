"""Sample sites that set a cookie of every kind, for the enforcement tests.

``bad_site()`` is a site that ignores consent entirely: its server sets preference,
statistics, marketing (HttpOnly, on the parent domain) and undeclared cookies on every
page, before any choice.  Its third-party content is gated the way the banner expects
(``data-category``), so behind samtycke's proxy nothing is left that a visitor did not
agree to.  ``third_party()`` is the advertising network on the other loopback address.

``templated_site()`` is an application that mounts ``ConsentMiddleware`` itself and
leaves marketing tags out of its HTML with the template helper.
"""

from __future__ import annotations

import base64

from jinja2 import DictLoader, Environment, select_autoescape
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse, Response
from starlette.routing import Route

from consent.enforcement.decision import of as decision_of
from consent.enforcement.middleware import install_template_helpers

YEAR = 365 * 86400
PIXEL = base64.b64decode("R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAICRAEAOw==")


def _parent_domain(request: Request) -> str:
    host = (request.headers.get("x-forwarded-host") or request.headers.get("host") or "").split(":")[0]
    return "demo.localhost" if host.endswith("demo.localhost") else ""


def set_every_kind(response: Response, request: Request) -> None:
    """One cookie of every kind the issue names, all before any consent."""
    response.set_cookie("demo_session", "s1", httponly=True, samesite="lax")  # necessary, session
    response.set_cookie("demo_lang", "sv", max_age=YEAR, samesite="lax")  # preferences, persistent
    response.set_cookie("_pk_id.1.abcd", "visitor", max_age=395 * 86400, samesite="lax")  # statistics
    parent = _parent_domain(request)
    response.set_cookie(  # marketing, HttpOnly, on the parent domain when there is one
        "demo_ads", "campaign", max_age=90 * 86400, httponly=True, samesite="lax", domain=parent or None
    )
    response.set_cookie("tracker_uid", "u-123", max_age=YEAR, samesite="lax")  # not in the registry


PAGE = """<!doctype html>
<html lang="sv">
<head>
<meta charset="utf-8">
<title>{title}</title>
</head>
<body>
<h1>{title}</h1>
<nav><a href="/">Start</a> <a href="/kundservice">Kundservice</a> <a href="/elpris">Elpris</a>
<a href="https://example.invalid/elsewhere">Utanför</a></nav>
<p>En exempelsida som sätter cookies utan att fråga.</p>
<script type="text/plain" data-category="preferences">
document.cookie = "demo_lang=sv; max-age=31536000; path=/; samesite=lax";
</script>
<img data-category="marketing" data-src="{third_party}/pixel.gif" alt="" width="1" height="1">
</body>
</html>
"""


def bad_site(third_party: str) -> Starlette:
    async def page(request: Request) -> Response:
        title = {"/": "Start", "/kundservice": "Kundservice", "/elpris": "Elpris"}[request.url.path]
        response = HTMLResponse(PAGE.format(title=title, third_party=third_party))
        set_every_kind(response, request)
        if request.url.path == "/elpris":
            # Declared as living 6 months; really two years.
            response.set_cookie("demo_stats", "map", max_age=2 * YEAR, samesite="lax")
        return response

    return Starlette(routes=[Route(p, page) for p in ("/", "/kundservice", "/elpris")])


def third_party() -> Starlette:
    async def pixel(request: Request) -> Response:
        response = Response(PIXEL, media_type="image/gif")
        response.set_cookie("demo_retarget", "r1", samesite="lax")
        return response

    async def script(request: Request) -> Response:
        return PlainTextResponse("window.adLoaded = true;", media_type="text/javascript")

    return Starlette(routes=[Route("/pixel.gif", pixel), Route("/ads.js", script)])


TEMPLATE = """<!doctype html><html><head><title>Mallsida</title>
{% if consented("statistics") %}<script src="/matomo.js" data-tag="statistics"></script>{% endif %}
{% if consent_allowed(request, "marketing") %}
<script src="{{ third_party }}/ads.js" data-tag="marketing"></script>
{% endif %}
</head><body><p>gpc={{ gpc }}</p></body></html>"""


def templated_site(third_party: str) -> Starlette:
    environment = Environment(loader=DictLoader({"page.html": TEMPLATE}), autoescape=select_autoescape())
    install_template_helpers(environment)

    async def every_kind(request: Request) -> Response:
        response = PlainTextResponse("ok")
        set_every_kind(response, request)
        return response

    async def page(request: Request) -> Response:
        verdict = decision_of(request.scope)
        html = environment.get_template("page.html").render(
            request=request, third_party=third_party, gpc=verdict.gpc if verdict else None
        )
        response = HTMLResponse(html)
        response.headers["Vary"] = "Accept-Encoding"
        return response

    async def granted(request: Request) -> Response:
        verdict = decision_of(request.scope)
        return PlainTextResponse(",".join(sorted(verdict.granted)) if verdict else "none")

    return Starlette(
        routes=[Route("/every-kind", every_kind), Route("/page", page), Route("/granted", granted)]
    )
