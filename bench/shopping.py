"""Shop visits for the dashboard benchmark, tracked through the collector itself.

Ecommerce hits are not written into tables by hand: they are Matomo tracking requests
(bulk, with an admin token and ``cdt``/``cip``, as Matomo's log importer sends history),
posted to a real samtycke app in this process.  So they pass the collector's parsing, the
pipeline (ecommerce reading, visitor identity, visit placement), the journal and its
shipper into ClickHouse, and the stored rows have whatever shape the product gives them.

A shop visit views one to three products (pageviews with ``_pks``, ``_pkn``, ``_pkc``,
``_pkp``); about half update the cart (``idgoal=0`` with ``ec_items``), and of those
about half order (``idgoal=0`` with ``ec_id``, ``revenue``, ``ec_st``, ``ec_tx``, ``ec_sh``,
``ec_dt``, ``ec_items``) on the thank-you page; one order in thirty is sent twice, as a
reloaded thank-you page does.  A third of the visitors consented to statistics (``_id``
with ``consent=1``); the others are counted cookieless, by a hash of a private address.
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from starlette.testclient import TestClient

from samtycke.auth import hash_token
from samtycke.settings import Settings
from samtycke.settings import loading as configfile
from samtycke.web.app import create_app

HOST = "https://demo.localhost"
BULK = 1000  # the collector's MAX_BULK
TOKEN = "dashboard-bench-importer"
# (sku, name, categories, price in SEK)
PRODUCTS = (
    ("LB-11", "Laddbox Home 11 kW", ["Laddboxar"], 9990.0),
    ("KAB-5", "Laddkabel typ 2, 5 m", ["Tillbehör", "Laddboxar"], 1790.0),
    ("SM-1", "Smart elmätare", ["Tillbehör"], 1490.0),
    ("LB-22", "Laddbox Pro 22 kW", ["Laddboxar", "Företag"], 14990.0),
    ("VP-LL", "Luft/luft-värmepump", ["Värmepumpar"], 24990.0),
    ("SC-6", "Solcellspaket 6 kW", ["Solceller"], 89900.0),
    ("BAT-10", "Batteri 10 kWh", ["Solceller", "Batterier"], 74900.0),
    ("SC-10", "Solcellspaket 10 kW", ["Solceller"], 129900.0),
)
USER_AGENTS = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 "
    "Safari/537.36",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/18.1 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (Linux; Android 14; SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Mobile "
    "Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_6) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 "
    "Safari/605.1.15",
)
REFERRERS = ("", "https://www.google.com/", "https://www.prisjakt.nu/", "https://m.facebook.com/")
LANGUAGES = ("sv-SE", "sv-SE", "sv-SE", "en-US", "nb-NO", "fi-FI")


@dataclass(frozen=True)
class Shop:
    sites: Sequence[int]
    visits: int
    start: datetime  # UTC
    end: datetime  # UTC
    seed: int = 5
    timezone: str = "Europe/Stockholm"
    identified_percent: int = 35
    cart_percent: int = 55  # of shop visits
    order_percent: int = 45  # of visits with a cart
    resent_per_order: float = 1 / 30


def skewed(rng: random.Random, values: Sequence[Any], skew: float) -> Any:
    """Low indexes far more often, like the generator's SQL draws."""
    return values[int(len(values) * rng.random() ** skew)]


