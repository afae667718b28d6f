"""The consent domain's HTTP surface: every handler, and nothing a handler does not need.

``api`` (the banner's configuration, choices, history, erasure), ``logapi`` (checkpoints,
proofs, entries, keys for anyone to audit), ``audit`` (the auditor's exports and page)
and ``pages`` (the cookie declaration and the privacy policy).  Handlers parse, call
``consent.recording`` or ``consent.ledger``, and render; HTTP statuses live here and in
``samtycke.web`` only.  Which origins may call the visitor-facing API is
``samtycke.web.cors``, the policy the tracking endpoints share.
"""
