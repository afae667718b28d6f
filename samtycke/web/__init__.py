"""The HTTP layer shared by both domains: the app, its routing, errors, pages and assets.

A request flows ``app`` (middleware: access log, body limit; then ``routing``'s direct
routes or Starlette's router) → a domain's handler → ``errors`` (every error rendered in
one place: JSON for the API, HTML in the layout for pages).  ``health`` serves liveness,
readiness, metrics and the OpenAPI description; ``pages`` the start page, login and demo;
``assets`` the browser scripts; ``i18n`` picks Swedish or English; ``asgi`` reads request
facts straight from the scope.

On the way in: ``server`` and ``serving`` (uvicorn, one or two origins; ``surface`` says
which origin a route is served on), ``headerlimit``, ``penalty`` and ``netlimit`` (what
a client may send, and how often), ``bodies`` (JSON bodies within a limit), ``params``
(shared query-string parameters), ``sameorigin`` (CSRF) and ``cors`` (which pages may call
with the visitor's cookies, one policy for both domains).  On the way out:
``pageheaders`` (security headers), ``links`` (addresses for the browser) and ``openapi``
(the API description from the handlers' docstrings).  Pages of the plumbing's own:
``login``, ``setup`` (the first admin) and ``accounts`` (``accounts_api``,
``accounts_page``, sharing ``account_admin``).
"""
