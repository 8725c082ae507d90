"""``kling-desktop simulator``: run the local useapi.net simulator.

The options and the run live in :mod:`kling_desktop.simulator.cli` (one parser for this command
and ``python -m kling_desktop.simulator``); mount them with ``add_arguments(subparser)``.
"""

from __future__ import annotations

from kling_desktop.simulator.cli import DESCRIPTION, add_arguments, run

__all__ = ["DESCRIPTION", "add_arguments", "run"]
