"""Typed values for what useapi.net returns, parsed leniently.

Unknown fields are ignored and missing optional ones tolerated; only what the app relies on is
required, and its absence raises :class:`MalformedResponse`. Terminal ⇔ ``status_final``;
success ⇔ ``status_name == "succeed"`` (contract §3) — numeric codes are for display only.
``status_final`` is understood as ``true``/``"true"``/``1`` (any other value is not final) and
``status_name`` is kept lower-case, so ``"Succeed"`` succeeds too.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from kling_desktop.api.errors import MalformedResponse

ADD_SOUND_TASK_TYPE = "kwave_video2audio"


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _int(value: Any, default: int = 0) -> int:
    if isinstance(value, bool):
        return default
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value)
    if isinstance(value, float):
        return int(value)
    return default


def _str(value: Any) -> str:
    return value if isinstance(value, str) else ("" if value is None else str(value))


_TRUE = frozenset({"true", "1", "yes"})


def _flag(value: Any) -> bool:
    """A boolean the service may send as ``true``, ``"true"``, ``1`` or ``"1"`` (any case);
    anything else (``false``, ``"false"``, ``0``, ``null``, missing) is False."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        return value == 1
    if isinstance(value, str):
        return value.strip().lower() in _TRUE
    return False


def _status_name(value: Any) -> str:
    """``status_name`` compared without regard to case or surrounding spaces ("Succeed")."""
    return _str(value).strip().lower()


@dataclass(frozen=True)
class Session:
    user_id: str = ""
    expire_time_utc: str = ""


@dataclass(frozen=True)
class Balance:
    """Credit balance as useapi.net reports it (units are not documented; shown as-is)."""

    total: int
    points: tuple[tuple[str, int, int], ...] = ()  # (type, amount, balance)


@dataclass(frozen=True)
class Account:
    email: str
    max_jobs: int = 1
    session: Session = field(default_factory=Session)
    error: str = ""
    balance: Balance | None = None

    @classmethod
    def parse(cls, data: Any, email: str = "") -> Account:
        d = _dict(data)
        session = _dict(d.get("session"))
        balance = None
        if isinstance(d.get("balance"), dict):
            b = d["balance"]
            balance = Balance(
                total=_int(b.get("total")),
                points=tuple(
                    (_str(p.get("type")), _int(p.get("amount")), _int(p.get("balance")))
                    for p in _list(b.get("points"))
                    if isinstance(p, dict)
                ),
            )
        return cls(
            email=_str(d.get("email")) or email,
            max_jobs=_int(d.get("maxJobs"), 1),
            session=Session(
                user_id=_str(session.get("userId")),
                expire_time_utc=_str(session.get("ExpireTimeUTC")),
            ),
            error=_str(d.get("error")),
            balance=balance,
        )


def parse_accounts(data: Any) -> list[Account]:
    """``GET /accounts`` returns an object keyed by email."""
    if not isinstance(data, dict):
        raise MalformedResponse("accounts: expected an object keyed by email", body=data)
    return [Account.parse(value, key) for key, value in data.items() if isinstance(value, dict)]


@dataclass(frozen=True)
class UploadResult:
    """``POST /assets`` answer; :attr:`url` is ``resourceUrl``, else ``url`` (contract §1)."""

    url: str
    file_name: str = ""
    status: int = 0
    cover_url: str = ""

    @classmethod
    def parse(cls, data: Any) -> UploadResult:
        d = _dict(data)
        # Video uploads carry the usable URL in resourceUrl; images/audio in url (contract §1).
        url = _str(d.get("resourceUrl")) or _str(d.get("url"))
        if not url:
            raise MalformedResponse("upload: no resourceUrl or url in the answer", body=data)
        return cls(
            url=url,
            file_name=_str(d.get("fileName")),
            status=_int(d.get("status")),
            cover_url=_str(d.get("coverUrl")),
        )


@dataclass(frozen=True)
class Work:
    work_id: int
    content_type: str = ""
    resource_url: str = ""
    cover_url: str = ""
    duration_ms: int = 0
    task_id: int = 0
    width: int = 0
    height: int = 0

    @classmethod
    def parse(cls, data: Any) -> Work:
        d = _dict(data)
        resource = _dict(d.get("resource"))
        return cls(
            work_id=_int(d.get("workId")),
            content_type=_str(d.get("contentType")),
            resource_url=_str(resource.get("resource")),
            cover_url=_str(_dict(d.get("cover")).get("resource")),
            duration_ms=_int(resource.get("duration")),
            task_id=_int(d.get("taskId")),
            width=_int(resource.get("width")),
            height=_int(resource.get("height")),
        )


