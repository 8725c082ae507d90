"""What the fake "Kling" remembers: accounts, uploads, tasks, and the faults' counters.

Plain Python, no HTTP: :mod:`routes` reads and changes a :class:`State`, :mod:`shapes` turns
its objects into JSON. Time comes from two injected clocks, so a test can move a task along
without sleeping: ``clock`` (monotonic seconds) drives progress and visibility, ``wall_clock``
(epoch seconds) stamps ``createTime`` and friends.

The faults themselves are a :class:`~kling_desktop.simulator.scenario.Scenario`; ``State.take``
counts them down. A refusal the contract defines (unknown account, unknown upload, …) is raised as
:class:`Refused` with the status and body useapi.net answers with.
"""

from __future__ import annotations

import itertools
import logging
import secrets
import shutil
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple
from urllib.parse import urlsplit

from kling_desktop.simulator import media
from kling_desktop.simulator.scenario import Scenario, keeps_original

log = logging.getLogger(__name__)

Clock = Callable[[], float]

SUBMIT_COST = 500  # [I] credit units per add-sound; the real price is unknown (contract §11)
START_POINTS = 66000
TRACKING_LIMIT_S = 3600.0  # the scheduler tracks tasks "up to 60 minutes" [S]
MIN_SECONDS, MAX_SECONDS = 3.0, 20.0
# [I] Kling states lengths in whole milliseconds (``resource.duration``, contract §3); a video
# is measured that way, so 3.000-20.000 s pass and 2.999 s or 20.001 s do not.
MIN_MS, MAX_MS = round(MIN_SECONDS * 1000), round(MAX_SECONDS * 1000)
LENGTH_RULE = "Video can't be shorter than 3 seconds or longer than 20 seconds"  # the page's
# The tones Kling "generates", one per task in turn (the n-th task of a simulator gets the n-th,
# modulo): a pure sine each at sine's -18 dBFS, all well clear of 440 Hz (the clips' own sound in
# tests) and its harmonics, and none a near multiple or 3:2 of another, so any run of six
# consecutive tasks is told apart by measuring the result.
GENERATED_TONES_HZ = (620.0, 960.0, 1400.0, 1980.0, 2280.0, 2720.0)

NO_CONFIG = "Configuration not found. To create configuration use POST /accounts."
NO_ACCOUNT = "Account configuration not found. To create configuration use POST /accounts."
RESOURCE_NOT_FOUND = {  # seed: 404 when the video URL is not an uploaded asset
    "error": "Sorry, the requested resource was not found (VALID.ResourceNotFound)",
    "message": "Not Found",
}


class Refused(Exception):
    """useapi.net refuses the request with ``status`` and the JSON ``body`` (the contract's)."""

    def __init__(
        self, status: int, body: dict[str, Any], headers: Mapping[str, str] | None = None
    ) -> None:
        super().__init__(status, body)
        self.status = status
        self.body = body
        self.headers = dict(headers or {})


def refused(status: int, text: str, **extra: Any) -> Refused:
    """The service's usual refusal, ``{"error": text, ...extra}``."""
    return Refused(status, {"error": text, **extra})


def length_ms(info: media.VideoInfo) -> int:
    """A video's length as Kling states it, in whole milliseconds."""
    return round(info.duration_s * 1000)


def length_ok(info: media.VideoInfo) -> bool:
    """Whether add-sound takes a video this long (3-20 s, to the millisecond)."""
    return MIN_MS <= length_ms(info) <= MAX_MS


class Phase(NamedTuple):
    """Where a task is: ``status``, ``status_name`` and ``status_final`` as Kling says them."""

    status: int
    name: str
    final: bool

    @property
    def succeeded(self) -> bool:
        return self.final and self.name == "succeed"


@dataclass
class Account:
    email: str
    password: str
    max_jobs: int
    user_id: str
    created_ms: int
    points: int = START_POINTS


@dataclass
class Upload:
    name: str
    path: Path
    content_type: str
    kind: str
    info: media.VideoInfo | None = None


@dataclass
class Task:
    id: int
    work_id: int
    email: str
    user_id: str
    upload: Upload
    input_url: str
    crop_flag: bool | None  # cropVideoOriginalSound as asked (None: not sent, i.e. false)
    reading: str  # how this task reads the flag (Scenario.crop_original_sound at submit)
    reply_url: str | None
    reply_ref: str | None
    created: float  # State.clock seconds
    created_ms: int
    seconds: float
    fail: bool
    info: media.VideoInfo
    tone_hz: float  # the generated sound (GENERATED_TONES_HZ)
    visible_from: float = 0.0  # State.clock; the task is hidden from every API answer before it
    foreign: bool = False  # started by another client on the account (submit_lost_other_client)
    stopped: bool = False
    result: Path | None = None
    result_error: str = ""
    original_in_result: bool | None = None  # known once the result is made
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def flag(self) -> bool:
        """cropVideoOriginalSound as Kling takes it (absent = false, the documented default)."""
        return bool(self.crop_flag)

    @property
    def keeps_original(self) -> bool:
        """Whether this task keeps the clip's own sound (by its reading of the flag)."""
        return keeps_original(self.flag, self.reading)


