"""The log: proofs against an independent RFC checker, exports, tampering, erasure, purge."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from samtycke.settings import Settings
from samtycke.storage import Storage, parse_url
from samtycke.web.app import create_app
from tests.consent import rfc6962
from tests.consent.helpers import choice, export_lines
from tests.support.terminal import on_terminal, piped
from tests.support.tokens import ADMIN, AUDITOR, TOKENS


def run_verify(export: Path, keys: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "samtycke", "log", "verify", str(export), "--public-key", str(keys)],
        capture_output=True,
        text=True,
        timeout=120,
    )


def record_some(client: TestClient, count: int) -> list[dict[str, object]]:
    receipts = []
    for n in range(count):
        client.cookies.clear()
        decisions = {"statistics": n % 2 == 0, "marketing": n % 3 == 0}
        response = client.post("/api/v1/consent", json=choice(decisions=decisions))
        assert response.status_code == 201
        receipts.append(response.json()["receipt"])
    return receipts


def test_proofs_agree_with_an_independent_rfc_checker(consent_client: TestClient) -> None:
    record_some(consent_client, 11)
    lines = [json.loads(line) for line in export_lines(consent_client)]
    entries = [line for line in lines if "index" in line]
    leaves = [rfc6962.leaf(rfc6962.entry_bytes(e["entry"])) for e in entries]
    assert [e["leaf_hash"] for e in entries] == [h.hex() for h in leaves]
    size = len(leaves)
    assert size == 13  # two notices, eleven receipts
    for tree_size in range(1, size + 1):
        root = rfc6962.mth(leaves[:tree_size])
        for index in range(tree_size):
            proof = consent_client.get(
                f"/api/v1/log/inclusion?leaf_index={index}&tree_size={tree_size}"
            ).json()
            assert proof["root_hash"] == root.hex()
            path = [bytes.fromhex(h) for h in proof["audit_path"]]
            assert rfc6962.check_inclusion(leaves[index], index, tree_size, path, root)
            assert not rfc6962.check_inclusion(leaves[index], index, tree_size, path, b"\x00" * 32)
        for first in range(1, tree_size + 1):
            body = consent_client.get(f"/api/v1/log/consistency?first={first}&second={tree_size}").json()
            proof = [bytes.fromhex(h) for h in body["proof"]]
            assert rfc6962.check_consistency(first, tree_size, rfc6962.mth(leaves[:first]), root, proof)
    checkpoint = consent_client.get("/api/v1/log/checkpoint").text
    origin, tree_size_text, root_b64 = checkpoint.split("\n")[:3]
    assert origin == "samtycke/localhost/consent-log" and int(tree_size_text) == size
    import base64

    assert base64.b64decode(root_b64) == rfc6962.mth(leaves)
    assert "\n\n\u2014 samtycke/localhost/consent-log " in checkpoint
    for bad in ("leaf_index=99", "leaf_index=-1", "leaf_index=x", "leaf_index=0&tree_size=999"):
        assert consent_client.get(f"/api/v1/log/inclusion?{bad}").status_code == 422
    assert consent_client.get("/api/v1/log/consistency?first=0&second=3").status_code == 422
    page = consent_client.get("/api/v1/log/entries?start=0&end=5000").json()
    assert [e["index"] for e in page["entries"]] == list(range(size))


def test_export_verifies_offline_and_tampering_names_the_index(
    consent_client: TestClient, tmp_path: Path
) -> None:
    record_some(consent_client, 6)
    keys = tmp_path / "keys.json"
    keys.write_text(consent_client.get("/api/v1/log/keys").text)
    lines = export_lines(consent_client)
    assert json.loads(lines[-1])["checkpoint"].startswith("samtycke/")
    good = tmp_path / "good.jsonl"
    good.write_text("\n".join(lines) + "\n")
    result = run_verify(good, keys)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "OK" in result.stdout

    changed = [json.loads(line) for line in lines]
    changed[4]["entry"]["decisions"]["marketing"] = not changed[4]["entry"]["decisions"]["marketing"]
    cases = {
        "changed": [json.dumps(line) for line in changed],
        "deleted": lines[:3] + lines[4:],
        "reordered": [*lines[:3], lines[4], lines[3], *lines[5:]],
    }
    for name, tampered in cases.items():
        path = tmp_path / f"{name}.jsonl"
        path.write_text("\n".join(tampered) + "\n")
        result = run_verify(path, keys)
        assert result.returncode == 1, name
        expected = 4 if name == "changed" else 3
        assert f"first bad index {expected}" in result.stdout, (name, result.stdout)

    other_keys = tmp_path / "other.pem"
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    other_keys.write_bytes(
        Ed25519PrivateKey.generate()
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    result = run_verify(good, other_keys)
    assert result.returncode == 1 and "signature" in result.stdout


def test_log_verify_counts_its_lines_on_a_terminal_and_prints_only_the_report_when_piped(
    consent_client: TestClient, tmp_path: Path
) -> None:
    record_some(consent_client, 4)
    keys = tmp_path / "keys.json"
    keys.write_text(consent_client.get("/api/v1/log/keys").text)
    lines = export_lines(consent_client)
    export = tmp_path / "export.jsonl"
    export.write_text("\n".join(lines) + "\n")
    argv = [sys.executable, "-m", "samtycke", "log", "verify", str(export), "--public-key", str(keys)]
    report = f"OK: {len(lines) - 1} entries verify against the checkpoint at tree size {len(lines) - 1}\n"

    piped_run = piped(argv)
    assert (piped_run.returncode, piped_run.stdout, piped_run.stderr) == (0, report, "")
    terminal = on_terminal(argv)
    assert terminal.returncode == 0, terminal.stdout
    assert terminal.stdout.endswith(f"\r\x1b[Kreading {export}: {len(lines)}\n{report}"), terminal.stdout


def test_tampering_with_stored_entries_is_caught(consent_client: TestClient, tmp_path: Path) -> None:
    record_some(consent_client, 5)
    keys = tmp_path / "keys.json"
    keys.write_text(consent_client.get("/api/v1/log/keys").text)
    export_lines(consent_client)  # ships everything and signs a checkpoint first
    storage = consent_client.app.state.services.storage  # type: ignore[attr-defined]
    storage.command(
        "ALTER TABLE consent_log UPDATE "
        "entry = replaceOne(entry, '\"statistics\":true', '\"statistics\":false') "
        "WHERE idx = 4 SETTINGS mutations_sync = 2"
    )
    path = tmp_path / "stored.jsonl"
    path.write_text("\n".join(export_lines(consent_client)) + "\n")
    result = run_verify(path, keys)
    assert result.returncode == 1 and "first bad index 4" in result.stdout, result.stdout

    storage.command("ALTER TABLE consent_log DELETE WHERE idx = 2 SETTINGS mutations_sync = 2")
    path.write_text("\n".join(export_lines(consent_client)) + "\n")
    result = run_verify(path, keys)
    assert result.returncode == 1 and "first bad index 2" in result.stdout, result.stdout


def test_erasure_keeps_the_log_verifiable_and_unlinks_the_subject(
    consent_client: TestClient, tmp_path: Path
) -> None:
    first = consent_client.post("/api/v1/consent", json=choice()).json()["receipt"]
    consent_client.post("/api/v1/consent", json=choice(method="accept_all", decisions={}))
    consent_id = first["subject"]["consent_id"]
    commitment = first["subject"]["commitment"]
    before = consent_client.get("/api/v1/audit/subject", params={"consent_id": consent_id}, headers=AUDITOR)
    assert before.status_code == 200 and before.json()["verified"] is True
    assert before.json()["state"]["event"] == "RenewedConsentGiven"
    at_first = consent_client.get(
        "/api/v1/audit/subject", params={"consent_id": consent_id, "at": first["event_time"]}, headers=AUDITOR
    ).json()
    assert at_first["receipt"]["receipt_id"] == first["receipt_id"]

    erased = consent_client.delete("/api/v1/consent").json()
    assert erased["erased"] is True
    storage = consent_client.app.state.services.storage  # type: ignore[attr-defined]
    assert storage.query(
        "SELECT count() FROM consent_subjects WHERE commitment = {c:String}", {"c": commitment}
    ) == [(0,)]
    gone = consent_client.get("/api/v1/audit/subject", params={"consent_id": consent_id}, headers=AUDITOR)
    assert gone.status_code == 404
    lines = export_lines(consent_client)
    assert consent_id not in "\n".join(lines)
    tombstone = json.loads(lines[erased["tombstone"]["log_index"]])["entry"]
    assert tombstone["type"] == "tombstone" and tombstone["covers"] == [
        [first["integrity"]["log_index"], first["integrity"]["log_index"] + 2]
    ]
    keys = tmp_path / "keys.json"
    keys.write_text(consent_client.get("/api/v1/log/keys").text)
    path = tmp_path / "after.jsonl"
    path.write_text("\n".join(lines) + "\n")
    assert run_verify(path, keys).returncode == 0

    # Retention: payloads go, tombstones keep the export verifiable; a partial export too.
    purged = consent_client.post("/api/v1/audit/purge?before=2999-01-01T00:00:00Z", headers=ADMIN).json()
    assert purged["purged"] == 2
    lines = export_lines(consent_client)
    assert [json.loads(line).get("entry") for line in lines[2:4]] == [None, None]
    path.write_text("\n".join(lines) + "\n")
    assert run_verify(path, keys).returncode == 0
    path.write_text("\n".join(export_lines(consent_client, **{"from": 1, "to": 3})) + "\n")
    result = run_verify(path, keys)
    assert result.returncode == 1 and "no tombstone" in result.stdout  # its tombstone is outside the range
    path.write_text("\n".join(export_lines(consent_client, **{"from": 0, "to": 2})) + "\n")
    assert run_verify(path, keys).returncode == 0


def test_auditor_endpoints_need_the_role(consent_client: TestClient) -> None:
    assert consent_client.get("/api/v1/audit/export").status_code == 401
    assert consent_client.get("/api/v1/audit/subject?consent_id=x").status_code == 401
    assert consent_client.post("/api/v1/audit/purge", headers=AUDITOR).status_code == 403
    csv_export = consent_client.get("/api/v1/audit/export?format=csv", headers=AUDITOR)
    assert csv_export.status_code == 200 and csv_export.text.startswith(
        "index,leaf_hash,kind,event_time,entry"
    )
    assert consent_client.get("/api/v1/audit/export?format=xml", headers=AUDITOR).status_code == 422
    assert (
        consent_client.get("/api/v1/audit/subject?consent_id=x&at=yesterday", headers=AUDITOR).status_code
        == 422
    )
    page = consent_client.get("/audit", follow_redirects=False)
    assert page.status_code == 303 and page.headers["location"].startswith("/login")
    receipt = consent_client.post("/api/v1/consent", json=choice()).json()["receipt"]
    html = consent_client.get(
        "/audit", params={"consent_id": receipt["subject"]["consent_id"]}, headers=AUDITOR
    ).text
    assert (receipt["receipt_id"] in html and "proof verifies" in html.lower()) or "bevis stämmer" in html
    assert "statistics" in html  # the consent-rate table


def refused_start(settings: Any) -> tuple[dict[str, Any], int]:
    """Start on ``settings`` until the consent log decided; its readiness and a write's status."""
    with TestClient(create_app(settings), base_url="http://localhost") as client:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            ready = client.get("/readyz").json()
            if "loading" not in json.dumps(ready) and "journal cannot be shipped" not in json.dumps(ready):
                break
            time.sleep(0.05)
        return ready, client.post("/api/v1/consent", json=choice()).status_code


