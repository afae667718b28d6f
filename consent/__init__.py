"""The consent domain: a visitor's choice, from the banner to a receipt in a verifiable log.

A choice flows banner (``banner``: the site's configuration and texts) → ``web`` (the
consent API) → ``recording`` (parsed, a receipt issued) → ``ledger`` (the Merkle log,
signed checkpoints, proofs) → ``web`` again for the audit export and the log API.  Other
sites honour the choice with ``enforcement`` (the middleware and ``samtycke proxy``),
``scan`` checks a site's cookies against its ``registry``, and ``accounts`` lets a choice
follow a customer account.  Shared at the top: ``categories`` (the one category
vocabulary, with the GPC and Consent Mode maps), ``registry``, ``cookies`` (the two
cookies a choice sets), ``declaration`` and ``texts`` (what a visitor is told),
``privacy_texts``, ``consent_default`` (Consent Mode's default script), ``groups`` and
``handoff`` (sites that share a choice), ``schema`` (the log's tables) and ``component``
(what the domain mounts into the app).
"""
