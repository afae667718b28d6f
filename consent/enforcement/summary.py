"""What enforcement did to one response, as one log line and as counters.

A response can touch hundreds of cookies; a log line per cookie let one request write
hundreds of lines.  The line counts the cookies by action and names a few of those
missing from the registry (the ones an operator acts on), each name cut short; values
are never logged.  The counters keep one increment per cookie, by site, action and
category.
"""

from __future__ import annotations

import logging
import weakref

from prometheus_client import CollectorRegistry, Counter

from samtycke.metrics import Metrics

logger = logging.getLogger("samtycke.enforcement")

MAX_NAME_IN_LOGS = 64
MAX_NAMES_IN_LOGS = 5
# Actions the counters record; the others only explain a response in the log line.
COUNTED = frozenset({"removed", "allowed", "expired"})

_counters: weakref.WeakKeyDictionary[CollectorRegistry, Counter] = weakref.WeakKeyDictionary()


def counter(metrics: Metrics | None) -> Counter | None:
    if metrics is None:
        return None
    found = _counters.get(metrics.registry)
    if found is None:
        found = Counter(
            "samtycke_enforced_cookies",
            "Cookies server-side enforcement acted on, by site, action and category.",
            ["site", "action", "category"],
            registry=metrics.registry,
        )
        _counters[metrics.registry] = found
    return found


class Summary:
    """The actions taken on one response's cookies.

    ``removed``: a ``Set-Cookie`` dropped; ``allowed``: an unknown cookie let through;
    ``expired``: a cookie the browser sent, expired; ``deferred``: left for a later
    response, this one's budget being spent; ``recent``: expired lately, not again yet.
    """

    def __init__(self, site_id: int, counts: Counter | None) -> None:
        self.site_id = site_id
        self.counts = counts
        self.actions: dict[str, int] = {}
        self.unknown: list[str] = []

    def add(self, action: str, category: str, name: str, unknown: bool) -> None:
        self.actions[action] = self.actions.get(action, 0) + 1
        if unknown and len(self.unknown) < MAX_NAMES_IN_LOGS:
            cut = name[:MAX_NAME_IN_LOGS]
            if cut not in self.unknown:
                self.unknown.append(cut)
        if self.counts is not None and action in COUNTED:
            self.counts.labels(str(self.site_id), action, category).inc()

    def log(self) -> None:
        """One line, when anything was done: a warning when cookies missing from the registry were seen."""
        if not self.actions:
            return
        extra = {"site_id": self.site_id, "actions": dict(sorted(self.actions.items()))}
        if self.unknown:
            logger.warning("cookies not in the registry", extra={**extra, "unknown": self.unknown})
        else:
            logger.debug("cookies without consent", extra=extra)
