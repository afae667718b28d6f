"""Values derived from one site's settings, computed once per ``Site`` object."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import TypeVar

from samtycke.settings.declared import Site

PER_SITE_CACHE = 256

_T = TypeVar("_T")


def per_site(derive: Callable[[Site], _T]) -> Callable[[Site], _T]:
    """Cache ``derive(site)`` for each Site object, for values every request would rebuild.

    Settings are frozen, so a value never goes stale.  Sites hold lists and so cannot be
    dictionary keys: the cache keys on identity and keeps the site, so its id is not reused.
    Callers must not mutate what they get.
    """
    cache: dict[int, tuple[Site, _T]] = {}

    @functools.wraps(derive)
    def cached(site: Site) -> _T:
        hit = cache.get(id(site))
        if hit is not None and hit[0] is site:
            return hit[1]
        if len(cache) >= PER_SITE_CACHE:  # settings built over and over (tests): start over
            cache.clear()
        value = derive(site)
        cache[id(site)] = (site, value)
        return value

    return cached