class Submitted(NamedTuple):
    """A submit that started a task: whether its answer is to be dropped, the balance after."""

    task: Task
    dropped: bool
    balance: int


class State:
    """Accounts, uploads, tasks and faults of one simulator (thread-safe, one lock)."""

    def __init__(
        self,
        data_dir: Path,
        *,
        token: str,
        accounts: Sequence[tuple[str, int]],
        scenario: Scenario,
        clock: Clock = time.monotonic,
        wall_clock: Clock = time.time,
    ) -> None:
        self.token = token
        self.scenario = scenario
        self.data_dir = data_dir
        self.origin = ""  # http://host:port once serving; the URLs Kling hands out start with it
        self.port = 0
        self._clock = clock
        self._wall_clock = wall_clock
        self.lock = threading.RLock()
        self._submitted = threading.Condition(self.lock)
        self.accounts: dict[str, Account] = {}
        for address, max_jobs in accounts:
            self.add_account(address, "demo-password", max_jobs)
        self.uploads: dict[str, Upload] = {}  # by URL path
        self.tasks: dict[int, Task] = {}
        self.works: dict[int, Task] = {}
        self.files: dict[str, Path] = {}  # generated CDN files by URL path
        self._ids = itertools.count(int(wall_clock()) * 10 + 2_000_000_000_000)
        self._submit_count = 0
        self._foreign_count = 0
        self._task_count = 0  # tasks created (ours and foreign): picks each one's tone
        self._poll_faults = 0
        self._media_lock = threading.Lock()

    # -- clocks and counters ---------------------------------------------------------------

    def now(self) -> float:
        """Seconds on the progress clock (monotonic by default)."""
        return self._clock()

    def now_ms(self) -> int:
        """Milliseconds since the epoch on the wall clock."""
        return int(self._wall_clock() * 1000)

    @property
    def submit_count(self) -> int:
        with self.lock:
            return self._submit_count

    @property
    def foreign_count(self) -> int:
        with self.lock:
            return self._foreign_count

    def wait_for_submits(self, n: int, timeout: float) -> bool:
        with self._submitted:
            return self._submitted.wait_for(lambda: self._submit_count >= n, timeout)

    def take(self, name: str) -> bool:
        """Count down a Scenario counter; True when it fired."""
        with self.lock:
            left = int(getattr(self.scenario, name))
            if left <= 0:
                return False
            setattr(self.scenario, name, left - 1)
            return True

    def next_poll_fault_is_503(self) -> bool:
        """``poll_5xx`` alternates 503 and 500, starting with 503."""
        with self.lock:
            self._poll_faults += 1
            return self._poll_faults % 2 == 1

    # -- accounts --------------------------------------------------------------------------

    def add_account(self, email: str, password: str, max_jobs: int) -> Account:
        with self.lock:
            old = self.accounts.get(email)
            account = Account(
                email=email,
                password=password,
                max_jobs=max_jobs,
                user_id=old.user_id if old else f"user{10000 + len(self.accounts)}",
                created_ms=self.now_ms(),
                points=old.points if old else START_POINTS,
            )
            self.accounts[email] = account
            return account

    def resolve(self, email: str | None) -> Account:
        """The account a request is for (contract §0: email optional with one account)."""
        with self.lock:
            if not self.accounts:
                raise refused(404, NO_CONFIG)
            if email:
                account = self.accounts.get(email)
                if account is None:
                    raise refused(
                        404, f"Unable to find configuration for account {email}. {NO_ACCOUNT}"
                    )
                return account
            if len(self.accounts) > 1:
                # [I] exact text unknown; "this parameter becomes required" (contract §0)
                raise refused(400, "Parameter email is required when multiple accounts configured")
            return next(iter(self.accounts.values()))

    # -- task progress ---------------------------------------------------------------------

    def phase(self, task: Task, now: float, *, produce: bool = True) -> Phase:
        """The task's phase by the clock since creation (makes the result on success)."""
        elapsed = now - task.created
        if elapsed < task.seconds:
            # [I] 5 = submitted (seed), 10 = processing (Kling web clients, contract §3).
            if elapsed < task.seconds * 0.15:
                return Phase(5, "submitted", False)
            return Phase(10, "processing", False)
        if task.fail:
            return Phase(50, "failed", True)  # [I] the failed code/name are undocumented
        if produce:
            self._produce(task)
        if task.result_error:
            return Phase(50, "failed", True)
        return Phase(99, "succeed", True)

    def _produce(self, task: Task) -> None:
        """Make the result file once (lazily, on first sight of success)."""
        with task.lock:
            if task.result is not None or task.result_error:
                return
            dest = self.data_dir / "results" / f"{task.work_id}.mp4"
            try:
                kept = media.make_result(
                    task.upload.path,
                    dest,
                    duration_s=task.info.duration_s,
                    tone_hz=task.tone_hz,
                    keep_original=task.keeps_original and task.info.has_audio,
                )
            except Exception as exc:  # a clip Kling cannot process ends the task failed
                log.warning("Simulator could not make result of task %s: %s", task.id, exc)
                task.result_error = "Kling could not process the video"
                return
            task.original_in_result = kept
            task.result = dest

    @staticmethod
    def visible(task: Task, now: float) -> bool:
        return now >= task.visible_from

    def tracked(self, task: Task, now: float) -> bool:
        return (
            not task.stopped
            and self.visible(task, now)
            and now - task.created < min(task.seconds, TRACKING_LIMIT_S)
        )

    def executing(self, email: str, now: float) -> list[Task]:
        with self.lock:
            return [t for t in self.tasks.values() if t.email == email and self.tracked(t, now)]

    def task_for(self, raw_id: str, email: str | None) -> Task:
        """A visible task of the account of ``email`` by its id, or the 400/404 refusal."""
        if not raw_id.isdigit():
            raise refused(400, "Invalid task_id parameter")
        account = self.resolve(email)
        with self.lock:
            task = self.tasks.get(int(raw_id))
        if task is None or task.email != account.email or not self.visible(task, self.now()):
            raise refused(404, f"Task {raw_id} not found")
        return task

    # -- uploads and tasks -----------------------------------------------------------------

    def add_upload(self, upload: Upload, *url_paths: str) -> None:
        with self.lock:
            for path in url_paths:
                self.uploads[path] = upload

    def add_file(self, url_path: str, path: Path) -> None:
        """Serve ``path`` at ``url_path`` on the CDN (a video's ``.jpg`` becomes its cover)."""
        with self.lock:
            self.files[url_path] = path

    def find_upload(self, url: str) -> Upload:
        """The upload a video URL of ours points at, or the seed's 400/404 refusal."""
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise refused(400, "Invalid video URL format")  # seed
        with self.lock:
            upload = self.uploads.get(parts.path)
            ours = parts.port == self.port
        if upload is None or not ours:
            raise Refused(404, RESOURCE_NOT_FOUND)
        return upload

    def probe(self, upload: Upload) -> media.VideoInfo:
        if upload.info is None:
            try:
                upload.info = media.probe(upload.path)
            except ValueError as exc:
                raise refused(400, f"Unable to process video: {exc}") from None
        return upload.info

    def submit(
        self,
        account: Account,
        upload: Upload,
        info: media.VideoInfo,
        *,
        crop_flag: bool | None,
        reply_url: str | None,
        reply_ref: str | None,
        limit: int,
    ) -> Submitted | None:
        """Our add-sound: start and charge a task when fewer than ``limit`` run on the account
        (else None, nothing started); ``drop_submit_response`` is decided here."""
        now = self.now()
        with self.lock:
            if len(self.executing(account.email, now)) >= limit:
                return None
            # Decided before the task exists, so a late task is never visible even briefly.
            drop = self.take("drop_submit_response")
            late = max(0.0, self.scenario.late_task_seconds) if drop else 0.0
            task = self._create_task(
                account,
                upload,
                info,
                crop_flag=crop_flag,
                reply_url=reply_url,
                reply_ref=reply_ref,
                now=now,
                visible_from=now + late,
            )
            self._submit_count += 1
            self._submitted.notify_all()
            return Submitted(task, drop, account.points)

    def _create_task(
        self,
        account: Account,
        upload: Upload,
        info: media.VideoInfo,
        *,
        crop_flag: bool | None,
        reply_url: str | None,
        reply_ref: str | None,
        now: float,
        visible_from: float,
        foreign: bool = False,
    ) -> Task:
        """Start a task at "Kling" on ``account`` and charge it; it gets the next tone."""
        with self.lock:
            task_id = next(self._ids)
            reading = self.scenario.crop_original_sound
            keeps_original(False, reading)  # a reading that is neither raises here
            tone = GENERATED_TONES_HZ[self._task_count % len(GENERATED_TONES_HZ)]
            self._task_count += 1
            task = Task(
                id=task_id,
                work_id=task_id + 7_000_000,
                email=account.email,
                user_id=account.user_id,
                upload=upload,
                input_url=f"{self.origin}/cdn/v15/input/{upload.name}",  # Kling re-hosts it
                crop_flag=crop_flag,
                reading=reading,
                reply_url=reply_url,
                reply_ref=reply_ref,
                created=now,
                created_ms=self.now_ms(),
                seconds=max(0.0, self.scenario.task_seconds),
                fail=self.scenario.final_failure,
                info=info,
                tone_hz=tone,
                visible_from=visible_from,
                foreign=foreign,
            )
            self.tasks[task.id] = task
            self.works[task.work_id] = task
            self.uploads[urlsplit(task.input_url).path] = upload
            account.points = max(0, account.points - SUBMIT_COST)
            return task

    def other_client_submits(self, email: str | None, video: str) -> Task | None:
        """Another client on the account of ``email`` uploads the same video again (a new file
        name) and starts add-sound with it, without a replyRef. [I] It is started whatever the
        slots say (it may come from kling.ai or another token) and charged like any task.
        Nothing happens when the request names no usable account or 3–20 s video."""
        try:
            account = self.resolve(email)
            upload = self.find_upload(video)
            info = self.probe(upload)
        except Refused:
            return None
        if not length_ok(info) or not info.is_mp4_or_mov:
            return None
        name = f"{secrets.token_hex(8)}.{upload.name.rsplit('.', 1)[-1]}"
        dest = self.data_dir / "uploads" / name
        shutil.copyfile(upload.path, dest)
        copy = Upload(name=name, path=dest, content_type=upload.content_type, kind=upload.kind)
        copy.info = info
        with self.lock:
            self.add_upload(copy, f"/cdn/s21/upload/{name}", f"/cdn/v15/upload/{name}")
            now = self.now()
            task = self._create_task(
                account,
                copy,
                info,
                crop_flag=None,
                reply_url=None,
                reply_ref=None,
                now=now,
                visible_from=now,
                foreign=True,
            )
            self._foreign_count += 1
        return task

    def generated_tone_hz(self, task_id: int) -> float:
        """The tone task ``task_id``'s result carries (KeyError for an unknown task)."""
        with self.lock:
            return self.tasks[task_id].tone_hz

    def stop_tracking(self, raw_id: str) -> bool:
        """End the scheduler's tracking of a task (Kling still runs it); False if not tracked."""
        now = self.now()
        with self.lock:
            task = self.tasks.get(int(raw_id)) if raw_id.isdigit() else None
            if task is None or not self.tracked(task, now):
                return False
            task.stopped = True
            return True

    # -- files -----------------------------------------------------------------------------

    def wav_of(self, task: Task) -> Path:
        dest = self.data_dir / "results" / f"{task.work_id}.wav"
        with task.lock:
            if not dest.exists():
                media.make_wav(dest, task.info.duration_s, task.tone_hz)
        return dest

    def publish(self, files: list[tuple[str, Path]]) -> str:
        """Put downloads on the CDN (one file as is, several zipped); return the URL path."""
        if len(files) == 1:
            name, path = files[0]
        else:
            name = f"download_result_{secrets.token_hex(6)}.zip"
            path = self.data_dir / "results" / name
            media.make_zip(path, files)
        self.add_file(f"/cdn/download/{name}", path)
        return f"/cdn/download/{name}"

    def file_for(self, path: str) -> Path | None:
        """The file behind a ``/cdn/...`` URL path (covers are made on first request)."""
        with self.lock:
            upload = self.uploads.get(path)
            known = self.files.get(path)
        if upload is not None:
            return upload.path
        if path.startswith("/cdn/v15/works/"):
            stem, _, ext = path.rsplit("/", 1)[1].partition(".")
            with self.lock:
                task = self.works.get(int(stem)) if stem.isdigit() else None
            now = self.now()
            if task is None or not self.visible(task, now):
                return None
            if not self.phase(task, now).succeeded or task.result is None:
                return None
            if ext == "mp4":
                return task.result
            if ext == "jpg":
                return self._cover(task.result, task.result.with_suffix(".jpg"))
            return None
        if known is not None and path.endswith(".jpg") and known.suffix != ".jpg":
            return self._cover(known, known.with_name(known.name + ".jpg"))
        return known

    def _cover(self, video: Path, dest: Path) -> Path | None:
        with self._media_lock:
            if not dest.exists():
                try:
                    media.make_cover(video, dest)
                except Exception as exc:
                    log.warning("Simulator could not make a cover of %s: %s", video, exc)
                    return None
        return dest
