"""The review tests reuse the CLI and engine fixtures."""

from tests.cli.conftest import run_cli  # noqa: F401
from tests.jobs.conftest import engine  # noqa: F401
