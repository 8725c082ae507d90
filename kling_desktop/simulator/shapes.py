"""The JSON useapi.net answers with, as functions of the simulator's state objects.

Shapes follow ``docs/useapi-kling-contract.md`` and the add-sound page (the seed), not what our
client happens to parse; "[I]" marks a choice made where the contract says nothing. Nothing here
reads a clock or a lock: the caller passes the task's :class:`~.state.Phase` and ``now``.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from kling_desktop.simulator.state import START_POINTS, Account, Phase, Task

TASK_TYPE = "kwave_video2audio"
SECURED = "…secured…"
_MONTH_MS = 30 * 24 * 3600 * 1000

UNAUTHORIZED = {"error": "Unauthorized", "code": 401}
SUBSCRIPTION = {"error": "Subscription required", "code": 402}
MODERATION = {  # seed: 500 moderation body
    "error": "The content you uploaded appears to violate the community guidelines. "
    "(CM_EXT.POther)",
    "message": "Service busy (CM_EXT.POther)",
}


def _utc(ms: int) -> str:
    return (
        dt.datetime.fromtimestamp(ms / 1000, dt.UTC)
        .isoformat(timespec="milliseconds")
        .replace("+00:00", "Z")
    )


def _user_number(task: Task) -> int:
    return int(task.user_id.removeprefix("user") or 0)


def busy(account: Account, limit: int) -> dict[str, Any]:
    """The 429 body of a submit while all ``limit`` slots are busy (nothing was started)."""
    # [I] the Kling 429 text is undocumented; the meaning is "all slots busy, not started".
    return {
        "error": f"Account {account.email} is busy executing {limit} of {limit} jobs. "
        "Please retry later.",
        "code": 429,
    }


def account_error(email: str) -> dict[str, Any]:
    """The 596 body: the account's Kling session is broken."""
    return {"error": f"Account {email} in error state: refresh token rejected", "code": 596}


# -- accounts --------------------------------------------------------------------------------


def points_item(account: Account, balance: int | None = None) -> dict[str, Any]:
    """One entry of ``balance.points`` (``balance`` defaults to the account's points now)."""
    return {
        "orderId": str(abs(hash(account.email)) % 10**10),
        "type": "plan",
        "amount": START_POINTS,
        "balance": account.points if balance is None else balance,
        "startTime": account.created_ms,
        "endTime": account.created_ms + _MONTH_MS,
    }


def account_json(account: Account, *, balance: bool = False) -> dict[str, Any]:
    """An account of ``GET /accounts`` (``balance`` adds the one of ``GET /accounts/{email}``)."""
    expire = account.created_ms + _MONTH_MS
    data: dict[str, Any] = {
        "email": account.email,
        "session": {"userId": account.user_id, "ExpireTime": expire, "ExpireTimeUTC": _utc(expire)},
        "maxJobs": account.max_jobs,
        "password": SECURED,
    }
    if balance:
        data["balance"] = {
            "points": [points_item(account)],
            "tickets": [],
            "nextApplyTime": account.created_ms + _MONTH_MS,
            "total": account.points,
        }
    return data


# -- tasks and works -------------------------------------------------------------------------


def task_info(task: Task) -> dict[str, Any]:
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
                "resources": [{"name": "originalVideoUrl", "type": "VIDEO", "url": task.input_url}],
                "arguments": [
                    {
                        "name": "cropVideoOriginalSound",
                        "value": "true" if task.flag else "false",
                    }
                ],
            }
        ],
        "scene": "NORMAL_CREATION",
    }


def task_json(task: Task, phase: Phase, now: float) -> dict[str, Any]:
    update = task.created_ms + int(min(now - task.created, task.seconds) * 1000)
    return {
        "id": task.id,
        "userId": _user_number(task),
        "type": TASK_TYPE,
        "scene": "NORMAL_CREATION",
        "status": phase.status,
        "taskInfo": task_info(task),
        "favored": False,
        "deleted": False,
        "viewed": False,
        "createTime": task.created_ms,
        "updateTime": update,
        "viewTime": 0,
        "status_name": phase.name,
        "status_final": phase.final,
    }


def work_json(task: Task, phase: Phase, origin: str) -> dict[str, Any]:
    info = task.info
    return {
        "workId": task.work_id,
        "workItemId": 0,
        "taskId": task.id,
        "userId": _user_number(task),
        "type": TASK_TYPE,
        "status": phase.status,
        "status_name": phase.name,
        "status_final": phase.final,
        "contentType": "video",
        "resource": {
            "resource": f"{origin}/cdn/v15/works/{task.work_id}.mp4",
            "height": info.height,
            "width": info.width,
            "duration": round(info.duration_s * 1000),
            "resourceKey": "",
        },
        "cover": {
            "resource": f"{origin}/cdn/v15/works/{task.work_id}.jpg",
            "height": info.height,
            "width": info.width,
            "duration": 0,
            "resourceKey": "",
        },
        "starNum": 0,
        "cloneCount": 0,
        "reportNum": 0,
        "createTime": task.created_ms,
        "taskInfo": task_info(task),
        "favored": False,
        "deleted": False,
    }


