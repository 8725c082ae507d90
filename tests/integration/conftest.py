"""Fixtures of the end-to-end tests: the real CLI as a subprocess (``run_cli``, from the CLI
tests) against the simulator fixture."""

from __future__ import annotations

from tests.cli.conftest import run_cli

__all__ = ["run_cli"]
