"""A local fake of useapi.net's Kling API for tests and ``--demo`` (imports nothing of the client).

``with Simulator() as sim: ...`` serves on 127.0.0.1; point a client at ``sim.url`` with
``DEMO_TOKEN``. Faults are switched through ``sim.scenario`` (:class:`Scenario`).
"""

from kling_desktop.simulator.server import (
    DEMO_TOKEN,
    RequestRecord,
    Scenario,
    Simulator,
    serve_forever_cli,
)

__all__ = ["DEMO_TOKEN", "RequestRecord", "Scenario", "Simulator", "serve_forever_cli"]
