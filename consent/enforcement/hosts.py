"""Which configured site a request's ``Host`` names, if any.

Enforcement serves only the host names in the configuration, by the rule the collector
and CORS apply (``samtycke.settings.hosts``): each entry of a site's ``domains`` exactly,
and any name under a ``*.example.se`` entry.  A subdomain that is not listed is not served,
so a site that runs on ``shop.example.se`` lists it (or ``*.example.se``).  Any other
``Host`` is refused with 421 Misdirected Request: answering it would put the site and
its cookie decisions on a name its owner never configured.

The demo configuration lists ``localhost`` and ``127.0.0.1``, so ``samtycke proxy``
works on this machine out of the box; a real site's configuration adds them when it is
tried out locally.
"""

from __future__ import annotations

from collections.abc import Iterable

from samtycke.settings import Site
from samtycke.settings.hosts import Hosts


def request_host(raw: str) -> str:
    """The host name a ``Host`` header names: lower case, without port or trailing dot."""
    raw = raw.strip().lower()
    if raw.startswith("["):  # an IPv6 literal, "[::1]:8000"
        return raw[1 : raw.find("]")] if "]" in raw else ""
    return raw.partition(":")[0].rstrip(".")


class SiteHosts:
    """The configured sites by the host names they are served on (``samtycke.settings.hosts``'s rule)."""

    def __init__(self, sites: Iterable[Site]) -> None:
        self.sites = [(Hosts(site.domains), site) for site in sites]

    def site_for(self, host: str) -> Site | None:
        """The site whose domains name ``host`` (a name from ``request_host``), or None.

        A site listing the name itself wins over one whose ``*.`` entry covers it.
        """
        exact = next((site for hosts, site in self.sites if host in hosts.exact), None)
        return exact or next((site for hosts, site in self.sites if host in hosts), None)
