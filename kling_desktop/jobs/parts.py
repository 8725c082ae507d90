"""A clip made of several paid requests: which clips are, their requests, what the clip shows.

A clip that Kling cannot take as it is (too long, too short, another format), that asks for
several takes, or whose sound is mixed on the computer is *a clip of parts*: its own row waits
in ``JobState.PARTS`` while each request — one part of the prepared clip × one take — runs as
a row of its own through the engine's usual steps (and its pay-once rules: each request holds
one confirmed paid request). When every request is done, the clip is put together on the
computer (``FINISHING``) from the original picture and the sound Kling made.

What the clip shows (its state, its error, what Retry may do) is derived from its requests
here. Plain code: no Qt, no I/O.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kling_desktop.jobs import policy
from kling_desktop.jobs.model import Job, JobState

if TYPE_CHECKING:  # PyAV loads with the first check, not with the window
    from kling_desktop.media.prepare import Plan

S = JobState

#: The store fact that says how the service reads ``cropVideoOriginalSound``: "keeps" (the
#: docs: true keeps the clip's own sound) or "removes" (true removes it).
CROP_FACT = "crop_video_original_sound"


def plan_of(job: Job) -> Plan | None:
    if not job.plan:
        return None
    from kling_desktop.media.prepare import Plan

    try:
        return Plan.from_json(job.plan)
    except (ValueError, KeyError, TypeError):
        return None


def whole_clip_plan(duration_s: float) -> str:
    """The plan of a clip sent as it was: one part, the whole clip, nothing prepared."""
    from kling_desktop.media.prepare import Part, Plan

    return Plan(duration_s=duration_s, parts=(Part(0, 0.0, duration_s),), steps=()).to_json()


def needs_parts(job: Job) -> bool:
    """Whether "Add sound" makes this clip a clip of parts (else it is one request itself)."""
    options = job.options
    if options.takes > 1:
        return True
    plan = plan_of(job)
    if plan is None:
        return False
    return bool(plan.steps) or plan.paid_jobs > 1 or not options.plain_sound


def paid_requests(job: Job) -> int:
    """How many paid Kling jobs "Add sound" starts for this clip."""
    plan = plan_of(job)
    parts = plan.paid_jobs if plan is not None and plan.ok else 1
    return max(1, parts) * max(1, job.options.takes)


def folder(cache_dir: Path, job: Job) -> Path:
    """Where a clip's prepared uploads and Kling's results live (the cache)."""
    return cache_dir / "parts" / job.uid


def requests_for(clip: Job, cache_dir: Path, now: float) -> list[Job]:
    """The rows of a clip's paid requests: every part × every take, queued, each with one
    confirmed request. A part's upload is prepared when its first take is sent."""
    plan = plan_of(clip)
    if plan is None:
        return []
    where = folder(cache_dir, clip)
    options = dataclasses.replace(
        clip.options,
        output_dir=str(where),
        takes=1,
        take=0,
        sound_volume=1.0,
        original_volume=0.0,
        duck=False,
        duck_sound=False,
        loudness_lufs=None,
        export_audio="",
        keep_takes=True,
    )
    out = []
    for part in plan.parts:
        for take in range(max(1, clip.options.takes)):
            out.append(
                Job(
                    id=0,
                    input_path=where / f"part{part.index + 1}.mp4",
                    state=S.QUEUED,
                    options=options,
                    duration_s=part.length_s,
                    confirmed_requests=1,
                    parent_id=clip.id,
                    part_index=part.index,
                    take_index=take,
                    created_at=now,
                    updated_at=now,
                )
            )
    return out


def started(count: int) -> dict[str, Any]:
    """What the clip's own row becomes when its requests are made."""
    return {"state": S.PARTS, "requests": count, "error_code": "", "error_message": ""}


# -- what a clip of parts shows ----------------------------------------------------------

#: When requests differ, the one the clip shows: what needs the user first, then what runs.
_SHOWN_FIRST = (
    S.UNCERTAIN,
    S.FAILED,
    S.STOPPED,
    S.SUBMITTING,
    S.UPLOADING,
    S.WAITING_SLOT,
    S.QUEUED,
    S.PROCESSING,
    S.DOWNLOADING,
    S.READY,
    S.DONE,
)


@dataclass(frozen=True)
class Summary:
    state: JobState
    done: int
    total: int
    text: str  # "2 of 3 parts done", "Part 2 of 3: …"
    shown: Job | None  # the request whose state the clip shows


def summary(clip: Job, requests: Sequence[Job]) -> Summary:
    """What a clip of parts shows: while any request is at work, the state of the one that
    is furthest behind (so "ended" always means nothing more happens by itself); then what
    needs the user first; then "putting it together" once every request is done."""
    total = len(requests) or clip.requests
    done = sum(1 for r in requests if r.state is S.DONE)
    if clip.state is not S.PARTS or not requests:
        return Summary(clip.state, done, total, "", None)
    order = {state: i for i, state in enumerate(_SHOWN_FIRST)}
    active = [r for r in requests if r.state.is_active]
    shown = min(active or requests, key=lambda r: (order.get(r.state, len(order)), r.id))
    state = shown.state
    if state is S.DONE:  # every request is done: putting it together comes next
        state = S.FINISHING
    waiting = sum(1 for r in requests if r.state in (S.FAILED, S.UNCERTAIN, S.STOPPED))
    words = [f"{done} of {total} {_unit(clip)} done"] if total > 1 else []
    if waiting:
        words.append(f"{waiting} need{'s' if waiting == 1 else ''} you")
    text = " · ".join(words)
    return Summary(state, done, total, text, shown)


