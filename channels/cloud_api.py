"""A synchronous client for the Cloud API's ``/{phone_number_id}/messages`` endpoint, and
the two Graph API reads that prove a channel's ownership (``GET /{phone_number_id}`` and
``GET /{waba_id}/phone_numbers``).

The access token is passed for each call as a :class:`store.crypto.Secret` and used only in the
``Authorization`` header: it never appears in exceptions, reprs or logs. Errors are
:class:`errors.SendError` subclasses (Meta's conditions in :mod:`channels.errors`); the client never
retries, the outbox decides from ``retryable`` and ``retry_after``. The idempotency key travels as
``biz_opaque_callback_data``, so status callbacks name it even when a send's answer was lost.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, cast

import httpx

from channels.errors import (
    CloudApiReadError,
    InvalidToken,
    OptedOut,
    OutsideWindow,
    PairRateLimited,
    RateLimited,
    TransientSendError,
)
from errors import PermanentSendError, SendError
from store.crypto import Secret

DEFAULT_BASE_URL = "https://graph.facebook.com/v21.0"
TEXT_LIMIT = 4096
CALLBACK_DATA_LIMIT = 512

RATE_LIMIT = 130429
PAIR_RATE_LIMIT = 131056
OUTSIDE_WINDOW = 131047
OPTED_OUT = 131050
TOKEN_INVALID = 190
_APP_RATE_LIMITS = frozenset({4, 80007})
_TRANSIENT_CODES = frozenset({1, 2, 131000, 131016, 133004})
_LABELS = {
    RATE_LIMIT: "the number's rate limit was hit",
    PAIR_RATE_LIMIT: "too many messages to this customer in a short time",
    OUTSIDE_WINDOW: "the customer's 24-hour window is closed",
    OPTED_OUT: "the customer does not accept these messages",
    TOKEN_INVALID: "the access token is invalid or expired",
    100: "invalid parameter",
    131026: "message undeliverable",
    131051: "unsupported message type",
    132000: "template parameter count mismatch",
    132001: "template does not exist in that language",
}
_DEFAULT_WAIT = {RATE_LIMIT: 2.0, PAIR_RATE_LIMIT: 6.0}
_TOKEN_OK = re.compile(r"^[\x21-\x7e]+$")
_PHONE_NUMBER_ID = re.compile(r"^[0-9]{1,32}$")
_GRAPH_ID = re.compile(r"^[0-9]{1,64}$")
PHONE_FIELDS = "id,display_phone_number,verified_name"
_DENIED_CODES = frozenset({10, 100, 200, 803})
"""Meta's answers for an object that does not exist or that the token may not see (100 with
subcode 33, permission errors 10 and 200, unknown alias 803)."""
MAX_PAGES = 10


@dataclass(frozen=True)
class SendResult:
    """Meta accepted the message: its ``wamid`` and the recipient's WhatsApp id."""

    wa_message_id: str
    wa_id: str | None = field(default=None, repr=False)
    message_status: str | None = None


@dataclass(frozen=True)
class PhoneNumber:
    """A business phone number as the Graph API describes it."""

    id: str
    display_phone_number: str | None = None
    verified_name: str | None = None


def _phone_number(item: Any) -> PhoneNumber | None:
    if not isinstance(item, dict):
        return None
    data = cast(dict[str, Any], item)
    number_id, display, name = data.get("id"), data.get("display_phone_number"), data.get("verified_name")
    if not isinstance(number_id, str | int) or isinstance(number_id, bool):
        return None
    return PhoneNumber(
        str(number_id),
        display if isinstance(display, str) else None,
        name if isinstance(name, str) else None,
    )


def _error_of(response: httpx.Response) -> dict[str, Any]:
    """The ``error`` object of a Graph API error answer (empty when there is none)."""
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        return cast(dict[str, Any], body["error"])
    return {}


