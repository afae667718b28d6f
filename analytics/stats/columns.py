"""Where a dimension's value comes from in one site's query, and which hits have one.

Most dimensions are a column of ``events`` (``parser.DIMENSIONS``).  Two kinds need more:

* visit facts (the exit page, the entry hit's referrer, a visit-scoped custom dimension) are
  aggregated per visit over the whole period and joined to every hit of the visit;
* custom dimensions (``event:props:<name>``) are keys of the ``dimensions`` map, named by the
  site's declarations (``sites[].dimensions[]``) or, undeclared, by their numbers.  An
  action-scoped one is each hit's own value; a visit-scoped one is the last value the visit
  sent, so everything the visit did counts under it, as in Matomo.

Grouped by a dimension that only some hits have (an outlink, a search keyword, a custom
dimension), a query counts only those hits (``only``); as a filter, a dimension is just
its value, so ``is_not`` also keeps the hits that have none.
"""

from __future__ import annotations

from analytics.stats.parser import (
    DIMENSIONS,
    HIT_KINDS,
    PROPS,
    PROPS_PREFIX,
    Condition,
    Filter,
    InvalidQuery,
    Logical,
    Query,
)
from analytics.stats.sql import Parameters
from samtycke.settings import CustomDimension, Site
from samtycke.settings.loading import MAX_CUSTOM_DIMENSION

# Visit facts every site has: dimension -> (column of visit_facts, its aggregate over the visit).
VISIT_FACTS: dict[str, tuple[str, str]] = {
    "visit:exit_page": ("exit_page", "argMaxIf(pathname, timestamp, kind = 'pageview')"),
    "visit:referrer": ("referrer_of_visit", "anyIf(referrer, is_entry = 1)"),
}


def custom_dimension(site: Site, dimension: str) -> CustomDimension | None:
    """The custom dimension ``event:props:<name>`` names: declared (by name or number) or a number."""
    name = dimension.removeprefix(PROPS_PREFIX)
    for declared in site.dimensions:
        if declared.name == name or (name.isdigit() and declared.id == int(name)):
            return declared
    if name.isdigit() and 1 <= int(name) <= MAX_CUSTOM_DIMENSION:
        return CustomDimension(id=int(name), name=str(int(name)), scope="action")
    return None


def check(query: Query, site: Site) -> None:
    """Every custom dimension the query names exists for its site (InvalidQuery otherwise)."""
    for index, dimension in enumerate(query.dimensions):
        _known(site, dimension, f"dimensions[{index}]")
    for index, condition in enumerate(query.filters):
        for leaf in _leaves(condition):
            _known(site, leaf.dimension, f"filters[{index}]")


def _known(site: Site, dimension: str, field: str) -> None:
    if dimension.startswith(PROPS_PREFIX) and custom_dimension(site, dimension) is None:
        name = dimension.removeprefix(PROPS_PREFIX)
        declared = ", ".join(d.name for d in site.dimensions) or "none"
        raise InvalidQuery(
            f"site {site.id} declares no custom dimension {name!r} (declared: {declared}; undeclared"
            f" ones go by number, 1-{MAX_CUSTOM_DIMENSION})",
            field=field,
        )


def _leaves(condition: Condition) -> list[Filter]:
    if isinstance(condition, Logical):
        return [leaf for child in condition.children for leaf in _leaves(child)]
    return [condition]


class Columns:
    """SQL for each dimension of one statement; remembers which visit facts it used."""

    def __init__(self, site: Site, parameters: Parameters) -> None:
        self.site = site
        self.parameters = parameters
        self.facts: dict[str, str] = {}  # visit_facts column -> its aggregate
        self._keys: dict[int, str] = {}

    def value(self, dimension: str) -> str:
        """The dimension's value on a hit row (joined with its visit's facts)."""
        if dimension in VISIT_FACTS:
            name, aggregate = VISIT_FACTS[dimension]
            self.facts[name] = aggregate
            return name
        if dimension == PROPS:
            return "arrayJoin(mapKeys(dimensions))"
        if dimension.startswith(PROPS_PREFIX):
            custom = self._custom(dimension)
            key = self._key(custom.id)
            if custom.scope == "visit":
                name = f"visit_dimension_{custom.id}"
                self.facts[name] = f"argMaxIf(dimensions[{key}], timestamp, mapContains(dimensions, {key}))"
                return name
            return f"dimensions[{key}]"
        return DIMENSIONS[dimension]

    def only(self, dimension: str) -> str | None:
        """The hits that have the dimension, when only some do."""
        if dimension in HIT_KINDS:
            return f"kind = '{HIT_KINDS[dimension]}'"
        if dimension == PROPS:
            return "notEmpty(dimensions)"
        if dimension.startswith(PROPS_PREFIX):
            custom = self._custom(dimension)
            if custom.scope == "visit":
                return f"{self.value(dimension)} != ''"
            return f"mapContains(dimensions, {self._key(custom.id)})"
        return None

    def _custom(self, dimension: str) -> CustomDimension:
        custom = custom_dimension(self.site, dimension)
        if custom is None:  # ``check`` ran first; this guards the builder's other callers
            raise InvalidQuery(f"unknown custom dimension {dimension[:80]!r}", field="dimensions")
        return custom

    def _key(self, number: int) -> str:
        if number not in self._keys:
            self._keys[number] = self.parameters.bind(str(number), "String", "c")
        return self._keys[number]
