"""Backups of a whole samtycke: ClickHouse's tables and the data directory's own files.

    pause shipping ─► data-dir files (keys, checkpoint) ─► tables (Native, FINAL) ─► journal
        ─► manifest (sha256, rows, DDL) ─► [tar over POST /api/v1/backup] ─► DIR
    DIR ─► verify (checksums, modes, rows, the consent log against its keys) ─► restore
        (files with their modes, tables, rows, then the views that feed rollups)

A running samtycke holds the embedded database, so ``samtycke backup`` asks it
(``web``); with nothing running the command reads the data itself (``writer``).  Either
way shipping from the journal stops for the copy, so that every record is in exactly one
place: a table or the copied journal, which the restored service ships on its first start.
``files`` says which files of the data directory go in, ``manifest`` what the backup holds,
``archive`` is the tar stream a running server sends, ``reader`` reads table files for
``verify`` without a database, and ``cli`` is ``samtycke backup`` and ``samtycke restore``.
"""
