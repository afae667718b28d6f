"""The portal helpers in docs/accounts.md, run as written: samtycke accepts the tokens they mint."""

from __future__ import annotations

import re
import subprocess
import time
from pathlib import Path

from consent.accounts.tokens import verify
from samtycke.settings import Site, loading
from tests.consent.accounts import SECRET, sites_with_accounts
from tests.support.config import demo_raw
from tests.support.paths import REPO

DOC = (REPO / "docs" / "accounts.md").read_text(encoding="utf-8")


def snippet(language: str) -> str:
    found = re.findall(rf"```{language}\n(.*?)```", DOC, re.S)
    assert len(found) == 1, f"one {language} helper in docs/accounts.md"
    return str(found[0])


def site() -> Site:
    return loading.from_mapping(demo_raw(sites=sites_with_accounts())).sites[0]


def test_the_python_helper_mints_tokens_samtycke_accepts() -> None:
    namespace: dict[str, object] = {}
    exec(snippet("python"), namespace)  # the documented helper, run as written
    mint = namespace["account_token"]
    assert callable(mint)
    claims = verify(mint(SECRET, 1, "kund-4711"), site(), time.time())
    assert claims.sub == "kund-4711" and claims.scope is None and not claims.expired
    assert verify(mint(SECRET, 1, "kund-4711", "erase"), site(), time.time()).scope == "erase"


def test_the_java_helper_mints_tokens_samtycke_accepts(tmp_path: Path) -> None:
    source = tmp_path / "Mint.java"
    source.write_text(snippet("java"), encoding="utf-8")
    customer = 'kund "4711" \\ ö'
    run = subprocess.run(
        ["java", str(source), SECRET, "1", customer], capture_output=True, text=True, timeout=120, check=False
    )
    assert run.returncode == 0, run.stderr
    claims = verify(run.stdout.strip(), site(), time.time())
    assert claims.sub == customer and claims.site_id == 1
