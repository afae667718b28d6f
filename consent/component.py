"""The consent domain, as mounted into the app.

banner → ``web.api`` → ``recording`` (choice → receipt) → ``ledger`` (sequencer, Merkle
tree, signed checkpoints) → proofs (``web.logapi``) → audit export (``web.audit``) →
offline ``ledger.verify``.  ``enforcement`` is what other sites run; ``scan`` checks them.
"""

from __future__ import annotations

from pathlib import Path

from consent import schema
from consent.accounts.service import AccountConsent
from consent.recording.service import ConsentService
from consent.web import accounts, api, api_components, audit, handoff, logapi, rates
from consent.web.pages import TEMPLATES
from samtycke.component import Component
from samtycke.services import Services
from samtycke.web import assets
from samtycke.web.surface import for_visitors, own_origin_only

# The built banner (static/build.mjs writes it here), served at /banner.js and /static/banner.js.
STATIC = Path(__file__).resolve().parent / "web" / "static"
BANNER = STATIC / "banner.js"


def build(services: Services) -> Component:
    service = ConsentService(services)
    account_consent = AccountConsent(service)
    consent_api = api.ConsentAPI(service, account_consent)

    def readiness() -> tuple[bool, str]:
        return service.log.ready, service.log.problem

    return Component(
        name="consent",
        templates=TEMPLATES,
        static=STATIC,
        routes=[
            *for_visitors([*api.routes(consent_api), *handoff.routes(consent_api)]),
            *logapi.routes(service),  # each route declares its own surface
            *own_origin_only(
                [*audit.routes(service), *rates.routes(service.services), *accounts.routes(account_consent)]
            ),
            *for_visitors([assets.script("/banner.js", BANNER, "The consent banner (with its CSS)")]),
        ],
        migrations=schema.MIGRATIONS,
        on_storage_ready=[service.run],
        on_shutdown=[service.log.close],
        readiness={"consent_log": readiness},
        api_components=api_components.COMPONENTS,
    )
