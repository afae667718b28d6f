"""The verifiable consent log: an append-only RFC 6962 Merkle log with signed checkpoints.

An entry flows ``entries`` (canonical bytes) → ``sequencer`` (the single writer: gapless
indices, group commit through the journal) → ``merkle`` (the tree and its proofs) →
``log`` (start-up checks, stored rows) → ``note`` (C2SP signed checkpoints, with ``keys``)
→ ``verify`` (offline, over an export) and ``online`` (is today's log an extension of the
one seen before?).  ``backup`` verifies the log inside a backup against the backup's own keys; ``cli`` is
``samtycke log``.  Nothing here speaks HTTP.
"""
