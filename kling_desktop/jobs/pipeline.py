"""The steps of one job as plain functions: check, upload, submit, reconcile, poll, download.

No Qt and no threads here: the runner calls these on its worker threads, persisting each state
change through the store *before* the side effect that depends on it. Each long step takes a
cancel token and a progress callback.
"""

from __future__ import annotations

import glob
import logging
import os
import re
from collections.abc import Callable, Collection, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from kling_desktop.api import errors
from kling_desktop.api.models import ADD_SOUND_TASK_TYPE, Task
from kling_desktop.cancel import CancelToken
from kling_desktop.jobs.model import Job

if TYPE_CHECKING:  # PyAV and requests load on first use (a worker), not at start-up
    from kling_desktop.api.client import KlingClient
    from kling_desktop.media.check import ClipVerdict

log = logging.getLogger(__name__)

ProgressFn = Callable[[int, int], None]
RESULT_SUFFIX = ".sound"
#: How far back the task list is searched for a lost submit's task (our clock may be ahead
#: of Kling's; the match itself is by identity, so a long window costs only a few pages).
RECONCILE_LOOKBACK_S = 24 * 3600.0
RECONCILE_PAGE = 50
RECONCILE_PAGES = 10


class NoClient(Exception):
    """There is no API token to talk to the service with."""

    code = "no_token"

    def __str__(self) -> str:
        return "No useapi.net API token is set up. Open Accounts to add one."


class ResultInvalid(Exception):
    """The downloaded file is not a clip with sound."""

    code = "result_invalid"

    def __str__(self) -> str:
        return (
            "The result Kling returned is not a video with sound "
            f"({self.args[0] if self.args else 'unreadable'}). Retry to download it again."
        )


def check(job: Job) -> ClipVerdict:
    """The clip against what Kling takes — and, unless the job is strict, what the app can
    make of it on the computer (``verdict.plan``)."""
    from kling_desktop.media.check import check_clip

    return check_clip(
        job.input_path, strict=job.options.strict, max_length_s=job.options.max_length_s
    )


def upload(client: KlingClient, job: Job, progress: ProgressFn | None, cancel: CancelToken) -> str:
    """Upload the clip and return the URL Kling will fetch it from."""
    result = client.upload(
        job.input_path, email=job.email or None, progress=progress, cancel=cancel
    )
    return result.url


def crop_flag(keep_original: bool, reading: str | None) -> bool:
    """The ``cropVideoOriginalSound`` value that asks for ``keep_original``: the docs say
    true keeps the clip's own sound; when the service was seen doing the opposite
    (``reading == "removes"``), the opposite is sent."""
    return keep_original if reading != "removes" else not keep_original


def submit(client: KlingClient, job: Job) -> Task:
    """Send the paid add-sound request once. The caller has persisted "submitting" first,
    with the ``cropVideoOriginalSound`` value to send (``job.crop_sent``)."""
    keep = job.options.keep_original_sound if job.crop_sent is None else bool(job.crop_sent)
    return client.add_sound(
        video=job.upload_url,
        email=job.email or None,
        keep_original_sound=keep,
        max_jobs=job.options.max_jobs,
        reply_url=job.options.reply_url or None,
        reply_ref=job.reply_ref,
    )


def reconcile(client: KlingClient, job: Job, taken_task_ids: Collection[int]) -> Task | None:
    """Find the task a lost submit may have created; None when there is no proof of it.

    Only evidence of identity counts (DESIGN §4.1):

    1. the scheduler lists running tasks with their ``replyRef`` — ours is unique to the job;
    2. an add-sound task on the account whose input is the URL we uploaded, or carries our
       upload's file name (Kling re-hosts inputs, so the URL it echoes usually differs).

    "The only task in the window" is never proof: another client on the same Kling account
    may have started one at the same time. A task another job already owns is never adopted.
    """
    email = job.email or None
    for entry in client.scheduler():
        if entry.reply_ref == job.reply_ref and entry.task_id not in taken_task_ids:
            log.info("job %s: found its task %s in the scheduler", job.id, entry.task_id)
            return client.get_task(entry.task_id, email=entry.email or email)
    if not job.upload_url:
        return None
    upload_name = _file_name(job.upload_url)
    for task in _tasks_since(client, email, job.submitted_at or job.created_at):
        if task.id in taken_task_ids or task.type not in ("", ADD_SOUND_TASK_TYPE):
            continue
        names = {_file_name(url) for url in task.input_urls}
        if job.upload_url in task.input_urls or (upload_name and upload_name in names):
            log.info("job %s: found its task %s by its input", job.id, task.id)
            return client.get_task(task.id, email=email)
    return None


def _tasks_since(client: KlingClient, email: str | None, since: float) -> Iterator[Task]:
    """The account's tasks, newest first, back to a day before ``since`` (our clock may be
    well ahead of Kling's; identity, not time, decides), a page at a time."""
    oldest_ms = int((since - RECONCILE_LOOKBACK_S) * 1000)
    before: int | None = None
    for _ in range(RECONCILE_PAGES):
        page = client.list_tasks(email=email, created_before_ms=before, page_size=RECONCILE_PAGE)
        yield from page
        times = [t.create_time_ms for t in page if t.create_time_ms]
        if len(page) < RECONCILE_PAGE or not times or min(times) < oldest_ms:
            return
        before = min(times)


def _file_name(url: str) -> str:
    return url.rsplit("/", 1)[-1].split("?", 1)[0] if url else ""


def poll(client: KlingClient, job: Job) -> Task:
    assert job.task_id is not None
    return client.get_task(job.task_id, email=job.email or None)


#: The most tasks one page of ``GET /tasks`` holds.
TASK_LIST_MAX_PAGE = 500


