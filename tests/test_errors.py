"""The one error hierarchy (:mod:`errors`)."""

from __future__ import annotations

import pickle

import pytest

from errors import (
    BadRequestError,
    Conflict,
    CryptoError,
    DatabaseError,
    FieldError,
    FrontdeskError,
    InvalidKeyError,
    NotFound,
    PermanentSendError,
    ProviderError,
    ProviderHTTPError,
    RateLimitedError,
    RetryLater,
    SendError,
    TransientProviderError,
    UserError,
)


@pytest.mark.parametrize(
    "cls",
    [UserError, NotFound, Conflict, ProviderError, RetryLater, SendError, CryptoError, DatabaseError],
)
def test_one_root(cls: type[Exception]) -> None:
    assert issubclass(cls, FrontdeskError)


def test_user_errors_are_not_retried_kinds() -> None:
    assert issubclass(NotFound, UserError) and issubclass(Conflict, UserError)
    assert not issubclass(ProviderError, UserError) and not issubclass(SendError, UserError)
    assert not issubclass(CryptoError, UserError) and not issubclass(DatabaseError, UserError)


def test_field_error_names_the_field() -> None:
    error = FieldError("api_key", "too short")
    assert str(error) == "api_key: too short"
    assert (error.field, error.message) == ("api_key", "too short")


@pytest.mark.parametrize(
    ("error", "text"),
    [
        (InvalidKeyError("x", status=401), "provider rejected the API key (401)"),
        (RateLimitedError("x"), "provider rate-limited the tenant (429)"),
        (TransientProviderError("x", status=503), "provider unavailable (503)"),
        (TransientProviderError("x"), "provider unreachable or timed out"),
        (BadRequestError("x", status=400), "provider refused the request (400)"),
        (ProviderHTTPError("x", status=418), "provider error (418)"),
        (ProviderError("x"), "provider error"),
    ],
)
def test_provider_errors_describe_themselves_without_their_message(error: ProviderError, text: str) -> None:
    assert error.describe() == text


def test_retryable_provider_errors() -> None:
    assert RateLimitedError.retryable and TransientProviderError.retryable
    assert not InvalidKeyError.retryable and not BadRequestError.retryable and not ProviderError.retryable


def test_retry_later_carries_its_defer() -> None:
    later = RetryLater(12.5, reason="provider rate-limited the tenant (429)")
    assert (later.defer, later.reason, str(later)) == (
        12.5,
        "provider rate-limited the tenant (429)",
        later.reason,
    )
    assert str(RetryLater(3)) == "retry later (defer=3)"


def test_send_error_reason_defaults_to_the_class_and_code() -> None:
    assert SendError("no JSON").reason == "SendError"
    assert PermanentSendError("rejected", code=131026).reason == "PermanentSendError:131026"
    assert PermanentSendError("no channel", reason="no_channel").reason == "no_channel"


def test_permanent_send_errors_are_never_retryable() -> None:
    assert not PermanentSendError("x").retryable
    assert not SendError("possibly sent").retryable
    assert SendError("timeout", retryable=True, retry_after=2.0).retryable


def test_send_errors_survive_pickling() -> None:
    error = PermanentSendError(
        "WhatsApp send failed", code=131026, subcode=7, status=400, retry_after=None, trace_id="A1"
    )
    again = pickle.loads(pickle.dumps(error))
    assert type(again) is PermanentSendError and str(again) == "WhatsApp send failed"
    assert (again.reason, again.code, again.subcode, again.status, again.trace_id, again.retryable) == (
        "PermanentSendError:131026",
        131026,
        7,
        400,
        "A1",
        False,
    )


ROOMS = (
    "errors",
    "textnorm",
    "store",
    "knowledge",
    "channels",
    "agent",
    "workers",
    "gateway",
    "evals",
    "frontdesk",
)
OUTSIDE_THE_ROOT = {
    "channels.fake_cloud_api.PayloadError",  # the fake's own validation (a ValueError), never raised to callers
    "channels.ownership._Held",  # control flow inside one proof (rolls its transaction back)
    "gateway.console.routes._SignIn",  # control flow inside one route
    "workers.mailbox._Conflict",  # control flow inside one transaction
}


def _defined_exceptions() -> list[type[BaseException]]:
    import importlib
    import pkgutil

    for room in ROOMS:
        package = importlib.import_module(room)
        for info in pkgutil.walk_packages(package.__path__, f"{room}."):
            if ".migrations" not in info.name and not info.name.endswith("__main__"):
                importlib.import_module(info.name)
    found: set[type[BaseException]] = set()
    pending: list[type[BaseException]] = [BaseException]
    while pending:
        for sub in pending.pop().__subclasses__():
            if sub not in found:
                found.add(sub)
                pending.append(sub)
    return [c for c in found if c.__module__.split(".")[0] in ROOMS]


def test_every_error_frontdesk_defines_is_under_the_one_root() -> None:
    defined = _defined_exceptions()
    outside = {f"{c.__module__}.{c.__qualname__}" for c in defined if not issubclass(c, FrontdeskError)}
    assert outside == OUTSIDE_THE_ROOT
    assert {c.__name__ for c in defined}.isdisjoint({"WorkerError", "ChannelError", "KnowledgeError"})
    names = [c.__name__ for c in defined]
    assert sorted(n for n in set(names) if names.count(n) > 1) == [], "one class per name"