def label(clip: Job, request: Job, *, short: bool = False) -> str:
    """``part 2 of 3``, ``take 2``, ``part 2 of 3, take 2``: which request of a clip
    (``short``: ``part 2``, where the count is said beside it)."""
    plan = plan_of(clip)
    parts = plan.paid_jobs if plan is not None else 1
    words = []
    if parts > 1:
        words.append(f"part {request.part_index + 1}" + ("" if short else f" of {parts}"))
    if clip.options.takes > 1:
        words.append(f"take {request.take_index + 1}")
    return ", ".join(words)


def shape(clip: Job) -> str:
    """``3 parts``, ``2 takes``, ``3 parts × 2 takes``; "" for a clip that is one request."""
    if not clip.requests:
        return ""
    plan = plan_of(clip)
    parts = plan.paid_jobs if plan is not None else 1
    words = [f"{parts} parts"] if parts > 1 else []
    if clip.options.takes > 1:
        words.append(f"{clip.options.takes} takes")
    return " × ".join(words)


def _unit(clip: Job) -> str:
    plan = plan_of(clip)
    parts = plan.paid_jobs if plan is not None else 1
    takes = clip.options.takes > 1
    if parts > 1:
        return "Kling jobs" if takes else "parts"
    return "takes" if takes else "Kling jobs"


def view(clip: Job, requests: Sequence[Job]) -> Job:
    """The clip as the window and the command line show it: its requests' state and error,
    their paid counters summed, no task of its own."""
    if clip.state is not S.PARTS:
        return clip
    shown = summary(clip, requests)
    changes: dict[str, Any] = {
        "state": shown.state,
        "confirmed_requests": sum(r.confirmed_requests for r in requests),
        "paid_submits": sum(r.paid_submits for r in requests),
    }
    if shown.shown is not None and shown.shown.error_message:
        which = label(clip, shown.shown)
        changes["error_code"] = shown.shown.error_code
        changes["error_message"] = (
            f"{which[:1].upper()}{which[1:]}: {shown.shown.error_message}"
            if which
            else shown.shown.error_message
        )
    if shown.shown is not None:
        changes["submitted_at"] = shown.shown.submitted_at
    return clip.replace(**changes)


def retry_kind(clip: Job, requests: Sequence[Job]) -> policy.RetryKind:
    """What Retry does for a clip of parts (stored, or as :func:`view` shows it): put it
    together again when that failed; else a free retry of some request first; a new paid
    job only when that is all that is left."""
    if all_done(requests):
        return policy.RetryKind.FINISH if clip.state is S.FAILED else policy.RetryKind.NONE
    kinds = [policy.retry_kind(r) for r in requests]
    free = [k for k in kinds if k not in (policy.RetryKind.NONE, policy.RetryKind.RESUBMIT)]
    if free:
        return free[0]
    return (
        policy.RetryKind.RESUBMIT if policy.RetryKind.RESUBMIT in kinds else policy.RetryKind.NONE
    )


def listing(jobs: Sequence[Job]) -> list[tuple[Job, list[Job]]]:
    """The user's clips (as :func:`view` shows them) with their requests, from every stored
    row (the store lists requests as rows of their own)."""
    requests: dict[int, list[Job]] = {}
    for job in jobs:
        if job.parent_id is not None:
            requests.setdefault(job.parent_id, []).append(job)
    out = []
    for job in jobs:
        if job.parent_id is None:
            own = sorted(requests.get(job.id, []), key=lambda r: (r.part_index, r.take_index))
            out.append((view(job, own), own))
    return out


def to_resubmit(requests: Sequence[Job]) -> list[Job]:
    """The requests that only a new paid job can bring to an end."""
    return [r for r in requests if policy.retry_kind(r) is policy.RetryKind.RESUBMIT]


#: Options that only change how a result sounds: they may change until it is put together.
SOUND_OPTIONS = frozenset(
    {
        "sound_volume",
        "original_volume",
        "duck",
        "duck_sound",
        "loudness_lufs",
        "export_audio",
        "take",
        "keep_takes",
    }
)
#: Options that change what is sent: the clip is checked again.
RECHECK_OPTIONS = frozenset({"strict", "max_length_s"})


def allowed_options(job: Job) -> frozenset[str]:
    """Which options of a job may still change: all of them before it is sent; after, only
    how a clip of parts' result sounds, until it is put together."""
    if job.state in (S.CHECKING, S.READY, S.REJECTED) and not job.requests:
        return frozenset(f.name for f in dataclasses.fields(job.options))
    if job.requests and job.state in (S.PARTS, S.FAILED):
        return SOUND_OPTIONS
    return frozenset()


def all_done(requests: Sequence[Job]) -> bool:
    return bool(requests) and all(r.state is S.DONE for r in requests)


def outputs(clip: Job) -> dict[str, list[str]]:
    """The files a finished clip made beyond its result: ``takes`` (the other takes, in take
    order, the result's own place empty) and ``audio`` (exported sound)."""
    try:
        raw = json.loads(clip.outputs) if clip.outputs else {}
    except ValueError:
        raw = {}
    if not isinstance(raw, dict):
        return {}
    return {k: [str(p) for p in v] for k, v in raw.items() if isinstance(v, list)}