def task_list(client: KlingClient, email: str, since: float, count: int) -> dict[int, Task]:
    """An account's tasks created since a day before ``since`` (our clock may be ahead of
    Kling's), one page, by id: many processing jobs checked in one request."""
    page = min(TASK_LIST_MAX_PAGE, max(50, 2 * count))
    after_ms = int((since - RECONCILE_LOOKBACK_S) * 1000)
    tasks = client.list_tasks(email=email or None, created_after_ms=after_ms, page_size=page)
    return {task.id: task for task in tasks}


@dataclass(frozen=True)
class SavedResult:
    path: Path
    kind: str  # "clean" or "watermarked"


#: The longest name a result may have. The download writes a temporary file beside it named
#: ``.{name}.{8 random characters}.part`` (``files.atomic_path``), and both names must fit the
#: 255-byte name limit of common file systems.
NAME_MAX_BYTES = 255
PART_NAME_EXTRA_BYTES = len(".") + len(".") + 8 + len(".part")
RESULT_NAME_MAX_BYTES = NAME_MAX_BYTES - PART_NAME_EXTRA_BYTES


def output_folder_for(job: Job, output_folder: str = "") -> Path:
    """The folder a job's result goes to: its own choice, else the settings', else the clip's."""
    return Path(job.options.output_dir or output_folder or job.input_path.parent)


def output_path(job: Job, output_folder: str = "") -> Path:
    """``<name>.sound.mp4`` next to the clip or in the chosen folder; never an existing file.

    A long clip name is shortened (the ``.sound.mp4`` ending and the `` (2)`` counter are
    kept) so that the result and the download's temporary file both fit the name limit.
    """
    folder = output_folder_for(job, output_folder)
    stem = safe_stem(job.input_path.stem)
    n = 1
    while True:
        candidate = folder / result_name(stem, n)
        if not candidate.exists():
            return candidate
        n += 1


def result_name(stem: str, n: int = 1, suffix: str = ".mp4") -> str:
    """``<stem>.sound.mp4`` (``<stem>.sound (n).mp4`` from 2 on), the stem cut to fit."""
    counter = f" ({n})" if n > 1 else ""
    return fit_name(stem, f"{RESULT_SUFFIX}{counter}{suffix}")


def fit_name(base: str, tail: str) -> str:
    """``base + tail``, ``base`` shortened (whole characters) to fit
    :data:`RESULT_NAME_MAX_BYTES` in the file system's encoding."""
    room = RESULT_NAME_MAX_BYTES - len(os.fsencode(tail))
    if len(os.fsencode(base)) > room:
        while base and len(os.fsencode(base)) > room:
            base = base[:-1]
        base = base.rstrip(" .") or "clip"  # no name ending in a dot or a space (Windows)
    return base + tail


def safe_stem(stem: str) -> str:
    # The stem is the user's own file name, but keep path separators and controls out anyway.
    return re.sub(r"[\x00-\x1f/\\]", "_", stem) or "clip"


def reserve(path: Path) -> Path:
    """Claim ``path`` with an empty placeholder so a parallel job never picks the same name."""
    path.parent.mkdir(parents=True, exist_ok=True)
    while True:
        try:
            fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:
            m = re.fullmatch(r"(.*?)(?: \((\d+)\))?", path.stem)
            base, n = (m.group(1), int(m.group(2) or 1)) if m else (path.stem, 1)
            if base.endswith(RESULT_SUFFIX):
                name = result_name(base[: -len(RESULT_SUFFIX)], n + 1, path.suffix)
            else:
                name = fit_name(base, f" ({n + 1}){path.suffix}")
            path = path.with_name(name)
            continue
        os.close(fd)
        return path


def destination(job: Job, output_folder: str = "") -> tuple[Path, bool]:
    """Where to save the job's result, and whether a complete result is already there.

    A job resumed mid-download finds its own placeholder (stored as ``output_path``): it is
    reused, and the temp file the interrupted download left beside it is removed. A non-empty
    file there was renamed into place just before the interruption; it is used when it checks.
    """
    own = job.output_path
    if own is not None and own.is_file():
        for stale in own.parent.glob(f".{glob.escape(own.name)}.*.part"):
            stale.unlink(missing_ok=True)
        if own.stat().st_size == 0:
            return own, False
        try:
            verify_result(own)
        except ResultInvalid:
            pass
        else:
            return own, True
    return reserve(output_path(job, output_folder)), False


def download(
    client: KlingClient,
    job: Job,
    dest: Path,
    *,
    prefer_clean: bool,
    progress: ProgressFn | None,
    cancel: CancelToken,
) -> SavedResult:
    """Save the result to ``dest`` (already reserved): the clean master when asked and
    available, else the watermarked file; then verify it really is a clip with sound."""
    saved: SavedResult | None = None
    if prefer_clean and job.work_id:
        try:
            url = client.master_download_url([job.work_id], email=job.email or None)
            client.download(url, dest, progress=progress, cancel=cancel)
            saved = SavedResult(dest, "clean")
        except errors.ApiError as exc:
            # Free plans have no clean master; the watermarked file is the documented fallback.
            log.info(
                "job %s: clean master unavailable (%s); using the watermarked file", job.id, exc
            )
    if saved is None:
        if not job.result_url:
            raise errors.MalformedResponse("the finished task has no result file")
        client.download(job.result_url, dest, progress=progress, cancel=cancel)
        saved = SavedResult(dest, "watermarked")
    verify_result(dest)
    return saved


def verify_result(path: Path) -> None:
    from kling_desktop.media.check import check_clip

    verdict = check_clip(path)
    if verdict.probe is None:
        raise ResultInvalid("it cannot be read")
    if not verdict.probe.has_video:
        raise ResultInvalid("it has no picture")
    if not verdict.probe.has_audio:
        raise ResultInvalid("it has no sound track")
