"""The marketers' dashboard: ``/dashboard``, a server-rendered shell whose script
(``static/dashboard``) reads the stats API, its realtime counter and consent rates.

request → steps → journal → ClickHouse → rollups → stats API → **dashboard**.
"""

from analytics.dashboard.component import build

__all__ = ["build"]
