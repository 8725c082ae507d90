"""1. Cold start to the first painted main window, against a bare PySide6 QMainWindow.

Each start is a new interpreter (``python -m tests.benchmarks.startup_child KIND``, which
imports nothing heavy of its own), timed from just before the process is spawned to the end of
the event-loop turn that painted the main window (the first Paint event of the QMainWindow, then
``QTimer.singleShot(0)`` so the whole first frame is done). ``time.monotonic`` is
CLOCK_MONOTONIC, shared by both processes.

* ``app``: the real entry point, ``kling_desktop.app.main([])`` → ``gui.launch.run_gui`` (no
  token, an empty job list, isolated home folder). The only change: ``make_application`` is
  wrapped to install the paint watcher on the QApplication it returns.
* ``demo``: the same with ``--demo`` (starts the in-process simulator first).
* ``bare``: ``QApplication`` + an empty ``QMainWindow`` shown, the same way.

1a/1b offscreen (QT_QPA_PLATFORM=offscreen); 1c/1d under Xvfb with the xcb platform when Xvfb
is installed. Goal: app/bare ≤ 1.3 (issue 14). The heavy modules loaded by the first paint
(PyAV, numpy, requests, keyring, QtMultimedia, media/, the simulator) are listed in ``extra``
(``loaded_at_first_paint``): the goal is none. The import-time breakdown (``python -X
importtime``) of what the app loads before its first paint is written to ``extra`` too.
"""

from __future__ import annotations

import json
import re
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
    figure,
    isolated_env,
    skipped,
    write_figures,
)

# -- the parent ------------------------------------------------------------------------------


def start_once(kind: str, env: dict[str, str]) -> dict[str, float]:
    spawned = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "tests.benchmarks.startup_child", kind],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    lines = [ln for ln in done.stdout.splitlines() if ln.startswith("{")]
    if done.returncode != 0 or not lines:
        raise RuntimeError(f"{kind} start failed ({done.returncode}): {done.stderr[-1500:]}")
    marks = json.loads(lines[-1])
    times = {k: (v - spawned) * 1000 for k, v in marks.items() if isinstance(v, float)}
    LOADED[kind] = marks.get("loaded", [])
    return times


#: The heavy modules each kind had loaded at its first paint (the last start's list).
LOADED: dict[str, list[str]] = {}


def series(kinds: list[str], env_for: dict[str, dict[str, str]], repeat: int) -> dict[str, Any]:
    """Interleave the kinds so that drift on a noisy machine hits them alike."""
    runs: dict[str, list[dict[str, float]]] = {k: [] for k in kinds}
    for kind in kinds:  # one warm-up each: page cache, font cache, .pyc files
        start_once(kind, env_for[kind])
    for _ in range(repeat):
        for kind in kinds:
            runs[kind].append(start_once(kind, env_for[kind]))
    return runs


