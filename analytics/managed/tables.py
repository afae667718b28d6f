"""Stored goals and saved funnels: one row per version, the latest row of a key wins.

Both tables are ``ReplacingMergeTree(version)`` keyed by ``(site_id, id)``.  A change is
one insert with a higher ``version``; a delete is a row marked ``deleted``.  Reads take each
key's latest row with ``argMax(..., version)`` rather than ``FINAL``, so they are right before
ClickHouse merges, on chDB, on one server and on a cluster alike.
"""

from __future__ import annotations

from samtycke.storage import Migration, Table

GOALS = "analytics_goals"
FUNNELS = "analytics_funnels"
TIME = "DateTime64(3, 'UTC')"

_CHANGES: tuple[tuple[str, str], ...] = (
    ("deleted", "UInt8"),
    ("created_by", "String"),
    ("created_at", TIME),
    ("updated_by", "String"),
    ("updated_at", TIME),
    ("version", "UInt64"),
)

GOALS_TABLE = Table(
    name=GOALS,
    columns=(
        ("site_id", "UInt32"),
        ("id", "UInt32"),  # the Matomo goal id (idgoal) trackers may send
        ("name", "String"),
        ("page", "String"),
        ("event_category", "String"),
        ("event_action", "String"),
        ("event_name", "String"),
        ("revenue", "Float64"),
        *_CHANGES,
    ),
    engine="ReplacingMergeTree(version)",
    order_by="(site_id, id)",
    journalled=False,
    sharding_key="site_id",
)
FUNNELS_TABLE = Table(
    name=FUNNELS,
    columns=(
        ("site_id", "UInt32"),
        ("id", "UInt32"),
        ("name", "String"),
        ("steps", "String"),  # JSON: the steps as POST /api/v1/stats/funnel takes them
        ("within", "String"),
        *_CHANGES,
    ),
    engine="ReplacingMergeTree(version)",
    order_by="(site_id, id)",
    journalled=False,
    sharding_key="site_id",
)
GOAL_COLUMNS = tuple(name for name, _ in GOALS_TABLE.columns)
FUNNEL_COLUMNS = tuple(name for name, _ in FUNNELS_TABLE.columns)

MIGRATION = Migration(
    id="analytics.0006_goals_and_funnels",
    description="Goals and saved funnels managed in samtycke, one row per version",
    steps=(GOALS_TABLE, FUNNELS_TABLE),
)
