"""Invariant 4: the token never reaches the log file, whatever carries it into a record."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from kling_desktop.api import errors
from kling_desktop.logs import redact, register_secret, setup_logging
from kling_desktop.paths import app_paths

TOKEN = "user:12345-abcdefSECRETxyz"


def test_token_is_redacted_from_every_record(app_home: Path) -> None:
    log_file = app_paths().ensure().log_file
    setup_logging(log_file)
    log = logging.getLogger("kling_desktop.test")
    log.info("header Authorization: Bearer %s", TOKEN)
    log.warning("token in args %r", {"token": TOKEN})
    odd = "not-the-usual-shape-0987654321"
    register_secret(odd)
    log.info("custom secret %s", odd)
    try:
        raise RuntimeError(f"failed with {TOKEN}")
    except RuntimeError:
        log.exception("boom")
    log.info('{"email": "a@b.c", "password": "hunter22"}')
    for handler in logging.getLogger("kling_desktop").handlers:
        handler.flush()
    text = log_file.read_text(encoding="utf-8")
    assert "header Authorization" in text  # the records are there...
    assert TOKEN not in text  # ...without the secrets
    assert "SECRETxyz" not in text
    assert odd not in text
    assert "hunter22" not in text
    assert text.count("[redacted]") >= 5


@pytest.mark.parametrize(
    ("text", "secret"),
    [
        (f"token {TOKEN} here", "SECRETxyz"),
        ("url ?token=user%3A12345-abcdefSECRETxyz&x=1", "SECRETxyz"),
        ("Authorization: Bearer opaque.secret.value", "opaque.secret.value"),
        ("authorization: bearer abc123;next", "abc123"),
        ('{"email": "a@b.c", "password": "hunter22"}', "hunter22"),
        ('{"password": "two words"}', "two words"),
        ("{'password': 'hunter22'}", "hunter22"),
        ("email=a%40b.c&password=hunter22&maxJobs=3", "hunter22"),
        ("PASSWORD: hunter22", "hunter22"),
        ("jwt eyJhbGciOiJIUzI1NiJ9.eyJpc3MiOiJha2V5In0.c2lnbmF0dXJlX2hlcmU", "c2lnbmF0dXJl"),
    ],
)
def test_redact(text: str, secret: str) -> None:
    redacted = redact(text)
    assert secret not in redacted and "[redacted]" in redacted


def test_redact_leaves_ordinary_text_alone() -> None:
    for text in (
        "",
        "Account does not exist or password is incorrect",
        "Account user@example.com in error state: refresh token rejected",
        "Task 1234567 not found",
        '{"error": "Invalid parameters"}',
    ):
        assert redact(text) == text


def test_log_records_and_api_errors_use_the_same_redaction(app_home: Path) -> None:
    log_file = app_paths().ensure().log_file
    setup_logging(log_file)
    text = f'server said: Bearer {TOKEN} {{"password": "hunter 22"}}'
    logging.getLogger("kling_desktop.test").warning("%s", text)
    for handler in logging.getLogger("kling_desktop").handlers:
        handler.flush()
    logged = log_file.read_text(encoding="utf-8")
    assert redact(text) in logged and TOKEN not in logged and "hunter" not in logged
    exc = errors.error_for_status(500, {"error": text})
    assert exc.server_text == redact(text)
    assert redact(text) in str(exc)
