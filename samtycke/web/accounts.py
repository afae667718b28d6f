"""Managing accounts over HTTP: the API for scripts and the page for people.

Both are for admins (the record of changes also for auditors) and live on samtycke's
own origin only, never on a website's through the proxy.
"""

from __future__ import annotations

from samtycke.component import Component
from samtycke.services import Services
from samtycke.web import accounts_api, accounts_page
from samtycke.web.surface import own_origin_only


def build(services: Services) -> Component:
    return Component(
        name="accounts",
        routes=own_origin_only([*accounts_api.routes(services), *accounts_page.routes(services)]),
    )