@dataclass(frozen=True)
class Task:
    id: int
    status: int = 0
    status_name: str = ""
    status_final: bool = False
    type: str = ""
    create_time_ms: int = 0
    input_urls: tuple[str, ...] = ()
    works: tuple[Work, ...] = ()
    error: str = ""
    message: str = ""
    #: ``userPoints.total`` from a submit answer (credit units as reported), when present.
    points_total: int | None = None

    @property
    def succeeded(self) -> bool:
        return self.status_final and self.status_name == "succeed"

    @property
    def failed(self) -> bool:
        return self.status_final and self.status_name != "succeed"

    @property
    def result_url(self) -> str:
        """The first work's (watermarked) result, ``works[0].resource.resource``."""
        for work in self.works:
            if work.resource_url:
                return work.resource_url
        return ""

    @property
    def failure_text(self) -> str:
        return self.error or self.message or self.status_name or "failed"

    @classmethod
    def parse(cls, data: Any) -> Task:
        """Parse a submit or poll answer (``{"task": {...}, "works": [...], ...}``)."""
        d = _dict(data)
        task = _dict(d.get("task")) or d
        task_id = _int(task.get("id"))
        if not task_id:
            raise MalformedResponse("task: no task id in the answer", body=data)
        info = _dict(task.get("taskInfo"))
        inputs = tuple(_str(i.get("url")) for i in _list(info.get("inputs")) if isinstance(i, dict))
        works = tuple(Work.parse(w) for w in _list(d.get("works")) if isinstance(w, dict))
        final = d.get("status_final", task.get("status_final"))
        name = d.get("status_name") or task.get("status_name")
        points = d.get("userPoints")
        points_total = (
            _int(points.get("total")) if isinstance(points, dict) and "total" in points else None
        )
        return cls(
            id=task_id,
            status=_int(d.get("status", task.get("status"))),
            status_name=_status_name(name),
            status_final=_flag(final),
            type=_str(task.get("type") or info.get("type")),
            create_time_ms=_int(task.get("createTime")),
            input_urls=tuple(u for u in inputs if u),
            works=works,
            error=_str(d.get("error")),
            message=_str(d.get("message")),
            points_total=points_total,
        )


def parse_task_history(data: Any) -> list[Task]:
    """``GET /tasks/`` answers ``{"history": [{"works": [...], "task": {...}?}, ...]}``.

    Each history item groups the works of one task; the task id is on the works (``taskId``)
    and, where present, on a ``task`` object.
    """
    tasks: list[Task] = []
    for item in _list(_dict(data).get("history")):
        if not isinstance(item, dict):
            continue
        works = [w for w in _list(item.get("works")) if isinstance(w, dict)]
        task_obj = _dict(item.get("task"))
        task_id = _int(task_obj.get("id")) or next(
            (_int(w.get("taskId")) for w in works if _int(w.get("taskId"))), 0
        )
        if not task_id:
            continue
        first = works[0] if works else {}
        info = _dict(task_obj.get("taskInfo")) or _dict(first.get("taskInfo"))
        inputs = tuple(_str(i.get("url")) for i in _list(info.get("inputs")) if isinstance(i, dict))
        tasks.append(
            Task(
                id=task_id,
                status=_int(task_obj.get("status", first.get("status"))),
                status_name=_status_name(task_obj.get("status_name") or first.get("status_name")),
                status_final=_flag(task_obj.get("status_final", first.get("status_final"))),
                type=_str(task_obj.get("type") or first.get("type") or info.get("type")),
                create_time_ms=_int(task_obj.get("createTime") or first.get("createTime")),
                input_urls=tuple(u for u in inputs if u),
                works=tuple(Work.parse(w) for w in works),
            )
        )
    return tasks


@dataclass(frozen=True)
class SchedulerEntry:
    task_id: int
    email: str = ""
    started: str = ""
    reply_ref: str = ""
    elapsed: str = ""
    reply_url: str = ""

    @classmethod
    def parse(cls, data: Any) -> SchedulerEntry:
        d = _dict(data)
        return cls(
            task_id=_int(d.get("id")),
            email=_str(d.get("email")),
            started=_str(d.get("started")),
            reply_ref=_str(d.get("replyRef")),
            elapsed=_str(d.get("elapsed")),
            reply_url=_str(d.get("replyUrl")),
        )


@dataclass(frozen=True)
class SlotInfo:
    email: str
    max_jobs: int
    executing: int
    available: int


@dataclass(frozen=True)
class Availability:
    executing: tuple[SchedulerEntry, ...]
    slots: tuple[SlotInfo, ...]

    @classmethod
    def parse(cls, data: Any) -> Availability:
        d = _dict(data)
        return cls(
            executing=tuple(SchedulerEntry.parse(e) for e in _list(d.get("executing"))),
            slots=tuple(
                SlotInfo(
                    email=_str(s.get("email")),
                    max_jobs=_int(s.get("maxJobs")),
                    executing=_int(s.get("executing")),
                    available=_int(s.get("available")),
                )
                for s in _list(d.get("available"))
                if isinstance(s, dict)
            ),
        )
