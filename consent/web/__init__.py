"""The consent domain's HTTP surface: every handler, and nothing a handler does not need.

``api`` (the banner's configuration, choices, history, erasure), ``handoff`` (a choice
carried by a link to another site of a group), ``accounts`` (a customer account's consent,
for the portal's backend), ``logapi`` (checkpoints, proofs, entries, keys for anyone to
audit), ``audit`` (the auditor's exports and page), ``rates`` (how visitors answer the
banner, for the dashboard) and ``pages`` (the cookie declaration, the policy and the
visitor's own consents).  Handlers parse, call
``consent.recording`` or ``consent.ledger``, and render; HTTP statuses live here and in
``samtycke.web`` only.  Which origins may call the visitor-facing API is
``samtycke.web.cors``, the policy the tracking endpoints share.
"""
