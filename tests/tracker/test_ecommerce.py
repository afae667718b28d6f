"""Ecommerce with samtycke's /matomo.js in headless Chromium: Matomo's commands, then the reports.

The page pushes Matomo's own ecommerce commands (``setEcommerceView``, ``addEcommerceItem``,
``trackEcommerceCartUpdate``, ``trackEcommerceOrder``), re-sends the same order as a reloaded
thank-you page would, and the stats API must show every figure once.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

import pytest

from tests.tracker.conftest import DEADLINE, Collector, TrackedPage

pytestmark = pytest.mark.browser

PAGE = "/t/shop"


def report(collector: Collector, metrics: list[str], dimensions: list[str]) -> list[list[Any]]:
    answer = collector.query(
        {
            "metrics": metrics,
            "dimensions": dimensions,
            "filters": [["contains", "event:page", [PAGE]]],
            "order_by": [[d, "asc"] for d in dimensions],
        }
    )
    return [[*row["dimensions"], *row["metrics"]] for row in answer["results"]]


def wait_for_report(
    collector: Collector, metrics: list[str], dimensions: list[str], expected: list[list[Any]]
) -> None:
    deadline = time.monotonic() + DEADLINE
    while (found := report(collector, metrics, dimensions)) != expected:
        if time.monotonic() > deadline:
            raise AssertionError(f"{metrics} by {dimensions}: {found}, expected {expected}")
        time.sleep(0.2)


def test_matomo_ecommerce_commands_show_up_in_the_reports(
    tracked_page: Callable[..., TrackedPage], collector: Collector
) -> None:
    queued = [
        ["setCustomUrl", PAGE],
        ["setEcommerceView", "SHOP-1", "Kartan", ["Böcker", "Kartor"], 120],
    ]
    tracked = tracked_page(f"window._paq = {json.dumps(queued)};")
    tracked.page.goto(collector.url("/demo/tracker"))
    tracked.wait_for_tracker()
    tracked.wait_for_hits(1)  # the product page view
    tracked.page.evaluate(
        """() => {
          _paq.push(['addEcommerceItem', 'SHOP-1', 'Kartan', ['Böcker', 'Kartor'], 120, 2]);
          _paq.push(['addEcommerceItem', 'SHOP-2', 'Pennan', 'Kontor', 15.5]);
          _paq.push(['trackEcommerceCartUpdate', 255.5]);
          _paq.push(['trackEcommerceOrder', 'SHOP-ORDER-1', 305.5, 255.5, 51.1, 50, 0]);
          // The thank-you page again: the same order is sent a second time.
          _paq.push(['addEcommerceItem', 'SHOP-1', 'Kartan', ['Böcker', 'Kartor'], 120, 2]);
          _paq.push(['addEcommerceItem', 'SHOP-2', 'Pennan', 'Kontor', 15.5]);
          _paq.push(['trackEcommerceOrder', 'SHOP-ORDER-1', 305.5, 255.5, 51.1, 50, 0]);
        }"""
    )
    tracked.wait_for_hits(4)

    view, cart, order, again = tracked.hits.sent
    assert (view["_pks"], view["_pkn"], view["_pkc"], view["_pkp"]) == (
        "SHOP-1",
        "Kartan",
        '["Böcker","Kartor"]',
        "120",
    )
    assert (cart["idgoal"], cart["revenue"], "ec_id" in cart) == ("0", "255.5", False)
    assert json.loads(cart["ec_items"]) == [
        ["SHOP-1", "Kartan", ["Böcker", "Kartor"], 120, 2],
        ["SHOP-2", "Pennan", "Kontor", 15.5, 1],
    ]
    assert (order["ec_id"], order["revenue"], order["ec_st"], order["ec_tx"], order["ec_sh"]) == (
        "SHOP-ORDER-1", "305.5", "255.5", "51.1", "50",
    )  # fmt: skip
    assert again["ec_id"] == order["ec_id"] and again["ec_items"] == order["ec_items"]
    assert tracked.hits.statuses == [204] * 4

    wait_for_report(collector, ["revenue", "orders", "average_order_value"], [], [[305.5, 1, 305.5]])
    wait_for_report(
        collector,
        ["revenue", "quantity", "orders", "product_views", "cart_adds"],
        ["event:product_sku"],
        [["SHOP-1", 240, 2, 1, 1, 1], ["SHOP-2", 15.5, 1, 1, 0, 1]],
    )
    wait_for_report(
        collector,
        ["revenue", "product_views"],
        ["event:product_category"],
        [["Böcker", 240, 1], ["Kartor", 240, 1], ["Kontor", 15.5, 0]],
    )
