"""The shapes the analytics API's description shares, declared once and referenced with ``$ref``.

A saved funnel holds exactly the ``steps`` and ``within`` that ``POST /api/v1/stats/funnel``
takes, so both describe them with the same components; a goal's body is the same for
creating and for changing it.  The statistics routes answer a wrong role and a full or
overrun query engine in the same words.
"""

from __future__ import annotations

from typing import Any

from samtycke.web.openapi import error_answer

TEXT = {"type": "string", "maxLength": 500}

SCHEMAS: dict[str, Any] = {
    "GoalDefinition": {
        "type": "object",
        "required": ["name"],
        "properties": {
            "id": {"type": "integer", "minimum": 1, "maximum": 2147483647},
            "name": {"type": "string", "minLength": 1, "maxLength": 100},
            "page": {**TEXT, "example": "/tack*"},
            "event_category": TEXT,
            "event_action": TEXT,
            "event_name": TEXT,
            "revenue": {"type": "number", "minimum": 0, "maximum": 1000000000},
        },
    },
    "FunnelStep": {
        "type": "object",
        "properties": {
            "page": TEXT,
            "event": {
                "type": "object",
                "properties": {"category": TEXT, "action": TEXT, "name": TEXT},
            },
            "goal": TEXT,
            "label": TEXT,
        },
    },
    "FunnelSteps": {
        "type": "array",
        "minItems": 2,
        "maxItems": 8,
        "items": {"$ref": "#/components/schemas/FunnelStep"},
    },
    "FunnelWithin": {"type": "string", "pattern": "^(visit|[1-9][0-9]{0,5}[mhd])$"},
    "FunnelDefinition": {
        "type": "object",
        "required": ["name", "steps", "within"],
        "properties": {
            "name": {"type": "string", "minLength": 1, "maxLength": 100},
            "within": {"$ref": "#/components/schemas/FunnelWithin"},
            "steps": {"$ref": "#/components/schemas/FunnelSteps"},
        },
    },
}

RESPONSES: dict[str, Any] = {
    "NoCredentials": error_answer("No credentials."),
    "NotAStatsReader": error_answer("The token's role may not read statistics."),
    "StatsBusy": error_answer(
        "Other statistics queries hold every turn, or the query went past its time or memory "
        "limit (narrow it); `Retry-After` says when to try again.\n"
    ),
}

COMPONENTS = {"schemas": SCHEMAS, "responses": RESPONSES}
