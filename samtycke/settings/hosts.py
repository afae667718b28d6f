"""The host names a site is served on, as its ``domains`` list them.

One rule for everything that asks whether a host belongs to a site: the collector, for the
page a hit names, and CORS, for the page that calls samtycke.  Each entry matches exactly,
and a ``*.example.se`` entry matches every name under ``example.se`` (not ``example.se``
itself, which is listed on its own when it is served too).  Names compare in lower case
without a trailing dot.
"""

from __future__ import annotations

from collections.abc import Iterable


class Hosts:
    """``host in Hosts(domains)``: whether ``domains`` names ``host``."""

    def __init__(self, domains: Iterable[str]) -> None:
        names = [domain.strip().lower().rstrip(".") for domain in domains]
        self.exact = frozenset(name for name in names if name and not name.startswith("*."))
        self.suffixes = tuple(name[1:] for name in names if name.startswith("*.") and len(name) > 2)

    def __contains__(self, host: str) -> bool:
        host = host.lower().rstrip(".")
        return host in self.exact or host.endswith(self.suffixes)
