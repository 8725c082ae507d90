"""What each endpoint does: the route table and its handlers.

:data:`ROUTES` maps a method and a path below ``/v1/kling`` (``{name}`` is one path segment,
passed to the handler as a keyword) to a handler ``(state, request, **params) -> answer``.
A handler *returns* its answer; a refusal is raised as :class:`~.state.Refused` and answered
by :class:`Router`. Before the table, :class:`Router` serves ``/cdn/...`` files (no auth, like
Kling's CDN) and plays the faults that hit every API request (bad token, 402, malformed, huge).

Where the contract marks something unknown, the choice made here is noted with "[I]".
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from http import HTTPStatus
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from kling_desktop.simulator import shapes
from kling_desktop.simulator.http import Answer, ChunkedJson, Drop, FileReply, Reply, Request
from kling_desktop.simulator.state import (
    LENGTH_RULE,
    NO_ACCOUNT,
    NO_CONFIG,
    Refused,
    State,
    Upload,
    length_ms,
    length_ok,
    refused,
)

API_PREFIX = "/v1/kling"
ELSEWHERE = "/gateway/maintenance"  # where redirect faults point (not an API path)

# POST /assets: Content-Type -> (max bytes, extension, kind); contract §1 table. [I] Its "100MB"
# is read as 100,000,000 bytes (the smaller reading; the contract does not say which).
_MB = 1_000_000
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
_FILE_TYPES = {
    ".mp4": "video/mp4",
    ".mov": "video/quicktime",
    ".jpg": "image/jpeg",
    ".wav": "audio/wav",
    ".zip": "application/zip",
}

Handler = Callable[..., Answer]  # (state, request, **path params) -> answer


def ok(body: Any) -> Reply:
    return Reply(200, body)


# -- accounts ----------------------------------------------------------------------------------


def get_accounts(state: State, request: Request) -> Answer:
    with state.lock:
        if not state.accounts:
            raise refused(404, NO_CONFIG)
        return ok({e: shapes.account_json(a) for e, a in state.accounts.items()})


def get_account(state: State, request: Request, email: str) -> Answer:
    with state.lock:
        account = state.accounts.get(unquote(email))
        if account is None:
            raise refused(404, NO_ACCOUNT)
        return ok(shapes.account_json(account, balance=True))


def delete_account(state: State, request: Request, email: str) -> Answer:
    with state.lock:
        if state.accounts.pop(unquote(email), None) is None:
            raise refused(404, NO_ACCOUNT)
    # [I] the DELETE response body is undocumented (contract §4): 204, no body.
    return Reply(204)


def post_account(state: State, request: Request) -> Answer:
    form = request.read_form()
    email = form.get("email")
    password = form.get("password")
    max_jobs = _as_int(form.get("maxJobs"))
    if not isinstance(email, str) or "@" not in email or not isinstance(password, str):
        raise refused(400, "email and password are required")
    if not password:
        raise refused(400, "email and password are required")
    if max_jobs is None or not 1 <= max_jobs <= 50:
        raise refused(400, "maxJobs is required, specify maximum number of concurrent jobs (1-50)")
    if password.startswith("wrong"):
        raise refused(400, "Account does not exist or password is incorrect")
    return Reply(201, shapes.account_json(state.add_account(email, password, max_jobs)))


# -- assets ------------------------------------------------------------------------------------


def upload(state: State, request: Request) -> Answer:
    ctype = request.headers.get("Content-Type", "").split(";")[0].strip().lower()
    if ctype not in ASSET_TYPES:
        request.close_after()  # the body stays unread
        raise refused(
            400,
            f"Content-Type {ctype or '(none)'} is not supported. Valid values: "
            + ",".join(ASSET_TYPES),
        )
    state.resolve(request.query.get("email"))
    limit, ext, kind = ASSET_TYPES[ctype]
    name = f"{secrets.token_hex(8)}.{ext}"
    dest = state.data_dir / "uploads" / name
    # [I] the service's text for an oversized file is undocumented; the shape is its 400's.
    too_big = f"File is too large. Maximum size for {ctype} is {limit // _MB}MB"
    size = request.receive_file(dest, limit, too_big)
    if size == 0:
        dest.unlink(missing_ok=True)
        raise refused(400, "Request body is empty")
    new = Upload(name=name, path=dest, content_type=ctype, kind=kind)
    state.add_upload(new, f"/cdn/s21/upload/{name}")
    if kind == "video":
        state.add_upload(new, f"/cdn/v15/upload/{name}")
        state.add_file(f"/cdn/v15/upload/{name}.jpg", dest)  # made a JPEG when first fetched
    return ok(shapes.upload_json(state.origin, name, video=kind == "video"))


def assets_download(state: State, request: Request) -> Answer:
    query = request.query
    account = state.resolve(query.get("email"))
    ids = [w.strip() for w in query.get("workIds", "").split(",") if w.strip()]
    types = [t.strip().upper() for t in query.get("fileTypes", "").split(",") if t.strip()]
    if not ids or not all(i.isdigit() for i in ids) or len(ids) > 100:
        raise refused(400, "Invalid parameters")
    if any(t not in ("MP4", "MP3", "WAV", "PNG") for t in types):
        raise refused(400, "Invalid parameters")
    wanted = types or ["MP4", "WAV"]
    now = state.now()
    files: list[tuple[str, Path]] = []
    for raw in ids:
        with state.lock:
            task = state.works.get(int(raw))
        if task is None or task.email != account.email or not state.visible(task, now):
            raise refused(404, f"No works found for workId {raw}")
        if not state.phase(task, now).succeeded or task.result is None:
            raise refused(400, f"Work {raw} is not ready")
        for kind in wanted:
            if kind == "MP4":
                files.append((f"{raw}.mp4", task.result))
            elif kind == "WAV":
                files.append((f"{raw}.wav", state.wav_of(task)))
            # [I] MP3/PNG are listed by the docs but Kling has none for a sound work here
    if not files:
        raise refused(400, "Invalid parameters")
    return ok({"cdnUrl": state.origin + state.publish(files), "status": "success"})


# -- add-sound ---------------------------------------------------------------------------------


def add_sound(state: State, request: Request) -> Answer:
    form = request.read_form()
    email = form.get("email")
    if state.take("submit_lost_other_client"):
        # Our request is read, then lost before Kling: no task of ours, no answer. At that
        # moment another client on the account starts add-sound with the same video.
        video = form.get("video")
        state.other_client_submits(
            email if isinstance(email, str) else None, video if isinstance(video, str) else ""
        )
        raise Drop()
    video = form.get("video")
    if not isinstance(video, str) or not video:
        raise refused(400, "Parameter video is required")
    crop_flag: bool | None = None  # not sent: false, the documented default
    if form.get("cropVideoOriginalSound") is not None:
        crop_flag = _as_bool(form.get("cropVideoOriginalSound"))
        if crop_flag is None:
            raise refused(400, "Parameter cropVideoOriginalSound must be true or false")
    max_jobs = None
    if form.get("maxJobs") is not None:
        max_jobs = _as_int(form.get("maxJobs"))
        if max_jobs is None or not 1 <= max_jobs <= 50:
            raise refused(400, "Parameter maxJobs must be a number from 1 to 50")
    reply_url = form.get("replyUrl")
    reply_ref = form.get("replyRef")
    if reply_url is not None and (
        not isinstance(reply_url, str) or urlsplit(reply_url).scheme not in ("http", "https")
    ):
        raise refused(400, "Parameter replyUrl must be a valid URL")
    if reply_ref is not None and not isinstance(reply_ref, str):
        reply_ref = json.dumps(reply_ref)
    account = state.resolve(email if isinstance(email, str) else None)
    source = state.find_upload(video)
    info = state.probe(source)
    if not info.is_mp4_or_mov:
        # [I] useapi's text is unknown; Kling's own video-to-audio: "Only .mp4/.mov formats
        # are supported" (contract §8). /assets checks only the Content-Type header (§1).
        raise refused(400, "Unable to process video: only .mp4/.mov formats are supported")
    if not length_ok(info):
        # [I] the rule is the page's sentence; the service's exact error text is unknown.
        raise refused(400, f"{LENGTH_RULE} (this one is {length_ms(info) / 1000:g} s)")
    scenario = state.scenario
    if scenario.account_error:
        raise Refused(596, shapes.account_error(account.email))
    if scenario.moderate_submit:
        raise Refused(500, shapes.MODERATION)
    retry = {} if scenario.retry_after is None else {"Retry-After": f"{scenario.retry_after:g}"}
    if state.take("submit_429"):
        raise Refused(429, shapes.busy(account, account.max_jobs), retry)
    limit = max_jobs if max_jobs is not None else account.max_jobs
    submitted = state.submit(
        account,
        source,
        info,
        crop_flag=crop_flag,
        reply_url=reply_url,
        reply_ref=reply_ref,
        limit=limit,
    )
    if submitted is None:
        raise Refused(429, shapes.busy(account, limit), retry)
    # From here on the task exists and is charged, whatever the answer says.
    if submitted.dropped:
        raise Drop()
    if state.take("submit_500_after_create"):
        return Reply(500, {"error": "Internal Server Error", "code": 500})
    if state.take("submit_redirect_after_create"):
        return Reply(302, None, {"Location": state.origin + ELSEWHERE})
    if state.take("submit_400_nobody"):
        return Reply(400)
    return ok(shapes.submitted_json(submitted.task, account, submitted.balance, state.now()))


# -- tasks -------------------------------------------------------------------------------------


def get_task(state: State, request: Request, task_id: str) -> Answer:
    email = request.query.get("email")
    if not email:
        # The vendor: "?email= is required here — without it the lookup 400s".
        raise refused(400, "Parameter email is required")
    scenario = state.scenario
    if scenario.account_error:
        raise Refused(596, shapes.account_error(email))
    if state.take("poll_5xx"):
        if state.next_poll_fault_is_503():
            raise refused(503, "Service temporarily unavailable, please try again later")
        raise refused(500, "Internal Server Error")
    if state.take("poll_odd_once"):
        return _odd_answer(state, int(scenario.poll_odd_status), task_id, email)
    if scenario.poll_404:
        raise refused(404, f"Task {task_id} not found")
    task = state.task_for(task_id, email)
    now = state.now()
    return ok(shapes.poll_json(task, state.phase(task, now), now, state.origin))


def _odd_answer(state: State, status: int, task_id: str, email: str) -> Reply:
    """A one-off odd answer to a task lookup (``Scenario.poll_odd_once``)."""
    if status == 400:
        return Reply(400, {"error": "Invalid parameters"})
    if status == 404:
        return Reply(404, {"error": f"Task {task_id} not found"})
    if status == 596:
        return Reply(596, shapes.account_error(email))
    if 300 <= status < 400:
        return Reply(status, None, {"Location": state.origin + ELSEWHERE})
    try:
        phrase = HTTPStatus(status).phrase
    except ValueError:
        phrase = "Error"
    return Reply(status, {"error": phrase, "code": status})


def list_tasks(state: State, request: Request) -> Answer:
    query = request.query
    account = state.resolve(query.get("email"))
    after = query.get("createdAfter")
    before = query.get("createdBefore")
    ctype = query.get("contentType")
    size = query.get("pageSize")
    if (after and before) or (after and not after.isdigit()) or (before and not before.isdigit()):
        raise refused(400, "Invalid parameters")
    if ctype is not None and ctype not in ("video", "image", "audio"):
        raise refused(400, "Invalid parameters")
    if size is not None and (not size.isdigit() or not 1 <= int(size) <= 500):
        raise refused(400, "Invalid parameters")
    page = int(size) if size else 20  # [I] default page size not documented for /tasks
    now = state.now()
    with state.lock:
        tasks = [
            t for t in state.tasks.values() if t.email == account.email and state.visible(t, now)
        ]
    if after:
        tasks = [t for t in tasks if t.created_ms > int(after)]
    if before:
        tasks = [t for t in tasks if t.created_ms < int(before)]
    if ctype not in (None, "video"):
        tasks = []
    tasks.sort(key=lambda t: (t.created_ms, t.id), reverse=True)
    history = [
        shapes.history_item(task, state.phase(task, now), now, state.origin)
        for task in tasks[:page]
    ]
    return ok({"history": history})


# -- scheduler ---------------------------------------------------------------------------------


def _scheduler_items(state: State, now: float) -> list[dict[str, Any]]:
    with state.lock:
        tasks = [t for t in state.tasks.values() if state.tracked(t, now)]
    return [shapes.scheduler_item(task, now) for task in tasks]


def scheduler(state: State, request: Request) -> Answer:
    return ok(_scheduler_items(state, state.now()))


def scheduler_available(state: State, request: Request) -> Answer:
    now = state.now()
    with state.lock:
        accounts = list(state.accounts.values())
    available = [shapes.available_item(a, len(state.executing(a.email, now))) for a in accounts]
    return ok({"executing": _scheduler_items(state, now), "available": available})


def stop_tracking(state: State, request: Request, task_id: str) -> Answer:
    if not state.stop_tracking(task_id):  # Kling still runs it; only tracking ends
        raise refused(404, f"Unable to locate running task_id {task_id}")
    return Reply(200, "Task was successfully canceled.", text=True)


# -- the table ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Route:
    method: str
    pattern: str  # below API_PREFIX; a "{name}" segment matches any one segment
    handler: Handler

    def match(self, segments: list[str]) -> dict[str, str] | None:
        """The path parameters when ``segments`` fit the pattern, else None."""
        parts = self.pattern.strip("/").split("/")
        if len(parts) != len(segments):
            return None
        params: dict[str, str] = {}
        for part, segment in zip(parts, segments, strict=True):
            if part.startswith("{") and part.endswith("}"):
                params[part[1:-1]] = segment
            elif part != segment:
                return None
        return params


ROUTES: tuple[Route, ...] = (
    Route("GET", "/accounts", get_accounts),
    Route("POST", "/accounts", post_account),
    Route("GET", "/accounts/{email}", get_account),
    Route("DELETE", "/accounts/{email}", delete_account),
    Route("POST", "/assets", upload),
    Route("GET", "/assets/download", assets_download),
    Route("POST", "/videos/add-sound", add_sound),
    Route("GET", "/tasks", list_tasks),
    Route("GET", "/tasks/{task_id}", get_task),
    Route("GET", "/scheduler", scheduler),
    Route("GET", "/scheduler/available", scheduler_available),
    Route("DELETE", "/scheduler/{task_id}", stop_tracking),
)


class Router:
    """The simulator's app for :mod:`.http`: one request in, one answer out."""

    def __init__(self, state: State, routes: tuple[Route, ...] = ROUTES) -> None:
        self.state = state
        self.routes = routes

    def __call__(self, request: Request) -> Answer:
        try:
            return self._route(request)
        except Refused as exc:
            return Reply(exc.status, exc.body, exc.headers)

    def _route(self, request: Request) -> Answer:
        method, path, state = request.method, request.path, self.state
        if path.startswith("/cdn/"):
            if method != "GET":
                raise refused(404, "Not found")
            return serve_file(state, path)
        if not (path == API_PREFIX or path.startswith(API_PREFIX + "/")):
            raise refused(404, f"Route {method} {path} not found", code=404)
        if request.headers.get("Authorization", "") != f"Bearer {state.token}":
            raise Refused(401, shapes.UNAUTHORIZED)
        if state.scenario.bad_token:
            raise Refused(401, shapes.UNAUTHORIZED)
        if state.scenario.subscription_required:
            raise Refused(402, shapes.SUBSCRIPTION)
        if state.take("malformed_responses"):
            request.drain()
            return Reply(200, "<html><body>502 Bad Gateway</body></html>", text=True)
        if state.take("huge_answer"):
            request.drain()
            return ChunkedJson(max(0, int(state.scenario.huge_answer_bytes)))
        segments = (path[len(API_PREFIX) :].rstrip("/") or "/").strip("/").split("/")
        for route in self.routes:
            params = route.match(segments) if route.method == method else None
            if params is not None:
                return route.handler(state, request, **params)
        # [I] useapi.net's answer to a wrong method is undocumented: like an unknown path.
        raise refused(404, f"Route {method} {path} not found", code=404)


def serve_file(state: State, path: str) -> Answer:
    """A ``/cdn/...`` file: uploads, results, covers and downloads (no auth)."""
    target = state.file_for(path)
    if (
        path.startswith("/cdn/v15/works/")
        and path.endswith(".mp4")
        and state.take("expired_results")
    ):
        target = None
    if target is None or not target.is_file():
        return Reply(404, "Not Found", text=True)
    cut = state.take("truncate_downloads")
    return FileReply(target, _FILE_TYPES.get(target.suffix, "application/octet-stream"), cut)


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
