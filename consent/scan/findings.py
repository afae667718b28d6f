"""What the crawl saw, judged against the registry.

Violations (the scan fails): a cookie or storage key of an optional category before any
choice or after "reject all"; a cookie of a category the visitor did not grant; an
undeclared cookie; a cookie still there after its category was withdrawn.
Warnings: a real lifetime that differs from the declared one, undeclared storage keys,
third-party hosts contacted before any choice.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from consent.categories import NECESSARY
from consent.registry import Registry, is_session, lifetime_seconds
from consent.scan.observed import PageVisit, Scenario

# A persistent cookie's lifetime may be off by this share before it is reported.
LIFETIME_TOLERANCE = 0.1
LIFETIME_SLACK_SECONDS = 120.0


@dataclass(frozen=True)
class Finding:
    cookie: str
    page: str
    reason: str
    scenario: str
    kind: str

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


class Judge:
    def __init__(self, registry: Registry) -> None:
        self.registry = registry
        self.violations: list[Finding] = []
        self.warnings: list[Finding] = []
        self._seen: set[tuple[str, str, str]] = set()

    def _add(
        self, into: list[Finding], cookie: str, page: str, reason: str, scenario: str, kind: str
    ) -> None:
        key = (cookie, kind, scenario)
        if key in self._seen:
            return
        self._seen.add(key)
        into.append(Finding(cookie, page, reason, scenario, kind))

    def storage_category(self, key: str) -> str | None:
        for entry in self.registry.site.cookies:
            if key in entry.storage_keys:
                return entry.category
        return None

    def judge(self, scenarios: list[Scenario]) -> None:
        for scenario in scenarios:
            if scenario.note:
                self._add(self.violations, "", "", scenario.note, scenario.name, "banner")
            granted = {NECESSARY}
            if scenario.name.startswith("accept-"):
                granted.add(scenario.name.removeprefix("accept-"))
            for visit in scenario.visits:
                self.visit(scenario.name, visit, granted)
            withdrawn = granted - {NECESSARY}
            for visit in scenario.after_withdrawal:
                for cookie in visit.cookies:
                    if self.registry.category(cookie["name"]) in withdrawn:
                        self._add(
                            self.violations,
                            cookie["name"],
                            visit.url,
                            "survives withdrawal of consent",
                            scenario.name,
                            "survives-withdrawal",
                        )

    def visit(self, scenario: str, visit: PageVisit, granted: set[str]) -> None:
        before = scenario in ("before-choice", "reject-all")
        when = "before any choice" if scenario == "before-choice" else "after reject all"
        for cookie in visit.cookies:
            name = str(cookie["name"])
            entry = self.registry.match(name)
            if entry is None:
                reason = "undeclared cookie" + (f", set {when}" if before else "")
                self._add(self.violations, name, visit.url, reason, scenario, "undeclared")
                continue
            if entry.category not in granted:
                reason = (
                    f"{entry.category} cookie set {when}"
                    if before
                    else f"{entry.category} cookie set without consent to {entry.category}"
                )
                self._add(self.violations, name, visit.url, reason, scenario, "no-consent")
            self.lifetime(scenario, visit, cookie, entry.lifetime)
        for key in [*visit.local_storage, *visit.session_storage]:
            category = self.storage_category(key)
            if category is None:
                self._add(self.warnings, key, visit.url, "undeclared storage key", scenario, "storage")
            elif category not in granted:
                reason = f"{category} storage key written without consent"
                self._add(self.violations, key, visit.url, reason, scenario, "no-consent")
        if scenario == "before-choice":
            for host in visit.third_party:
                reason = f"third-party request to {host} before any choice"
                self._add(self.warnings, host, visit.url, reason, scenario, "third-party")

    def lifetime(self, scenario: str, visit: PageVisit, cookie: dict[str, Any], declared: str) -> None:
        session = bool(cookie.get("session")) or float(cookie.get("expires", -1)) <= 0
        name = str(cookie["name"])
        if is_session(declared) or session:
            if is_session(declared) != session:
                real = "a session cookie" if session else "persistent"
                reason = f"declared {declared!r} but is {real}"
                self._add(self.warnings, name, visit.url, reason, scenario, "lifetime")
            return
        wanted = lifetime_seconds(declared)
        if wanted is None:
            return
        real_seconds = float(cookie["expires"]) - visit.seen_at
        if abs(real_seconds - wanted) > max(wanted * LIFETIME_TOLERANCE, LIFETIME_SLACK_SECONDS):
            reason = f"declared {declared!r} but lives {_human(real_seconds)}"
            self._add(self.warnings, name, visit.url, reason, scenario, "lifetime")


def _human(seconds: float) -> str:
    days = seconds / 86400
    if days >= 60:
        return f"{days / 30:.0f} months"
    if days >= 2:
        return f"{days:.0f} days"
    return f"{seconds / 60:.0f} minutes"
