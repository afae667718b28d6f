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
# cookieless: without consent to statistics, visits are counted under a daily-salted hash
# (legitimate interest); consent: statistics only from visitors who consented.
# docs/statistics-modes.md explains the legal reading of each.
statistics_mode = "cookieless"

[sites.controller]
name = "Exempelenergi AB"
org_number = "556000-0001"
address = "Box 100, 100 00 Stockholm"
email = "dataskydd@exempelenergi.se"
dpo_email = "dataskyddsombud@exempelenergi.se"

[sites.notice]
version = "1"                        # bump to ask every visitor again

# Each cookie's texts in Swedish and English (`purpose`, `provider` and `justification`
# without a language suffix serve both). A material change to this list (a new cookie,
# category, provider, recipient or third party, a longer lifetime) needs a new
# notice.version: until it has one, the consent log does not start.
[[sites.cookies]]
name = "samtycke_consent"
category = "necessary"
provider = "Exempelenergi (samtycke)"
purpose_sv = "Kommer ihåg dina cookieval och kvittot på dem."
purpose_en = "Remembers your cookie choices and their receipt."
lifetime = "13 months"
justification_sv = "Behövs för att vi ska kunna respektera det val du har gjort."
justification_en = "Needed to respect the choice you made."

[[sites.cookies]]
name = "samtycke_state"
category = "necessary"
provider = "Exempelenergi (samtycke)"
purpose_sv = "Gör att bannern kan läsa ditt val utan att fråga igen."
purpose_en = "Lets the banner read your choice without asking again."
lifetime = "13 months"
justification_sv = "Behövs för att vi ska kunna respektera det val du har gjort."
justification_en = "Needed to respect the choice you made."

[[sites.cookies]]
name = "_pk_id\\\\..*"
regex = true
category = "statistics"
provider_sv = "Exempelenergi (statistik i egen drift)"
provider_en = "Exempelenergi (statistics run in-house)"
purpose_sv = "Ger webbläsaren ett slumpmässigt id som knyter ihop dina besök (pseudonyma uppgifter)."
purpose_en = "Gives your browser a random id that links your visits (pseudonymous data)."
lifetime = "13 months"
# A third party's cookie names who receives the data and any transfer outside the EU/EEA:
# recipients = ["Annonsnätverket AB"]
# transfer_country = "USA"
# transfer_safeguard = "scc"           # adequacy, scc or bcr

# Bearer tokens: run `samtycke token --name NAME --role marketer|auditor|admin`
# and paste the lines it prints. Only the sha256 of a token goes in this file.
"""
