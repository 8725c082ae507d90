"""The useapi.net Kling client: one ``requests.Session``, typed answers, one exception per failure.

Every API answer is read streamed and capped (:data:`JSON_ANSWER_LIMIT`): a bigger one raises
:class:`MalformedResponse` ("the answer was too large") instead of filling memory. Redirects are
never followed for API calls: a 3xx raises :class:`ApiError` with its ``status``. Every error
raised for an HTTP answer carries ``status`` and ``body``.

Retry rules (contract §5, DESIGN §2): reads (GET, and ``DELETE /scheduler``) are retried with
exponential backoff on network errors, timeouts, 5xx and 429. Writes are not: a repeated
``POST /videos/add-sound`` is a second paid job, so a submit is only repeated when the
connection was refused before a single byte went out; a 429 (the service says the job was not
started), a timeout or a reset after sending raises at once.
"""

from __future__ import annotations

import email.utils
import ipaddress
import json
import logging
import os
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import IO, Any, TypeVar
from urllib.parse import quote, urljoin, urlsplit

import requests
import urllib3.exceptions

from kling_desktop.api import errors
from kling_desktop.api.models import (
    Account,
    Availability,
    SchedulerEntry,
    Task,
    UploadResult,
    parse_accounts,
    parse_task_history,
)
from kling_desktop.cancel import CancelToken
from kling_desktop.files import atomic_file

log = logging.getLogger(__name__)

ProgressFn = Callable[[int, int], None]
T = TypeVar("T")

UPLOAD_CHUNK = 512 * 1024
DOWNLOAD_CHUNK = 256 * 1024
_MAX_REDIRECTS = 5
#: The most an API answer (JSON, not a file download) may hold; more is MalformedResponse.
JSON_ANSWER_LIMIT = 8 * 1024 * 1024
#: The most of a download's error answer that is read (only to show its text).
ERROR_BODY_LIMIT = 64 * 1024
_READ_CHUNK = 64 * 1024
_BODY_TEXT_CHARS = 1000
_MAX_RETRY_AFTER_S = 120.0

_VIDEO_TYPES = {
    ".mp4": "video/mp4",
    ".m4v": "video/mp4",
    ".mov": "video/quicktime",
    ".qt": "video/quicktime",
}


def _is_loopback(host: str) -> bool:
    host = host.strip("[]").rstrip(".").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _check_url(url: str, what: str) -> tuple[str, str]:
    """Return ``(scheme, host)`` of a usable URL, or raise InvalidUrl / InsecureUrl."""
    try:
        parts = urlsplit(url.strip())
        host = parts.hostname or ""
        _ = parts.port  # raises ValueError on a bad port
    except ValueError as exc:
        raise errors.InvalidUrl(f"{what}: {exc}") from None
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https") or not host:
        raise errors.InvalidUrl(f"{what} must start with https:// and name a host")
    if parts.username is not None or parts.password is not None:
        raise errors.InvalidUrl(f"{what} must not contain a user name or password")
    if scheme == "http" and not _is_loopback(host):
        raise errors.InsecureUrl(f"{what} uses plain http to {host}")
    return scheme, host


def validate_base_url(url: str) -> str:
    """Normalise an API base URL (no trailing slash); refuse plain http off this computer."""
    text = (url or "").strip()
    _check_url(text, "The API address")
    parts = urlsplit(text)
    if parts.query or parts.fragment:
        raise errors.InvalidUrl("The API address must not contain ? or #")
    return text.rstrip("/")


def guess_video_type(path: Path) -> str:
    """``video/mp4`` or ``video/quicktime`` from the suffix, else from the ``ftyp`` brand."""
    by_suffix = _VIDEO_TYPES.get(path.suffix.lower())
    if by_suffix:
        return by_suffix
    try:
        with path.open("rb") as fh:
            head = fh.read(12)
    except OSError:
        head = b""
    if head[4:8] == b"ftyp" and head[8:12] == b"qt  ":
        return "video/quicktime"
    return "video/mp4"


