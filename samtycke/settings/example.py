"""The configuration ``samtycke init`` writes: a real site's, commented, valid as it stands."""

EXAMPLE_CONFIG = """\
# samtycke configuration. Every key is listed with its meaning by `samtycke settings`.
# Secrets and the ClickHouse URL can also come from the environment:
#   SAMTYCKE_CLICKHOUSE_URL, SAMTYCKE_SECRET_KEYS (comma-separated, newest last).

[storage]
# Embedded ClickHouse (chDB) in data_dir; one samtycke process per data directory.
# For several workers or hosts use a server: "http://user:pass@clickhouse:8123/samtycke".
clickhouse_url = ""
data_dir = "./samtycke-data"        # journal, signing keys, embedded database

[server]
host = "127.0.0.1"
port = 8000
public_url = "https://samtycke.settings.example.se"
trusted_proxies = ["127.0.0.1/32"]   # X-Forwarded-For is believed only from these
# secret_keys: leave empty to generate one into data_dir, or set SAMTYCKE_SECRET_KEYS.

[analytics]
ip_mask_level = 2                    # Matomo levels 0-4; 2 zeroes the last two IPv4 bytes
store_masked_ip = false
geoip_database = ""                  # path to a MaxMind .mmdb; empty: no location

[[sites]]
id = 1                               # the Matomo idsite
name = "Exempelenergi"
domains = ["exempelenergi.se", "www.exempelenergi.se", "minasidor.exempelenergi.se"]
timezone = "Europe/Stockholm"
retention_months = 13

[sites.controller]
name = "Exempelenergi AB"
org_number = "556000-0001"
address = "Box 100, 100 00 Stockholm"
email = "dataskydd@exempelenergi.se"
dpo_email = "dataskyddsombud@exempelenergi.se"

[sites.notice]
version = "1"                        # bump to ask every visitor again

[[sites.cookies]]
name = "samtycke_consent"
category = "necessary"
provider = "Exempelenergi (samtycke)"
purpose = "Remembers your cookie choices."
lifetime = "13 months"
justification = "Needed to respect the visitor's choice."

[[sites.cookies]]
name = "samtycke_state"
category = "necessary"
provider = "Exempelenergi (samtycke)"
purpose = "Lets the banner read your choice."
lifetime = "13 months"
justification = "Needed to respect the visitor's choice."

[[sites.cookies]]
name = "_pk_id\\\\..*"
regex = true
category = "statistics"
provider = "Matomo (first party)"
purpose = "Distinguishes visits for anonymous statistics"
lifetime = "13 months"

# Bearer tokens: run `samtycke token --name NAME --role marketer|auditor|admin`
# and paste the lines it prints. Only the sha256 of a token goes in this file.
"""
