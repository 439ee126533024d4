"""X-Hub-Signature-256 and the GET handshake."""

from __future__ import annotations

import pytest

from channels.signature import sign, verify_signature, verify_subscription
from store.crypto import Secret

BODY = b'{"object":"whatsapp_business_account","entry":[]}'
SECRET = "app-secret-of-channel-a"


def test_sign_matches_known_vector() -> None:
    # HMAC-SHA256("key", "The quick brown fox jumps over the lazy dog")
    expected = "sha256=f7bc83f430538424b13298e6aa6fb143ef4d59a14946175997479dbc2d1a3cd8"
    assert sign(b"The quick brown fox jumps over the lazy dog", "key") == expected


def test_valid_signature_is_accepted() -> None:
    assert verify_signature(BODY, sign(BODY, SECRET), SECRET)
    assert verify_signature(BODY, sign(BODY, SECRET), Secret(SECRET))


def test_hex_case_does_not_matter() -> None:
    header = sign(BODY, SECRET)
    assert verify_signature(BODY, "sha256=" + header.removeprefix("sha256=").upper(), SECRET)


@pytest.mark.parametrize(
    "header", [None, "", "sha256=", "sha1=" + "a" * 40, "sha256=zz" + "0" * 62, "garbage"]
)
def test_missing_or_malformed_header_is_rejected(header: str | None) -> None:
    assert not verify_signature(BODY, header, SECRET)


def test_truncated_signature_is_rejected() -> None:
    assert not verify_signature(BODY, sign(BODY, SECRET)[:-2], SECRET)


def test_another_channels_secret_is_rejected() -> None:
    assert not verify_signature(BODY, sign(BODY, "app-secret-of-channel-b"), SECRET)


def test_tampered_body_is_rejected() -> None:
    header = sign(BODY, SECRET)
    assert not verify_signature(BODY.replace(b"[]", b"[{}]"), header, SECRET)
    assert not verify_signature(BODY + b" ", header, SECRET)


def test_empty_secret_never_verifies() -> None:
    assert not verify_signature(BODY, sign(BODY, ""), "")


def test_subscription_handshake() -> None:
    assert verify_subscription("subscribe", "vt-123", "1158201444", Secret("vt-123")) == "1158201444"
    assert verify_subscription("subscribe", "wrong", "1158201444", "vt-123") is None
    assert verify_subscription("unsubscribe", "vt-123", "1158201444", "vt-123") is None
    assert verify_subscription("subscribe", None, "1158201444", "vt-123") is None
    assert verify_subscription("subscribe", "vt-123", None, "vt-123") is None
    assert verify_subscription("subscribe", "", "1", "") is None


def test_subscription_does_not_reflect_markup() -> None:
    assert verify_subscription("subscribe", "vt", "<script>alert(1)</script>", "vt") is None
