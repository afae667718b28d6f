"""The marketers' dashboard: ``/dashboard``, a server-rendered shell whose script
(``static/dashboard``) reads the stats API, its realtime counter and consent rates.

``page`` renders the shell with what the script needs to start, ``component`` mounts it
into the app, and ``sample`` generates realistic traffic inside ClickHouse for the demo,
the tests and the benchmarks.

request → steps → journal → ClickHouse → rollups → stats API → **dashboard**.
"""

from analytics.dashboard.component import build

__all__ = ["build"]
