"""Backup and restore round-trip a live data directory: receipts stay provable, stats stay equal.

A real ``samtycke serve`` on the embedded default takes consent choices and hits; ``samtycke
backup`` copies it through the running server; ``samtycke restore`` rebuilds it in a fresh
data directory, where a second server answers the same statistics, its audit export
verifies offline, and new receipts extend the old log consistently.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import stat
import subprocess
import sys
from typing import Any

import pytest

from tests.support.backup import check_restored, cli, config, environment, make_traffic
from tests.support.live import LiveServer
from tests.support.terminal import on_terminal
from tests.support.tokens import ADMIN_TOKEN

# Rewrites a backup's consent log as someone covering their tracks would: the first receipt
# that refuses marketing is made to grant it, and with ``rehash`` its leaf hash is
# recomputed to match.  Reading and writing Native needs ClickHouse; chDB binds one data
# path per process, so this runs in a process of its own.
TAMPER = """
import gzip, json, sys
import chdb
from consent.ledger.entries import canonical
from consent.ledger.merkle import leaf_hash

path, rehash = sys.argv[1], sys.argv[2] == "rehash"
source = "file('" + path + "', 'Native')"

def refusing(value):
    if isinstance(value, dict):
        if value.get("marketing") is False:
            return value
        for item in value.values():
            found = refusing(item)
            if found is not None:
                return found
    return None

rows = chdb.query(f"SELECT idx, entry FROM {source} ORDER BY idx", "JSONEachRow").bytes()
for row in map(json.loads, rows.splitlines()):
    entry = json.loads(row["entry"]) if row["entry"] else None
    decisions = refusing(entry)
    if decisions is not None:
        break
else:
    sys.exit("no receipt refuses marketing")
decisions["marketing"] = True
text = json.dumps(entry).encode().hex()
digest = leaf_hash(canonical(entry)).hex() if rehash else None
replaced = [f"if(idx = {row['idx']}, unhex('{text}'), entry) AS entry"]
if digest:
    replaced.append(f"if(idx = {row['idx']}, '{digest}', leaf_hash) AS leaf_hash")
native = chdb.query(
    f"SELECT * REPLACE ({', '.join(replaced)}) FROM {source} ORDER BY idx", "Native"
).bytes()
with gzip.open(path, "wb") as out:
    out.write(native)
print(row["idx"])
"""


@pytest.fixture(scope="module")
def scene(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """A backup made while the first server runs, and that server's answers at the time."""
    base = tmp_path_factory.mktemp("backup")
    first = LiveServer(data_dir=base / "first", config_path=config(base, "first")).start()
    try:
        traffic = make_traffic(first, base)
        made = cli(
            base,
            "backup",
            str(base / "copy"),
            "--config",
            str(first.config_path),
            "--server",
            first.url,
            "--token",
            ADMIN_TOKEN,
        )
        assert made.returncode == 0, made.stdout + made.stderr
        watched = on_terminal(
            [sys.executable, "-m", "samtycke", "backup", str(base / "watched"), "--server", first.url],
            env={**environment(), "SAMTYCKE_TOKEN": ADMIN_TOKEN},
        )
        assert watched.returncode == 0, watched.stdout
        assert first.process is not None and first.process.poll() is None, "the server ran all along"
    finally:
        first.stop()
    return {
        "base": base,
        "traffic": traffic,
        "made": made.stdout,
        "made_stderr": made.stderr,
        "watched": watched.stdout,
    }


def test_a_backup_made_while_serving_verifies_and_keeps_key_files_private(scene: dict[str, Any]) -> None:
    copy = scene["base"] / "copy"
    assert "OK:" in scene["made"]
    assert scene["made_stderr"] == "", "piped, the command shows no progress"
    keys = list((copy / "files" / "consent-keys").glob("*.pem"))
    assert keys, sorted(p.name for p in copy.rglob("*"))
    for path in [*keys, copy / "files" / "consent-keys" / "active"]:
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
    manifest = json.loads((copy / "manifest.json").read_text())
    counted = {table["name"]: table["rows"] for table in manifest["tables"]}
    assert counted["consent_log"] >= 6 and counted["events"] == 12
    verified = cli(scene["base"], "backup", "--verify", str(copy))
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert verified.stdout.startswith("OK:")
    assert verified.stderr == ""


def test_a_restored_service_answers_the_same_and_its_log_keeps_growing_consistently(
    scene: dict[str, Any],
) -> None:
    base = scene["base"]
    target = config(base, "second")
    restored = cli(base, "restore", str(base / "copy"), "--config", str(target))
    assert restored.returncode == 0, restored.stdout + restored.stderr
    assert restored.stderr == "" and restored.stdout.startswith("restored "), restored.stdout
    for pem in (base / "second" / "consent-keys").glob("*.pem"):
        assert stat.S_IMODE(pem.stat().st_mode) == 0o600
    second = LiveServer(data_dir=base / "second", config_path=target).start()
    try:
        check_restored(second, base, scene["traffic"])
    finally:
        second.stop()


def test_restore_refuses_a_non_empty_target_unless_forced(scene: dict[str, Any]) -> None:
    base = scene["base"]
    target = config(base, "third")
    (base / "third").mkdir()
    (base / "third" / "notes.txt").write_text("kept unless forced")
    refused = cli(base, "restore", str(base / "copy"), "--config", str(target))
    assert refused.returncode == 2 and "--force" in refused.stderr, refused.stderr
    assert (base / "third" / "notes.txt").exists()
    forced = cli(base, "restore", str(base / "copy"), "--config", str(target), "--force")
    assert forced.returncode == 0, forced.stdout + forced.stderr
    assert not (base / "third" / "notes.txt").exists()
    assert (base / "third" / "consent-log.checkpoint").exists()