def phases(runs: list[dict[str, float]]) -> dict[str, float]:
    """Median ms from spawn to each mark."""
    keys = runs[0].keys()
    return {k: sorted(r[k] for r in runs)[len(runs) // 2] for k in keys}


def _phases_text(runs: list[dict[str, float]]) -> str:
    return " / ".join(f"{k} {v:.0f}" for k, v in phases(runs).items())


def _heavy_text(loaded: list[str]) -> str:
    """``av (54 modules), kling_desktop.media.sound`` or ``none``."""
    groups: dict[str, int] = {}
    for name in loaded:
        keep = name.startswith(("kling_desktop.", "PySide6."))
        top = ".".join(name.split(".")[:3]) if keep else name.split(".")[0]
        groups[top] = groups.get(top, 0) + 1
    parts = [f"{k} ({n} modules)" if n > 1 else k for k, n in groups.items()]
    return ", ".join(parts) or "none"


def import_breakdown(env: dict[str, str], top: int = 15) -> list[tuple[str, float]]:
    """The heaviest imports (cumulative ms) of what the window loads before its first paint."""
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-c",
         "import kling_desktop.app, kling_desktop.gui.launch"],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    rows: list[tuple[str, float]] = []
    for line in done.stderr.splitlines():
        m = re.match(r"import time:\s+(\d+) \|\s+(\d+) \|(\s*)(\S+)", line)
        if m and len(m.group(3)) <= 3:  # top-level and first-level imports
            rows.append((m.group(4), int(m.group(2)) / 1000))
    rows.sort(key=lambda r: -r[1])
    return rows[:top]


def start_xvfb() -> tuple[subprocess.Popen[bytes] | None, str]:
    xvfb = shutil.which("Xvfb")
    if xvfb is None:
        return None, "Xvfb is not installed"
    for display in range(99, 120):
        if Path(f"/tmp/.X11-unix/X{display}").exists() or Path(f"/tmp/.X{display}-lock").exists():
            continue
        proc = subprocess.Popen(
            [xvfb, f":{display}", "-screen", "0", "1600x1000x24", "-nolisten", "tcp"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if Path(f"/tmp/.X11-unix/X{display}").exists():
                return proc, f":{display}"
            if proc.poll() is not None:
                break
            time.sleep(0.05)
        proc.kill()
    return None, "Xvfb did not start"


def bench_platform(
    keys: tuple[str, str], label: str, home: Path, repeat: int, **env_extra: str
) -> list[Figure]:
    envs = {kind: isolated_env(home / f"{label}-{kind}", **env_extra) for kind in ("app", "bare")}
    for env in envs.values():
        env.pop("PYTHON_KEYRING_BACKEND", None)  # the keyring the user would get
    runs = series(["app", "bare"], envs, repeat)
    app_ms = [r["painted"] for r in runs["app"]]
    bare_ms = [r["painted"] for r in runs["bare"]]
    figs = [
        figure(
            keys[0],
            f"Cold start to first painted window ({label})",
            "ms",
            app_ms,
            baseline_title=f"bare PySide6 QMainWindow ({label})",
            baseline=bare_ms,
            goal=("ratio<=", 1.3),
            notes=(
                "python -m … → kling_desktop.app.main → run_gui; no token, empty list; "
                f"phases (median ms from spawn) app {_phases_text(runs['app'])}, bare "
                f"{_phases_text(runs['bare'])}; heavy modules loaded by the first paint: "
                f"{_heavy_text(LOADED.get('app', []))}"
            ),
            extra={
                "phases_app_ms": phases(runs["app"]),
                "phases_bare_ms": phases(runs["bare"]),
                "loaded_at_first_paint": LOADED.get("app", []),
            },
        )
    ]
    return figs


def main(argv: list[str] | None = None) -> int:
    args = child_args(__doc__ or "").parse_args(argv)
    repeat = args.repeat or 10
    home = Path(tempfile.mkdtemp(prefix="startup-", dir=args.workdir))
    figures: list[Figure] = []
    try:
        figures += bench_platform(
            ("1a", ""), "offscreen", home, repeat, QT_QPA_PLATFORM="offscreen"
        )
        # A prototype: the same start without PyAV before the first paint (the sound panel's
        # export formats, gui/jobs_page.py, are what imports it today).
        env = isolated_env(home / "exports", QT_QPA_PLATFORM="offscreen")
        env.pop("PYTHON_KEYRING_BACKEND", None)
        kinds = ["app", "app-exports-later", "bare"]
        pair = series(kinds, dict.fromkeys(kinds, env), repeat)
        still = _heavy_text(LOADED.get("app-exports-later", []))
        figures.append(
            figure(
                "1d",
                "Cold start (offscreen), prototype: PyAV not imported before the first paint",
                "ms",
                [r["painted"] for r in pair["app-exports-later"]],
                baseline_title="bare PySide6 QMainWindow (offscreen), same series",
                baseline=[r["painted"] for r in pair["bare"]],
                goal=("ratio<=", 1.3),
                notes=(
                    "the app with gui/jobs_page.py's _exports() answering without PyAV; the "
                    f"app as it is in the same series: {phases(pair['app'])['painted']:.0f} ms; "
                    f"heavy modules still loaded: {still}"
                ),
                extra={
                    "phases_ms": phases(pair["app-exports-later"]),
                    "app_same_series_ms": [r["painted"] for r in pair["app"]],
                },
            )
        )
        # --demo: the same start plus the in-process simulator.
        env = isolated_env(home / "demo", QT_QPA_PLATFORM="offscreen")
        env.pop("PYTHON_KEYRING_BACKEND", None)
        demo = series(["demo"], {"demo": env}, max(3, repeat // 2))["demo"]
        figures.append(
            figure(
                "1b",
                "Cold start, --demo (offscreen)",
                "ms",
                [r["painted"] for r in demo],
                baseline_title="bare PySide6 QMainWindow (offscreen)",
                baseline=[figures[0].baseline.median] if figures[0].baseline else None,
                notes="starts the in-process simulator before the window",
                extra={"phases_ms": phases(demo)},
            )
        )
        proc, display = start_xvfb()
        if proc is None:
            figures.append(skipped("1c", "Cold start to first painted window (xcb)", display))
        else:
            try:
                figures += bench_platform(
                    ("1c", ""), "Xvfb xcb", home, repeat, QT_QPA_PLATFORM="xcb", DISPLAY=display
                )
            except RuntimeError as exc:
                figures.append(skipped("1c", "Cold start (Xvfb, xcb)", str(exc)[-300:]))
            finally:
                proc.terminate()
                proc.wait(5)
        figures[0].extra["imports_ms"] = import_breakdown(isolated_env(home / "imports"))
    finally:
        shutil.rmtree(home, ignore_errors=True)
    write_figures(args.out, figures)
    return 0


if __name__ == "__main__":
    sys.exit(main())