@pytest.mark.parametrize(
    "loss",
    [
        # A hole in the middle of the stored log.
        ["ALTER TABLE consent_log DELETE WHERE idx = 3 SETTINGS mutations_sync = 2"],
        # The newest entries gone together with the checkpoints that covered them, as when an
        # older backup of ClickHouse is restored under this data directory.
        [
            "ALTER TABLE consent_log DELETE WHERE idx >= 4 SETTINGS mutations_sync = 2",
            "ALTER TABLE consent_checkpoints DELETE WHERE tree_size >= 4 SETTINGS mutations_sync = 2",
        ],
    ],
    ids=["gap", "lost-tail"],
)
def test_a_log_that_lost_entries_refuses_writes_instead_of_reusing_indices(
    loss: list[str],
    make_settings: Callable[..., Settings],
    open_client: Callable[[Settings], TestClient],
) -> None:
    settings = make_settings(tokens=TOKENS)
    client = open_client(settings)
    record_some(client, 5)
    assert client.get("/api/v1/log/checkpoint").status_code == 200  # signs and keeps size 7
    export_lines(client)
    client.__exit__(None, None, None)

    storage = Storage(parse_url(settings.storage.clickhouse_url, settings.storage.database))
    try:
        for statement in loss:
            storage.command(statement)
    finally:
        storage.close()
    ready, status = refused_start(settings)
    assert ready["ready"] is False and status == 503
    assert "consent log" in " ".join(ready["reasons"]), ready
