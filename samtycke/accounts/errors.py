"""Why an account change was refused, free of HTTP (the web boundary gives the status)::

AccountError
 ├── InvalidAccount     a name, role or password that cannot be used (``field`` names which)
 ├── AccountExists      the name is taken, here or in the configuration file
 ├── NoSuchAccount      no live account of that name
 ├── NoSuchToken        no live token of that id
 ├── ReadOnlyAccount    the account or token comes from the configuration file
 └── LastAdmin          the change would leave nobody able to administer samtycke
"""

from __future__ import annotations


class AccountError(Exception):
    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class InvalidAccount(AccountError):
    pass


class AccountExists(AccountError):
    pass


class NoSuchAccount(AccountError):
    pass


class NoSuchToken(AccountError):
    pass


class ReadOnlyAccount(AccountError):
    pass


class LastAdmin(AccountError):
    pass
