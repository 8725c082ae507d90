"""What every benchmark shares: figures with their spread and baseline, clips, the simulator.

Each ``bench_*`` module runs as its own process (``python -m tests.benchmarks.bench_x --out F``)
so that memory, threads and CPU time are measured in a clean interpreter, and writes a JSON list
of :class:`Figure` dicts to ``--out``. :mod:`tests.benchmarks.run` collects them.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
DEFAULT_WORKDIR = REPO / "build" / "benchmarks"
PYCACHE = DEFAULT_WORKDIR / "pycache"  # the benchmarks' bytecode (see isolated_env)
DEMO_EMAIL = "demo@example.com"


# -- figures --------------------------------------------------------------------------------


@dataclass
class Stats:
    """A median with its spread over ``n`` runs."""

    median: float
    min: float
    max: float
    q1: float
    q3: float
    n: int

    @classmethod
    def of(cls, values: Sequence[float]) -> Stats:
        data = sorted(float(v) for v in values)
        if not data:
            raise ValueError("no values")
        if len(data) >= 2:
            q1, _, q3 = statistics.quantiles(data, n=4, method="inclusive")
        else:
            q1 = q3 = data[0]
        return cls(statistics.median(data), data[0], data[-1], q1, q3, len(data))


@dataclass
class Figure:
    """One line of the table: a measured value, its baseline, their ratio and the goal."""

    key: str  # "2a", "3b", ...
    title: str
    unit: str
    value: Stats
    baseline_title: str = ""
    baseline: Stats | None = None
    ratio: float | None = None
    goal: str = ""  # human form, e.g. "ratio ≤ 0.2"
    met: bool | None = None  # None: no goal, or not measurable here
    notes: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Figure:
        data = dict(data)
        data["value"] = Stats(**data["value"])
        if data.get("baseline"):
            data["baseline"] = Stats(**data["baseline"])
        return cls(**data)


def figure(
    key: str,
    title: str,
    unit: str,
    values: Sequence[float],
    *,
    baseline_title: str = "",
    baseline: Sequence[float] | None = None,
    goal: tuple[str, float] | None = None,
    notes: str = "",
    extra: dict[str, Any] | None = None,
) -> Figure:
    """Build a figure; ``goal`` is (kind, limit) with kind one of
    ``ratio<=``, ``ratio>=``, ``abs<=``, ``abs<``, ``abs>=``."""
    value = Stats.of(values)
    base = Stats.of(baseline) if baseline else None
    ratio = value.median / base.median if base and base.median else None
    met: bool | None = None
    text = ""
    if goal is not None:
        kind, limit = goal
        subject = ratio if kind.startswith("ratio") else value.median
        op = kind.removeprefix("ratio").removeprefix("abs")
        text = f"{'ratio' if kind.startswith('ratio') else ''} {_SYMBOL[op]} {limit:g}".strip()
        if not kind.startswith("ratio"):
            text += f" {unit}"
        if subject is not None:
            met = bool(_OPS[op](subject, limit))
    return Figure(
        key, title, unit, value, baseline_title, base, ratio, text, met, notes, extra or {}
    )


_OPS: dict[str, Callable[[float, float], bool]] = {
    "<=": lambda a, b: a <= b,
    "<": lambda a, b: a < b,
    ">=": lambda a, b: a >= b,
}
_SYMBOL = {"<=": "≤", "<": "<", ">=": "≥"}


def skipped(key: str, title: str, why: str) -> Figure:
    """A figure that could not be measured on this machine (say why)."""
    return Figure(key, title, "", Stats(float("nan"), float("nan"), float("nan"),
                                        float("nan"), float("nan"), 0), notes=why)  # fmt: skip


# -- child processes ------------------------------------------------------------------------


def child_args(description: str) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--out", type=Path, required=True, help="write the figures (JSON) here")
    parser.add_argument("--workdir", type=Path, default=DEFAULT_WORKDIR)
    parser.add_argument("--repeat", type=int, default=0, help="runs per figure (0: default)")
    parser.add_argument("--window", type=float, default=60.0, help="polling window (s)")
    return parser


def write_figures(out: Path, figures: Sequence[Figure]) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps([f.to_json() for f in figures], indent=2), encoding="utf-8")


def isolated_env(home: Path, **extra: str) -> dict[str, str]:
    """An environment that keeps the app away from the user's real profile."""
    env = dict(os.environ)
    env["KLING_DESKTOP_HOME"] = str(home / "kling-home")
    for name in ("XDG_CACHE_HOME", "XDG_DATA_HOME", "XDG_CONFIG_HOME", "XDG_STATE_HOME"):
        env[name] = str(home / name.lower())
    env.setdefault("QT_QPA_PLATFORM", "offscreen")
    env["QT_LOGGING_RULES"] = "qt.multimedia.*=false;qt.qpa.*=false"
    env.pop("KLING_DESKTOP_TOKEN", None)
    env.pop("KLING_DESKTOP_API_URL", None)
    # An installed app runs from compiled .pyc files (pip compiles them, the frozen app carries
    # them). With PYTHONDONTWRITEBYTECODE set (as in some shells and CI), every start would
    # compile the whole package again (~170 ms of a cold start): keep the bytecode in the
    # benchmarks' own cache folder instead, never beside the sources.
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env.setdefault("PYTHONPYCACHEPREFIX", str(PYCACHE))
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO), env.get("PYTHONPATH", "")) if p)
    env.update(extra)
    return env


