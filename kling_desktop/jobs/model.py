"""What a job is: its states, the legal moves between them, and its data. No Qt, no I/O."""

from __future__ import annotations

import dataclasses
import enum
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # PyAV loads when a mix is made, not with the job list
    from kling_desktop.media.sound import MixSettings


class JobState(enum.StrEnum):
    CHECKING = "checking"  # added; the local check runs
    READY = "ready"  # checked and acceptable; waits for the user to press "Add sound"
    REJECTED = "rejected"  # the local check refused the clip (nothing was sent)
    QUEUED = "queued"  # the user started it; waits for a free worker
    UPLOADING = "uploading"
    SUBMITTING = "submitting"  # persisted *before* the paid submit is sent (DESIGN §4.1)
    WAITING_SLOT = "waiting_slot"  # submit answered 429: not started, retried later
    PROCESSING = "processing"  # Kling has the task; polled
    DOWNLOADING = "downloading"
    DONE = "done"
    FAILED = "failed"
    UNCERTAIN = "uncertain"  # submit outcome unknown and no task found: the user decides
    STOPPED = "stopped"  # the user stopped tracking (Kling still runs and charges it)
    # A clip made of several paid requests (parts of a long clip, takes, or a clip prepared
    # on the computer): its requests are rows of their own (``parent_id``), and what the
    # clip shows is derived from theirs (jobs/parts.py).
    PARTS = "parts"
    FINISHING = "finishing"  # every request is done: the result is put together locally

    @property
    def label(self) -> str:
        return _LABELS[self]

    @property
    def is_final(self) -> bool:
        """Nothing more happens without the user."""
        return self in _WAITING_FOR_USER

    @property
    def is_active(self) -> bool:
        """The engine is working on it (or will, by itself)."""
        return self in _ACTIVE


_LABELS = {
    JobState.CHECKING: "Checking",
    JobState.READY: "Ready",
    JobState.REJECTED: "Not accepted",
    JobState.QUEUED: "Queued",
    JobState.UPLOADING: "Uploading",
    JobState.SUBMITTING: "Submitting",
    JobState.WAITING_SLOT: "Waiting for a free slot",
    JobState.PROCESSING: "Adding sound",
    JobState.DOWNLOADING: "Downloading",
    JobState.DONE: "Done",
    JobState.FAILED: "Failed",
    JobState.UNCERTAIN: "Needs your decision",
    JobState.STOPPED: "Tracking stopped",
    JobState.PARTS: "Adding sound",
    JobState.FINISHING: "Putting it together",
}

S = JobState
_WAITING_FOR_USER = frozenset({S.READY, S.REJECTED, S.DONE, S.FAILED, S.UNCERTAIN, S.STOPPED})
_ACTIVE = frozenset(
    {
        S.CHECKING,
        S.QUEUED,
        S.UPLOADING,
        S.SUBMITTING,
        S.WAITING_SLOT,
        S.PROCESSING,
        S.DOWNLOADING,
        S.FINISHING,
    }
)

#: Every legal move. Anything else is a bug and raises :class:`IllegalTransition`.
TRANSITIONS: dict[JobState, frozenset[JobState]] = {
    S.CHECKING: frozenset({S.READY, S.REJECTED, S.QUEUED}),
    S.READY: frozenset({S.QUEUED, S.CHECKING, S.PARTS}),
    S.REJECTED: frozenset({S.CHECKING}),
    S.QUEUED: frozenset({S.UPLOADING, S.SUBMITTING, S.FAILED, S.REJECTED, S.READY, S.CHECKING}),
    # An interrupted upload goes back to the queue: nothing was spent.
    S.UPLOADING: frozenset({S.SUBMITTING, S.FAILED, S.QUEUED, S.REJECTED, S.READY}),
    # QUEUED: the service certainly refused it for a reason a new upload fixes (file gone).
    # DOWNLOADING: the task it was given (or found) had already finished.
    S.SUBMITTING: frozenset(
        {S.PROCESSING, S.DOWNLOADING, S.WAITING_SLOT, S.FAILED, S.UNCERTAIN, S.QUEUED}
    ),
    S.WAITING_SLOT: frozenset({S.SUBMITTING, S.FAILED, S.READY}),
    S.PROCESSING: frozenset({S.DOWNLOADING, S.FAILED, S.STOPPED}),
    S.DOWNLOADING: frozenset({S.DONE, S.FAILED, S.PROCESSING}),
    # Remixing a done clip rewrites its files, not its state.
    S.DONE: frozenset(),
    # Retry resumes at the step that failed: a job with a task id is never submitted again
    # by Retry (jobs/policy.py decides); QUEUED/SUBMITTING only spend a confirmed request.
    S.FAILED: frozenset(
        {S.QUEUED, S.SUBMITTING, S.PROCESSING, S.DOWNLOADING, S.CHECKING, S.FINISHING}
    ),
    # A confirmed new paid request, or a task found later, or given up.
    S.UNCERTAIN: frozenset({S.QUEUED, S.SUBMITTING, S.PROCESSING, S.DOWNLOADING, S.FAILED}),
    S.STOPPED: frozenset({S.PROCESSING}),
    # A clip of several requests: its own row only waits for them, then is put together.
    S.PARTS: frozenset({S.FINISHING, S.READY}),
    S.FINISHING: frozenset({S.DONE, S.FAILED, S.PARTS}),
}


