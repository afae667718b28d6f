"""Configuration: every setting declared once, loaded from TOML, and documented as a table.

``declared``  the settings as frozen dataclasses, each field with its default and help text;
``loading``   a TOML file (and the environment the CLI hands in) into ``Settings``, with
              errors that name the key;
``table``     the declared settings flattened into the README's table;
``example``   the commented configuration ``samtycke init`` writes, and ``demo/`` the demo's;
``hosts``     the host names a site is served on; ``per_site`` values derived from one
              site's settings, computed once.
"""

from samtycke.settings.declared import (
    DEFAULT_DATA_DIR,
    Accounts,
    AnalyticsSettings,
    Category,
    ConsentSettings,
    Controller,
    CookieEntry,
    CustomDimension,
    Goal,
    JournalSettings,
    Notice,
    Secret,
    ServerSettings,
    Settings,
    Site,
    StorageSettings,
    Token,
    User,
    required,
    setting,
)

__all__ = [
    "DEFAULT_DATA_DIR",
    "Accounts",
    "AnalyticsSettings",
    "Category",
    "ConsentSettings",
    "Controller",
    "CookieEntry",
    "CustomDimension",
    "Goal",
    "JournalSettings",
    "Notice",
    "Secret",
    "ServerSettings",
    "Settings",
    "Site",
    "StorageSettings",
    "Token",
    "User",
    "required",
    "setting",
]
