"""One exception class per failure a user must tell apart.

Each has a ``str()`` a user understands (what happened, what to do) and keeps the server's own
``error`` text in :attr:`ApiError.server_text`. An error raised for an HTTP answer carries the
answer's :attr:`~ApiError.status` and :attr:`~ApiError.body` (parsed JSON, or the raw text,
possibly empty). Texts and bodies are redacted (:func:`kling_desktop.logs.redact`) when the error
is made, so a server that echoes a token or a password back never gets it stored or shown.
"""

from __future__ import annotations

import re
from typing import Any, ClassVar

from kling_desktop.logs import redact

# Keys whose values are secrets whatever they look like.
_SECRET_KEY = re.compile(
    r"(?i)^(password|passwd|token|api[_-]?key|apikey|authorization|secret|refresh_?token)$"
)
_MAX_BODY_DEPTH = 32


def redact_body(body: Any, _depth: int = 0) -> Any:
    """A copy of a decoded JSON body (or text) with every secret redacted."""
    if isinstance(body, str):
        return redact(body)
    if _depth >= _MAX_BODY_DEPTH and isinstance(body, dict | list):
        return "…"
    if isinstance(body, dict):
        return {
            key: (
                "[redacted]"
                if isinstance(key, str)
                and _SECRET_KEY.match(key)
                and isinstance(value, str)
                and value
                else redact_body(value, _depth + 1)
            )
            for key, value in body.items()
        }
    if isinstance(body, list):
        return [redact_body(item, _depth + 1) for item in body]
    return body


class ApiError(Exception):
    """Base of every failure talking to useapi.net."""

    code: ClassVar[str] = "api_error"
    summary: ClassVar[str] = "The Kling service returned an error."
    hint: ClassVar[str] = ""
    #: Worth trying again later without changing anything.
    transient: ClassVar[bool] = False
    #: The text was written by this app (not the service): shown as a detail, not quoted.
    local: ClassVar[bool] = False
    #: The app's own text names a request ("GET /accounts: ConnectionError"): it stays in
    #: :attr:`details` (and the log), out of the sentence people read.
    technical: ClassVar[bool] = False

    def __init__(
        self,
        server_text: str = "",
        *,
        status: int | None = None,
        body: Any = None,
        retry_after: float | None = None,
    ) -> None:
        server_text = redact(server_text or "")
        super().__init__(server_text or self.summary)
        self.server_text = server_text
        #: The HTTP status of the answer this error stands for (None: no answer came).
        self.status = status
        #: The answer's body: decoded JSON, else its text (possibly ""); None without one.
        self.body = redact_body(body)
        self.retry_after = retry_after

    @property
    def has_error_body(self) -> bool:
        """The answer's body is a JSON object with a non-empty ``error`` or ``message`` text:
        the service itself said what was wrong (unlike an empty body, an HTML page or a
        gateway's answer)."""
        body = self.body
        if not isinstance(body, dict):
            return False
        for key in ("error", "message"):
            value = body.get(key)
            if isinstance(value, str) and value.strip():
                return True
        return False

    @property
    def details(self) -> str:
        """The technical detail behind the sentence, for a "Details" disclosure and the log:
        the request and how it failed ("GET /accounts: ConnectionError"), the HTTP status."""
        parts = []
        if self.server_text:
            parts.append(self.server_text)
        if self.status is not None:
            parts.append(f"HTTP {self.status}")
        return redact(" · ".join(parts))

    def __str__(self) -> str:
        # A sentence, never a request name: a ``technical`` text stays in :attr:`details`;
        # the service's own words are quoted, since they say what was wrong with the clip or
        # the account.
        parts = [self.summary]
        if self.server_text and self.server_text not in self.summary and not self.technical:
            if self.local:
                parts.append(f"({self.server_text.rstrip('.')}.)")
            else:
                parts.append(f"The service said: “{self.server_text}”.")
        if self.hint:
            parts.append(self.hint)
        return redact(" ".join(parts))