class IllegalTransition(Exception):
    def __init__(self, job_id: int, old: JobState, new: JobState) -> None:
        super().__init__(f"job {job_id}: {old.value} -> {new.value} is not allowed")
        self.old, self.new = old, new


def check_transition(job_id: int, old: JobState, new: JobState) -> None:
    if new not in TRANSITIONS[old]:
        raise IllegalTransition(job_id, old, new)


@dataclass(frozen=True)
class JobOptions:
    email: str = ""
    keep_original_sound: bool = False
    max_jobs: int | None = None
    reply_url: str = ""
    reply_ref: str = ""  # empty: the job's uid is sent, so a lost submit can be found again
    output_dir: str = ""  # empty: next to the original clip
    # -- what the app makes of the clip on the computer (issues #12, #13) --
    strict: bool = False  # only what Kling takes as it is: nothing converted, split, extended
    max_length_s: float = 300.0  # the longest clip that is split into parts
    takes: int = 1  # paid requests per part, each a different take of the sound
    sound_volume: float = 1.0  # Kling's sound in the result, 0-2
    original_volume: float = 0.0  # the clip's own sound in the result, 0-2
    duck: bool = False  # lower the clip's own sound while Kling's is loud
    loudness_lufs: float | None = None  # integrated loudness of the result; None: as made
    export_audio: str = ""  # "", "wav" or "mp3": the sound alone beside the result
    take: int = 0  # which take is the result (0-based); the others are kept beside it
    duck_sound: bool = False  # the other way round: lower Kling's sound while the clip's plays
    keep_takes: bool = True  # keep the other takes beside the result (else they are removed)

    @property
    def plain_sound(self) -> bool:
        """The result is Kling's own sound as it came (nothing to mix or export here)."""
        return not self.export_audio and self.mix().is_plain

    def mix(self) -> MixSettings:
        """How the result's sound is mixed on the computer (loads PyAV on first use)."""
        from kling_desktop.media.sound import MixSettings

        return MixSettings(
            sound_volume=self.sound_volume,
            original_volume=self.original_volume,
            duck=self.duck,
            duck_sound=self.duck_sound,
            loudness_lufs=self.loudness_lufs,
        )


@dataclass(frozen=True)
class Job:
    """An immutable snapshot of one job as stored."""

    id: int
    input_path: Path
    state: JobState
    uid: str = dataclasses.field(default_factory=lambda: uuid.uuid4().hex)
    options: JobOptions = dataclasses.field(default_factory=JobOptions)
    duration_s: float | None = None
    upload_url: str = ""
    task_id: int | None = None
    work_id: int | None = None
    result_url: str = ""
    result_kind: str = ""  # "clean" or "watermarked"
    output_path: Path | None = None
    error_code: str = ""
    error_message: str = ""
    warnings: str = ""
    created_at: float = dataclasses.field(default_factory=time.time)
    updated_at: float = dataclasses.field(default_factory=time.time)
    submitted_at: float | None = None
    submit_attempts: int = 0
    upload_attempts: int = 0
    poll_errors: int = 0
    slot_wait_since: float | None = None
    #: Paid add-sound requests the user confirmed for this job ("Add sound", "Send again").
    confirmed_requests: int = 0
    #: add-sound requests sent that may have created a task (a certain refusal gives one
    #: back). Never more than ``confirmed_requests`` (jobs/policy.py, enforced by the store).
    paid_submits: int = 0
    #: The clip as it was checked: a changed file is checked again before paying.
    input_size: int | None = None
    input_mtime: float | None = None
    download_attempts: int = 0
    #: Looks at the service for the task of a submit whose answer was lost.
    reconcile_attempts: int = 0
    #: Grows with every write: orders two snapshots of the job whatever the clock says.
    version: int = 0
    #: A request of a clip made of several (``JobState.PARTS``): the clip's job id, the part
    #: of the clip it covers and its take. None for a clip's own row.
    parent_id: int | None = None
    part_index: int = 0
    take_index: int = 0
    #: For a clip: how many requests it is made of (0: it is one request itself).
    requests: int = 0
    #: What the check decided the clip needs (media/prepare.py ``Plan`` as JSON).
    plan: str = ""
    #: The files a finished clip made beyond ``output_path`` (takes, audio), as JSON.
    outputs: str = ""
    #: The ``cropVideoOriginalSound`` value its paid request was sent with (1/0; None: not
    #: sent yet): what the service did with it teaches the app how it reads the flag.
    crop_sent: int | None = None

    @property
    def email(self) -> str:
        return self.options.email

    @property
    def reply_ref(self) -> str:
        """What goes to the service as ``replyRef``: the user's own, else our job id — and,
        from a job's second paid request on, its number, so a lookup for one request never
        finds another's task."""
        if self.options.reply_ref:
            return self.options.reply_ref
        base = f"kling-desktop-{self.uid}"
        return base if self.paid_submits <= 1 else f"{base}-{self.paid_submits}"

    @property
    def name(self) -> str:
        return self.input_path.name

    def replace(self, **changes: object) -> Job:
        return dataclasses.replace(self, **changes)  # type: ignore[arg-type]
