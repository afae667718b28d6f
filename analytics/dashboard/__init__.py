"""The marketers' dashboard: ``/dashboard`` (a server-rendered shell and a script that reads
the stats API), the realtime counter and consent rates it shows.

request → steps → journal → ClickHouse → rollups → stats API → **dashboard**.
"""

from analytics.dashboard.component import build

__all__ = ["build"]
