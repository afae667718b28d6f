"""Groups of sites: the organisation's own domains, which share a visitor's choice (``sites[].group``)."""

from __future__ import annotations

from samtycke.settings import Settings, Site


def group_sites(settings: Settings, site: Site) -> list[Site]:
    """Every site in ``site``'s group, itself included, in configuration order; [] outside a group."""
    if not site.group:
        return []
    return [other for other in settings.sites if other.group == site.group]


def share_choices(settings: Settings, source: Site, target: Site) -> bool:
    """A choice on ``source`` may be carried to ``target``: two different sites of one group."""
    return bool(source.group) and source.group == target.group and source.id != target.id
