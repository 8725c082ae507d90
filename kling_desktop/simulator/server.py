"""A local, faithful fake of useapi.net's Kling API (the endpoints Kling Desktop uses).

Shapes follow ``docs/useapi-kling-contract.md`` and the add-sound page (the seed), not what
our client happens to parse. Where the contract marks something unknown, the choice made here
is noted in a comment ("[I]"). Serves on 127.0.0.1 over plain HTTP:

* ``/v1/kling/...``   the API (Bearer token required)
* ``/cdn/...``        uploaded and generated files, no auth (like Kling's CDN)

Switchable faults live in :class:`Scenario`. Account passwords starting with ``wrong`` are
refused by ``POST /accounts`` the way a failed Kling login is.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import datetime as dt
import email.parser
import email.policy
import itertools
import json
import logging
import secrets
import shutil
import signal
import socket
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import FrameType, TracebackType
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from kling_desktop.simulator import media

log = logging.getLogger(__name__)

DEMO_TOKEN = "user:1000-demoToken0000"
API_PREFIX = "/v1/kling"
TASK_TYPE = "kwave_video2audio"
SUBMIT_COST = 500  # [I] credit units per add-sound; the real price is unknown (contract §11)
START_POINTS = 66000
TRACKING_LIMIT_S = 3600.0  # the scheduler tracks tasks "up to 60 minutes" [S]

# POST /assets: Content-Type -> (max bytes, extension, kind); contract §1 table.
_MB = 1024 * 1024
ASSET_TYPES: dict[str, tuple[int, str, str]] = {
    "image/png": (10 * _MB, "png", "image"),
    "image/jpeg": (10 * _MB, "jpg", "image"),
    "video/mp4": (100 * _MB, "mp4", "video"),
    "video/quicktime": (100 * _MB, "mov", "video"),
    "audio/wav": (20 * _MB, "wav", "audio"),
    "audio/wave": (20 * _MB, "wav", "audio"),
    "audio/mpeg": (20 * _MB, "mp3", "audio"),
    "audio/mp4": (20 * _MB, "m4a", "audio"),
    "audio/flac": (20 * _MB, "flac", "audio"),
    "audio/aac": (20 * _MB, "aac", "audio"),
    "audio/ogg": (20 * _MB, "ogg", "audio"),
}
MIN_SECONDS, MAX_SECONDS = 3.0, 20.0
_JSON_LIMIT = 1 * _MB
_CHUNK = 256 * 1024

UNAUTHORIZED = {"error": "Unauthorized", "code": 401}
SUBSCRIPTION = {"error": "Subscription required", "code": 402}
NO_CONFIG = "Configuration not found. To create configuration use POST /accounts."
NO_ACCOUNT = "Account configuration not found. To create configuration use POST /accounts."
RESOURCE_NOT_FOUND = {  # seed: 404 when the video URL is not an uploaded asset
    "error": "Sorry, the requested resource was not found (VALID.ResourceNotFound)",
    "message": "Not Found",
}
MODERATION = {  # seed: 500 moderation body
    "error": "The content you uploaded appears to violate the community guidelines. "
    "(CM_EXT.POther)",
    "message": "Service busy (CM_EXT.POther)",
}
SECURED = "…secured…"
ELSEWHERE = "/gateway/maintenance"  # where redirect faults point (not an API path)


@dataclass
class Scenario:
    """Faults to play; change fields at any time (counters count down as they fire)."""

    submit_429: int = 0  # next N submits answer 429 (not started)
    poll_5xx: int = 0  # next N GET /tasks/{id} answer 503, then 500, ...
    moderate_submit: bool = False  # submit answers 500 with the seed's moderation body
    final_failure: bool = False  # new tasks end final with status_name "failed"
    drop_submit_response: int = 0  # next N submits create the task, then hang up unanswered
    task_seconds: float = 3.0  # submit -> final, for tasks created from now on
    poll_404: bool = False  # GET /tasks/{id} answers 404 (deleted/moderated/out of credits)
    bad_token: bool = False  # every API request answers 401
    subscription_required: bool = False  # every API request answers 402
    account_error: bool = False  # submits and polls answer 596 (account in error state)
    retry_after: float | None = None  # sent as Retry-After with every 429 when set
    truncate_downloads: int = 0  # next N /cdn file answers stop half way and hang up
    transfer_bytes_per_s: float = 0.0  # > 0: uploads and /cdn downloads move at this pace
    malformed_responses: int = 0  # next N API answers are 200 with a body that is not JSON
    # -- answers that say nothing certain about whether Kling got the submit (issue 10) ------
    # next N submits CREATE the task (charged, counted in submit_count, listed, scheduled) and
    # then answer 500 with a plain fault body {"error": "Internal Server Error", "code": 500}
    submit_500_after_create: int = 0
    # next N submits create the task, then answer 302 with a Location to another local path
    # (a proxy or gateway in the way), empty body
    submit_redirect_after_create: int = 0
    # next N submits create the task, then answer 400 with an empty body (not JSON)
    submit_400_nobody: int = 0
    # next N GET /tasks/{id} answer poll_odd_status, each once, then lookups answer normally:
    # 400 {"error": "Invalid parameters"}, 404 {"error": "Task … not found"}, 596 the
    # account-error body, 302 a Location to another local path; any other status a plain body
    poll_odd_once: int = 0
    poll_odd_status: int = 404
    # next N submits never reach Kling: the request is read and the connection closed without
    # our task being created (submit_count does not grow), while at that moment ANOTHER client
    # on the same account starts an add-sound task (a fresh copy of the same video under another
    # file name, no replyRef). It is listed and scheduled like any task and counted in
    # Simulator.foreign_task_count; Simulator.tasks() marks it "foreign".
    submit_lost_other_client: int = 0
    # > 0: a task whose submit answer is dropped (drop_submit_response) is invisible (GET
    # /tasks, GET /tasks/{id}, the scheduler) until this many seconds after its creation
    late_task_seconds: float = 0.0
    # next N API answers are 200 with a JSON body of huge_answer_bytes, sent chunked (no
    # Content-Length: a gateway streaming garbage); the request itself has no effect
    huge_answer: int = 0
    huge_answer_bytes: int = 300 * _MB


@dataclass(frozen=True)
class RequestRecord:
    method: str
    path: str
    query: dict[str, str]
    status: int  # 0 when the connection was closed without an answer


@dataclass
class _Account:
    email: str
    password: str
    max_jobs: int
    user_id: str
    points: int = START_POINTS
    created_ms: int = field(default_factory=lambda: _now_ms())


@dataclass
class _Upload:
    name: str
    path: Path
    content_type: str
    kind: str
    info: media.VideoInfo | None = None


@dataclass
class _Task:
    id: int
    work_id: int
    email: str
    user_id: str
    upload: _Upload
    input_url: str
    keep_original: bool
    reply_url: str | None
    reply_ref: str | None
    created: float  # monotonic
    created_ms: int
    seconds: float
    fail: bool
    info: media.VideoInfo
    visible_from: float = 0.0  # monotonic; the task is hidden from every API answer before it
    foreign: bool = False  # started by another client on the account (submit_lost_other_client)
    stopped: bool = False
    result: Path | None = None
    result_error: str = ""
    lock: threading.Lock = field(default_factory=threading.Lock)


def _now_ms() -> int:
    return int(time.time() * 1000)


class _Reply(Exception):
    """Raised inside a route to answer at once."""

    def __init__(
        self, status: int, body: Any, headers: dict[str, str] | None = None, *, text: bool = False
    ) -> None:
        super().__init__(status)
        self.status = status
        self.body = body
        self.headers = headers or {}
        self.text = text


class _Drop(Exception):
    """Close the connection without answering."""


def _error(status: int, text: str, **extra: Any) -> _Reply:
    return _Reply(status, {"error": text, **extra})


class Simulator:
    """The fake service. ``with Simulator() as sim: sim.url ...``"""

    def __init__(
        self,
        *,
        token: str = DEMO_TOKEN,
        accounts: Sequence[tuple[str, int]] = (("demo@example.com", 3),),
        host: str = "127.0.0.1",
        port: int = 0,
        scenario: Scenario | None = None,
        data_dir: Path | None = None,
    ) -> None:
        self.token = token
        self.scenario = scenario or Scenario()
        self._host = host
        self._port = port
        self._own_dir = data_dir is None
        self._dir = Path(tempfile.mkdtemp(prefix="kling-sim-")) if data_dir is None else data_dir
        self._lock = threading.RLock()
        self._submitted = threading.Condition(self._lock)
        self._accounts: dict[str, _Account] = {}
        for address, max_jobs in accounts:
            self._add_account(address, "demo-password", max_jobs)
        self._uploads: dict[str, _Upload] = {}  # by URL path
        self._tasks: dict[int, _Task] = {}
        self._works: dict[int, _Task] = {}
        self._files: dict[str, Path] = {}  # generated CDN files by URL path
        self._ids = itertools.count(int(time.time()) * 10 + 2_000_000_000_000)
        self._submit_count = 0
        self._foreign_count = 0
        self._poll_faults = 0
        self._media_lock = threading.Lock()
        self._requests: list[RequestRecord] = []
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle -------------------------------------------------------------------------

    def start(self) -> Simulator:
        for sub in ("uploads", "results"):
            (self._dir / sub).mkdir(parents=True, exist_ok=True)
        server = _Server((self._host, self._port), _Handler)
        server.sim = self
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05}, name="kling-sim"
        )
        self._thread.daemon = True
        self._thread.start()
        log.info("Simulator listening on %s", self.url)
        return self

    def stop(self) -> None:
        server, self._server = self._server, None
        if server is None:
            return
        server.shutdown()
        server.close_connections()
        server.server_close()
        if self._thread is not None:
            self._thread.join(5)
        if self._own_dir:
            shutil.rmtree(self._dir, ignore_errors=True)

    def __enter__(self) -> Simulator:
        return self.start() if self._server is None else self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def origin(self) -> str:
        if self._server is None:
            raise RuntimeError("the simulator is not running")
        return f"http://{self._host}:{self._server.server_port}"

    @property
    def url(self) -> str:
        """The API base URL, e.g. ``http://127.0.0.1:PORT/v1/kling``."""
        return self.origin + API_PREFIX

    @property
    def data_dir(self) -> Path:
        return self._dir

    # -- inspection (tests) ----------------------------------------------------------------

    @property
    def submit_count(self) -> int:
        """Submits that created a task (a dropped answer still counts)."""
        with self._lock:
            return self._submit_count

    @property
    def foreign_task_count(self) -> int:
        """Tasks another client started on an account (``submit_lost_other_client``)."""
        with self._lock:
            return self._foreign_count

    def wait_for_submits(self, n: int, timeout: float) -> bool:
        with self._submitted:
            return self._submitted.wait_for(lambda: self._submit_count >= n, timeout)

    def tasks(self) -> list[dict[str, Any]]:
        """Snapshots of every task, oldest first, hidden ones included (``visible`` False).

        ``foreign`` marks a task another client started (not one of our submits).
        """
        now = self._now()
        with self._lock:
            tasks = list(self._tasks.values())
        out = []
        for task in tasks:
            status, name, final = self._phase(task, now, produce=False)
            out.append(
                {
                    "id": task.id,
                    "work_id": task.work_id,
                    "email": task.email,
                    "video": task.input_url,
                    "keep_original_sound": task.keep_original,
                    "reply_url": task.reply_url,
                    "reply_ref": task.reply_ref,
                    "created_ms": task.created_ms,
                    "status": status,
                    "status_name": name,
                    "status_final": final,
                    "tracked": self._tracked(task, now),
                    "visible": self._visible(task, now),
                    "foreign": task.foreign,
                }
            )
        return out

    @property
    def requests(self) -> list[RequestRecord]:
        with self._lock:
            return list(self._requests)

    def balance(self, email: str) -> int:
        with self._lock:
            return self._accounts[email].points

    # -- state -----------------------------------------------------------------------------

    def _add_account(self, email: str, password: str, max_jobs: int) -> _Account:
        with self._lock:
            old = self._accounts.get(email)
            account = _Account(
                email=email,
                password=password,
                max_jobs=max_jobs,
                user_id=old.user_id if old else f"user{10000 + len(self._accounts)}",
                points=old.points if old else START_POINTS,
            )
            self._accounts[email] = account
            return account

    @staticmethod
    def _now() -> float:
        """The simulator's clock (monotonic seconds) for task progress and visibility."""
        return time.monotonic()

    def _take(self, name: str) -> bool:
        """Count down a Scenario counter; True when it fired."""
        with self._lock:
            left = int(getattr(self.scenario, name))
            if left <= 0:
                return False
            setattr(self.scenario, name, left - 1)
            return True

    def _record(self, record: RequestRecord) -> None:
        with self._lock:
            self._requests.append(record)

    def _phase(self, task: _Task, now: float, *, produce: bool = True) -> tuple[int, str, bool]:
        """(status, status_name, status_final) by wall clock since creation."""
        elapsed = now - task.created
        if elapsed < task.seconds:
            # [I] 5 = submitted (seed), 10 = processing (Kling web clients, contract §3).
            return (
                (5, "submitted", False)
                if elapsed < task.seconds * 0.15
                else (
                    10,
                    "processing",
                    False,
                )
            )
        if task.fail:
            return 50, "failed", True  # [I] the failed code/name are undocumented
        if produce:
            self._produce(task)
        if task.result_error:
            return 50, "failed", True
        return 99, "succeed", True

    def _produce(self, task: _Task) -> None:
        """Make the result file once (lazily, on first sight of success)."""
        with task.lock:
            if task.result is not None or task.result_error:
                return
            dest = self._dir / "results" / f"{task.work_id}.mp4"
            try:
                media.make_result(
                    task.upload.path,
                    dest,
                    duration_s=task.info.duration_s,
                    keep_original=task.keep_original and task.info.has_audio,
                )
            except Exception as exc:  # a clip Kling cannot process ends the task failed
                log.warning("Simulator could not make result of task %s: %s", task.id, exc)
                task.result_error = "Kling could not process the video"
                return
            task.result = dest

    @staticmethod
    def _visible(task: _Task, now: float) -> bool:
        return now >= task.visible_from

    def _tracked(self, task: _Task, now: float) -> bool:
        return (
            not task.stopped
            and self._visible(task, now)
            and now - task.created < min(task.seconds, TRACKING_LIMIT_S)
        )

    def _executing(self, email: str, now: float) -> list[_Task]:
        with self._lock:
            return [t for t in self._tasks.values() if t.email == email and self._tracked(t, now)]

    def _resolve(self, email: str | None) -> _Account:
        """The account a request is for (contract §0: email optional with one account)."""
        with self._lock:
            if not self._accounts:
                raise _error(404, NO_CONFIG)
            if email:
                account = self._accounts.get(email)
                if account is None:
                    raise _error(
                        404, f"Unable to find configuration for account {email}. {NO_ACCOUNT}"
                    )
                return account
            if len(self._accounts) > 1:
                # [I] exact text unknown; "this parameter becomes required" (contract §0)
                raise _error(400, "Parameter email is required when multiple accounts configured")
            return next(iter(self._accounts.values()))

    # -- JSON shapes -----------------------------------------------------------------------

    def _account_json(self, account: _Account, *, balance: bool = False) -> dict[str, Any]:
        expire = account.created_ms + 30 * 24 * 3600 * 1000
        data: dict[str, Any] = {
            "email": account.email,
            "session": {
                "userId": account.user_id,
                "ExpireTime": expire,
                "ExpireTimeUTC": dt.datetime.fromtimestamp(expire / 1000, dt.UTC)
                .isoformat(timespec="milliseconds")
                .replace("+00:00", "Z"),
            },
            "maxJobs": account.max_jobs,
            "password": SECURED,
        }
        if balance:
            data["balance"] = {
                "points": [self._points_item(account)],
                "tickets": [],
                "nextApplyTime": account.created_ms + 30 * 24 * 3600 * 1000,
                "total": account.points,
            }
        return data

    @staticmethod
    def _points_item(account: _Account) -> dict[str, Any]:
        return {
            "orderId": str(abs(hash(account.email)) % 10**10),
            "type": "plan",
            "amount": START_POINTS,
            "balance": account.points,
            "startTime": account.created_ms,
            "endTime": account.created_ms + 30 * 24 * 3600 * 1000,
        }

    def _task_info(self, task: _Task) -> dict[str, Any]:
        return {
            "type": TASK_TYPE,
            "inputs": [
                {
                    "name": "video",
                    "inputType": "URL",
                    "token": None,
                    "blobStorage": None,
                    "url": task.input_url,
                    "cover": None,
                    "fromWorkId": None,
                    "fromUploadId": None,
                }
            ],
            "arguments": [
                {"name": "biz", "value": "klingai"},
                {"name": "imageCount", "value": "1"},
                {"name": "duration", "value": str(round(task.info.duration_s))},
            ],
            "extraArgs": {},
            "callbackPayloads": [
                {
                    "name": "video2audio_payloads",
                    "resources": [
                        {"name": "originalVideoUrl", "type": "VIDEO", "url": task.input_url}
                    ],
                    "arguments": [
                        {
                            "name": "cropVideoOriginalSound",
                            "value": "true" if task.keep_original else "false",
                        }
                    ],
                }
            ],
            "scene": "NORMAL_CREATION",
        }

    def _task_json(self, task: _Task, status: int, name: str, final: bool) -> dict[str, Any]:
        update = task.created_ms + int(min(self._now() - task.created, task.seconds) * 1000)
        return {
            "id": task.id,
            "userId": int(task.user_id.removeprefix("user") or 0),
            "type": TASK_TYPE,
            "scene": "NORMAL_CREATION",
            "status": status,
            "taskInfo": self._task_info(task),
            "favored": False,
            "deleted": False,
            "viewed": False,
            "createTime": task.created_ms,
            "updateTime": update,
            "viewTime": 0,
            "status_name": name,
            "status_final": final,
        }

    def _work_json(self, task: _Task, status: int, name: str, final: bool) -> dict[str, Any]:
        info = task.info
        return {
            "workId": task.work_id,
            "workItemId": 0,
            "taskId": task.id,
            "userId": int(task.user_id.removeprefix("user") or 0),
            "type": TASK_TYPE,
            "status": status,
            "status_name": name,
            "status_final": final,
            "contentType": "video",
            "resource": {
                "resource": f"{self.origin}/cdn/v15/works/{task.work_id}.mp4",
                "height": info.height,
                "width": info.width,
                "duration": round(info.duration_s * 1000),
                "resourceKey": "",
            },
            "cover": {
                "resource": f"{self.origin}/cdn/v15/works/{task.work_id}.jpg",
                "height": info.height,
                "width": info.width,
                "duration": 0,
                "resourceKey": "",
            },
            "starNum": 0,
            "cloneCount": 0,
            "reportNum": 0,
            "createTime": task.created_ms,
            "taskInfo": self._task_info(task),
            "favored": False,
            "deleted": False,
        }

    def _poll_json(self, task: _Task) -> dict[str, Any]:
        now = self._now()
        status, name, final = self._phase(task, now)
        ok = final and name == "succeed"
        eta = 0 if final else max(1, round(task.seconds - (now - task.created)))
        data: dict[str, Any] = {
            "status": status,
            "status_name": name,
            "status_final": final,
            "etaTime": eta,
            "etaTimeOverSla": False,
            "queuingEtaTime": 0,
            "originEtaTime": eta,
            "originQueuingEtaTime": 0,
            "message": "success" if ok else "",
            "task": self._task_json(task, status, name, final),
            "works": [self._work_json(task, status, name, final)] if ok else [],
        }
        if final and not ok:
            # [I] failure texts are undocumented; the vendor clients print error + message.
            data["error"] = task.result_error or "Kling failed to generate sound for this video"
            data["message"] = "Generation failed"
        return data

    # -- routes ----------------------------------------------------------------------------

    def route(self, handler: _Handler, method: str, path: str, query: dict[str, str]) -> None:
        """Answer one request (raises _Reply/_Drop, or writes a file itself)."""
        if path.startswith("/cdn/"):
            if method != "GET":
                raise _error(404, "Not found")
            self._serve_file(handler, path)
            return
        if not (path == API_PREFIX or path.startswith(API_PREFIX + "/")):
            raise _error(404, f"Route {method} {path} not found", code=404)
        if handler.headers.get("Authorization", "") != f"Bearer {self.token}":
            raise _Reply(401, UNAUTHORIZED)
        scenario = self.scenario
        if scenario.bad_token:
            raise _Reply(401, UNAUTHORIZED)
        if scenario.subscription_required:
            raise _Reply(402, SUBSCRIPTION)
        if self._take("malformed_responses"):
            handler.read_body(_JSON_LIMIT, drain_only=True)
            raise _Reply(200, "<html><body>502 Bad Gateway</body></html>", text=True)
        if self._take("huge_answer"):
            handler.read_body(_JSON_LIMIT, drain_only=True)
            handler.send_huge_json(max(0, int(scenario.huge_answer_bytes)))
            return
        sub = path[len(API_PREFIX) :].rstrip("/") or "/"
        parts = sub.strip("/").split("/")
        key = (method, parts[0], len(parts))
        if key == ("GET", "accounts", 1):
            return self._get_accounts()
        if key == ("POST", "accounts", 1):
            return self._post_account(handler)
        if key == ("GET", "accounts", 2):
            return self._get_account(unquote(parts[1]))
        if key == ("DELETE", "accounts", 2):
            return self._delete_account(unquote(parts[1]))
        if key == ("POST", "assets", 1):
            return self._upload(handler, query)
        if sub == "/assets/download" and method == "GET":
            return self._assets_download(query)
        if sub == "/videos/add-sound" and method == "POST":
            return self._add_sound(handler)
        if key == ("GET", "tasks", 1):
            return self._list_tasks(query)
        if key == ("GET", "tasks", 2):
            return self._get_task(parts[1], query)
        if sub == "/scheduler" and method == "GET":
            return self._scheduler()
        if sub == "/scheduler/available" and method == "GET":
            return self._scheduler_available()
        if key == ("DELETE", "scheduler", 2):
            return self._stop_tracking(parts[1])
        raise _error(404, f"Route {method} {path} not found", code=404)

    def _get_accounts(self) -> None:
        with self._lock:
            if not self._accounts:
                raise _error(404, NO_CONFIG)
            raise _Reply(200, {e: self._account_json(a) for e, a in self._accounts.items()})

    def _get_account(self, email: str) -> None:
        with self._lock:
            account = self._accounts.get(email)
            if account is None:
                raise _error(404, NO_ACCOUNT)
            raise _Reply(200, self._account_json(account, balance=True))

    def _delete_account(self, email: str) -> None:
        with self._lock:
            if self._accounts.pop(email, None) is None:
                raise _error(404, NO_ACCOUNT)
        # [I] the DELETE response body is undocumented (contract §4): 204, no body.
        raise _Reply(204, None)

    def _post_account(self, handler: _Handler) -> None:
        form = handler.read_form()
        email = form.get("email")
        password = form.get("password")
        max_jobs = _as_int(form.get("maxJobs"))
        if not isinstance(email, str) or "@" not in email or not isinstance(password, str):
            raise _error(400, "email and password are required")
        if not password:
            raise _error(400, "email and password are required")
        if max_jobs is None or not 1 <= max_jobs <= 50:
            raise _error(
                400, "maxJobs is required, specify maximum number of concurrent jobs (1-50)"
            )
        if password.startswith("wrong"):
            raise _error(400, "Account does not exist or password is incorrect")
        account = self._add_account(email, password, max_jobs)
        raise _Reply(201, self._account_json(account))

    def _upload(self, handler: _Handler, query: dict[str, str]) -> None:
        ctype = handler.headers.get("Content-Type", "").split(";")[0].strip().lower()
        if ctype not in ASSET_TYPES:
            handler.close_connection = True  # the body stays unread
            raise _error(
                400,
                f"Content-Type {ctype or '(none)'} is not supported. Valid values: "
                + ",".join(ASSET_TYPES),
            )
        self._resolve(query.get("email"))
        limit, ext, kind = ASSET_TYPES[ctype]
        name = f"{secrets.token_hex(8)}.{ext}"
        dest = self._dir / "uploads" / name
        size = handler.receive_file(dest, limit, ctype)
        if size == 0:
            dest.unlink(missing_ok=True)
            raise _error(400, "Request body is empty")
        upload = _Upload(name=name, path=dest, content_type=ctype, kind=kind)
        raw_path = f"/cdn/s21/upload/{name}"
        with self._lock:
            self._uploads[raw_path] = upload
        if kind != "video":
            raise _Reply(
                200, {"status": 3, "url": self.origin + raw_path, "message": "", "fileName": name}
            )
        resource_path = f"/cdn/v15/upload/{name}"
        cover_path = f"/cdn/v15/upload/{name}.jpg"
        with self._lock:
            self._uploads[resource_path] = upload
            self._files[cover_path] = dest  # made lazily as a JPEG when fetched
        raise _Reply(
            200,
            {
                "status": 1,
                "url": self.origin + raw_path,
                "resourceUrl": self.origin + resource_path,
                "coverUrl": self.origin + cover_path,
                "message": "",
                "fileName": name,
            },
        )

    def _find_upload(self, url: str) -> _Upload:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise _error(400, "Invalid video URL format")  # seed
        with self._lock:
            upload = self._uploads.get(parts.path)
            ours = parts.port == self._server_port()
        if upload is None or not ours:
            raise _Reply(404, RESOURCE_NOT_FOUND)
        return upload

    def _server_port(self) -> int:
        return self._server.server_port if self._server else 0

    def _add_sound(self, handler: _Handler) -> None:
        form = handler.read_form()
        if self._take("submit_lost_other_client"):
            # Our request is read, then lost before Kling: no task of ours, no answer. At that
            # moment another client on the account starts add-sound with the same video.
            self._other_client_submits(form)
            raise _Drop()
        video = form.get("video")
        if not isinstance(video, str) or not video:
            raise _error(400, "Parameter video is required")
        keep = _as_bool(form.get("cropVideoOriginalSound", False))
        if keep is None:
            raise _error(400, "Parameter cropVideoOriginalSound must be true or false")
        max_jobs = None
        if form.get("maxJobs") is not None:
            max_jobs = _as_int(form.get("maxJobs"))
            if max_jobs is None or not 1 <= max_jobs <= 50:
                raise _error(400, "Parameter maxJobs must be a number from 1 to 50")
        reply_url = form.get("replyUrl")
        reply_ref = form.get("replyRef")
        if reply_url is not None and (
            not isinstance(reply_url, str) or urlsplit(reply_url).scheme not in ("http", "https")
        ):
            raise _error(400, "Parameter replyUrl must be a valid URL")
        if reply_ref is not None and not isinstance(reply_ref, str):
            reply_ref = json.dumps(reply_ref)
        email = form.get("email")
        account = self._resolve(email if isinstance(email, str) else None)
        upload = self._find_upload(video)
        info = self._probe(upload)
        if not MIN_SECONDS <= info.duration_s <= MAX_SECONDS:
            raise _error(
                400,
                f"Video can't be shorter than 3 seconds or longer than 20 seconds "
                f"(this one is {info.duration_s:.1f} s)",
            )
        scenario = self.scenario
        if scenario.account_error:
            raise _error(
                596, f"Account {account.email} in error state: refresh token rejected", code=596
            )
        if scenario.moderate_submit:
            raise _Reply(500, MODERATION)
        retry = {} if scenario.retry_after is None else {"Retry-After": f"{scenario.retry_after:g}"}
        if self._take("submit_429"):
            raise _Reply(429, _busy(account, account.max_jobs), retry)
        now = self._now()
        with self._lock:
            limit = max_jobs if max_jobs is not None else account.max_jobs
            if len(self._executing(account.email, now)) >= limit:
                raise _Reply(429, _busy(account, limit), retry)
            # Decided before the task exists, so a late task is never visible even briefly.
            drop = self._take("drop_submit_response")
            late = max(0.0, scenario.late_task_seconds) if drop else 0.0
            task = self._create_task(
                account,
                upload,
                info,
                keep=keep,
                reply_url=reply_url,
                reply_ref=reply_ref,
                now=now,
                visible_from=now + late,
            )
            self._submit_count += 1
            self._submitted.notify_all()
            points = self._points_item(account)
            total = account.points
        if drop:
            raise _Drop()
        if self._take("submit_500_after_create"):
            raise _Reply(500, {"error": "Internal Server Error", "code": 500})
        if self._take("submit_redirect_after_create"):
            raise _Reply(302, None, {"Location": self.origin + ELSEWHERE})
        if self._take("submit_400_nobody"):
            raise _Reply(400, None)
        task_json = self._task_json(task, 5, "submitted", False)
        raise _Reply(
            200,
            {
                "task": task_json,
                "works": [],
                "status": 5,
                "message": "",
                "limitation": None,
                "userPoints": {"points": [points], "total": total},
                "userTickets": {"ticket": []},
                "editProject": None,
                "status_name": "submitted",
                "status_final": False,
            },
        )

    def _create_task(
        self,
        account: _Account,
        upload: _Upload,
        info: media.VideoInfo,
        *,
        keep: bool,
        reply_url: str | None,
        reply_ref: str | None,
        now: float,
        visible_from: float,
        foreign: bool = False,
    ) -> _Task:
        """Start a task at "Kling" on ``account`` and charge it."""
        with self._lock:
            task_id = next(self._ids)
            task = _Task(
                id=task_id,
                work_id=task_id + 7_000_000,
                email=account.email,
                user_id=account.user_id,
                upload=upload,
                input_url=f"{self.origin}/cdn/v15/input/{upload.name}",  # Kling re-hosts it
                keep_original=keep,
                reply_url=reply_url,
                reply_ref=reply_ref,
                created=now,
                created_ms=_now_ms(),
                seconds=max(0.0, self.scenario.task_seconds),
                fail=self.scenario.final_failure,
                info=info,
                visible_from=visible_from,
                foreign=foreign,
            )
            self._tasks[task.id] = task
            self._works[task.work_id] = task
            self._uploads[urlsplit(task.input_url).path] = upload
            account.points = max(0, account.points - SUBMIT_COST)
            return task

    def _other_client_submits(self, form: dict[str, Any]) -> _Task | None:
        """Another client on the account of ``form`` uploads the same video again (a new file
        name) and starts add-sound with it, without a replyRef. [I] It is started whatever the
        slots say (it may come from kling.ai or another token) and charged like any task.
        Nothing happens when ``form`` names no usable account or 3–20 s video."""
        email = form.get("email")
        video = form.get("video")
        try:
            account = self._resolve(email if isinstance(email, str) else None)
            upload = self._find_upload(video if isinstance(video, str) else "")
            info = self._probe(upload)
        except _Reply:
            return None
        if not MIN_SECONDS <= info.duration_s <= MAX_SECONDS:
            return None
        name = f"{secrets.token_hex(8)}.{upload.name.rsplit('.', 1)[-1]}"
        dest = self._dir / "uploads" / name
        shutil.copyfile(upload.path, dest)
        copy = _Upload(name=name, path=dest, content_type=upload.content_type, kind=upload.kind)
        copy.info = info
        with self._lock:
            self._uploads[f"/cdn/s21/upload/{name}"] = copy
            self._uploads[f"/cdn/v15/upload/{name}"] = copy
            now = self._now()
            task = self._create_task(
                account,
                copy,
                info,
                keep=False,
                reply_url=None,
                reply_ref=None,
                now=now,
                visible_from=now,
                foreign=True,
            )
            self._foreign_count += 1
        return task

    def _probe(self, upload: _Upload) -> media.VideoInfo:
        if upload.info is None:
            try:
                upload.info = media.probe(upload.path)
            except ValueError as exc:
                raise _error(400, f"Unable to process video: {exc}") from None
        return upload.info

    def _task_for(self, raw_id: str, email: str | None) -> _Task:
        if not raw_id.isdigit():
            raise _error(400, "Invalid task_id parameter")
        account = self._resolve(email)
        with self._lock:
            task = self._tasks.get(int(raw_id))
        if task is None or task.email != account.email or not self._visible(task, self._now()):
            raise _error(404, f"Task {raw_id} not found")
        return task

    def _get_task(self, raw_id: str, query: dict[str, str]) -> None:
        email = query.get("email")
        if not email:
            # The vendor: "?email= is required here — without it the lookup 400s".
            raise _error(400, "Parameter email is required")
        scenario = self.scenario
        if scenario.account_error:
            raise _error(596, f"Account {email} in error state: refresh token rejected", code=596)
        if self._take("poll_5xx"):
            with self._lock:
                self._poll_faults += 1
                flip = self._poll_faults % 2 == 1
            if flip:
                raise _error(503, "Service temporarily unavailable, please try again later")
            raise _error(500, "Internal Server Error")
        if self._take("poll_odd_once"):
            raise self._odd_answer(int(scenario.poll_odd_status), raw_id, email)
        if scenario.poll_404:
            raise _error(404, f"Task {raw_id} not found")
        task = self._task_for(raw_id, email)
        raise _Reply(200, self._poll_json(task))

    def _odd_answer(self, status: int, raw_id: str, email: str) -> _Reply:
        """A one-off odd answer to a task lookup (``Scenario.poll_odd_once``)."""
        if status == 400:
            return _error(400, "Invalid parameters")
        if status == 404:
            return _error(404, f"Task {raw_id} not found")
        if status == 596:
            return _error(596, f"Account {email} in error state: refresh token rejected", code=596)
        if 300 <= status < 400:
            return _Reply(status, None, {"Location": self.origin + ELSEWHERE})
        try:
            phrase = HTTPStatus(status).phrase
        except ValueError:
            phrase = "Error"
        return _error(status, phrase, code=status)

    def _list_tasks(self, query: dict[str, str]) -> None:
        account = self._resolve(query.get("email"))
        after = query.get("createdAfter")
        before = query.get("createdBefore")
        ctype = query.get("contentType")
        size = query.get("pageSize")
        if (
            (after and before)
            or (after and not after.isdigit())
            or (before and not before.isdigit())
        ):
            raise _error(400, "Invalid parameters")
        if ctype is not None and ctype not in ("video", "image", "audio"):
            raise _error(400, "Invalid parameters")
        if size is not None and (not size.isdigit() or not 1 <= int(size) <= 500):
            raise _error(400, "Invalid parameters")
        page = int(size) if size else 20  # [I] default page size not documented for /tasks
        now = self._now()
        with self._lock:
            tasks = [
                t
                for t in self._tasks.values()
                if t.email == account.email and self._visible(t, now)
            ]
        if after:
            tasks = [t for t in tasks if t.created_ms > int(after)]
        if before:
            tasks = [t for t in tasks if t.created_ms < int(before)]
        if ctype not in (None, "video"):
            tasks = []
        tasks.sort(key=lambda t: (t.created_ms, t.id), reverse=True)
        history = []
        for task in tasks[:page]:
            status, name, final = self._phase(task, now)
            ok = final and name == "succeed"
            # [I] The stored doc shows each item starting with "works" (the rest is cut off);
            # a running task has no works yet, so the item also carries its task object.
            history.append(
                {
                    "works": [self._work_json(task, status, name, final)] if ok else [],
                    "task": self._task_json(task, status, name, final),
                }
            )
        raise _Reply(200, {"history": history})

    def _scheduler_items(self, now: float) -> list[dict[str, Any]]:
        with self._lock:
            tasks = [t for t in self._tasks.values() if self._tracked(t, now)]
        items = []
        for task in tasks:
            elapsed = int(now - task.created)
            item: dict[str, Any] = {
                "id": task.id,
                "email": task.email,
                "started": dt.datetime.fromtimestamp(task.created_ms / 1000, dt.UTC)
                .isoformat(timespec="milliseconds")
                .replace("+00:00", "Z"),
                "elapsed": f"{elapsed // 60:02d}:{elapsed % 60:02d}",
            }
            if task.reply_url:
                item["replyUrl"] = task.reply_url
            if task.reply_ref:
                item["replyRef"] = task.reply_ref
            items.append(item)
        return items

    def _scheduler(self) -> None:
        raise _Reply(200, self._scheduler_items(self._now()))

    def _scheduler_available(self) -> None:
        now = self._now()
        with self._lock:
            accounts = list(self._accounts.values())
        available = []
        for account in accounts:
            running = len(self._executing(account.email, now))
            available.append(
                {
                    "email": account.email,
                    "maxJobs": account.max_jobs,
                    "executing": running,
                    "available": max(0, account.max_jobs - running),
                }
            )
        raise _Reply(200, {"executing": self._scheduler_items(now), "available": available})

    def _stop_tracking(self, raw_id: str) -> None:
        now = self._now()
        with self._lock:
            task = self._tasks.get(int(raw_id)) if raw_id.isdigit() else None
            if task is None or not self._tracked(task, now):
                raise _error(404, f"Unable to locate running task_id {raw_id}")
            task.stopped = True  # Kling still runs it; only tracking ends
        raise _Reply(200, "Task was successfully canceled.", text=True)

    def _assets_download(self, query: dict[str, str]) -> None:
        account = self._resolve(query.get("email"))
        ids = [w.strip() for w in query.get("workIds", "").split(",") if w.strip()]
        types = [t.strip().upper() for t in query.get("fileTypes", "").split(",") if t.strip()]
        if not ids or not all(i.isdigit() for i in ids) or len(ids) > 100:
            raise _error(400, "Invalid parameters")
        if any(t not in ("MP4", "MP3", "WAV", "PNG") for t in types):
            raise _error(400, "Invalid parameters")
        wanted = types or ["MP4", "WAV"]
        now = self._now()
        files: list[tuple[str, Path]] = []
        for raw in ids:
            with self._lock:
                task = self._works.get(int(raw))
            if task is None or task.email != account.email or not self._visible(task, now):
                raise _error(404, f"No works found for workId {raw}")
            _, name, final = self._phase(task, now)
            if not (final and name == "succeed") or task.result is None:
                raise _error(400, f"Work {raw} is not ready")
            for kind in wanted:
                if kind == "MP4":
                    files.append((f"{raw}.mp4", task.result))
                elif kind == "WAV":
                    files.append((f"{raw}.wav", self._wav_of(task)))
                # [I] MP3/PNG are listed by the docs but Kling has none for a sound work here
        if not files:
            raise _error(400, "Invalid parameters")
        if len(files) == 1:
            cdn = f"/cdn/download/{files[0][0]}"
            with self._lock:
                self._files[cdn] = files[0][1]
        else:
            name = f"download_result_{secrets.token_hex(6)}.zip"
            dest = self._dir / "results" / name
            media.make_zip(dest, files)
            cdn = f"/cdn/download/{name}"
            with self._lock:
                self._files[cdn] = dest
        raise _Reply(200, {"cdnUrl": self.origin + cdn, "status": "success"})

    def _wav_of(self, task: _Task) -> Path:
        dest = self._dir / "results" / f"{task.work_id}.wav"
        with task.lock:
            if not dest.exists():
                media.make_wav(dest, task.info.duration_s)
        return dest

    # -- files -----------------------------------------------------------------------------

    def _file_for(self, path: str) -> Path | None:
        with self._lock:
            upload = self._uploads.get(path)
            known = self._files.get(path)
        if upload is not None:
            return upload.path
        if path.startswith("/cdn/v15/works/"):
            stem, _, ext = path.rsplit("/", 1)[1].partition(".")
            with self._lock:
                task = self._works.get(int(stem)) if stem.isdigit() else None
            now = self._now()
            if task is None or not self._visible(task, now):
                return None
            _, name, final = self._phase(task, now)
            if not (final and name == "succeed") or task.result is None:
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

    def _serve_file(self, handler: _Handler, path: str) -> None:
        target = self._file_for(path)
        if target is None or not target.is_file():
            raise _Reply(404, "Not Found", text=True)
        size = target.stat().st_size
        cut = self._take("truncate_downloads")
        ctype = {
            ".mp4": "video/mp4",
            ".mov": "video/quicktime",
            ".jpg": "image/jpeg",
            ".wav": "audio/wav",
            ".zip": "application/zip",
        }.get(target.suffix, "application/octet-stream")
        handler.send_response(200)
        handler.send_header("Content-Type", ctype)
        handler.send_header("Content-Length", str(size))
        handler.mark(200)
        handler.end_headers()
        limit = size // 2 if cut else size
        sent = 0
        pace = _Pace(self.scenario.transfer_bytes_per_s)
        with target.open("rb") as fh:
            while sent < limit:
                chunk = fh.read(min(pace.chunk, limit - sent))
                if not chunk:
                    break
                handler.wfile.write(chunk)
                sent += len(chunk)
                pace.after(len(chunk))
        if cut:
            handler.wfile.flush()
            raise _Drop()


