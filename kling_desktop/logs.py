"""Logging to a rotating file in the log folder, with secrets redacted from every record."""

from __future__ import annotations

import logging
import logging.handlers
import re
from pathlib import Path

_REDACTED = "[redacted]"

# Each pattern's group 1 (when it has one) is kept, the rest of the match is replaced.
_SECRET_PATTERNS = (
    # useapi.net tokens look like ``user:12345-abcdef`` (also URL-encoded, ``user%3A12345-…``).
    re.compile(r"(?i)user(?::|%3a)\d+-[A-Za-z0-9_\-]+"),
    # A Bearer header may carry anything.
    re.compile(r"(?i)(bearer\s+)[^\s'\",;]+"),
    # A JSON Web Token (Kling's own API signs requests with one).
    re.compile(r"eyJ[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]*"),
    # password / passwd as JSON, a Python repr, a form or a query string: a quoted value is
    # redacted whole (spaces included), an unquoted one up to a separator.
    re.compile(
        r"(?i)([\"']?\b(?:password|passwd)[\"']?\s*[:=]\s*)"
        r"(?:\"(?:[^\"\\]|\\.)*\"|'(?:[^'\\]|\\.)*'|[^\s'\",;&}]+)"
    ),
)
_known_secrets: set[str] = set()


def register_secret(secret: str) -> None:
    """Redact this exact string too (e.g. a token that does not match the usual shape)."""
    if secret and len(secret) >= 6:
        _known_secrets.add(secret)


def redact(text: str) -> str:
    """``text`` with every secret replaced by ``[redacted]``: useapi.net tokens, Bearer values,
    JSON Web Tokens, passwords, and every string given to :func:`register_secret`.

    The one redaction used for log records, error texts from the service (``ApiError``) and
    anything else that is stored or shown.
    """
    if not text:
        return text
    for secret in sorted(_known_secrets, key=len, reverse=True):
        text = text.replace(secret, _REDACTED)
    for pattern in _SECRET_PATTERNS:
        text = pattern.sub(lambda m: (m.group(1) if m.groups() else "") + _REDACTED, text)
    return text


class RedactingFilter(logging.Filter):
    """Renders the record's message once, redacted, so no argument can leak a secret."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = redact(record.getMessage())
        record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        return True


def setup_logging(log_file: Path | None, level: int = logging.INFO) -> None:
    """Send the app's log records to a rotating file (and warnings to stderr)."""
    root = logging.getLogger("kling_desktop")
    root.setLevel(logging.DEBUG)
    for handler in list(root.handlers):
        root.removeHandler(handler)
        handler.close()
    redactor = RedactingFilter()
    fmt = logging.Formatter("%(asctime)s %(levelname)s %(threadName)s %(name)s: %(message)s")
    if log_file is not None:
        log_file.parent.mkdir(parents=True, exist_ok=True)
        file_handler = logging.handlers.RotatingFileHandler(
            log_file, maxBytes=2_000_000, backupCount=3, encoding="utf-8"
        )
        file_handler.setLevel(level)
        file_handler.setFormatter(fmt)
        file_handler.addFilter(redactor)
        root.addHandler(file_handler)
    console = logging.StreamHandler()
    console.setLevel(logging.WARNING)
    console.setFormatter(logging.Formatter("%(levelname)s: %(message)s"))
    console.addFilter(redactor)
    root.addHandler(console)
