"""``--demo``: the whole flow against the built-in simulator, with no account and no network.

The demo lives in its own home folder (``<data>/demo``) with its own settings, job database and
results, so demo jobs never mix with the user's real ones, and it never sees the real token.
"""

from __future__ import annotations

import dataclasses
import logging
from pathlib import Path

from kling_desktop.paths import AppPaths
from kling_desktop.settings import Settings
from kling_desktop.simulator import DEMO_TOKEN, Scenario, Simulator

log = logging.getLogger(__name__)

#: Long enough to watch the progress, short enough for a first impression.
DEMO_TASK_SECONDS = 12.0
SAMPLE_NAME = "sample-clip.mp4"


DEMO_RESULTS_NAME = "Kling Desktop demo"


def demo_paths(user_paths: AppPaths) -> AppPaths:
    """The demo's folders under the user's data folder; its results in a visible folder
    beside the real results' (``~/Videos/Kling Desktop demo``), which the demo names."""
    root = user_paths.data_dir / "demo"
    return AppPaths(
        config_dir=root / "config",
        data_dir=root / "data",
        cache_dir=root / "cache",
        log_dir=user_paths.log_dir,  # one log for support, whatever the mode
        default_output_dir=user_paths.default_output_dir.parent / DEMO_RESULTS_NAME,
    )


def demo_settings(paths: AppPaths, base: Settings | None = None) -> Settings:
    """Settings for the demo: the user's look and feel, the simulator's fast pace.

    Results go to the demo's own folder so fake results never land beside the user's clips.
    """
    settings = dataclasses.replace(base) if base is not None else Settings()
    settings.poll_interval_s = 2.0
    settings.first_poll_delay_s = 1.0
    settings.auto_start = False
    settings.output_folder = str(paths.default_output_dir)
    settings.default_email = ""
    return settings


class DemoService:
    """The in-process simulator on a free loopback port, with its demo token."""

    token = DEMO_TOKEN

    def __init__(self, paths: AppPaths, *, task_seconds: float = DEMO_TASK_SECONDS) -> None:
        self.paths = paths
        # No data_dir: the simulator keeps its fake CDN in a temp folder it removes on stop.
        self.simulator = Simulator(token=DEMO_TOKEN, scenario=Scenario(task_seconds=task_seconds))

    def start(self) -> DemoService:
        self.simulator.start()
        log.info("Demo simulator on %s", self.simulator.url)
        return self

    def stop(self) -> None:
        self.simulator.stop()

    @property
    def url(self) -> str:
        return self.simulator.url

    def reset_jobs(self) -> None:
        """Start each demo run with an empty list and an empty results folder.

        The simulator forgets its tasks when it stops, so demo jobs left mid-way by a previous
        run could only fail, and results of a list that is gone would only pile up. Only what
        the demo writes there is removed (its results and their partial downloads).
        """
        for suffix in ("", "-wal", "-shm"):
            Path(f"{self.paths.database}{suffix}").unlink(missing_ok=True)
        clean_demo_results(self.paths.default_output_dir)


def clean_demo_results(folder: Path) -> int:
    """Remove the demo's own results (``<name>.sound….mp4/.mov/.mkv/.wav``, Kling's sound
    alone, partial downloads) from ``folder``; returns how many files went. Anything else a
    user put there stays."""
    removed = 0
    for pattern in ("*.sound*.*", "*.kling.*", ".*.sound*.part", ".*.kling.*.part"):
        for path in folder.glob(pattern):
            if path.is_file():
                path.unlink(missing_ok=True)
                removed += 1
    return removed


def make_sample_clip(folder: Path) -> Path:
    """A 5 s silent clip to try the demo with (slow: run it off the GUI thread)."""
    from kling_desktop.media.synth import make_clip

    target = folder / SAMPLE_NAME
    if target.exists():
        return target
    folder.mkdir(parents=True, exist_ok=True)
    # 720p: what Kling asks for, so the sample passes the check without warnings.
    return make_clip(target, 5.0, width=1280, height=720, fps=24)
