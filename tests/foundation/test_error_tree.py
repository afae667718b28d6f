"""Infrastructure errors and refused input know no HTTP status; the web boundary alone maps them,
to 503 and 422."""

from __future__ import annotations

import pytest

from consent.ledger.log import LogNotReady
from consent.recording.choice import InvalidChoice
from samtycke.invalid import Invalid
from samtycke.journal import JournalClosed, JournalFull
from samtycke.storage import StorageUnavailable
from samtycke.unavailable import Unavailable
from samtycke.web.errors import HTTPError, from_invalid, from_unavailable

INFRASTRUCTURE = [StorageUnavailable, JournalFull, JournalClosed, LogNotReady]


@pytest.mark.parametrize("cls", INFRASTRUCTURE)
def test_infrastructure_errors_are_unavailable_not_http_errors(cls: type[Unavailable]) -> None:
    assert issubclass(cls, Unavailable) and not issubclass(cls, HTTPError)
    error = cls("the reason", retry_after=3)
    assert not hasattr(error, "status") and str(error) == "the reason"
    answer = from_unavailable(error)
    assert answer.status == 503 and answer.headers == {"Retry-After": "3"}
    assert answer.as_json()["error"] == {"code": cls.code, "message": "the reason"}


def test_each_cause_has_its_own_code() -> None:
    codes = [cls.code for cls in INFRASTRUCTURE]
    assert len(set(codes)) == len(codes) and Unavailable.code not in codes


def test_refused_input_is_invalid_not_an_http_error() -> None:
    assert issubclass(InvalidChoice, Invalid) and not issubclass(Invalid, HTTPError)
    error = InvalidChoice("lang must be sv or en", field="lang")
    assert not hasattr(error, "status") and str(error) == "lang must be sv or en"
    answer = from_invalid(error)
    assert answer.status == 422
    assert answer.as_json()["error"] == {
        "code": "unprocessable",
        "message": "lang must be sv or en",
        "field": "lang",
    }