def _retry_after(response: requests.Response) -> float | None:
    value = response.headers.get("Retry-After", "").strip()
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def _read_capped(response: requests.Response, limit: int) -> tuple[bytes, bool]:
    """Read a streamed answer's body: ``(body, True)``, or ``(its start, False)`` when it holds
    more than ``limit`` bytes (a Content-Length over the limit is not read at all). Memory stays
    within about ``limit``, however big the answer. The caller closes the response."""
    declared = response.headers.get("Content-Length", "").strip()
    if declared.isdigit() and int(declared) > limit:
        return b"", False
    data = bytearray()
    for chunk in response.iter_content(_READ_CHUNK):
        data += chunk
        if len(data) > limit:
            return bytes(data[: _BODY_TEXT_CHARS * 4]), False
    return bytes(data), True


def _decode(raw: bytes) -> Any:
    """JSON if the body is JSON (raises ValueError otherwise)."""
    try:
        return json.loads(raw)
    except RecursionError:  # absurdly deep nesting is not an answer either
        raise ValueError("nested too deeply") from None


def _text_of(raw: bytes) -> str:
    return raw.decode("utf-8", "replace")[:_BODY_TEXT_CHARS]


def _body_of(raw: bytes, complete: bool = True) -> Any:
    """An error answer's body: decoded JSON, else its text (possibly empty)."""
    if complete:
        try:
            return _decode(raw)
        except ValueError:
            pass
    return _text_of(raw)


def _parsed(status: int, data: Any, parse: Callable[[Any], T]) -> T:
    """``parse(data)``; a MalformedResponse it raises gets the answer's status and body."""
    try:
        return parse(data)
    except errors.ApiError as exc:
        if exc.status is None:
            exc.status = status
        if exc.body is None:
            exc.body = errors.redact_body(data)
        raise


def _is_unsent(exc: requests.RequestException) -> bool:
    """True when no connection could be made (refused, no such host): nothing went out.

    A connect *timeout* does not count: the brief for submits is "never after a timeout".
    """
    if not isinstance(exc, requests.ConnectionError) or isinstance(
        exc, requests.exceptions.ConnectTimeout
    ):
        return False
    reason = exc.args[0] if exc.args else None
    reason = getattr(reason, "reason", reason)  # MaxRetryError wraps the real cause
    return isinstance(reason, urllib3.exceptions.NewConnectionError)


def _map_exception(exc: requests.RequestException, what: str) -> errors.ApiError:
    if isinstance(exc, requests.Timeout):
        return errors.Timeout(f"{what}: no answer in time")
    return errors.NetworkError(f"{what}: {type(exc).__name__}")


class _UploadBody:
    """Streams a file in chunks: has a length (so requests sends Content-Length) and is
    iterated lazily, so the file is never held in memory whole."""

    def __init__(
        self,
        fh: IO[bytes],
        size: int,
        progress: ProgressFn | None,
        cancel: CancelToken | None,
    ) -> None:
        self._fh = fh
        self._size = size
        self._progress = progress
        self._cancel = cancel
        self.sent = 0

    def __len__(self) -> int:
        return self._size

    def __iter__(self) -> Iterator[bytes]:
        self._fh.seek(0)
        self.sent = 0
        while self.sent < self._size:
            if self._cancel is not None:
                self._cancel.raise_if_cancelled()
            chunk = self._fh.read(min(UPLOAD_CHUNK, self._size - self.sent))
            if not chunk:
                raise errors.BadRequest("The file got shorter while it was being uploaded")
            yield chunk
            # The consumer asks for the next chunk only once this one went to the socket.
            self.sent += len(chunk)
            if self._progress is not None:
                self._progress(self.sent, self._size)
        if self._cancel is not None:
            self._cancel.raise_if_cancelled()


