"""Run the benchmarks (issues 7 and 14), print the table and write ``benchmark-results.json``.

``python -m tests.benchmarks.run [--only 2,3] [--repeat N] [--window S] [--quick]``

Each benchmark runs in its own interpreter (``python -m tests.benchmarks.bench_x``) so memory,
threads and CPU time are measured cleanly; every figure is a median over repeated runs with its
spread, and (where it has one) a ratio to a baseline measured in the same run.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import os
import platform
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from tests.benchmarks.common import DEFAULT_WORKDIR, REPO, Figure, isolated_env, skipped

# (item, module, what it measures, timeout in seconds)
BENCHMARKS: list[tuple[str, str, str, int]] = [
    ("1", "bench_startup", "Cold start to the first painted window", 240),
    ("2", "bench_check", "Clip check", 240),
    ("3", "bench_upload", "Upload of a 100 MB clip", 300),
    ("4", "bench_polling", "Polling 200 processing jobs", 540),
    ("5", "bench_smooth", "GUI smoothness during a 50-clip drop", 300),
    ("6", "bench_memory", "Memory with 500 jobs", 300),
    ("7", "bench_frozen", "Frozen app", 240),
    ("8", "bench_prepare", "Preparing a 60 s 1080p clip (against ffmpeg -c copy)", 300),
    ("9", "bench_sound", "Finishing: remix, loudness, joining parts (against ffmpeg)", 300),
    ("10", "bench_latency", "From Kling's finish to the result playing", 480),
    ("11", "bench_poll_list", "Polling prototype: a task list per account vs 200 lookups", 300),
]


def machine() -> dict[str, Any]:
    info: dict[str, Any] = {
        "nproc": os.cpu_count(),
        "cpu": _cpu_model(),
        "ram_gb": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 1024**3, 1),
        "kernel": platform.release(),
        "os": _os_name(),
        "python": platform.python_version(),
    }
    try:
        import PySide6

        info["pyside6"] = PySide6.__version__
    except ImportError:
        info["pyside6"] = None
    try:
        import av

        info["pyav"] = av.__version__
        info["ffmpeg_libs"] = av.library_versions.get("libavformat")
    except ImportError:
        info["pyav"] = None
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True
        ).stdout.strip()
        info["commit"] = commit or None
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=REPO, capture_output=True, text=True,
        ).stdout.split("\n")  # fmt: skip
        # Uncommitted changes in the app are measured too: say which.
        info["uncommitted"] = [ln[3:] for ln in dirty if ln.strip()]
    except OSError:
        info["commit"] = None
    return info


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            for line in fh:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _os_name() -> str:
    try:
        with open("/etc/os-release", encoding="utf-8") as fh:
            for line in fh:
                if line.startswith("PRETTY_NAME="):
                    return line.split("=", 1)[1].strip().strip('"')
    except OSError:
        pass
    return platform.system()


def run_one(module: str, item: str, args: argparse.Namespace, scratch: Path) -> list[Figure]:
    out = scratch / f"{module}.json"
    command = [
        sys.executable, "-m", f"tests.benchmarks.{module}", "--out", str(out),
        "--workdir", str(args.workdir), "--window", str(args.window),
    ]  # fmt: skip
    if args.repeat:
        command += ["--repeat", str(args.repeat)]
    timeout = next(t for i, _, _, t in BENCHMARKS if i == item)
    env = isolated_env(scratch / module)
    load = os.getloadavg()[0]
    started = time.monotonic()
    # Its own process group: on a timeout the benchmark's simulator and Xvfb go with it.
    proc = subprocess.Popen(
        command, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        start_new_session=True,
    )  # fmt: skip
    try:
        stdout, stderr = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        return [skipped(item, module, f"timed out after {timeout} s")]
    elapsed = time.monotonic() - started
    if stdout.strip():
        print(stdout.rstrip(), flush=True)
    if proc.returncode != 0 or not out.is_file():
        tail = (stderr or "").strip().splitlines()[-6:]
        return [skipped(item, module, "failed: " + " | ".join(tail))]
    figures = [Figure.from_json(d) for d in json.loads(out.read_text(encoding="utf-8"))]
    for fig in figures:
        fig.extra.setdefault("bench_seconds", round(elapsed, 1))
        fig.extra.setdefault("load_average_1min_before", round(load, 2))
    return figures


def fmt(value: float, unit: str) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    if abs(value) >= 100:
        text = f"{value:.0f}"
    elif abs(value) >= 10:
        text = f"{value:.1f}"
    else:
        text = f"{value:.2f}"
    return f"{text} {unit}".strip()


def table(figures: list[Figure]) -> str:
    rows = [("#", "Figure", "Median", "Spread (min–max)", "Baseline", "Ratio", "Goal", "Met")]
    for f in figures:
        v = f.value
        spread = "—" if v.n == 0 else f"{fmt(v.min, '')}–{fmt(v.max, f.unit)} (n={v.n})"
        base = f"{fmt(f.baseline.median, f.unit)} ({f.baseline_title})" if f.baseline else "—"
        ratio = "—" if f.ratio is None else f"{f.ratio:.2f}"
        met = {True: "yes", False: "NO", None: "—"}[f.met]
        goal = f.goal or "—"
        rows.append((f.key, f.title, fmt(v.median, f.unit), spread, base, ratio, goal, met))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = []
    for n, row in enumerate(rows):
        lines.append("| " + " | ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) + " |")
        if n == 0:
            lines.append("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    notes = [f"- {f.key}: {f.notes}" for f in figures if f.notes]
    return "\n".join(lines + (["", *notes] if notes else []))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--only", default="", help="comma-separated items, e.g. 2,3")
    parser.add_argument("--repeat", type=int, default=0, help="runs per figure (0: defaults)")
    parser.add_argument("--window", type=float, default=60.0, help="polling window, seconds")
    parser.add_argument("--quick", action="store_true", help="fewer runs and a 20 s window")
    parser.add_argument("--workdir", type=Path, default=DEFAULT_WORKDIR, help="clip cache")
    parser.add_argument("--json", type=Path, default=REPO / "benchmark-results.json")
    args = parser.parse_args(argv)
    if args.quick:
        args.repeat = args.repeat or 3
        args.window = min(args.window, 20.0)
    args.workdir.mkdir(parents=True, exist_ok=True)
    wanted = {s.strip() for s in args.only.split(",") if s.strip()}
    info = machine()
    info["load_average_start"] = os.getloadavg()
    started = dt.datetime.now(dt.UTC)
    clock = time.monotonic()
    print(
        f"Kling Desktop benchmarks on {info['nproc']}× {info['cpu']}, {info['ram_gb']} GB RAM, "
        f"Python {info['python']}, PySide6 {info['pyside6']} (load {info['load_average_start']})",
        flush=True,
    )
    figures: list[Figure] = []
    scratch = Path(tempfile.mkdtemp(prefix="kling-bench-"))
    try:
        for item, module, what, _ in BENCHMARKS:
            if wanted and item not in wanted:
                continue
            print(f"[{item}] {what} … (load average {os.getloadavg()[0]:.2f})", flush=True)
            got = run_one(module, item, args, scratch)
            figures += got
            for fig in got:
                ratio = f"  ratio {fig.ratio:.2f}" if fig.ratio is not None else ""
                verdict = {True: "met", False: "MISSED", None: "—"}[fig.met]
                line = f"    {fig.key} {fig.title}: {fmt(fig.value.median, fig.unit)}{ratio}"
                print(f"{line}  [{verdict}]", flush=True)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    info["load_average_end"] = os.getloadavg()
    result = {
        "started": started.isoformat(timespec="seconds"),
        "seconds": round(time.monotonic() - clock, 1),
        "machine": info,
        "figures": [f.to_json() for f in figures],
    }
    args.json.write_text(json.dumps(result, indent=2, allow_nan=True) + "\n", encoding="utf-8")
    print()
    print(table(figures))
    print(f"\nWritten {args.json} in {result['seconds']} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
