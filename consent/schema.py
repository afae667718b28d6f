"""The consent log's tables.

``consent_log``       one row per log entry; ``ReplacingMergeTree(revision)`` keyed by the
                      index, so a journal replay can never give an index two rows, and a
                      purge replaces a payload by inserting a higher revision without it.
``consent_subjects``  the per-subject salt behind each subject commitment; erasure
                      deletes the row (crypto-shredding).
``consent_checkpoints`` every signed checkpoint, to check the tree against at start-up.
``consent_account_links`` which receipts a customer account's choice was made or adopted by,
                      under the account's commitment; erasing the account deletes its rows.
"""

from __future__ import annotations

from samtycke.journal import receipts
from samtycke.storage import Migration, Table

LOG = "consent_log"
SUBJECTS = "consent_subjects"
CHECKPOINTS = "consent_checkpoints"
ACCOUNT_LINKS = "consent_account_links"

TIME = "DateTime64(3, 'UTC')"

MIGRATIONS = [
    Migration(
        id="consent.0001_log",
        description="Consent log entries, subject salts and signed checkpoints.",
        steps=(
            Table(
                name=LOG,
                columns=(
                    ("idx", "UInt64"),
                    ("kind", "LowCardinality(String)"),
                    ("site_id", "UInt32"),
                    ("subject", "String"),
                    ("receipt_id", "String"),
                    ("event_time", TIME),
                    ("entry", "String"),
                    ("leaf_hash", "String"),
                    ("revision", "UInt32"),
                ),
                engine="ReplacingMergeTree(revision)",
                order_by="idx",
                sharding_key="idx",
            ),
            Table(
                name=SUBJECTS,
                columns=(
                    ("subject_key", "String"),
                    ("commitment", "String"),
                    ("salt", "String"),
                    ("created_at", TIME),
                ),
                engine="ReplacingMergeTree",
                order_by="subject_key",
                sharding_key="cityHash64(subject_key)",
            ),
            Table(
                name=CHECKPOINTS,
                columns=(
                    ("tree_size", "UInt64"),
                    ("root_hash", "String"),
                    ("note", "String"),
                    ("key_id", "String"),
                    ("created_at", TIME),
                ),
                engine="ReplacingMergeTree",
                order_by="tree_size",
                sharding_key="tree_size",
            ),
        ),
    ),
    receipts.migration("consent.0002_shipment_receipts", [LOG, SUBJECTS, CHECKPOINTS]),
    Migration(
        id="consent.0003_account_links",
        description="Receipts linked to a customer account, by the account's commitment.",
        steps=(
            Table(
                name=ACCOUNT_LINKS,
                columns=(
                    ("account", "String"),
                    ("idx", "UInt64"),
                    ("receipt_id", "String"),
                    ("origin_idx", "UInt64"),
                    ("created_at", TIME),
                ),
                engine="ReplacingMergeTree",
                order_by="(account, idx)",
                sharding_key="cityHash64(account)",
            ),
        ),
    ),
    receipts.migration("consent.0004_account_link_receipts", [ACCOUNT_LINKS]),
]
