"""The stats API: parser (JSON -> Query) -> builder (Query -> SQL) -> runner (SQL -> answer)."""
