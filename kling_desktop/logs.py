"""Logging to a rotating file in the log folder, with secrets redacted from every record."""

from __future__ import annotations

import logging
import logging.handlers
import re
from pathlib import Path

# useapi.net tokens look like ``user:12345-abcdef``; Bearer headers may carry anything.
_SECRET_PATTERNS = (
    re.compile(r"user:\d+-[A-Za-z0-9_\-]+"),
    re.compile(r"(?i)(bearer\s+)[^\s'\",]+"),
    re.compile(r"(?i)(\"?password\"?\s*[:=]\s*\"?)[^\s'\",}]+"),
)
_known_secrets: set[str] = set()


def register_secret(secret: str) -> None:
    """Redact this exact string too (e.g. a token that does not match the usual shape)."""
    if secret and len(secret) >= 6:
        _known_secrets.add(secret)


def redact(text: str) -> str:
    for secret in _known_secrets:
        text = text.replace(secret, "[redacted]")
    for pattern in _SECRET_PATTERNS:
        text = pattern.sub(lambda m: (m.group(1) if m.groups() else "") + "[redacted]", text)
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
