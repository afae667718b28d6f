"""The settings declared in ``samtycke.settings``, flattened into a documentation table."""

from __future__ import annotations

import dataclasses
import json
import typing
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from samtycke.settings import Settings


@dataclass(frozen=True)
class Row:
    key: str  # "storage.clickhouse_url", "sites[].cookies[].name"
    type: str
    default: str
    env: str
    help: str


def rows(cls: type[Any] = Settings, prefix: str = "") -> Iterator[Row]:
    hints = typing.get_type_hints(cls)
    for spec in dataclasses.fields(cls):
        hint = hints[spec.name]
        key = f"{prefix}{spec.name}"
        inner = typing.get_args(hint)[0] if typing.get_origin(hint) is list else None
        if dataclasses.is_dataclass(hint):
            yield from rows(hint, f"{key}.")  # type: ignore[arg-type]
        elif inner is not None and dataclasses.is_dataclass(inner):
            yield from rows(inner, f"{key}[].")  # type: ignore[arg-type]
        else:
            yield Row(
                key,
                _type_name(hint),
                _default(spec),
                spec.metadata.get("env") or "",
                spec.metadata.get("help", ""),
            )


def _type_name(hint: Any) -> str:
    if typing.get_origin(hint) is list:
        return f"list of {typing.get_args(hint)[0].__name__}"
    return str(hint.__name__)


def _default(spec: dataclasses.Field[Any]) -> str:
    if spec.metadata.get("required"):
        return "(required)"
    if spec.default is not dataclasses.MISSING:
        return json.dumps(spec.default)
    if spec.default_factory is not dataclasses.MISSING:
        return json.dumps(spec.default_factory())
    return ""


def markdown_table() -> str:
    lines = ["| key | type | default | env | meaning |", "| --- | --- | --- | --- | --- |"]
    for row in rows():
        env = f"`{row.env}`" if row.env else ""
        lines.append(f"| `{row.key}` | {row.type} | `{row.default}` | {env} | {row.help.replace('|', '/')} |")
    return "\n".join(lines)


START, END = "<!-- settings:start -->", "<!-- settings:end -->"


def update_readme(text: str) -> str:
    """``text`` with the table between the settings markers replaced by the current one."""
    head, _, rest = text.partition(START)
    _, _, tail = rest.partition(END)
    return f"{head}{START}\n{markdown_table()}\n{END}{tail}"
