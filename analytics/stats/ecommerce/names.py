"""The ecommerce metrics and dimensions of the stats API, and the columns behind the dimensions.

Order metrics (per order, each order counted once at its first sighting):

* ``revenue``: sum of orders' grand totals (with ``event:goal``: revenue sent with goal conversions);
* ``orders``: orders; ``average_order_value``: revenue per order;
* ``ecommerce_conversion_rate``: percent of visits with an order (per product: visits that
  ordered it per visit that viewed it).

Product metrics, with a product dimension, where ``revenue`` is price times quantity of the
product's items: ``quantity`` sold, ``product_views`` (pageviews showing it) and
``cart_adds`` (visits whose cart held it).
"""

from __future__ import annotations

ORDER_METRICS = ("revenue", "orders", "average_order_value", "ecommerce_conversion_rate")
PRODUCT_METRICS = ("quantity", "product_views", "cart_adds")
METRICS = (*ORDER_METRICS, *PRODUCT_METRICS)

# Public dimension -> the column of one item, after the items are unrolled.
PRODUCT_DIMENSIONS: dict[str, str] = {
    "event:product_sku": "item_sku",
    "event:product_name": "item_name",
    "event:product_category": "item_category",
}