def poll_json(task: Task, phase: Phase, now: float, origin: str) -> dict[str, Any]:
    """The answer of ``GET /tasks/{id}``."""
    ok = phase.succeeded
    eta = 0 if phase.final else max(1, round(task.seconds - (now - task.created)))
    data: dict[str, Any] = {
        "status": phase.status,
        "status_name": phase.name,
        "status_final": phase.final,
        "etaTime": eta,
        "etaTimeOverSla": False,
        "queuingEtaTime": 0,
        "originEtaTime": eta,
        "originQueuingEtaTime": 0,
        "message": "success" if ok else "",
        "task": task_json(task, phase, now),
        "works": [work_json(task, phase, origin)] if ok else [],
    }
    if phase.final and not ok:
        # [I] failure texts are undocumented; the vendor clients print error + message.
        data["error"] = task.result_error or "Kling failed to generate sound for this video"
        data["message"] = "Generation failed"
    return data


def history_item(task: Task, phase: Phase, now: float, origin: str) -> dict[str, Any]:
    """One item of ``GET /tasks``' ``history``."""
    # [I] The stored doc shows each item starting with "works" (the rest is cut off); a running
    # task has no works yet, so the item also carries its task object.
    return {
        "works": [work_json(task, phase, origin)] if phase.succeeded else [],
        "task": task_json(task, phase, now),
    }


def submitted_json(task: Task, account: Account, balance: int, now: float) -> dict[str, Any]:
    """The 200 answer of ``POST /videos/add-sound`` (``balance``: the points after the charge)."""
    return {
        "task": task_json(task, Phase(5, "submitted", False), now),
        "works": [],
        "status": 5,
        "message": "",
        "limitation": None,
        "userPoints": {"points": [points_item(account, balance)], "total": balance},
        "userTickets": {"ticket": []},
        "editProject": None,
        "status_name": "submitted",
        "status_final": False,
    }


# -- uploads, scheduler ----------------------------------------------------------------------


def upload_json(origin: str, name: str, *, video: bool) -> dict[str, Any]:
    """The answer of ``POST /assets``: a video also gets its re-encoded resource and cover."""
    raw = f"{origin}/cdn/s21/upload/{name}"
    if not video:
        return {"status": 3, "url": raw, "message": "", "fileName": name}
    return {
        "status": 1,
        "url": raw,
        "resourceUrl": f"{origin}/cdn/v15/upload/{name}",
        "coverUrl": f"{origin}/cdn/v15/upload/{name}.jpg",
        "message": "",
        "fileName": name,
    }


def scheduler_item(task: Task, now: float) -> dict[str, Any]:
    """A task the scheduler tracks (``GET /scheduler``)."""
    elapsed = int(now - task.created)
    item: dict[str, Any] = {
        "id": task.id,
        "email": task.email,
        "started": _utc(task.created_ms),
        "elapsed": f"{elapsed // 60:02d}:{elapsed % 60:02d}",
    }
    if task.reply_url:
        item["replyUrl"] = task.reply_url
    if task.reply_ref:
        item["replyRef"] = task.reply_ref
    return item


def available_item(account: Account, running: int) -> dict[str, Any]:
    """An account's slots (``GET /scheduler/available``)."""
    return {
        "email": account.email,
        "maxJobs": account.max_jobs,
        "executing": running,
        "available": max(0, account.max_jobs - running),
    }


def snapshot(task: Task, phase: Phase, *, tracked: bool, visible: bool) -> dict[str, Any]:
    """What :meth:`Simulator.tasks` shows a test (not an API shape)."""
    return {
        "id": task.id,
        "work_id": task.work_id,
        "email": task.email,
        "video": task.input_url,
        # cropVideoOriginalSound as sent (None: not sent) and as taken (absent = false)
        "crop_video_original_sound_sent": task.crop_flag,
        "crop_video_original_sound": task.flag,
        "keep_original_sound": task.flag,  # the flag under the docs' name for it (as sent)
        "crop_original_sound": task.reading,  # how Kling read it: "keeps" or "removes"
        "keeps_original_sound": task.keeps_original,  # the reading's verdict on the flag
        "clip_has_sound": task.info.has_audio,
        # whether the clip's own sound is mixed into the result (None until it is made)
        "original_sound_in_result": task.original_in_result,
        "generated_tone_hz": task.tone_hz,
        "reply_url": task.reply_url,
        "reply_ref": task.reply_ref,
        "created_ms": task.created_ms,
        "status": phase.status,
        "status_name": phase.name,
        "status_final": phase.final,
        "tracked": tracked,
        "visible": visible,
        "foreign": task.foreign,
    }