def read_error_from_response(response: httpx.Response) -> CloudApiReadError:
    """The :class:`CloudApiReadError` for a Graph API error answer (Meta's own text is not copied)."""
    status = response.status_code
    raw_code = _error_of(response).get("code")
    code = raw_code if isinstance(raw_code, int) else None
    if status == 401 or code == TOKEN_INVALID:
        reason, label = "token_invalid", "the access token is invalid or expired"
    elif status >= 500 or status == 429 or code in _TRANSIENT_CODES | _APP_RATE_LIMITS | {RATE_LIMIT}:
        reason, label = "unavailable", "the Graph API is unavailable or rate limited"
    elif code in _DENIED_CODES or status in (403, 404):
        reason, label = "denied", "not found, or not visible to this access token"
    else:
        reason, label = "rejected", "rejected"
    return CloudApiReadError(
        f"Graph API read failed: {label} (code {code}, HTTP {status})",
        reason=reason,
        code=code,
        status=status,
    )


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("retry-after")
    try:
        return max(0.0, float(value)) if value is not None else None
    except ValueError:
        return None


def error_from_response(response: httpx.Response) -> SendError:
    """The :class:`SendError` for a Cloud API error answer (Meta's own text is not copied)."""
    status = response.status_code
    error = _error_of(response)
    raw_code, raw_sub = error.get("code"), error.get("error_subcode")
    code = raw_code if isinstance(raw_code, int) else None
    subcode = raw_sub if isinstance(raw_sub, int) else None
    trace = error.get("fbtrace_id")
    trace_id = trace if isinstance(trace, str) else None
    label = _LABELS.get(code or 0, "rejected")
    message = f"WhatsApp send failed: {label} (code {code}, HTTP {status})"
    wait = _retry_after(response) or _DEFAULT_WAIT.get(code or 0)
    kwargs: dict[str, Any] = {
        "code": code,
        "status": status,
        "subcode": subcode,
        "trace_id": trace_id,
    }
    if status == 401 or code == TOKEN_INVALID:
        return InvalidToken(message, **kwargs)
    if code == PAIR_RATE_LIMIT:
        return PairRateLimited(message, retry_after=wait, **kwargs)
    if code == RATE_LIMIT or code in _APP_RATE_LIMITS or status == 429:
        return RateLimited(message, retry_after=wait or 2.0, **kwargs)
    if code == OUTSIDE_WINDOW:
        return OutsideWindow(message, **kwargs)
    if code == OPTED_OUT:
        return OptedOut(message, **kwargs)
    if status >= 500 or code in _TRANSIENT_CODES or error.get("is_transient") is True:
        return TransientSendError(message, retry_after=wait, **kwargs)
    return PermanentSendError(message, **kwargs)


def _clean_parameter(value: str) -> str:
    """Template parameters may not hold newlines, tabs or more than four spaces in a row."""
    return re.sub(r" {4,}", "   ", re.sub(r"[\r\n\t]+", " ", value)).strip()


