"""samtycke's plumbing: what both domains run on, importing neither.

A request flows ``web`` (the app, its middleware, direct routes and router, errors rendered
in one place) → a domain's handler (``consent``, ``analytics``), which ``auth`` and
``sessions`` say may ask → what it writes goes to the ``journal`` (fsynced, group commit)
→ its shipper → ``storage`` (ClickHouse, embedded or over HTTP, with migrations) → what
it reads comes back from ``storage``.  ``services`` builds the long-lived parts from
``settings`` once; ``component`` is what a domain contributes to the app.  Beside that:
``accounts`` (who may log in), ``backup`` (``samtycke backup`` and ``restore``), ``cli``
(the command, the only reader of the environment) with ``cli_server`` and
``sessions_cli``; errors free of HTTP in ``unavailable`` (try later, 503) and ``invalid``
(refused input, 422).

Small modules, one concept each, used along the way: ``clientip`` (the visitor's address),
``signing`` (signed cookie values), ``passwords``, ``ratelimit`` and ``refusals`` (limits
in bounded memory), ``jsontext`` and ``numbers`` (request text parsed), ``caching``,
``days`` (named date ranges), ``csvcells``, ``logs`` and ``metrics`` (without personal
data), ``durable`` and ``datadir`` (files that survive a power cut, private to the
service), ``progress`` (for long commands), ``runtime`` (the server process's
interpreter settings) and ``heap`` (its C heap, kept from growing).
"""
