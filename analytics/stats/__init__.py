"""The stats API: parser (JSON -> Query) -> builder (Query -> SQL) -> runner (SQL -> answer).

``api`` is ``POST /api/v1/stats/query``; ``parser`` validates the JSON into a ``Query``
(with ``ranges`` for the site's local dates); ``builder`` writes its SQL from ``columns``
(where a dimension's value comes from), ``conditions`` (filters), ``goals`` and ``rollups``
(when a rollup can answer instead of raw events) or ``single_pass`` (raw-event shapes that
aggregate once), every value bound through ``sql``;
``runner`` runs it within the report budget and shapes the answer.  ``ecommerce/`` and
``funnel/`` follow the same stages for their reports; ``realtime`` is the last 30
minutes, straight from raw events.
"""
