"""One running stack for the proxy and scanner tests: ad network, bad upstream, proxy."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from tests.enforcement.processes import proxy_process
from tests.enforcement.sample_site import third_party
from tests.enforcement.servers import serve
from tests.enforcement.upstream import upstream_app

WWW = "www.demo.localhost"


@dataclass
class Stack:
    ads: str
    upstream: str
    proxy: str

    def public(self, path: str = "/") -> str:
        """The proxy as a visitor reaches it: by a host name of the demo site."""
        return self.proxy.replace("127.0.0.1", WWW) + path

    def direct(self, path: str = "/") -> str:
        return self.upstream.replace("127.0.0.1", WWW) + path


@pytest.fixture(scope="package")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    with (
        serve(third_party(), host="127.0.0.2") as ads,
        serve(upstream_app(ads)) as upstream,
        proxy_process(tmp_path_factory.mktemp("proxy"), upstream) as proxy,
    ):
        yield Stack(ads, upstream, proxy)
