"""A module that exists but whose own import fails (for test_selftest)."""

import kling_desktop_no_such_dependency  # noqa: F401
