"""Matomo ecommerce on a hit: an order, a cart update or a product view, read and bounded.

    idgoal=0 with ec_id     an order: ec_id, revenue (grand total), ec_st, ec_tx, ec_sh, ec_dt, ec_items
    idgoal=0 without ec_id  a cart update: revenue (the cart's value) and ec_items (the whole cart)
    _pks, _pkn, _pkc, _pkp  on a pageview: the product (or, with only _pkc, the category) it shows

``ec_items`` is a JSON array of ``[sku, name, category, price, quantity]``, where category is
a string or an array of up to five, as matomo.js sends it.  ``_pkc`` is a string or such an
array in JSON.  Anything out of shape or out of bounds raises ``MalformedEcommerce``: the
pipeline drops the hit with the reason ``invalid_ecommerce`` (counted), since an order that
cannot be read is better missing than wrong.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from analytics.ingestion.request import MAX_AMOUNT, Hit
from samtycke import jsontext

MAX_ITEMS = 100
MAX_ORDER_ID = 100  # characters; Matomo's idorder column is as wide
MAX_TEXT = 255  # sku, name and each category, as Matomo's log_action names
MAX_CATEGORIES = 5
MAX_QUANTITY = 1_000_000


class MalformedEcommerce(Exception):
    """An ecommerce parameter the collector cannot read; ``field`` names it."""

    def __init__(self, message: str, field: str) -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True, slots=True)
class Item:
    sku: str
    name: str
    categories: tuple[str, ...]
    price: float
    quantity: int


@dataclass(frozen=True, slots=True)
class Ecommerce:
    """What a hit says about ecommerce; ``kind`` is order, cart or product_view."""

    kind: str
    items: tuple[Item, ...] = ()
    order_id: str = ""
    subtotal: float = 0.0
    tax: float = 0.0
    shipping: float = 0.0
    discount: float = 0.0


def read(hit: Hit) -> Ecommerce | None:
    """The hit's ecommerce facts, None when it has none; raises ``MalformedEcommerce``."""
    if hit.idgoal == 0:
        items = _items(hit.ec_items)
        if not hit.ec_id:
            return Ecommerce("cart", items)
        if len(hit.ec_id) > MAX_ORDER_ID:
            raise MalformedEcommerce(f"ec_id is longer than {MAX_ORDER_ID} characters", "ec_id")
        return Ecommerce(
            "order",
            items,
            order_id=hit.ec_id,
            subtotal=_amount(hit.ec_subtotal, "ec_st"),
            tax=_amount(hit.ec_tax, "ec_tx"),
            shipping=_amount(hit.ec_shipping, "ec_sh"),
            discount=_amount(hit.ec_discount, "ec_dt"),
        )
    if hit.product_sku or hit.product_name or hit.product_category:
        item = Item(
            sku=_bounded(hit.product_sku, "_pks"),
            name=_bounded(hit.product_name, "_pkn"),
            categories=_categories(_category_value(hit.product_category), "_pkc"),
            price=_amount(hit.product_price, "_pkp"),
            quantity=0,
        )
        return Ecommerce("product_view", (item,))
    return None


def _items(text: str) -> tuple[Item, ...]:
    if not text:
        return ()
    try:
        parsed = jsontext.parse(text)
    except jsontext.NotJSON as exc:
        raise MalformedEcommerce("ec_items is not JSON", "ec_items") from exc
    if not isinstance(parsed, list):
        raise MalformedEcommerce("ec_items is a JSON array of items", "ec_items")
    if len(parsed) > MAX_ITEMS:
        raise MalformedEcommerce(f"ec_items holds more than {MAX_ITEMS} items", "ec_items")
    return tuple(_item(entry, f"ec_items[{index}]") for index, entry in enumerate(parsed))


def _item(entry: Any, where: str) -> Item:
    if not isinstance(entry, list) or not 1 <= len(entry) <= 5:
        raise MalformedEcommerce(f"{where} is [sku, name, category, price, quantity]", where)
    padded: list[Any] = [*entry, None, None, None, None]
    sku, name, category, price, quantity = padded[:5]
    return Item(
        sku=_bounded(_scalar(sku, f"{where}[0]"), f"{where}[0]"),
        name=_bounded(_scalar(name, f"{where}[1]"), f"{where}[1]"),
        categories=_categories(category, f"{where}[2]"),
        price=_amount(_scalar(price, f"{where}[3]"), f"{where}[3]"),
        quantity=_quantity(quantity, f"{where}[4]"),
    )


def _scalar(value: Any, where: str) -> str:
    """A string or number as text; null and false (matomo.js's "not given") as ""."""
    if value is None or value is False:
        return ""
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise MalformedEcommerce(f"{where} must be text or a number", where)
    return str(value)


def _bounded(text: str, where: str) -> str:
    text = text.strip()
    if len(text) > MAX_TEXT:
        raise MalformedEcommerce(f"{where} is longer than {MAX_TEXT} characters", where)
    return text


def _category_value(text: str) -> Any:
    """``_pkc`` is plain text or a JSON array of categories."""
    if text.startswith("["):
        try:
            return jsontext.parse(text)
        except jsontext.NotJSON as exc:
            raise MalformedEcommerce("_pkc is not a valid JSON array", "_pkc") from exc
    return text


def _categories(value: Any, where: str) -> tuple[str, ...]:
    values: Sequence[Any] = value if isinstance(value, list) else [value]
    if len(values) > MAX_CATEGORIES:
        raise MalformedEcommerce(f"{where} has more than {MAX_CATEGORIES} categories", where)
    found = (_bounded(_scalar(v, where), where) for v in values)
    return tuple(category for category in found if category)


def _amount(text: str, where: str) -> float:
    text = text.strip()
    if text == "":
        return 0.0
    try:
        number = float(text)
    except ValueError as exc:
        raise MalformedEcommerce(f"{where} must be a number", where) from exc
    if not math.isfinite(number) or not 0 <= number <= MAX_AMOUNT:
        raise MalformedEcommerce(f"{where} must be a number from 0 to {MAX_AMOUNT:.0e}", where)
    return number


def _quantity(value: Any, where: str) -> int:
    if value is None or value is False or value == "":
        return 1  # matomo.js's default
    number = _amount(_scalar(value, where), where)
    if not number.is_integer() or number > MAX_QUANTITY:
        raise MalformedEcommerce(f"{where} must be a whole number up to {MAX_QUANTITY}", where)
    return int(number)
