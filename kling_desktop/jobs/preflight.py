"""Check before paying what can be checked (DESIGN §4.9). Plain code: no Qt, no network.

Right before a job's clip is uploaded and its paid add-sound request is sent, :func:`run` looks
at what would make the paid result impossible to save, or the payment go to the wrong clip:

* the output folder exists (or can be made) and really takes a file — a small temporary file,
  named like the download's own temporary file, is written and removed;
* there is room for the result (about twice the clip's size);
* the result's name fits the file system (the test write above uses the longest name the
  download will use);
* the clip is the one that was checked (same size and modification time as recorded by the
  check): a changed clip is checked again before anything is paid for.

A problem fails the job with a sentence; since nothing was sent, Retry (``policy.retry``)
sends it again at no new cost once the problem is fixed.
"""

from __future__ import annotations

import enum
import errno
import os
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kling_desktop.jobs import pipeline
from kling_desktop.jobs.model import Job, JobState
from kling_desktop.jobs.policy import Action, Decision

S = JobState

#: The result plus the download's temporary copy: about twice the clip.
SPACE_FACTOR = 2
#: What the test write puts in its temporary file.
_PROBE = b"kling-desktop write test\n"
#: How far two modification times may differ and still be the same (a float's round trip).
_MTIME_TOLERANCE_S = 1e-6

#: "No space left" and "quota exceeded" (not every platform has the latter).
_NO_SPACE = frozenset({errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC)})

FreeSpace = Callable[[Path], int]


class Preflight(enum.StrEnum):
    OK = "ok"
    FAILED = "failed"  # something here must be fixed first; nothing was sent
    RECHECK = "recheck"  # the clip changed since its check: check it again before paying


@dataclass(frozen=True)
class Finding:
    outcome: Preflight
    code: str = ""
    message: str = ""

    @property
    def ok(self) -> bool:
        return self.outcome is Preflight.OK


OK = Finding(Preflight.OK)
_NOT_SENT = "Nothing was sent and nothing was charged"


def free_bytes(folder: Path) -> int:
    """Free space for this user in ``folder``'s file system."""
    return shutil.disk_usage(folder).free


def run(job: Job, output_folder: str = "", *, free_space: FreeSpace = free_bytes) -> Finding:
    """What stands between ``job`` and a saved result, checked before paying for it.

    ``output_folder`` is the settings' output folder (used when the job has none of its own).
    ``free_space`` says how many bytes are free in a folder (tests pass their own).
    """
    try:
        st = job.input_path.stat()
    except OSError:
        return _recheck()  # the check says what is wrong with the file now
    if (
        job.input_size is None
        or job.input_mtime is None
        or st.st_size != job.input_size
        or abs(st.st_mtime - job.input_mtime) > _MTIME_TOLERANCE_S
    ):
        return _recheck()
    folder = pipeline.output_folder_for(job, output_folder)
    if folder.exists() and not folder.is_dir():
        return _failed(
            "output_not_folder",
            f"The result cannot be saved in {folder}: that is a file, not a folder. "
            f"{_NOT_SENT}: choose another output folder (or move the file away), then Retry.",
        )
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        return _unwritable(folder, exc)
    try:
        free = free_space(folder)
    except OSError as exc:
        return _unwritable(folder, exc)
    need = SPACE_FACTOR * st.st_size
    if free < need:
        return _no_space(folder, need, free)
    return _test_write(folder, pipeline.output_path(job, output_folder).name)


def decision(job: Job, finding: Finding) -> Decision:
    """What a failed preflight does to a queued job (``Decision()`` when it moved meanwhile)."""
    if finding.ok or job.state is not S.QUEUED:
        return Decision()
    if finding.outcome is Preflight.RECHECK:
        # It stays confirmed: the check queues it again if the clip is still acceptable
        # (runner/engine.py ``_run_check``). An earlier upload was of the old file.
        changes: dict[str, Any] = {"state": S.CHECKING, "upload_url": ""}
        return Decision(
            changes, Action.CHECK, note="The clip changed since it was checked · checking again"
        )
    return Decision(
        {"state": S.FAILED, "error_code": finding.code, "error_message": finding.message}
    )


def _test_write(folder: Path, result_name: str) -> Finding:
    """Write and remove a small file named as the download's temporary file will be."""
    try:
        fd, name = tempfile.mkstemp(dir=folder, prefix=f".{result_name}.", suffix=".part")
    except OSError as exc:
        if exc.errno == errno.ENAMETOOLONG:
            return _failed(
                "name_too_long",
                f"The result's name ({result_name}) is too long for the file system of "
                f"{folder}. {_NOT_SENT}: choose an output folder on another drive, or add a "
                "copy of the clip with a shorter name.",
            )
        return _unwritable(folder, exc)
    try:
        try:
            os.write(fd, _PROBE)
            os.fsync(fd)
        finally:
            os.close(fd)
    except OSError as exc:
        return _unwritable(folder, exc)
    finally:
        Path(name).unlink(missing_ok=True)
    return OK


def _recheck() -> Finding:
    return Finding(
        Preflight.RECHECK,
        "clip_changed",
        "The clip changed since it was checked; it is checked again before it is sent.",
    )


def _failed(code: str, message: str) -> Finding:
    return Finding(Preflight.FAILED, code, message)


def _unwritable(folder: Path, exc: OSError) -> Finding:
    if exc.errno in _NO_SPACE:
        return _failed(
            "disk_full",
            f"The disk holding {folder} is full. {_NOT_SENT}: free some space or choose "
            "another output folder, then Retry.",
        )
    reason = exc.strerror or str(exc)
    return _failed(
        "output_unwritable",
        f"The result cannot be saved in {folder} ({reason}). {_NOT_SENT}: make the folder "
        "writable or choose another output folder, then Retry.",
    )


def _no_space(folder: Path, need: int, free: int) -> Finding:
    return _failed(
        "disk_full",
        f"Not enough free space in {folder}: the result needs about {human_size(need)} and "
        f"{human_size(free)} is free. {_NOT_SENT}: free some space or choose another output "
        "folder, then Retry.",
    )


def human_size(n: int) -> str:
    if n < 1000:
        return f"{max(0, n)} bytes"
    size, unit = n / 1000, "KB"
    for bigger in ("MB", "GB"):
        if size < 1000:
            break
        size, unit = size / 1000, bigger
    return f"{size:.1f} {unit}"
