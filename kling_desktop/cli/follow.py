"""Run the engine headless on a QCoreApplication until the jobs we care about settle."""

from __future__ import annotations

import re
import sqlite3
import sys
from collections.abc import Callable

from PySide6.QtCore import QCoreApplication, QTimer

from kling_desktop import instance
from kling_desktop.cli import EXIT_FAILED, EXIT_OK
from kling_desktop.cli.common import UsageError, job_line, on_interrupt, print_jobs_json
from kling_desktop.cli.jobs import open_job_list, print_notes
from kling_desktop.context import CommandContext
from kling_desktop.jobs.model import Job, JobState
from kling_desktop.jobs.store import JobStore
from kling_desktop.runner.engine import JobRunner, Progress

S = JobState
_PERCENT = re.compile(r"(\d+) %")
#: Without --wait a command returns once every clip is with Kling (or has ended).
_SENT = frozenset({S.PROCESSING, S.DOWNLOADING, S.WAITING_SLOT})


def core_app() -> QCoreApplication:
    app = QCoreApplication.instance() or QCoreApplication(sys.argv[:1])
    assert isinstance(app, QCoreApplication)
    return app


def take_lock(ctx: CommandContext, command: str) -> None:
    """Hold the data folder's lock for the rest of this process (DESIGN §4.8), waiting for
    another engine (a window, another command) up to ``KLING_DESKTOP_LOCK_WAIT`` seconds
    (default 30); a :class:`UsageError` naming it when it does not let go."""

    def waiting(holder: instance.Holder | None) -> None:
        print(f"kling-desktop: {instance.waiting_sentence(holder)}", file=sys.stderr, flush=True)

    try:
        instance.hold(ctx.paths.data_dir, f"kling-desktop {command}", on_wait=waiting)
    except instance.LockBusy as exc:
        raise UsageError(str(exc)) from exc


def make_runner(ctx: CommandContext, command: str = "") -> tuple[JobStore, JobRunner]:
    """The store and engine of a command that drives the engine: takes the data folder's
    lock first (see :func:`take_lock`), then opens the job list — setting a damaged one
    aside — and says once on stderr what happened to it. Raises :class:`UsageError`."""
    if not command:
        command = sys.argv[1] if len(sys.argv) > 1 else "command"
    take_lock(ctx, command)
    store = open_job_list(ctx.paths.database)
    try:
        runner = JobRunner(
            store, ctx.client_source().factory, ctx.settings, cache_dir=ctx.paths.cache_dir
        )
    except sqlite3.Error as exc:
        store.close()
        raise UsageError(f"The job list {ctx.paths.database} could not be read: {exc}.") from exc
    except BaseException:
        store.close()
        raise
    print_notes(store)
    return store, runner


def follow(
    runner: JobRunner,
    job_ids: Callable[[], list[int]],
    *,
    wait: bool,
    as_json: bool,
) -> int:
    """Print a line per job change until every job in ``job_ids()`` is settled.

    Settled means final (done, failed, …) or, without ``wait``, handed to Kling. Exit 0 when all
    ended done (or, without ``wait``, none failed), else 1.
    """
    app = core_app()
    interrupted = [False]

    def settled() -> bool:
        if not job_ids():
            return False  # the jobs are still being written
        jobs = [runner.job(i) for i in job_ids()]
        return all(
            j is None
            or (j.state.is_final and not runner.is_starting(j.id))
            or (not wait and j.state in _SENT)
            for j in jobs
        )

    def check_done() -> None:
        if settled():
            app.quit()

    last_line: dict[int, str] = {}
    last_text: dict[int, str] = {}

    def say(job: Job, extra: str = "") -> None:
        line = job_line(job, extra)
        if not as_json and job.id in job_ids() and last_line.get(job.id) != line:
            last_line[job.id] = line
            print(line, file=sys.stderr, flush=True)

    def on_changed(job: Job) -> None:
        say(job)
        check_done()

    def on_progress(job_id: int, progress: Progress) -> None:
        job = runner.job(job_id)
        # One line per step change, and percentages in 25 % strides.
        text = _PERCENT.sub(lambda m: f"{int(m[1]) // 25 * 25} %", progress.text)
        if job is not None and text and last_text.get(job_id) != text:
            last_text[job_id] = text
            say(job, text)

    def interrupt() -> None:
        interrupted[0] = True
        app.quit()

    runner.job_changed.connect(on_changed)
    runner.job_progress.connect(on_progress)
    on_interrupt(interrupt)
    # Python only sees Ctrl-C when it gets control back from Qt now and then.
    heartbeat = QTimer()
    heartbeat.timeout.connect(lambda: None)
    heartbeat.start(200)
    QTimer.singleShot(0, check_done)
    app.exec()
    heartbeat.stop()
    runner.shutdown()

    jobs = [j for j in (runner.job(i) for i in job_ids()) if j is not None]
    if interrupted[0]:
        print(
            "Stopped waiting. The jobs carry on with Kling; `kling-desktop resume --wait` "
            "picks them up again.",
            file=sys.stderr,
        )
    if as_json:
        print_jobs_json(jobs, runner.requests_of)
    elif not interrupted[0]:
        for job in jobs:
            print(job_line(job))
    if interrupted[0]:
        return EXIT_FAILED
    if wait:
        return EXIT_OK if all(j.state is S.DONE for j in jobs) else EXIT_FAILED
    bad = (S.FAILED, S.REJECTED, S.UNCERTAIN, S.STOPPED)
    return EXIT_FAILED if any(j.state in bad for j in jobs) else EXIT_OK
