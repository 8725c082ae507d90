"""5. GUI smoothness while 50 clips are dropped, checked and uploaded.

Each run is a fresh interpreter with the real window (``Launcher.open``, offscreen) pointed at
the simulator in its own process (tasks long enough that nothing downloads meanwhile),
settings with "start as soon as clips are dropped" on. A 10 ms precise QTimer on the GUI thread
records the gap between its ticks:

* baseline: the same window idle for 3 s before the drop;
* measured: from a real QDropEvent of 50 file URLs (20 s 1080p clips, distinct paths) on the
  window until every job is past uploading, plus 1 s.

5a  p99 gap (goal ≤ 33 ms: two frames)       5b  max gap (goal ≤ 60 ms) (issue 14)

With ``KLING_BENCH_STALLS=1`` a sampler thread also records what the GUI thread was doing
whenever it had not ticked for 30 ms, and each repaint of the jobs list is timed (costs a
little; off for the figures).
"""

from __future__ import annotations

import collections
import itertools
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import traceback
from pathlib import Path
from typing import Any

from tests.benchmarks.common import (
    REPO,
    child_args,
    clip,
    figure,
    isolated_env,
    link_copies,
    simulator_process,
    write_figures,
)

CLIPS = 50
TICK_MS = 10


def percentile(data: list[float], q: float) -> float:
    data = sorted(data)
    return statistics.quantiles(data, n=100, method="inclusive")[int(q) - 1]


class StallSampler(threading.Thread):
    """Samples the GUI thread's stack whenever its timer is late (diagnosis only)."""

    def __init__(self, last_tick: list[float]) -> None:
        super().__init__(daemon=True)
        self.last_tick = last_tick
        self.main_id = threading.main_thread().ident
        self.sites: collections.Counter[str] = collections.Counter()
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.wait(0.005):
            if time.perf_counter() - self.last_tick[0] > 0.030:
                frame = sys._current_frames().get(self.main_id or 0)
                if frame is not None:
                    stack = traceback.extract_stack(frame)[-6:]
                    self.sites[" < ".join(f"{f.name}:{f.lineno}" for f in reversed(stack))] += 1


def child(files_list: str, url: str, token: str) -> dict[str, Any]:
    from PySide6.QtCore import QMimeData, QPointF, Qt, QTimer, QUrl
    from PySide6.QtGui import QDropEvent

    from kling_desktop.accounts.vault import Vault
    from kling_desktop.gui.launch import Launcher, make_application
    from kling_desktop.gui.main_window import Interactions
    from kling_desktop.jobs.model import JobState
    from kling_desktop.settings import Settings
    from tests.benchmarks.common import spin_until

    files = Path(files_list).read_text(encoding="utf-8").splitlines()
    paints: list[tuple[float, float]] = []  # (start, ms) of each repaint of the jobs list
    if os.environ.get("KLING_BENCH_STALLS"):
        # Diagnosis: how long each repaint of the list holds the GUI thread (its delegate
        # paints every visible cell in Python).
        from PySide6.QtCore import QEvent

        from kling_desktop.gui.job_view import JobTableView

        original = JobTableView.viewportEvent

        def timed(self: Any, event: Any) -> bool:
            if event.type() != QEvent.Type.Paint:
                return original(self, event)
            began = time.perf_counter()
            try:
                return original(self, event)
            finally:
                paints.append((began, (time.perf_counter() - began) * 1000))

        JobTableView.viewportEvent = timed  # type: ignore[method-assign]
    app = make_application([])
    interactions = Interactions()
    interactions.skip_spend_confirm = True
    settings = Settings()
    settings.auto_start = True
    settings.prefer_clean_master = False
    launcher = Launcher(Vault(), interactions=interactions)
    window = launcher.open(demo=False, base_url=url, token=token, settings=settings)
    window.resize(1280, 800)
    spin_until(lambda: False, 1.5, 50)  # first paint, accounts fetched, settled

    ticks: list[float] = []
    last = [time.perf_counter()]
    timer = QTimer()
    timer.setTimerType(Qt.TimerType.PreciseTimer)

    def tick() -> None:
        now = time.perf_counter()
        ticks.append(now)
        last[0] = now

    timer.timeout.connect(tick)
    sampler = StallSampler(last) if os.environ.get("KLING_BENCH_STALLS") else None
    timer.start(TICK_MS)
    spin_until(lambda: False, 3.0, 50)
    idle = [b - a for a, b in itertools.pairwise(ticks)]
    ticks.clear()
    if sampler is not None:
        sampler.start()

    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(f) for f in files])
    drop = QDropEvent(
        QPointF(200, 200),
        Qt.DropAction.CopyAction,
        mime,
        Qt.MouseButton.LeftButton,
        Qt.KeyboardModifier.NoModifier,
    )
    started = time.perf_counter()
    ticks.append(started)
    window.dropEvent(drop)  # the window's own drop handler (sendEvent needs a drag in flight)
    past_upload = {JobState.SUBMITTING, JobState.WAITING_SLOT, JobState.PROCESSING,
                   JobState.DOWNLOADING, JobState.DONE}  # fmt: skip

    def all_sent() -> bool:
        jobs = window.runner.jobs()
        return len(jobs) == len(files) and all(j.state in past_upload for j in jobs)

    ok = spin_until(all_sent, 180, 50)
    finished = time.perf_counter()
    spin_until(lambda: False, 1.0, 50)
    timer.stop()
    busy = [b - a for a, b in itertools.pairwise(ticks)]
    states = collections.Counter(j.state.value for j in window.runner.jobs())
    result: dict[str, Any] = {
        "ok": ok,
        "states": dict(states),
        "seconds": finished - started,
        "idle_ms": [g * 1000 for g in idle],
        "busy_ms": [g * 1000 for g in busy],
        "app": bool(app),
    }
    if sampler is not None:
        sampler.stop.set()
        result["stalls"] = sampler.sites.most_common(15)
        during = [ms for at, ms in paints if started <= at <= finished]
        result["list_repaints"] = {
            "count": len(during),
            "total_ms": round(sum(during), 1),
            "longest_ms": [round(ms, 1) for ms in sorted(during, reverse=True)[:10]],
        }
    return result


