"""A local fake of useapi.net's Kling API for tests and ``--demo`` (imports nothing of the client).

``with Simulator() as sim: ...`` serves on 127.0.0.1; point a client at ``sim.url`` with
``DEMO_TOKEN``. Faults are switched through ``sim.scenario`` (:class:`Scenario`).

The names below are imported on first use, so that mounting the command's options
(:mod:`kling_desktop.simulator.cli`) does not load PyAV and the server.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from kling_desktop.simulator.cli import serve_forever_cli
    from kling_desktop.simulator.server import (
        DEMO_TOKEN,
        GENERATED_TONES_HZ,
        RequestRecord,
        Scenario,
        Simulator,
    )

__all__ = [
    "DEMO_TOKEN",
    "GENERATED_TONES_HZ",
    "RequestRecord",
    "Scenario",
    "Simulator",
    "serve_forever_cli",
]

_HOME = {
    "DEMO_TOKEN": "server",
    "GENERATED_TONES_HZ": "server",
    "RequestRecord": "server",
    "Scenario": "server",
    "Simulator": "server",
    "serve_forever_cli": "cli",
}


def __getattr__(name: str) -> Any:
    if name not in _HOME:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{_HOME[name]}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])