def python_json(code: str, env: dict[str, str], timeout: float = 120) -> Any:
    """Run ``code`` in a fresh interpreter; its last stdout line is JSON."""
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=timeout,
        cwd=REPO,
    )  # fmt: skip
    if done.returncode != 0:
        raise RuntimeError(f"child failed ({done.returncode}): {done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


# -- process facts --------------------------------------------------------------------------


def proc_status(field_name: str, pid: int | str = "self") -> int:
    """A ``kB`` field of /proc/<pid>/status (VmRSS, VmHWM, Threads …), as bytes or a count."""
    with open(f"/proc/{pid}/status", encoding="ascii") as fh:
        for line in fh:
            if line.startswith(field_name + ":"):
                parts = line.split()
                return int(parts[1]) * (1024 if len(parts) > 2 and parts[2] == "kB" else 1)
    raise KeyError(field_name)


def thread_count() -> int:
    return len(os.listdir("/proc/self/task"))


def mb(n_bytes: float) -> float:
    """MiB (2**20 bytes): sizes and throughput."""
    return n_bytes / (1024 * 1024)


def megabytes(n_bytes: float) -> float:
    """MB (10**6 bytes): the unit the memory goals are stated in."""
    return n_bytes / 1e6


# -- clips ----------------------------------------------------------------------------------


def clip(workdir: Path, name: str, duration_s: float, **options: Any) -> Path:
    """A generated clip, cached in ``workdir/clips`` between runs (by its name and options)."""
    from kling_desktop.media.synth import make_clip

    key = "-".join(f"{k}{v}" for k, v in sorted(options.items()))
    path = workdir / "clips" / f"{Path(name).stem}-{duration_s:g}s-{key}{Path(name).suffix}"
    if not path.is_file():
        tmp = path.with_name(".tmp-" + path.name)
        make_clip(tmp, duration_s, **options)
        os.replace(tmp, path)
    return path


def link_copies(source: Path, folder: Path, count: int) -> list[Path]:
    """``count`` distinct paths with the same content (hard links, else copies)."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(count):
        target = folder / f"clip{i:03}{source.suffix}"
        if not target.exists():
            try:
                os.link(source, target)
            except OSError:
                shutil.copyfile(source, target)
        paths.append(target)
    return paths


def padded_clip(source: Path, target: Path, total_bytes: int) -> Path:
    """``source`` with a trailing top-level ``free`` box so the file is ``total_bytes`` long.

    ISO-BMFF allows free boxes anywhere at the top level, so the clip stays valid and whole.
    """
    if target.is_file() and target.stat().st_size == total_bytes:
        return target
    size = source.stat().st_size
    pad = total_bytes - size
    if pad < 8:
        raise ValueError("the clip is already larger than the padded size")
    tmp = target.with_name(".tmp-" + target.name)
    with open(source, "rb") as src, open(tmp, "wb") as out:
        shutil.copyfileobj(src, out)
        out.write(pad.to_bytes(4, "big") + b"free")
        chunk = bytes(1024 * 1024)
        left = pad - 8
        while left:
            n = min(left, len(chunk))
            out.write(chunk[:n])
            left -= n
    os.replace(tmp, target)
    return target


# -- the simulator in its own process -------------------------------------------------------
#
# The benchmarks start the simulator the same way the scale test does, through
# tests.fixtures.sim. That module imports pytest, requests, PyAV and the simulator (~400 ms):
# it is imported only when a simulator is wanted, so that a benchmark's child process (the
# cold start's above all) starts as light as the program it measures.


def free_port() -> int:
    from tests.fixtures.sim import free_port as find

    return find()


def simulator_process(
    data_dir: Path, *, task_seconds: float = 3.0, accounts: Sequence[str] = (f"{DEMO_EMAIL}:50",)
) -> AbstractContextManager[str]:
    """``tests.fixtures.sim.simulator_process``: the simulator in its own process; yields its
    base URL."""
    from tests.fixtures.sim import simulator_process as start

    return start(data_dir, task_seconds=task_seconds, accounts=accounts)


def spin_until(predicate: Callable[[], bool], timeout: float, step_ms: int = 5) -> bool:
    """Run the Qt event loop until ``predicate()`` holds (needs a Q*Application).

    The loop sleeps between checks (a timer, not a busy loop), so it takes no CPU from the
    worker threads being measured.
    """
    from PySide6.QtCore import QEventLoop, QTimer

    if predicate():
        return True
    loop = QEventLoop()
    deadline = time.monotonic() + timeout
    result = [False]

    def check() -> None:
        if predicate():
            result[0] = True
            loop.quit()
        elif time.monotonic() > deadline:
            loop.quit()

    timer = QTimer()
    timer.timeout.connect(check)
    timer.start(step_ms)
    loop.exec()
    timer.stop()
    return result[0]
