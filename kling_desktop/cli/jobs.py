"""``kling-desktop jobs``: list every job the app knows."""

from __future__ import annotations

import argparse

from kling_desktop.cli import EXIT_OK
from kling_desktop.cli.common import job_line, print_jobs_json
from kling_desktop.jobs.store import JobStore
from kling_desktop.paths import app_paths


def run(args: argparse.Namespace) -> int:
    store = JobStore(app_paths().ensure().database)
    try:
        jobs = store.all()
    finally:
        store.close()
    if args.json:
        print_jobs_json(jobs)
    elif not jobs:
        print("No jobs yet.")
    else:
        for job in jobs:
            print(job_line(job))
    return EXIT_OK