class BadRequest(ApiError):
    code = "bad_request"
    summary = "The Kling service rejected the request."
    hint = "Check the clip and the options, then try again."


class Unauthorized(ApiError):
    code = "unauthorized"
    summary = "useapi.net did not accept the API token."
    hint = "Open Accounts and paste the full token, including the “user:” prefix."


class SubscriptionRequired(ApiError):
    code = "subscription_required"
    summary = "The useapi.net subscription is not active."
    hint = "Renew it at useapi.net, then retry."


class NotFound(ApiError):
    code = "not_found"
    summary = "Kling no longer has this task or file."
    hint = (
        "It may have been deleted, stopped by moderation, or the account ran out of credits. "
        "Check your Kling account, then retry."
    )


class RateLimited(ApiError):
    code = "rate_limited"
    summary = "Every job slot of your Kling accounts is busy."
    hint = "The app waits for a free slot and tries again by itself."
    transient = True


class ModerationRejected(ApiError):
    code = "moderation"
    summary = "Kling refused the clip under its content rules."
    hint = "Pick another clip; sending this one again will be refused again."


class ServerError(ApiError):
    code = "server_error"
    summary = "The Kling service had an internal problem."
    hint = "Try again in a few minutes."
    transient = True


class AccountError(ApiError):
    code = "account_error"
    summary = "The Kling account behind this email is not working."
    hint = "Re-add the account in Accounts (its Kling session may have expired)."


class NetworkError(ApiError):
    local = True
    technical = True
    code = "network"
    summary = "Could not reach the Kling service."
    hint = "Check the internet connection; the app keeps trying."
    transient = True


class Timeout(ApiError):
    local = True
    technical = True
    code = "timeout"
    summary = "The Kling service did not answer in time."
    hint = "The app will try again."
    transient = True


class MalformedResponse(ApiError):
    local = True
    code = "malformed"
    summary = "The Kling service sent an answer the app cannot read."
    hint = "Try again later; if it keeps happening, send the log to support."


class InsecureUrl(ApiError):
    local = True
    code = "insecure_url"
    summary = "Refusing to send the API token over plain http."
    hint = "Use an https:// address (plain http is only allowed for this computer, 127.0.0.1)."


class InvalidUrl(BadRequest, ValueError):
    """A base URL or download URL that is not a usable http(s) address (checked locally)."""

    local = True
    code = "invalid_url"
    summary = "That is not a valid web address for the Kling service."
    hint = "Use an address like https://api.useapi.net/v1/kling."


# Kling reports moderation as HTTP 500; the ``error`` text tells it apart (seed document).
_MODERATION = re.compile(
    r"violat|community guideline|moderat|sensitive|inappropriate|CM_EXT|content (policy|security)",
    re.IGNORECASE,
)


def is_moderation_text(text: str) -> bool:
    return bool(_MODERATION.search(text or ""))


def error_for_status(status: int, body: Any, retry_after: float | None = None) -> ApiError:
    """Map an HTTP status and its JSON body to the right exception."""
    text = ""
    if isinstance(body, dict):
        text = str(body.get("error") or body.get("message") or "")
    elif isinstance(body, str):
        text = body[:300]
    kwargs: dict[str, Any] = {"status": status, "body": body, "retry_after": retry_after}
    if status == 400:
        return BadRequest(text, **kwargs)
    if status == 401:
        return Unauthorized(text, **kwargs)
    if status == 402:
        return SubscriptionRequired(text, **kwargs)
    if status == 404:
        return NotFound(text, **kwargs)
    if status == 429:
        return RateLimited(text, **kwargs)
    if status == 596:
        return AccountError(text, **kwargs)
    if status >= 500:
        if is_moderation_text(text):
            return ModerationRejected(text, **kwargs)
        return ServerError(text, **kwargs)
    return ApiError(text or f"HTTP {status}", **kwargs)
