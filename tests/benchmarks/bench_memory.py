"""6. Memory with 500 jobs (with thumbnails) in the window's list.

A prepare step fills a job store with 500 checked clips (distinct paths to a real 20 s 1080p
clip) and makes their thumbnails with ``kling_desktop.media.thumbs.thumbnail`` into the app's
cache. Then each run is a fresh interpreter that opens the real window the way the launcher
does (``Launcher(Vault()).open(demo=False)``, offscreen), waits until the job table holds all
500 thumbnails as pixmaps, lets the event loop settle for a second, and reads its resident set.

6a  VmRSS with 500 jobs in the window. Goal ≤ 250 MB. Baseline: a bare PySide6 QMainWindow.
6b  The same window with an empty list (so 6a − 6b is what the 500 jobs cost).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from tests.benchmarks.common import (
    REPO,
    Figure,
    child_args,
    clip,
    figure,
    isolated_env,
    link_copies,
    megabytes,
    proc_status,
    write_figures,
)

JOBS = 500


def prepare(files: list[str]) -> dict[str, Any]:
    from kling_desktop.jobs.model import JobOptions, JobState
    from kling_desktop.jobs.store import JobStore
    from kling_desktop.media.thumbs import thumbnail
    from kling_desktop.paths import app_paths

    paths = app_paths().ensure()
    store = JobStore(paths.database)
    for name in files:
        job = store.add(Path(name), JobOptions(email="demo@example.com"), state=JobState.READY)
        store.update(job.id, duration_s=20.0)
    store.close()
    started = time.perf_counter()
    made = sum(thumbnail(Path(name), paths.thumbnail_dir) is not None for name in files)
    return {"thumbnails": made, "seconds": time.perf_counter() - started}


def measure(kind: str) -> dict[str, Any]:
    from PySide6.QtWidgets import QApplication, QMainWindow

    from tests.benchmarks.common import spin_until

    app = QApplication(sys.argv[:1])
    keep: list[Any] = []
    thumbs = 0
    if kind == "bare":
        window = QMainWindow()
        window.resize(1200, 800)
        window.show()
        keep.append(window)
    else:
        from kling_desktop.accounts.vault import Vault
        from kling_desktop.gui.launch import Launcher

        launcher = Launcher(Vault())
        window = launcher.open(demo=False)
        window.resize(1200, 800)
        keep.append(launcher)
        expected = len(window.model.jobs())
        ok = spin_until(lambda: len(window.model._thumbs) >= expected, 180, 20)
        if not ok:
            raise RuntimeError(f"only {len(window.model._thumbs)} of {expected} thumbnails")
        thumbs = len(window.model._thumbs)
    spin_until(lambda: False, 1.0, 50)  # settle: paints, queued signals, pool threads idle
    return {
        "rss": proc_status("VmRSS"),
        "hwm": proc_status("VmHWM"),
        "threads": proc_status("Threads"),
        "thumbnails": thumbs,
        "app": bool(app),
    }


def run_child(mode: str, env: dict[str, str], *extra: str) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, "-m", "tests.benchmarks.bench_memory", "--child", mode, *extra],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=240, check=False,
    )  # fmt: skip
    lines = [ln for ln in done.stdout.splitlines() if ln.startswith("{")]
    if done.returncode != 0 or not lines:
        raise RuntimeError(f"{mode} failed ({done.returncode}): {done.stderr[-1500:]}")
    result: dict[str, Any] = json.loads(lines[-1])
    return result


def main(argv: list[str] | None = None) -> int:
    if argv is None and len(sys.argv) >= 3 and sys.argv[1] == "--child":
        mode = sys.argv[2]
        if mode == "prepare":
            listing = Path(sys.argv[3]).read_text(encoding="utf-8").splitlines()
            print(json.dumps(prepare(listing)))
        else:
            print(json.dumps(measure(mode)))
        sys.stdout.flush()
        os._exit(0)  # the figure is taken; skip teardown
    args = child_args(__doc__ or "").parse_args(argv)
    repeat = args.repeat or 3
    source = clip(args.workdir, "c1080.mp4", 20.0, width=1920, height=1080, fps=24, audio=True)
    files = link_copies(source, args.workdir / "mem500", JOBS)
    home = Path(tempfile.mkdtemp(prefix="memory-", dir=args.workdir))
    try:
        full = isolated_env(home / "full")
        empty = isolated_env(home / "empty")
        bare = isolated_env(home / "bare")
        listing = home / "files.txt"
        listing.write_text("\n".join(str(f) for f in files), encoding="utf-8")
        prepared = run_child("prepare", full, str(listing))
        runs: dict[str, list[dict[str, Any]]] = {"app": [], "empty": [], "bare": []}
        for _ in range(repeat):
            runs["app"].append(run_child("app", full))
            runs["empty"].append(run_child("app", empty))
            runs["bare"].append(run_child("bare", bare))
    finally:
        shutil.rmtree(home, ignore_errors=True)
    rss = {k: [megabytes(r["rss"]) for r in v] for k, v in runs.items()}
    figures: list[Figure] = [
        figure(
            "6a",
            f"Resident set, window with {JOBS} jobs + thumbnails",
            "MB",
            rss["app"],
            baseline_title="bare PySide6 QMainWindow",
            baseline=rss["bare"],
            goal=("abs<=", 250.0),
            notes=(
                f"{runs['app'][0]['thumbnails']} thumbnails shown; peak (VmHWM) "
                f"{max(megabytes(r['hwm']) for r in runs['app']):.0f} MB; thumbnails made in "
                f"{prepared['seconds']:.1f} s beforehand"
            ),
            extra={"hwm_mb": [megabytes(r["hwm"]) for r in runs["app"]], "prepare": prepared},
        ),
        figure(
            "6b",
            "Resident set, the same window with an empty list",
            "MB",
            rss["empty"],
            baseline_title="bare PySide6 QMainWindow",
            baseline=rss["bare"],
        ),
    ]
    per_job = (figures[0].value.median - figures[1].value.median) * 1000 / JOBS
    figures[0].notes += f"; {per_job:.0f} kB per job over the empty window"
    write_figures(args.out, figures)
    return 0


if __name__ == "__main__":
    sys.exit(main())
