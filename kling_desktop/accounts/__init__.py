"""Secrets and non-secret account data. No Qt here (DESIGN §3)."""

from kling_desktop.accounts.vault import (
    DEFAULT_PROFILE,
    TOKEN_ENV,
    InvalidProfile,
    InvalidToken,
    Vault,
    VaultUnavailable,
)

__all__ = [
    "DEFAULT_PROFILE",
    "TOKEN_ENV",
    "InvalidProfile",
    "InvalidToken",
    "Vault",
    "VaultUnavailable",
]