def visit_hits(shop: Shop, rng: random.Random, number: int) -> list[dict[str, str]]:
    """One shop visit's tracking requests, in order."""
    site = skewed(rng, shop.sites, 2.0)
    zone = ZoneInfo(shop.timezone)
    day = shop.start + timedelta(days=rng.randrange(max(1, (shop.end - shop.start).days)))
    local = datetime.combine(day.astimezone(zone).date(), datetime.min.time(), zone)
    at = min(local + timedelta(seconds=rng.randrange(79_200)), shop.end - timedelta(minutes=30))
    visitor: dict[str, str] = {"idsite": str(site), "rec": "1", "ua": rng.choice(USER_AGENTS)}
    visitor["lang"] = rng.choice(LANGUAGES)
    if rng.randrange(100) < shop.identified_percent:
        visitor |= {"_id": f"{rng.getrandbits(64):016x}", "consent": "1"}
    else:
        visitor["cip"] = f"10.{rng.randrange(256)}.{rng.randrange(256)}.{rng.randrange(1, 255)}"
    hits: list[dict[str, str]] = []

    def send(params: dict[str, str]) -> None:
        nonlocal at
        hits.append({**visitor, "cdt": str(int(at.timestamp())), **params})
        at += timedelta(seconds=rng.randrange(15, 150))

    viewed = [skewed(rng, PRODUCTS, 1.6) for _ in range(rng.randrange(1, 4))]
    for index, (sku, name, categories, price) in enumerate(viewed):
        slug = sku.lower()
        send(
            {
                "url": f"{HOST}/butik/{slug}",
                "action_name": name,
                "urlref": rng.choice(REFERRERS) if index == 0 else f"{HOST}/butik",
                "_pks": sku,
                "_pkn": name,
                "_pkc": json.dumps(categories, ensure_ascii=False) if len(categories) > 1 else categories[0],
                "_pkp": f"{price:.2f}",
            }
        )
    if rng.randrange(100) >= shop.cart_percent:
        return hits
    cart = {product[0]: product for product in viewed}.values()  # each product once, by sku
    items = [[sku, name, cats, price, 1 + (rng.random() < 0.1)] for sku, name, cats, price in cart]
    subtotal = sum(price * quantity for _, _, _, price, quantity in items)
    ec_items = json.dumps(items, ensure_ascii=False)
    send({"url": f"{HOST}/butik/varukorg", "idgoal": "0", "revenue": f"{subtotal:.2f}", "ec_items": ec_items})
    if rng.randrange(100) >= shop.order_percent:
        return hits
    shipping = 0.0 if subtotal >= 5000 else 495.0
    discount = round(subtotal * 0.1, 2) if rng.random() < 0.15 else 0.0
    total = subtotal + shipping - discount
    order = {
        "url": f"{HOST}/butik/kassa/tack",
        "idgoal": "0",
        "ec_id": f"{site}-{shop.seed}-{number}",
        "revenue": f"{total:.2f}",
        "ec_st": f"{subtotal:.2f}",
        "ec_tx": f"{total * 0.2:.2f}",  # Swedish VAT, 25 % on top, is a fifth of the total
        "ec_sh": f"{shipping:.2f}",
        "ec_dt": f"{discount:.2f}",
        "ec_items": ec_items,
    }
    send(order)
    if rng.random() < shop.resent_per_order:
        send(order)  # the thank-you page reloaded: the same order again
    return hits


def requests(shop: Shop) -> Iterator[dict[str, str]]:
    rng = random.Random(shop.seed)
    for number in range(shop.visits):
        yield from visit_hits(shop, rng, number)


def settings(
    clickhouse: Path, data_dir: Path, database: str, shop: Shop, site_template: dict[str, Any]
) -> Settings:
    """The collector's settings: the bench's sites on its chDB path and database; an importer's token."""
    raw = configfile.demo_config()
    base = raw["sites"][0]
    raw["sites"] = [{**base, **site_template, "id": site, "name": f"Site {site}"} for site in shop.sites]
    raw["storage"] = {
        "clickhouse_url": f"chdb://{clickhouse}",
        "database": database,
        "data_dir": str(data_dir),
    }
    raw["server"] = {"secret_keys": ["dashboard-bench"]}
    raw["tokens"] = [{"name": "importer", "role": "admin", "sha256": hash_token(TOKEN)}]
    raw["journal"] = {"ship_interval": 0.2}
    return configfile.from_mapping(raw)


def track(collector: Settings, shop: Shop) -> dict[str, int]:
    """Post the shop's hits to an in-process app; returns what the collector said about them."""
    tracked = invalid = 0
    app = create_app(collector)
    with TestClient(app, base_url="http://localhost") as client:
        deadline = time.monotonic() + 60
        while client.get("/readyz").status_code != 200:
            if time.monotonic() > deadline:
                raise RuntimeError("the collector did not become ready: " + client.get("/readyz").text)
            time.sleep(0.1)
        batch: list[dict[str, str]] = []
        for hit in [*requests(shop), None]:
            if hit is not None:
                batch.append(hit)
            if batch and (hit is None or len(batch) == BULK):
                answer = client.post("/matomo.php", json={"requests": batch, "token_auth": TOKEN})
                if answer.status_code != 200:
                    raise RuntimeError(f"the collector answered {answer.status_code}: {answer.text[:500]}")
                summary = answer.json()
                tracked += int(summary["tracked"])
                invalid += int(summary["invalid"])
                batch = []
    # Leaving the client ran the app's shutdown, which ships what the journal still holds.
    return {"tracked": tracked, "invalid": invalid}
