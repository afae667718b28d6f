"""The consent domain, as mounted into the app.

banner → ``api`` (choice) → ``receipts`` → ``log`` (sequencer, Merkle tree) → checkpoint
(``note``) → proofs (``logapi``) → audit export (``audit``) → offline ``verify``.
"""

from __future__ import annotations

from consent import api, audit, logapi, schema
from consent.domain import ConsentDomain
from samtycke.component import Component
from samtycke.services import Services


def build(services: Services) -> Component:
    domain = ConsentDomain(services)

    def readiness() -> tuple[bool, str]:
        return domain.log.ready, domain.log.problem

    return Component(
        name="consent",
        routes=[*api.routes(domain), *logapi.routes(domain), *audit.routes(domain)],
        migrations=schema.MIGRATIONS,
        on_storage_ready=[domain.run],
        on_shutdown=[domain.log.close],
        readiness={"consent_log": readiness},
    )