def test_a_tampered_backup_fails_verification_and_is_not_restored(scene: dict[str, Any]) -> None:
    base = scene["base"]
    tampered = base / "tampered"
    shutil.copytree(base / "copy", tampered)
    table = tampered / "tables" / "consent_log.native.gz"
    data = bytearray(table.read_bytes())
    data[len(data) // 2] ^= 0xFF
    table.write_bytes(bytes(data))
    checked = cli(base, "backup", "--verify", str(tampered))
    assert checked.returncode == 1
    assert "tables/consent_log.native.gz was changed" in checked.stdout
    refused = cli(base, "restore", str(tampered), "--config", str(config(base, "fourth")))
    assert refused.returncode == 2 and "does not verify" in refused.stderr
    assert not (base / "fourth").exists()


def test_on_a_terminal_a_backup_from_the_running_server_counts_the_bytes_it_receives(
    scene: dict[str, Any],
) -> None:
    watched = scene["watched"]
    assert "backup: the running samtycke at http://127.0.0.1:" in watched, watched
    assert "\r\x1b[Kbytes received: " in watched, watched
    assert "verifying: checksums\n" in watched
    assert watched.rstrip().splitlines()[-1].startswith("backed up "), watched


def test_on_a_terminal_backup_verify_and_restore_name_each_step(scene: dict[str, Any]) -> None:
    """With the first server stopped, the command backs its data directory up by itself."""
    base = scene["base"]
    samtycke = [sys.executable, "-m", "samtycke"]
    first = str(base / "first.toml")
    made = on_terminal([*samtycke, "backup", str(base / "direct"), "--config", first], env=environment())
    assert made.returncode == 0, made.stdout
    for step in ("backup: files", "backup: table consent_log", "backup: table events", "backup: journal"):
        assert f"{step}\n" in made.stdout, made.stdout
    assert "verifying: checksums\n" in made.stdout and "verifying: rows of events\n" in made.stdout
    assert made.stdout.rstrip().splitlines()[-1].startswith("backed up "), made.stdout
    verified = on_terminal([*samtycke, "backup", "--verify", str(base / "direct")], env=environment())
    assert verified.returncode == 0 and "verifying: ledger\n" in verified.stdout, verified.stdout
    assert verified.stdout.rstrip().splitlines()[-1].startswith("OK:"), verified.stdout
    restored = on_terminal(
        [*samtycke, "restore", str(base / "direct"), "--config", str(config(base, "fifth"))],
        env=environment(),
    )
    assert restored.returncode == 0, restored.stdout
    assert "restore: verifying checksums\n" in restored.stdout, restored.stdout
    assert "restore: table events\n" in restored.stdout, restored.stdout
    assert restored.stdout.rstrip().splitlines()[-1].startswith("restored "), restored.stdout


def test_piped_a_backup_made_by_the_command_itself_prints_its_summary_alone(scene: dict[str, Any]) -> None:
    base = scene["base"]
    made = cli(base, "backup", str(base / "direct-piped"), "--config", str(base / "first.toml"))
    assert made.returncode == 0, made.stdout + made.stderr
    assert made.stderr == ""
    assert made.stdout.startswith("backed up ") and "OK:" in made.stdout, made.stdout


@pytest.mark.parametrize("rehash", [False, True], ids=["entry-changed", "entry-and-leaf-hash-changed"])
def test_a_backup_whose_consent_log_was_rewritten_and_its_manifest_fixed_up_does_not_verify(
    scene: dict[str, Any], rehash: bool
) -> None:
    """Checksums and row counts prove only that the backup is as its manifest says; the
    consent log's own proof is what a forger cannot fix up without the signing key."""
    base = scene["base"]
    forged = base / f"forged-{rehash}"
    shutil.copytree(base / "copy", forged)
    table = forged / "tables" / "consent_log.native.gz"
    altered = subprocess.run(
        [sys.executable, "-c", TAMPER, str(table), "rehash" if rehash else "entry"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert altered.returncode == 0, altered.stderr
    manifest = json.loads((forged / "manifest.json").read_text())
    manifest["files"]["tables/consent_log.native.gz"].update(
        sha256=hashlib.sha256(table.read_bytes()).hexdigest(), bytes=table.stat().st_size
    )
    (forged / "manifest.json").write_text(json.dumps(manifest))

    checked = cli(base, "backup", "--verify", str(forged))
    assert checked.returncode == 1, checked.stdout
    problems = checked.stdout.splitlines()[1:]
    assert problems and all(line.startswith("  consent log: ") for line in problems), checked.stdout
    index = int(altered.stdout)
    if rehash:
        assert "consent log: the recomputed root hash does not match the signed checkpoint" in checked.stdout
    else:
        assert f"consent log: index {index}: the entry does not match its leaf hash" in checked.stdout, (
            checked.stdout
        )
    refused = cli(base, "restore", str(forged), "--config", str(config(base, f"forged-target-{rehash}")))
    assert refused.returncode == 2 and "does not verify" in refused.stderr, refused.stderr
    assert not (base / f"forged-target-{rehash}").exists()
