"""A journal that cannot take more answers 503 over HTTP, and acknowledges nothing it refused."""

from __future__ import annotations

from collections.abc import Callable

from starlette.testclient import TestClient

from samtycke.journal import segment
from samtycke.settings import Settings
from samtycke.web.app import create_app

HIT = "/matomo.php?idsite=1&rec=1&send_image=0&url=http%3A%2F%2Flocalhost%2Ftack"


def test_hits_are_refused_with_503_when_the_journal_is_at_its_limit(
    make_settings: Callable[..., Settings],
) -> None:
    settings = make_settings(journal={"max_bytes": 4096, "ship_interval": 3600.0})
    app = create_app(settings)
    with TestClient(app, base_url="http://localhost") as client:
        statuses = [client.get(f"{HIT}&action_name=a{i}").status_code for i in range(60)]
        accepted = statuses.count(204)
        assert accepted > 0 and statuses[accepted:] == [503] * (60 - accepted), statuses
        refused = client.get(f"{HIT}&action_name=late")
        assert refused.status_code == 503
        lane = app.state.services.journal.lane
        journalled = [r for path in lane.segments() for r in segment.read(path) if r.table == "events"]
        assert len(journalled) == accepted, "exactly the acknowledged hits were kept"
