"""Whether the embedded ClickHouse (chDB) is installed, and what to do when it is not.

chDB is the default storage (``chdb://``) and most of an install: with the libraries it
pulls in (pyarrow, pandas, numpy) about 890 MB, against about 70 MB for the rest, so it is
an extra: ``pip install 'samtycke[embedded]'``.  A deployment with a ClickHouse
server leaves it out.  When such an install is asked for ``chdb://`` (or left to the
default), it stops before anything starts, with one line that says both ways out, instead
of an ImportError from deep inside the driver.
"""

from __future__ import annotations

import importlib.util

EMBEDDED_EXTRA = "samtycke[embedded]"


MISSING = (
    "The embedded ClickHouse (chDB) is not installed, and storage.clickhouse_url is unset or "
    f"chdb://: install it with `pip install '{EMBEDDED_EXTRA}'`, or set storage.clickhouse_url "
    "(or SAMTYCKE_CLICKHOUSE_URL) to a ClickHouse server, e.g. http://user:password@host:8123/samtycke."
)


class EngineMissing(Exception):
    """The configured storage needs a part that is not installed."""


def require_embedded() -> None:
    """Raise ``EngineMissing`` unless chDB can be imported."""
    if importlib.util.find_spec("chdb") is None:
        raise EngineMissing(MISSING)