class _Pace:
    """Slows a transfer to ``bytes_per_s`` (a slow line), in small steps; 0 = full speed."""

    def __init__(self, bytes_per_s: float) -> None:
        self.rate = bytes_per_s
        self.chunk = _CHUNK if bytes_per_s <= 0 else max(1024, min(_CHUNK, int(bytes_per_s / 20)))

    def after(self, count: int) -> None:
        if self.rate > 0:
            time.sleep(count / self.rate)


def _busy(account: _Account, limit: int) -> dict[str, Any]:
    # [I] the Kling 429 text is undocumented; the meaning is "all slots busy, not started".
    return {
        "error": f"Account {account.email} is busy executing {limit} of {limit} jobs. "
        "Please retry later.",
        "code": 429,
    }


def _as_bool(value: Any) -> bool | None:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    return None


def _as_int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    return None


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    sim: Simulator

    def __init__(self, address: tuple[str, int], handler: type[_Handler]) -> None:
        self._connections: set[socket.socket] = set()
        self._conn_lock = threading.Lock()
        super().__init__(address, handler)

    def track(self, conn: socket.socket, alive: bool) -> None:
        with self._conn_lock:
            if alive:
                self._connections.add(conn)
            else:
                self._connections.discard(conn)

    def close_connections(self) -> None:
        with self._conn_lock:
            conns = list(self._connections)
        for conn in conns:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server
    timeout = 60  # idle keep-alive connections end eventually
    status_sent = 0
    _record: RequestRecord | None = None

    def setup(self) -> None:
        super().setup()
        self.server.track(self.connection, True)

    def finish(self) -> None:
        with contextlib.suppress(OSError):
            super().finish()
        self.server.track(self.connection, False)

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("simulator: " + format, *args)

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def do_DELETE(self) -> None:
        self._dispatch("DELETE")

    def do_PUT(self) -> None:
        self._dispatch("PUT")

    def _dispatch(self, method: str) -> None:
        sim = self.server.sim
        parts = urlsplit(self.path)
        query = {k: v[0] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
        self.status_sent = 0
        self._body_read = False
        self._record = RequestRecord(method, parts.path, query, 0)
        try:
            sim.route(self, method, parts.path, query)
        except _Reply as reply:
            self._answer(reply)
        except _Drop:
            self.close_connection = True
            self.mark(0)
            with contextlib.suppress(OSError):
                self.connection.shutdown(socket.SHUT_RDWR)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True
        except Exception:
            log.exception("Simulator failed on %s %s", method, parts.path)
            if not self.status_sent:
                self._answer(_error(500, "Internal simulator error"))
            self.close_connection = True
        finally:
            self.mark(self.status_sent)

    def mark(self, status: int) -> None:
        """Log the request with its status once, *before* the client can see the answer, so
        a test that asserts on ``Simulator.requests`` right after a call never races."""
        self.status_sent = status
        record, self._record = self._record, None
        if record is not None:
            self.server.sim._record(RequestRecord(record.method, record.path, record.query, status))

    def _answer(self, reply: _Reply) -> None:
        if not self._body_read and int(self.headers.get("Content-Length") or 0) > 0:
            self.close_connection = True  # an unread body would poison the next request
        if reply.body is None:
            data = b""
            ctype = ""
        elif reply.text:
            data = str(reply.body).encode("utf-8")
            ctype = "text/plain; charset=utf-8"
        else:
            data = json.dumps(reply.body).encode("utf-8")
            ctype = "application/json"
        self.send_response(reply.status)
        if ctype:
            self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        for name, value in reply.headers.items():
            self.send_header(name, value)
        if self.close_connection:
            self.send_header("Connection", "close")
        self.mark(reply.status)
        self.end_headers()
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            self.wfile.write(data)
            self.wfile.flush()

    def send_huge_json(self, size: int) -> None:
        """Answer 200 with a valid JSON object of about ``size`` bytes, chunked, from one
        reused buffer (the simulator's memory stays flat however big the answer)."""
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Transfer-Encoding", "chunked")
        self.mark(200)
        self.end_headers()
        head, tail = b'{"history": [], "padding": "', b'"}'
        filler = b"x" * _CHUNK
        self._send_chunk(head)
        left = max(0, size - len(head) - len(tail))
        while left:
            piece = filler if left >= len(filler) else filler[:left]
            self._send_chunk(piece)
            left -= len(piece)
        self._send_chunk(tail)
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()

    def _send_chunk(self, data: bytes) -> None:
        self.wfile.write(b"%x\r\n" % len(data) + data + b"\r\n")

    # -- bodies ----------------------------------------------------------------------------

    def _chunks(self, limit: int) -> Iterator[bytes]:
        """The request body in pieces, raw or chunked; stops past ``limit`` + 1 bytes."""
        self._body_read = True
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            total = 0
            while True:
                line = self.rfile.readline(1024)
                size = int(line.split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline(1024) not in (b"\r\n", b"\n", b""):
                        pass
                    return
                left = size
                while left:
                    piece = self.rfile.read(min(_CHUNK, left))
                    if not piece:
                        raise ConnectionResetError("body ended early")
                    left -= len(piece)
                    total += len(piece)
                    yield piece
                    if total > limit:
                        self.close_connection = True
                        return
                self.rfile.readline(16)
        left = int(self.headers.get("Content-Length") or 0)
        pace = _Pace(self.server.sim.scenario.transfer_bytes_per_s)
        while left:
            piece = self.rfile.read(min(pace.chunk, left))
            if not piece:
                raise ConnectionResetError("body ended early")
            left -= len(piece)
            pace.after(len(piece))
            yield piece

    def read_body(self, limit: int, *, drain_only: bool = False) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        if length > limit and not drain_only:
            raise _error(400, "Request body is too large")
        data = bytearray()
        for piece in self._chunks(limit):
            if not drain_only:
                data += piece
            if len(data) > limit:
                raise _error(400, "Request body is too large")
        return bytes(data)

    def read_form(self) -> dict[str, Any]:
        """A JSON or multipart/form-data body as a dict (both are accepted, contract §0)."""
        ctype = self.headers.get("Content-Type", "")
        body = self.read_body(_JSON_LIMIT)
        if ctype.lower().startswith("multipart/form-data"):
            message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
                b"Content-Type: " + ctype.encode("latin-1") + b"\r\n\r\n" + body
            )
            fields: dict[str, Any] = {}
            for part in message.iter_parts():
                name = part.get_param("name", header="content-disposition")
                if isinstance(name, str):
                    payload = part.get_payload(decode=True)
                    if isinstance(payload, bytes):
                        fields[name] = payload.decode("utf-8", "replace")
            return fields
        try:
            data = json.loads(body or b"{}")
        except ValueError:
            raise _error(400, "Request body is not valid JSON") from None
        if not isinstance(data, dict):
            raise _error(400, "Request body must be a JSON object")
        return data

    def receive_file(self, dest: Path, limit: int, ctype: str) -> int:
        """Store the raw body in ``dest`` (streamed); oversize bodies are refused unread."""
        length = self.headers.get("Content-Length")
        chunked = self.headers.get("Transfer-Encoding", "").lower() == "chunked"
        too_big = _error(400, f"File is too large. Maximum size for {ctype} is {limit // _MB}MB")
        if not chunked and length is None:
            self.close_connection = True
            raise _error(400, "Content-Length is required")
        if not chunked and int(length or 0) > limit:
            # Answer before reading, then discard the body so the client sees the answer.
            self._answer(too_big)
            self.connection.settimeout(10)
            for _ in self._chunks(int(length or 0)):
                pass
            raise _Drop()
        size = 0
        try:
            with dest.open("wb") as out:
                for piece in self._chunks(limit):
                    size += len(piece)
                    if size > limit:
                        self.close_connection = True  # the rest of the body stays unread
                        raise too_big
                    out.write(piece)
        except BaseException:
            dest.unlink(missing_ok=True)
            raise
        return size


def scenario_setting(spec: str) -> tuple[str, Any]:
    """Parse ``NAME=VALUE`` into a :class:`Scenario` field and a value of its type, e.g.
    ``submit_500_after_create=1``, ``late_task_seconds=30``, ``poll_404=true``,
    ``retry_after=none``. Raises ValueError naming the problem."""
    name, sep, raw = spec.partition("=")
    name = name.strip().replace("-", "_")
    defaults = Scenario()
    if not sep or name not in {f.name for f in dataclasses.fields(Scenario)}:
        known = ", ".join(f.name for f in dataclasses.fields(Scenario))
        raise ValueError(f"expected NAME=VALUE with NAME one of: {known}")
    raw = raw.strip()
    default = getattr(defaults, name)
    if isinstance(default, bool):
        if raw.lower() not in ("1", "0", "true", "false", "yes", "no", "on", "off"):
            raise ValueError(f"{name} takes true or false")
        return name, raw.lower() in ("1", "true", "yes", "on")
    if default is None and raw.lower() in ("", "none"):
        return name, None
    try:
        if isinstance(default, int):
            return name, int(raw)
        return name, float(raw)
    except ValueError:
        raise ValueError(f"{name} takes a number, not {raw!r}") from None


def _scenario_arg(spec: str) -> tuple[str, Any]:
    try:
        return scenario_setting(spec)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def serve_forever_cli(argv: Sequence[str] | None = None) -> int:
    """``python -m kling_desktop.simulator`` / ``kling-desktop simulator``."""
    parser = argparse.ArgumentParser(
        prog="kling-desktop simulator",
        description="Run a local fake of the useapi.net Kling API (for demos and tests).",
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--token", default=DEMO_TOKEN)
    parser.add_argument("--task-seconds", type=float, default=Scenario.task_seconds)
    parser.add_argument(
        "--account",
        action="append",
        metavar="EMAIL[:MAXJOBS]",
        help="a configured Kling account (repeatable; default demo@example.com:3)",
    )
    parser.add_argument("--data-dir", type=Path, default=None)
    parser.add_argument(
        "--scenario",
        action="append",
        type=_scenario_arg,
        default=[],
        metavar="NAME=VALUE",
        help="set a fault of the Scenario, e.g. submit_500_after_create=1 (repeatable)",
    )
    args = parser.parse_args(list(argv) if argv is not None else None)
    accounts: list[tuple[str, int]] = []
    for spec in args.account or ["demo@example.com:3"]:
        email_, _, jobs = spec.partition(":")
        accounts.append((email_, int(jobs or 3)))
    scenario = Scenario(task_seconds=args.task_seconds)
    for name, value in args.scenario:
        setattr(scenario, name, value)
    sim = Simulator(
        token=args.token,
        accounts=accounts,
        host=args.host,
        port=args.port,
        scenario=scenario,
        data_dir=args.data_dir,
    )
    try:
        sim.start()
    except OSError as exc:
        print(f"Cannot listen on {args.host}:{args.port}: {exc}")
        return 2
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    with contextlib.suppress(ValueError):  # not on the main thread
        signal.signal(signal.SIGTERM, on_signal)
    email0 = accounts[0][0]
    print(f"Kling simulator running at {sim.url}")
    print(f"Token: {sim.token}")
    print(f"Accounts: {', '.join(e for e, _ in accounts)}")
    print("Try:")
    print(f'  curl -H "Authorization: Bearer {sim.token}" {sim.url}/accounts')
    print(
        f'  curl "{sim.url}/assets/?email={email0}" -H "Authorization: Bearer {sim.token}" '
        '-H "Content-Type: video/mp4" --data-binary @clip.mp4'
    )
    print(
        f'  curl "{sim.url}/videos/add-sound" -H "Authorization: Bearer {sim.token}" '
        '-H "Content-Type: application/json" '
        f'-d \'{{"email": "{email0}", "video": "<resourceUrl>"}}\''
    )
    print(f"Use it from the app: KLING_DESKTOP_API_URL={sim.url} KLING_DESKTOP_TOKEN={sim.token}")
    print("Press Ctrl-C to stop.", flush=True)
    try:
        while not stop.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        sim.stop()
    print("Simulator stopped.")
    return 0
