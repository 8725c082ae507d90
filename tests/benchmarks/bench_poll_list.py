"""11. Polling prototype: one task list per account instead of one lookup per task.

Not the runner: the app's own :class:`~kling_desktop.api.client.KlingClient` against the
simulator (its own process), 200 processing tasks on 4 accounts, as in benchmark 4. One *round*
learns every task's status once:

11a  the round as the runner does it today: 200 × ``GET /tasks/{id}?email=`` (4 threads, like
     the network pool) — CPU seconds of this process per round. Baseline (same run): the round
     as one ``GET /tasks?email=&createdAfter=&pageSize=500`` per account (4 requests, the
     history items carry each task's status, and its works once done).
11b  the same rounds' wall time.

With the default interval (20 s) a round is due every 20 s, so CPU % of one core = CPU per
round / 20 s × 100: the notes give both, and what benchmark 4's figure would become.
"""

from __future__ import annotations

import shutil
import statistics
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from tests.benchmarks.common import (
    Figure,
    child_args,
    clip,
    figure,
    simulator_process,
    write_figures,
)

TASKS = 200
ACCOUNTS = 4
INTERVAL_S = 20.0


def cpu() -> float:
    return time.process_time()


def main(argv: list[str] | None = None) -> int:
    args = child_args(__doc__ or "").parse_args(argv)
    rounds = args.repeat or 15
    from kling_desktop.api.client import KlingClient
    from kling_desktop.simulator import DEMO_TOKEN

    source = clip(args.workdir, "small.mp4", 3.0, width=64, height=64, fps=5)
    scratch = args.workdir / "poll-list"
    shutil.rmtree(scratch, ignore_errors=True)
    scratch.mkdir(parents=True)
    emails = [f"bench{i}@example.com" for i in range(ACCOUNTS)]
    accounts = [f"{e}:{TASKS // ACCOUNTS}" for e in emails]
    with simulator_process(scratch / "sim", task_seconds=3600, accounts=accounts) as url:
        setup = KlingClient(url, DEMO_TOKEN)
        tasks: list[tuple[int, str]] = []
        since: dict[str, int] = {}
        for n in range(TASKS):
            email = emails[n % ACCOUNTS]
            up = setup.upload(source, email=email)
            task = setup.add_sound(video=up.url, email=email)
            tasks.append((task.id, email))
            since.setdefault(email, task.create_time_ms - 1)
        setup.close()
        # One client per pool thread, as the runner's steps each use the source's client.
        clients = [KlingClient(url, DEMO_TOKEN) for _ in range(4)]
        pool = ThreadPoolExecutor(4)

        def lookup(item: tuple[int, tuple[int, str]]) -> Any:
            n, (task_id, email) = item
            return clients[n % 4].get_task(task_id, email=email)

        def single_round() -> int:
            return sum(1 for t in pool.map(lookup, enumerate(tasks)) if not t.status_final)

        def list_round() -> int:
            seen = 0
            for n, email in enumerate(emails):
                got = clients[n % 4].list_tasks(
                    email=email, created_after_ms=since[email], page_size=500
                )
                seen += sum(1 for t in got if not t.status_final)
            return seen

        single_cpu: list[float] = []
        single_wall: list[float] = []
        list_cpu: list[float] = []
        list_wall: list[float] = []
        single_round()  # warm-up: connections, imports
        list_round()
        for _ in range(rounds):
            for fn, cpus, walls in (
                (single_round, single_cpu, single_wall),
                (list_round, list_cpu, list_wall),
            ):
                c0, w0 = cpu(), time.perf_counter()
                processing = fn()
                cpus.append(cpu() - c0)
                walls.append(time.perf_counter() - w0)
                if processing != TASKS:
                    raise RuntimeError(f"{fn.__name__}: {processing} of {TASKS} processing")
        pool.shutdown()
        for c in clients:
            c.close()
    single_pct = 100 * statistics.median(single_cpu) / INTERVAL_S
    list_pct = 100 * statistics.median(list_cpu) / INTERVAL_S
    figures: list[Figure] = [
        figure(
            "11a",
            f"Status of {TASKS} tasks, CPU per round: {TASKS} GET /tasks/{{id}}",
            "ms",
            [1000 * v for v in single_cpu],
            baseline_title=f"{ACCOUNTS} × GET /tasks?email= (one list per account)",
            baseline=[1000 * v for v in list_cpu],
            notes=(
                f"client side (KlingClient, this process); at one round per {INTERVAL_S:g} s: "
                f"{single_pct:.2f} % of a core today vs {list_pct:.2f} % with lists, a saving "
                f"of {single_pct - list_pct:.2f} points off benchmark 4's figure"
            ),
            extra={"single_pct": single_pct, "list_pct": list_pct},
        ),
        figure(
            "11b",
            f"Status of {TASKS} tasks, wall time per round: {TASKS} GET /tasks/{{id}}",
            "ms",
            [1000 * v for v in single_wall],
            baseline_title=f"{ACCOUNTS} × GET /tasks?email=",
            baseline=[1000 * v for v in list_wall],
        ),
    ]
    write_figures(args.out, figures)
    return 0


if __name__ == "__main__":
    sys.exit(main())
