"""What a row says about a clip the app prepares on the computer, or a clip of parts.

A ready clip that will be split, converted or extended says so before anything is paid
("Will be split into 3 parts · 3 paid jobs"); a clip of parts names how many requests it is
made of and where each one is ("3 parts: Part 1 ✓ · Part 2 Adding sound · Part 3 Uploading
40 %"). Plain sentences from the runner's snapshots: no widgets.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from PySide6.QtCore import QCoreApplication

from kling_desktop.jobs import parts
from kling_desktop.jobs.model import Job, JobState
from kling_desktop.runner.engine import Progress

S = JobState

#: What a request that is done shows in the breakdown.
DONE_MARK = "✓"


def tr(text: str, n: int = -1) -> str:
    return QCoreApplication.translate("PartsText", text, "", n)


def _capital(text: str) -> str:
    return text[:1].upper() + text[1:]


def plan_sentence(job: Job, paid_jobs: int) -> str:
    """For a ready clip: what preparing it does and what "Add sound" costs, when that is more
    than "one clip, one paid job" ("Will be split into 3 parts · 3 paid jobs"); else ""."""
    if job.state not in (S.READY, S.CHECKING) or job.requests:
        return ""
    plan = parts.plan_of(job)
    describe = plan.describe() if plan is not None else ""
    words = [_capital(describe)] if describe else []
    if job.options.takes > 1:
        words.append(tr("%n take(s)", job.options.takes))
    if not words and paid_jobs <= 1:
        return ""
    words.append(tr("%n paid Kling job(s)", paid_jobs))
    return " · ".join(words)


def count_text(clip: Job, requests: Sequence[Job]) -> str:
    """ "3 parts", "2 takes", "3 parts × 2 takes": what a clip of parts is made of."""
    plan = parts.plan_of(clip)
    count = plan.paid_jobs if plan is not None else len({r.part_index for r in requests})
    takes = clip.options.takes
    if count > 1 and takes > 1:
        return f"{tr('%n part(s)', count)} × {tr('%n take(s)', takes)}"
    if takes > 1:
        return tr("%n take(s)", takes)
    return tr("%n part(s)", max(count, 1))


def request_name(clip: Job, request: Job) -> str:
    """ "Part 2", "Take 2", "Part 2 take 2": one request among its clip's, briefly."""
    plan = parts.plan_of(clip)
    several_parts = plan is not None and plan.paid_jobs > 1
    part = tr("Part %1").replace("%1", str(request.part_index + 1))
    take = tr("take %1").replace("%1", str(request.take_index + 1))
    if several_parts and clip.options.takes > 1:
        return f"{part} {take}"
    if clip.options.takes > 1:
        return _capital(take)
    return part


def request_state(request: Job, progress: Progress) -> str:
    """Where one request is: "✓", "Adding sound", "Uploading 40 %", "Failed"."""
    if request.state is S.DONE:
        return DONE_MARK
    running = request.state.is_active
    text = (progress.text if running else "") or QCoreApplication.translate(
        "JobState", request.state.label
    )
    if (
        running
        and progress.fraction is not None
        and request.state in (S.QUEUED, S.UPLOADING, S.DOWNLOADING)
        and "%" not in text
    ):
        text += f" {round(progress.fraction * 100)} %"
    return text


def breakdown(clip: Job, requests: Sequence[Job], progress_of: Callable[[int], Progress]) -> str:
    """ "Part 1 ✓ · Part 2 Adding sound · Part 3 Uploading 40 %"; "" for a clip that is one
    request itself."""
    if not requests:
        return ""
    return " · ".join(
        f"{request_name(clip, r)} {request_state(r, progress_of(r.id))}" for r in requests
    )


def parts_line(clip: Job, requests: Sequence[Job], progress_of: Callable[[int], Progress]) -> str:
    """The details of a clip of parts while it runs: "3 parts: Part 1 ✓ · Part 2 …"."""
    if not requests or (len(requests) == 1 and clip.state is S.DONE):
        return ""  # one request, done: "1 part: Part 1 ✓" says nothing the status does not
    return f"{count_text(clip, requests)}: {breakdown(clip, requests, progress_of)}"


def takes_line(job: Job) -> str:
    """For a done clip with several takes: which one is the result, and that the others are
    kept beside it."""
    if job.state is not S.DONE or job.options.takes <= 1:
        return ""
    others = [p for p in parts.outputs(job).get("takes", []) if p]
    text = (
        tr("Take %1 of %2 is the result")
        .replace("%1", str(job.options.take + 1))
        .replace("%2", str(job.options.takes))
    )
    if others:
        text += " · " + tr("%n other take(s) saved beside it", len(others))
    return text
