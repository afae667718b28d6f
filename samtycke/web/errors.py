"""Errors that know their HTTP status.

Every error the service shows a client is an ``HTTPError``.  Handlers raise them;
``samtycke.web.app`` renders them in one place, as JSON for the API and as an HTML page
inside the product's layout for everything else.  Foreign exceptions (ClickHouse,
the journal's OS errors) are translated into these at the boundary of the module that
called the foreign code, with ``raise ... from exc``.

    HTTPError
     ├── BadRequest            400
     ├── Unauthorized          401
     ├── Forbidden             403
     ├── NotFound              404
     ├── MethodNotAllowed      405
     ├── Conflict              409
     ├── PayloadTooLarge       413
     ├── MisdirectedRequest    421
     ├── Unprocessable         422
     ├── TooManyRequests       429
     ├── HeadersTooLarge       431
     └── ServiceUnavailable    503

Infrastructure errors (``samtycke.unavailable.Unavailable``: storage, journal, the consent
log) know no status; ``samtycke.web.app`` answers them as ``ServiceUnavailable``, and input a
domain refuses (``samtycke.invalid.Invalid``) as ``Unprocessable``.  Refused
account changes (``samtycke.accounts.AccountError``) get theirs from ``from_account_error``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from samtycke.accounts.errors import (
    AccountError,
    AccountExists,
    InvalidAccount,
    LastAdmin,
    NoSuchAccount,
    NoSuchToken,
    ReadOnlyAccount,
)
from samtycke.invalid import Invalid
from samtycke.unavailable import Unavailable


class HTTPError(Exception):
    status: int = 500
    code: str = "internal_error"

    def __init__(
        self,
        message: str,
        *,
        field: str | None = None,
        code: str | None = None,
        headers: Mapping[str, str] | None = None,
        details: Any = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        if code is not None:
            self.code = code
        self.headers = dict(headers or {})
        self.details = details

    def as_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.field is not None:
            body["field"] = self.field
        if self.details is not None:
            body["details"] = self.details
        return {"error": body}


class BadRequest(HTTPError):
    status = 400
    code = "bad_request"


class Unauthorized(HTTPError):
    status = 401
    code = "unauthorized"


class Forbidden(HTTPError):
    status = 403
    code = "forbidden"


class NotFound(HTTPError):
    status = 404
    code = "not_found"


class MethodNotAllowed(HTTPError):
    status = 405
    code = "method_not_allowed"


class Conflict(HTTPError):
    """The request is sound, but the state of what it names does not allow it."""

    status = 409
    code = "conflict"


class PayloadTooLarge(HTTPError):
    status = 413
    code = "payload_too_large"


class MisdirectedRequest(HTTPError):
    """A request for a host name no configured site is served on."""

    status = 421
    code = "misdirected_request"


class Unprocessable(HTTPError):
    status = 422
    code = "unprocessable"


class HeadersTooLarge(HTTPError):
    status = 431
    code = "headers_too_large"


class TooManyRequests(HTTPError):
    status = 429
    code = "too_many_requests"


class ServiceUnavailable(HTTPError):
    status = 503
    code = "unavailable"


STATUS_CLASSES: dict[int, type[HTTPError]] = {
    cls.status: cls
    for cls in (
        BadRequest,
        Unauthorized,
        Forbidden,
        NotFound,
        MethodNotAllowed,
        Conflict,
        PayloadTooLarge,
        MisdirectedRequest,
        Unprocessable,
        TooManyRequests,
        HeadersTooLarge,
        ServiceUnavailable,
    )
}


def from_status(status: int, message: str) -> HTTPError:
    """The HTTPError for a status raised by something else (starlette's routing, for one)."""
    cls = STATUS_CLASSES.get(status)
    if cls is None:
        error = HTTPError(message)
        error.status = status
        return error
    return cls(message)


def from_unavailable(exc: Unavailable) -> ServiceUnavailable:
    """The web boundary's answer to an infrastructure error: 503, and when to try again."""
    headers = {"Retry-After": str(exc.retry_after)} if exc.retry_after is not None else {}
    return ServiceUnavailable(exc.message, code=exc.code, headers=headers)


def from_invalid(exc: Invalid) -> Unprocessable:
    """The web boundary's answer to input a domain refuses: 422, naming the field."""
    return Unprocessable(exc.message, field=exc.field, code=exc.code)


def as_http(exc: HTTPError | Unavailable | Invalid) -> HTTPError:
    """Any error the app renders, as the ``HTTPError`` it is answered with."""
    if isinstance(exc, Unavailable):
        return from_unavailable(exc)
    if isinstance(exc, Invalid):
        return from_invalid(exc)
    return exc


ACCOUNT_ERRORS: dict[type[AccountError], tuple[type[HTTPError], str]] = {
    InvalidAccount: (Unprocessable, "invalid_account"),
    AccountExists: (Conflict, "account_exists"),
    NoSuchAccount: (NotFound, "no_such_account"),
    NoSuchToken: (NotFound, "no_such_token"),
    ReadOnlyAccount: (Conflict, "read_only_account"),
    LastAdmin: (Conflict, "last_admin"),
}


def from_account_error(exc: AccountError) -> HTTPError:
    """The web boundary's answer to a refused account change; the code names the reason."""
    cls, code = next(
        (ACCOUNT_ERRORS[kind] for kind in type(exc).__mro__ if kind in ACCOUNT_ERRORS),
        (Unprocessable, "account_refused"),
    )
    return cls(exc.message, field=exc.field, code=code)
