"""Which dropped clips would be accidental duplicates (issue 10, item 7). No Qt.

A clip already in the list — done, on its way, ready, or waiting for a decision — or one of the
app's own results (``clip.sound.mp4``, ``clip.sound (2).mp4``) is not queued again by default:
a second "Add sound" on it would be a second paid Kling job. :func:`classify` says which of the
given files are new and, for the others, why, in a sentence the window shows as it is.

Files are compared by their resolved absolute path and, for a clip that was moved or copied
with its timestamps (most file managers keep them), by size and modification time against what
the job saw when it checked the clip. Both need the disk: call :func:`classify` off the GUI
thread.
"""

from __future__ import annotations

import datetime as dt
import enum
import os
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from kling_desktop.jobs.model import Job, JobState
from kling_desktop.jobs.pipeline import RESULT_SUFFIX

S = JobState

#: ``<stem>.sound.mp4`` and ``<stem>.sound (N).mp4``: what :func:`pipeline.output_path` and
#: :func:`pipeline.reserve` name a result.
_RESULT_NAME = re.compile(
    rf"(?P<stem>.+){re.escape(RESULT_SUFFIX)}(?: \((?P<n>\d+)\))?\.mp4", re.IGNORECASE
)
#: Modification times closer than this are the same (file systems round them differently).
_MTIME_SLACK_S = 0.001
#: A job whose clip was rejected cost nothing and is most likely being dropped again fixed.
_NOT_COUNTED = frozenset({S.REJECTED})


class Reason(enum.StrEnum):
    DONE = "done"  # the clip already has sound
    IN_PROGRESS = "in_progress"  # queued … downloading: a paid job is (or is about to be) on it
    UNCERTAIN = "uncertain"  # sent, outcome unknown: the user decides on that row
    IN_LIST = "in_list"  # ready, being checked, being added, failed or stopped
    RESULT = "result"  # one of this app's own results


@dataclass(frozen=True)
class Duplicate:
    """A file that is not queued by default, and why."""

    path: Path
    reason: Reason
    #: The job it repeats (None for a result of this app that is not in the list, or a clip
    #: still being added).
    job: Job | None = None
    #: True when it matched the job by size and time, not by path (a moved or copied clip).
    copy: bool = False

    @property
    def sentence(self) -> str:
        """What the user reads, e.g. "clip.mp4 already has sound — added on 1 Dec 2026."."""
        name = self.path.name
        job = self.job
        same = f"{name} is the same clip as {job.name}, which" if job and self.copy else None
        if self.reason is Reason.RESULT:
            return f"{name} is a result of this app: it already has Kling's sound."
        if self.reason is Reason.DONE and job is not None:
            when = _day(job.updated_at)
            if same:
                return f"{same} already has sound — added on {when}."
            return f"{name} already has sound — added on {when}."
        if self.reason is Reason.IN_PROGRESS and job is not None:
            state = job.state.label.lower()
            if same:
                return f"{same} is already getting its sound ({state})."
            return f"{name} is already getting its sound ({state})."
        if self.reason is Reason.UNCERTAIN and job is not None:
            if same:
                return f"{same} is already in the list, waiting for your decision."
            return f"{name} is already in the list, waiting for your decision."
        if job is not None and job.state in (S.FAILED, S.STOPPED):
            state = job.state.label.lower()
            if same:
                return f"{same} is already in the list ({state})."
            return f"{name} is already in the list ({state})."
        if same:
            return f"{same} is already in the list."
        return f"{name} is already in the list."


@dataclass(frozen=True)
class Sorting:
    """:func:`classify`'s answer: the files to add, and the ones held back."""

    new: list[Path] = field(default_factory=list)
    duplicates: list[Duplicate] = field(default_factory=list)


def is_result_name(path: Path) -> bool:
    """Whether ``path`` is named like one of this app's results (``*.sound.mp4``, ``*.sound
    (2).mp4``)."""
    return _RESULT_NAME.fullmatch(path.name) is not None


Stat = Callable[[str], os.stat_result]


def classify(
    paths: Sequence[Path],
    jobs: Iterable[Job],
    *,
    pending: Iterable[Path] = (),
    stat: Stat = os.stat,
    resolve: Callable[[str], str] = os.path.realpath,
) -> Sorting:
    """Sort ``paths`` into new clips and duplicates of ``jobs`` (and of ``pending``: clips
    handed to the runner whose jobs do not exist yet). The same file twice among ``paths`` is
    kept once, silently. ``stat``/``resolve`` are for tests.
    """
    by_path: dict[str, Job] = {}
    by_stamp: dict[tuple[int, float], Job] = {}
    results: dict[str, Job] = {}
    for job in jobs:
        if job.output_path is not None:
            results[_key(job.output_path, resolve)] = job
        if job.state in _NOT_COUNTED:
            continue
        key = _key(job.input_path, resolve)
        # The job that says most wins: done over in progress over the rest.
        if key not in by_path or _rank(job) > _rank(by_path[key]):
            by_path[key] = job
        if job.input_size and job.input_mtime is not None:
            stamp = (job.input_size, round(job.input_mtime / _MTIME_SLACK_S))
            if stamp not in by_stamp or _rank(job) > _rank(by_stamp[stamp]):
                by_stamp[stamp] = job
    adding = {_key(p, resolve) for p in pending}

    sorting = Sorting()
    seen: set[str] = set()
    for path in paths:
        key = _key(path, resolve)
        if key in seen:
            continue
        seen.add(key)
        if key in results or is_result_name(path):
            sorting.duplicates.append(Duplicate(path, Reason.RESULT, results.get(key)))
            continue
        same: Job | None = by_path.get(key)
        copy = False
        if same is None:
            same = by_stamp.get(_stamp(path, stat) or (-1, 0))
            copy = same is not None
        if same is not None:
            sorting.duplicates.append(Duplicate(path, _reason(same), same, copy=copy))
        elif key in adding:
            sorting.duplicates.append(Duplicate(path, Reason.IN_LIST))
        else:
            sorting.new.append(path)
    return sorting


def _reason(job: Job) -> Reason:
    if job.state is S.DONE:
        return Reason.DONE
    if job.state is S.UNCERTAIN:
        return Reason.UNCERTAIN
    if job.state.is_active and job.state is not S.CHECKING:
        return Reason.IN_PROGRESS
    return Reason.IN_LIST


def _rank(job: Job) -> int:
    return {Reason.DONE: 3, Reason.IN_PROGRESS: 2, Reason.UNCERTAIN: 1}.get(_reason(job), 0)


def _key(path: Path, resolve: Callable[[str], str]) -> str:
    try:
        resolved = resolve(os.path.abspath(path))
    except (OSError, ValueError):
        resolved = os.path.abspath(path)
    return os.path.normcase(resolved)


def _stamp(path: Path, stat: Stat) -> tuple[int, float] | None:
    try:
        st = stat(str(path))
    except (OSError, ValueError):
        return None
    if not st.st_size:
        return None
    return st.st_size, round(st.st_mtime / _MTIME_SLACK_S)


def _day(epoch: float) -> str:
    """Like "1 Dec 2026", in the computer's time zone (no locale-dependent ``%-d``)."""
    when = dt.datetime.fromtimestamp(epoch)
    return f"{when.day} {when:%b %Y}"