class CloudApiClient:
    """Sends WhatsApp messages through the Cloud API (or the fake, via ``base_url``)."""

    def __init__(
        self,
        base_url: str = DEFAULT_BASE_URL,
        *,
        timeout: float = 10.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._client = httpx.Client(
            timeout=timeout,
            transport=transport,
            headers={"User-Agent": "frontdesk-channels"},
            follow_redirects=False,
        )

    def __repr__(self) -> str:
        return f"CloudApiClient({self.base_url!r})"

    def __enter__(self) -> CloudApiClient:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._client.close()

    def send_text(
        self,
        *,
        phone_number_id: str,
        access_token: Secret,
        to: str,
        text: str,
        idempotency_key: str,
        preview_url: bool = False,
        reply_to: str | None = None,
    ) -> SendResult:
        """Send a free-form text (only inside the 24-hour window). At most 4096 characters."""
        if not text.strip():
            raise ValueError("refusing to send an empty text")
        if _utf16_len(text) > TEXT_LIMIT:
            raise ValueError(f"text longer than {TEXT_LIMIT} characters: use split_for_whatsapp")
        payload: dict[str, Any] = {"type": "text", "text": {"body": text, "preview_url": preview_url}}
        if reply_to:
            payload["context"] = {"message_id": reply_to}
        return self._send(phone_number_id, access_token, to, payload, idempotency_key)

    def send_template(
        self,
        *,
        phone_number_id: str,
        access_token: Secret,
        to: str,
        template_name: str,
        language: str,
        parameters: list[str],
        idempotency_key: str,
    ) -> SendResult:
        """Send an approved template with positional body ``parameters`` (works outside the window)."""
        template: dict[str, Any] = {"name": template_name, "language": {"code": language}}
        if parameters:
            body = [{"type": "text", "text": _clean_parameter(p)} for p in parameters]
            template["components"] = [{"type": "body", "parameters": body}]
        payload: dict[str, Any] = {"type": "template", "template": template}
        return self._send(phone_number_id, access_token, to, payload, idempotency_key)

    def mark_read(self, *, phone_number_id: str, access_token: Secret, wa_message_id: str) -> None:
        """Mark a customer's message as read (blue ticks)."""
        payload = {"messaging_product": "whatsapp", "status": "read", "message_id": wa_message_id}
        self._post(phone_number_id, access_token, payload, None)

    def phone_number(self, *, phone_number_id: str, access_token: Secret) -> PhoneNumber:
        """``GET /{phone_number_id}?fields=id,display_phone_number,verified_name`` with the token."""
        data = self._get(phone_number_id, access_token, {"fields": PHONE_FIELDS})
        number = _phone_number(data)
        if number is None:
            raise CloudApiReadError(
                "Graph API read failed: an answer without the number's id", reason="rejected"
            )
        return number

    def waba_phone_numbers(self, *, waba_id: str, access_token: Secret) -> list[PhoneNumber]:
        """``GET /{waba_id}/phone_numbers``: every number of the account (following the
        ``after`` cursor, at most :data:`MAX_PAGES` pages of 100)."""
        params = {"fields": PHONE_FIELDS, "limit": "100"}
        numbers: list[PhoneNumber] = []
        for _page in range(MAX_PAGES):
            data = self._get(f"{waba_id}/phone_numbers", access_token, params)
            items = data.get("data")
            if not isinstance(items, list):
                raise CloudApiReadError("Graph API read failed: an answer without data", reason="rejected")
            numbers.extend(n for n in map(_phone_number, cast(list[Any], items)) if n is not None)
            paging = data.get("paging")
            paging = cast(dict[str, Any], paging) if isinstance(paging, dict) else {}
            cursors = paging.get("cursors")
            after = cast(dict[str, Any], cursors).get("after") if isinstance(cursors, dict) else None
            if not paging.get("next") or not isinstance(after, str) or not after:
                break
            params = {**params, "after": after}
        return numbers

    # --- plumbing ---------------------------------------------------------------------------

    def _get(self, path: str, access_token: Secret, params: dict[str, str]) -> dict[str, Any]:
        if not _GRAPH_ID.match(path.split("/", 1)[0]):
            raise ValueError("Graph object ids must be digits")
        token = access_token.reveal()
        if not _TOKEN_OK.match(token):
            raise CloudApiReadError(
                "Graph API read failed: the access token is empty or malformed", reason="token_invalid"
            )
        try:
            response = self._client.get(
                f"{self.base_url}/{path}", params=params, headers={"Authorization": f"Bearer {token}"}
            )
        except httpx.HTTPError as exc:
            raise CloudApiReadError(
                f"Graph API read failed: {type(exc).__name__}", reason="unavailable"
            ) from None
        if response.status_code >= 400:
            raise read_error_from_response(response)
        try:
            data = response.json()
        except ValueError:
            raise CloudApiReadError(
                "Graph API read failed: an answer that is not JSON", reason="rejected"
            ) from None
        if not isinstance(data, dict):
            raise CloudApiReadError(
                "Graph API read failed: an answer that is not an object", reason="rejected"
            )
        return cast(dict[str, Any], data)

    def _send(
        self, phone_number_id: str, access_token: Secret, to: str, message: dict[str, Any], key: str
    ) -> SendResult:
        if not key or len(key) > CALLBACK_DATA_LIMIT:
            raise ValueError(f"idempotency key must be 1..{CALLBACK_DATA_LIMIT} characters")
        if not to:
            raise ValueError("recipient is required")
        payload = {
            "messaging_product": "whatsapp",
            "recipient_type": "individual",
            "to": to,
            **message,
            "biz_opaque_callback_data": key,
        }
        data = self._post(phone_number_id, access_token, payload, key)
        messages = data.get("messages")
        first: Any = messages[0] if isinstance(messages, list) and messages else None
        wamid = first.get("id") if isinstance(first, dict) else None
        if not isinstance(wamid, str) or not wamid:
            raise PermanentSendError("WhatsApp send answered without a message id")
        contacts = data.get("contacts")
        contact: Any = contacts[0] if isinstance(contacts, list) and contacts else None
        wa_id = contact.get("wa_id") if isinstance(contact, dict) else None
        status = first.get("message_status")
        return SendResult(
            wa_message_id=wamid,
            wa_id=wa_id if isinstance(wa_id, str) else None,
            message_status=status if isinstance(status, str) else None,
        )

    def _post(
        self, phone_number_id: str, access_token: Secret, payload: dict[str, Any], key: str | None
    ) -> dict[str, Any]:
        if not _PHONE_NUMBER_ID.match(phone_number_id):
            raise ValueError("phone number id must be digits")
        token = access_token.reveal()
        if not _TOKEN_OK.match(token):
            raise InvalidToken("WhatsApp send failed: the access token is empty or malformed")
        headers = {"Authorization": f"Bearer {token}"}
        if key:
            headers["Idempotency-Key"] = key
        url = f"{self.base_url}/{phone_number_id}/messages"
        try:
            response = self._client.post(url, json=payload, headers=headers)
        except httpx.TimeoutException:
            raise TransientSendError("WhatsApp send failed: timeout") from None
        except httpx.HTTPError as exc:
            raise TransientSendError(f"WhatsApp send failed: {type(exc).__name__}") from None
        if response.status_code >= 400:
            raise error_from_response(response)
        try:
            data = response.json()
        except ValueError:
            # Possibly sent: not retryable, so the outbox never sends it twice.
            raise SendError(f"WhatsApp send answered HTTP {response.status_code} without JSON") from None
        return cast(dict[str, Any], data) if isinstance(data, dict) else {}


# --- splitting long replies ---------------------------------------------------------------------


def _utf16_len(text: str) -> int:
    """Length as WhatsApp counts it (UTF-16 code units; an emoji may count 2)."""
    return len(text.encode("utf-16-le")) // 2


_BREAKS = ("\n\n", "\n", ". ", "! ", "? ", "; ", ", ", " ")


def split_for_whatsapp(text: str, limit: int = TEXT_LIMIT) -> list[str]:
    """Split ``text`` into messages of at most ``limit`` characters, at the gentlest break.

    Prefers paragraph, line, sentence, clause and word boundaries; cuts hard only inside a
    word longer than the limit. Never returns empty pieces; leading/trailing space is trimmed.
    """
    if limit < 16:
        raise ValueError("limit too small")
    pieces: list[str] = []
    rest = text.strip()
    while rest:
        if _utf16_len(rest) <= limit:
            pieces.append(rest)
            break
        window = _prefix_within(rest, limit)
        cut = 0
        for brk in _BREAKS:
            position = window.rfind(brk)
            if position > len(window) // 3:
                cut = position + len(brk.rstrip()) if brk.strip() else position
                break
        if cut <= 0:
            cut = len(window)
        piece = rest[:cut].rstrip()
        if piece:
            pieces.append(piece)
        rest = rest[cut:].lstrip()
    return pieces


def _prefix_within(text: str, limit: int) -> str:
    """The longest prefix of ``text`` whose UTF-16 length is at most ``limit``."""
    units = 0
    for index, char in enumerate(text):
        units += 2 if ord(char) > 0xFFFF else 1
        if units > limit:
            return text[:index]
    return text