class KlingClient:
    """A small synchronous client for ``https://api.useapi.net/v1/kling`` (no Qt)."""

    def __init__(
        self,
        base_url: str,
        token: str,
        *,
        timeout: float = 30.0,
        retries: int = 3,
        backoff_s: float = 1.0,
        session: requests.Session | None = None,
    ) -> None:
        self._base_url = validate_base_url(base_url)
        parts = urlsplit(self._base_url)
        self._origin = (parts.scheme.lower(), parts.netloc.lower())
        self._token = token.strip()
        self._timeout = timeout
        self._retries = max(0, retries)
        self._backoff_s = max(0.0, backoff_s)
        self._owns_session = session is None
        self._session = session if session is not None else requests.Session()

    @property
    def base_url(self) -> str:
        return self._base_url

    def close(self) -> None:
        if self._owns_session:
            self._session.close()

    def __enter__(self) -> KlingClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- accounts -------------------------------------------------------------------------

    def list_accounts(self) -> list[Account]:
        """``GET /accounts``; no configuration yet (404) is an empty list."""
        try:
            status, data = self._request("GET", "/accounts")
        except errors.NotFound:
            return []
        return _parsed(status, data, parse_accounts)

    def get_account(self, email: str) -> Account:
        """``GET /accounts/{email}``: the configuration and the credit balance."""
        status, data = self._request("GET", f"/accounts/{quote(email, safe='@')}")
        if not isinstance(data, dict):
            raise errors.MalformedResponse("account: expected an object", status=status, body=data)
        return _parsed(status, data, lambda d: Account.parse(d, email))

    def add_account(self, email: str, password: str, max_jobs: int) -> Account:
        """``POST /accounts`` (adds or updates; useapi.net logs in to check the password)."""
        body = {"email": email, "password": password, "maxJobs": max_jobs}
        status, data = self._request("POST", "/accounts", json_body=body, log_body=False)
        if not isinstance(data, dict):
            raise errors.MalformedResponse("account: expected an object", status=status, body=data)
        return _parsed(status, data, lambda d: Account.parse(d, email))

    def delete_account(self, email: str) -> None:
        self._call("DELETE", f"/accounts/{quote(email, safe='@')}", expect_json=False)

    # -- upload / submit / poll -----------------------------------------------------------

    def upload(
        self,
        path: Path,
        *,
        email: str | None,
        content_type: str | None = None,
        progress: ProgressFn | None = None,
        cancel: CancelToken | None = None,
    ) -> UploadResult:
        """``POST /assets/?email=`` with the file's raw bytes, streamed from disk."""
        path = Path(path)
        ctype = content_type or guess_video_type(path)
        if cancel is not None:
            cancel.raise_if_cancelled()
        with path.open("rb") as fh:
            size = os.fstat(fh.fileno()).st_size
            # Repeated by _call only when the connection was refused (nothing was sent).
            status, data = self._request(
                "POST",
                "/assets/",
                params={"email": email},
                data=_UploadBody(fh, size, progress, cancel),
                headers={"Content-Type": ctype},
            )
        if not isinstance(data, dict):
            raise errors.MalformedResponse("upload: expected an object", status=status, body=data)
        return _parsed(status, data, UploadResult.parse)

    def add_sound(
        self,
        *,
        video: str,
        email: str | None,
        keep_original_sound: bool = False,
        max_jobs: int | None = None,
        reply_url: str | None = None,
        reply_ref: str | None = None,
    ) -> Task:
        """``POST /videos/add-sound``: one paid job. Never repeated after an ambiguous failure.

        ``keep_original_sound`` is sent as ``cropVideoOriginalSound``, which the docs define as
        "whether to preserve the original video's sound" (default false: replaced). A 429
        raises :class:`RateLimited` at once (the engine's policy decides when to send again).
        """
        body: dict[str, Any] = {
            "video": video,
            "email": email,
            "cropVideoOriginalSound": keep_original_sound,
            "maxJobs": max_jobs,
            "replyUrl": reply_url,
            "replyRef": reply_ref,
        }
        body = {k: v for k, v in body.items() if v is not None}
        status, data = self._request("POST", "/videos/add-sound", json_body=body)
        return _parsed(status, data, Task.parse)

    def get_task(self, task_id: int, *, email: str | None) -> Task:
        """``GET /tasks/{id}?email=`` (the lookup 400s without email once it matters)."""
        status, data = self._request(
            "GET", f"/tasks/{int(task_id)}", params={"email": email}, retry=True
        )
        return _parsed(status, data, Task.parse)

    def list_tasks(
        self,
        *,
        email: str | None,
        created_after_ms: int | None = None,
        created_before_ms: int | None = None,
        content_type: str | None = None,
        page_size: int | None = None,
    ) -> list[Task]:
        """``GET /tasks/``: the account's recent tasks, newest first (one page)."""
        params = {
            "email": email,
            "createdAfter": created_after_ms,
            "createdBefore": created_before_ms,
            "contentType": content_type,
            "pageSize": page_size,
        }
        status, data = self._request("GET", "/tasks/", params=params, retry=True)
        if not isinstance(data, dict):
            raise errors.MalformedResponse("tasks: expected an object", status=status, body=data)
        return _parsed(status, data, parse_task_history)

    # -- scheduler ------------------------------------------------------------------------

    def scheduler(self) -> list[SchedulerEntry]:
        status, data = self._request("GET", "/scheduler", retry=True)
        if not isinstance(data, list):
            raise errors.MalformedResponse("scheduler: expected a list", status=status, body=data)
        return [SchedulerEntry.parse(item) for item in data if isinstance(item, dict)]

    def scheduler_available(self) -> Availability:
        status, data = self._request("GET", "/scheduler/available", retry=True)
        if not isinstance(data, dict):
            raise errors.MalformedResponse(
                "scheduler: expected an object", status=status, body=data
            )
        return _parsed(status, data, Availability.parse)

    def stop_tracking(self, task_id: int) -> None:
        """``DELETE /scheduler/{id}``: useapi.net stops tracking; Kling still runs (and charges)."""
        self._call(
            "DELETE",
            f"/scheduler/{int(task_id)}",
            retry=True,
            expect_json=False,
            not_found_after_retry_ok=True,
        )

    # -- results --------------------------------------------------------------------------

    def master_download_url(
        self, work_ids: Sequence[int], *, email: str | None, file_types: str = "MP4"
    ) -> str:
        """``GET /assets/download``: the ``cdnUrl`` of the clean (unwatermarked) master."""
        params = {
            "email": email,
            "workIds": ",".join(str(int(w)) for w in work_ids),
            "fileTypes": file_types,
        }
        status, data = self._request("GET", "/assets/download", params=params, retry=True)
        url = data.get("cdnUrl") if isinstance(data, dict) else None
        if not isinstance(url, str) or not url:
            raise errors.MalformedResponse(
                "download: no cdnUrl in the answer", status=status, body=data
            )
        return url

    def download(
        self,
        url: str,
        dest: Path,
        *,
        progress: ProgressFn | None = None,
        cancel: CancelToken | None = None,
    ) -> Path:
        """Stream ``url`` into ``dest`` atomically (temp file beside it, fsync, rename).

        https only (or http to this computer). The API token goes only to the API's own host.
        On any failure or cancel the temp file is removed and ``dest`` is left as it was.
        """
        dest = Path(dest)
        dest.parent.mkdir(parents=True, exist_ok=True)
        attempt = 0
        while True:
            if cancel is not None:
                cancel.raise_if_cancelled()
            try:
                response = self._open_download(url)
            except errors.ApiError as exc:
                if not exc.transient or attempt >= self._retries:
                    raise
                attempt += 1
                self._pause(attempt, exc.retry_after)
                continue
            break
        with response:
            return self._save(response, dest, progress, cancel)

    def _open_download(self, url: str) -> requests.Response:
        for _ in range(_MAX_REDIRECTS + 1):
            _check_url(url, "The download address")
            parts = urlsplit(url)
            same_origin = (parts.scheme.lower(), parts.netloc.lower()) == self._origin
            headers = {"Authorization": f"Bearer {self._token}"} if same_origin else {}
            log.debug("GET %s (download)", parts._replace(query="").geturl())
            try:
                response = self._session.get(
                    url, headers=headers, stream=True, timeout=self._timeout, allow_redirects=False
                )
            except requests.RequestException as exc:
                raise _map_exception(exc, "download") from exc
            if response.is_redirect:
                location = response.headers.get("Location", "")
                response.close()
                url = urljoin(url, location)
                continue
            if response.status_code >= 400:
                try:
                    raw, complete = _read_capped(response, ERROR_BODY_LIMIT)
                except requests.RequestException:
                    raw, complete = b"", False
                finally:
                    response.close()
                raise errors.error_for_status(
                    response.status_code, _body_of(raw, complete), _retry_after(response)
                )
            return response
        raise errors.NetworkError("download: too many redirects")

    def _save(
        self,
        response: requests.Response,
        dest: Path,
        progress: ProgressFn | None,
        cancel: CancelToken | None,
    ) -> Path:
        try:
            total = int(response.headers.get("Content-Length", "0"))
        except ValueError:
            total = 0
        # A result is the user's file like the clip beside it; its temp file is named
        # ``.{name}.{8 random}.part`` (jobs/pipeline.py sweeps those a crash left behind).
        with atomic_file(dest) as out:
            done = 0
            try:
                for chunk in response.iter_content(DOWNLOAD_CHUNK):
                    if cancel is not None:
                        cancel.raise_if_cancelled()
                    out.write(chunk)
                    done += len(chunk)
                    if progress is not None:
                        progress(done, total)
            except requests.RequestException as exc:
                raise _map_exception(exc, "download") from exc
            if cancel is not None:
                cancel.raise_if_cancelled()
            if total and done != total:
                raise errors.NetworkError(f"download: got {done} of {total} bytes")
        return dest

    # -- plumbing -------------------------------------------------------------------------

    def _pause(self, attempt: int, retry_after: float | None) -> None:
        delay = self._backoff_s * (2 ** (attempt - 1))
        if retry_after is not None:
            delay = max(delay, min(retry_after, _MAX_RETRY_AFTER_S))
        if delay > 0:
            time.sleep(delay)

    def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        """:meth:`_request`'s decoded JSON alone."""
        return self._request(method, path, **kwargs)[1]

    def _request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, object] | None = None,
        json_body: Mapping[str, Any] | None = None,
        data: Any = None,
        headers: Mapping[str, str] | None = None,
        retry: bool = False,
        retry_unsent: bool = True,
        expect_json: bool = True,
        log_body: bool = True,
        not_found_after_retry_ok: bool = False,
    ) -> tuple[int, Any]:
        """Send one API request; retry per the module rules; return (status, decoded JSON).

        The answer is read streamed, at most :data:`JSON_ANSWER_LIMIT` bytes of it; redirects
        are not followed (a 3xx is an error like a 4xx).
        """
        url = self._base_url + path
        query = {k: str(v) for k, v in (params or {}).items() if v is not None}
        all_headers = {"Authorization": f"Bearer {self._token}", "Accept": "application/json"}
        all_headers.update(headers or {})
        payload = None
        if json_body is not None:
            payload = json.dumps(json_body).encode("utf-8")
            all_headers["Content-Type"] = "application/json"
        attempt = 0
        ambiguous = False
        while True:
            started = time.monotonic()
            shown = json_body if log_body else "(body not logged)"
            log.debug("%s %s %s %s", method, path, query or "", shown if json_body else "")
            try:
                response = self._session.request(
                    method,
                    url,
                    params=query,
                    data=payload if payload is not None else data,
                    headers=all_headers,
                    timeout=self._timeout,
                    allow_redirects=False,
                    stream=True,
                )
                try:
                    raw, complete = _read_capped(response, JSON_ANSWER_LIMIT)
                finally:
                    response.close()
            except requests.RequestException as exc:
                error = _map_exception(exc, f"{method} {path}")
                unsent = _is_unsent(exc)
                log.debug("%s %s failed: %s", method, path, type(exc).__name__)
                if attempt < self._retries and (retry or (retry_unsent and unsent)):
                    ambiguous = ambiguous or not unsent
                    attempt += 1
                    self._pause(attempt, None)
                    continue
                raise error from exc
            status = response.status_code
            elapsed_ms = (time.monotonic() - started) * 1000
            log.debug("%s %s -> %d (%.0f ms, %d bytes)", method, path, status, elapsed_ms, len(raw))
            if status >= 300:
                body = _body_of(raw, complete)
                error = errors.error_for_status(status, body, _retry_after(response))
                if not_found_after_retry_ok and ambiguous and isinstance(error, errors.NotFound):
                    return status, None
                if retry and error.transient and attempt < self._retries:
                    ambiguous = ambiguous or status >= 500
                    attempt += 1
                    self._pause(attempt, error.retry_after)
                    continue
                raise error
            if not complete:
                raise errors.MalformedResponse(
                    f"{method} {path}: the answer was too large "
                    f"(over {JSON_ANSWER_LIMIT // (1024 * 1024)} MiB)",
                    status=status,
                    body=_text_of(raw),
                )
            if not expect_json:
                return status, None
            try:
                return status, _decode(raw)
            except ValueError:
                raise errors.MalformedResponse(
                    f"{method} {path}: the answer is not JSON",
                    status=status,
                    body=_text_of(raw),
                ) from None
