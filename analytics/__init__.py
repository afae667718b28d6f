"""The statistics domain: a tracking hit, from the tracker to the dashboard.

A hit flows ``ingestion`` (the Matomo endpoints → a validated request → named steps →
the journal) → ClickHouse's events table (``schema``) → rollups fed by materialized views →
``stats`` (the query API: parser → builder → runner) → ``dashboard``.  ``visitor_data``
answers a consented visitor's GDPR requests (export, deletion) over HTTP and through
``cli`` (``samtycke visitor``); ``managed`` keeps the goals and saved funnels marketers
manage, which ``stats`` counts; ``component`` is what the domain mounts into the app.
From consent it takes only the consent cookie and the category vocabulary.
"""
