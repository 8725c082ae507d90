"""Invariant 4: the token never reaches the log file, whatever carries it into a record."""

from __future__ import annotations

import logging
from pathlib import Path

from kling_desktop.logs import register_secret, setup_logging
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
