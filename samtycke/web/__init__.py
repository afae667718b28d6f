"""The HTTP layer shared by both domains: the app, its routing, errors, pages and assets.

A request flows ``app`` (middleware: access log, body limit; then ``routing``'s direct
routes or Starlette's router) → a domain's handler → ``errors`` (every error rendered in
one place: JSON for the API, HTML in the layout for pages).  ``health`` serves liveness,
readiness, metrics and the OpenAPI description; ``pages`` the start page, login and demo;
``assets`` the browser scripts; ``i18n`` picks Swedish or English; ``asgi`` reads request
facts straight from the scope.
"""
