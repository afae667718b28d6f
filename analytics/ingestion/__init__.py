"""Ingestion: how a tracking hit becomes a stored, anonymous event.

A request flows ``collector`` (Matomo's endpoints) → ``request`` (parsed into a validated
``Hit``) → ``pipeline`` (named steps, any of which may drop the hit with a counted reason:
exclusion, client address, ``geo``, ``anonymize``, the visitor hash with ``salts``,
``devices``, ``sources``, ``visits``; ``ecommerce`` reads an order, cart or product view)
→ a journal record → ClickHouse's events table.
The full address exists only in memory, until ``anonymize`` has masked it.
"""