def main(argv: list[str] | None = None) -> int:
    if argv is None and len(sys.argv) >= 3 and sys.argv[1] == "--child":
        result = child(sys.argv[2], sys.argv[3], sys.argv[4])
        print(json.dumps(result), flush=True)
        os._exit(0)
    args = child_args(__doc__ or "").parse_args(argv)
    repeat = args.repeat or 3
    from kling_desktop.simulator import DEMO_TOKEN

    source = clip(args.workdir, "c1080.mp4", 20.0, width=1920, height=1080, fps=24, audio=True)
    files = link_copies(source, args.workdir / "smooth50", CLIPS)
    home = Path(tempfile.mkdtemp(prefix="smooth-", dir=args.workdir))
    listing = home / "files.txt"
    listing.write_text("\n".join(str(f) for f in files), encoding="utf-8")
    runs: list[dict[str, Any]] = []
    try:
        for n in range(repeat):
            env = isolated_env(home / f"run{n}")
            with simulator_process(home / f"sim{n}", task_seconds=600.0) as url:
                done = subprocess.run(
                    [sys.executable, "-m", "tests.benchmarks.bench_smooth", "--child",
                     str(listing), url, DEMO_TOKEN],
                    cwd=REPO, env=env, capture_output=True, text=True, timeout=240, check=False,
                )  # fmt: skip
            lines = [ln for ln in done.stdout.splitlines() if ln.startswith("{")]
            if done.returncode != 0 or not lines:
                raise RuntimeError(f"run failed ({done.returncode}): {done.stderr[-1500:]}")
            runs.append(json.loads(lines[-1]))
    finally:
        shutil.rmtree(home, ignore_errors=True)
    if not all(r["ok"] for r in runs):
        raise RuntimeError(f"not every clip was sent: {[r['states'] for r in runs]}")
    p99 = [percentile(r["busy_ms"], 99) for r in runs]
    top = [max(r["busy_ms"]) for r in runs]
    idle_p99 = [percentile(r["idle_ms"], 99) for r in runs]
    idle_top = [max(r["idle_ms"]) for r in runs]
    seconds = statistics.median(r["seconds"] for r in runs)
    worst = sorted((g for r in runs for g in r["busy_ms"]), reverse=True)[:10]
    notes = (
        f"{CLIPS} × 20 s 1080p dropped on the window, checked and uploaded in {seconds:.1f} s "
        f"(median); 10 longest gaps: {', '.join(f'{g:.0f}' for g in worst)} ms"
    )
    figures = [
        figure(
            "5a",
            f"GUI timer gaps during a {CLIPS}-clip drop: p99",
            "ms",
            p99,
            baseline_title="same window idle",
            baseline=idle_p99,
            goal=("abs<=", 33.0),
            notes=notes,
            extra={
                "stalls": [r.get("stalls") for r in runs if r.get("stalls")],
                "list_repaints": [r["list_repaints"] for r in runs if r.get("list_repaints")],
            },
        ),
        figure(
            "5b",
            f"GUI timer gaps during a {CLIPS}-clip drop: max",
            "ms",
            top,
            baseline_title="same window idle",
            baseline=idle_top,
            goal=("abs<=", 60.0),
        ),
    ]
    write_figures(args.out, figures)
    return 0


if __name__ == "__main__":
    sys.exit(main())
