"""The scan's reports: JSON for CI, and an HTML page a non-developer can read."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape

from consent.registry import Registry
from consent.scan.findings import Judge
from consent.scan.observed import Scenario

TEMPLATES = Path(__file__).resolve().parent.parent / "web" / "templates"


def build(url: str, registry: Registry, scenarios: list[Scenario], judge: Judge) -> dict[str, Any]:
    return {
        "url": url,
        "site_id": registry.site.id,
        "site_name": registry.site.name,
        "scanned_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "pages": [v.url for v in scenarios[0].visits] if scenarios else [],
        "violations": [f.as_json() for f in judge.violations],
        "warnings": [f.as_json() for f in judge.warnings],
        "scenarios": [
            {
                "name": s.name,
                "note": s.note,
                "cookies": sorted({c["name"] for v in s.visits for c in v.cookies}),
                "third_party_hosts": sorted({h for v in s.visits for h in v.third_party}),
                "local_storage": sorted({k for v in s.visits for k in v.local_storage}),
                "session_storage": sorted({k for v in s.visits for k in v.session_storage}),
                "after_withdrawal": sorted({c["name"] for v in s.after_withdrawal for c in v.cookies}),
            }
            for s in scenarios
        ],
    }


def html(report: dict[str, Any]) -> str:
    environment = Environment(
        loader=FileSystemLoader(str(TEMPLATES)), autoescape=select_autoescape(default=True)
    )
    return environment.get_template("scan_report.html").render(report=report)
