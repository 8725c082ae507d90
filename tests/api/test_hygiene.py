"""API hygiene: capped answers, no redirects followed, status and body on every error,
lenient flags, redacted error texts (issue 10)."""

from __future__ import annotations

import tracemalloc
from pathlib import Path
from typing import Any

import pytest

from kling_desktop.api import client as client_module
from kling_desktop.api import errors
from kling_desktop.api.client import KlingClient
from kling_desktop.api.models import Task, parse_task_history
from kling_desktop.simulator import DEMO_TOKEN, Simulator
from tests.api.conftest import CaptureServer
from tests.fixtures.media import ClipFactory
from tests.fixtures.sim import DEMO_EMAIL

MB = 1024 * 1024
TOKEN = "user:1234-abcDEFsecret987"


def _video(client: KlingClient, clip: Path) -> str:
    return client.upload(clip, email=DEMO_EMAIL).url


def _requests_to(sim: Simulator, method: str, suffix: str) -> list[int]:
    return [r.status for r in sim.requests if r.method == method and r.path.endswith(suffix)]


# -- answers are read with a cap ---------------------------------------------------------------


def test_huge_answer_is_refused_with_flat_memory(simulator: Simulator) -> None:
    api = KlingClient(simulator.url, DEMO_TOKEN, retries=0, timeout=10)
    simulator.scenario.huge_answer = 1
    simulator.scenario.huge_answer_bytes = 300 * MB  # streamed chunked: no length to go by
    tracemalloc.start()
    try:
        with pytest.raises(errors.MalformedResponse, match="too large") as info:
            api.scheduler()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 40 * MB, f"peak {peak / MB:.1f} MB"
    assert info.value.status == 200 and isinstance(info.value.body, str)
    assert info.value.body.startswith('{"history": [], "padding": "xxx')
    assert api.scheduler() == []  # the next answer is read normally
    api.close()


def test_answer_declared_over_the_cap_is_not_read(
    simulator: Simulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    api = KlingClient(simulator.url, DEMO_TOKEN, retries=0)
    monkeypatch.setattr(client_module, "JSON_ANSWER_LIMIT", 64)
    with pytest.raises(errors.MalformedResponse, match="too large") as info:
        api.list_accounts()  # a few hundred bytes, with a Content-Length
    assert (info.value.status, info.value.body) == (200, "")
    monkeypatch.undo()
    assert [a.email for a in api.list_accounts()] == [DEMO_EMAIL]
    api.close()


def test_download_streams_to_disk_with_flat_memory(client: KlingClient, tmp_path: Path) -> None:
    big = tmp_path / "big.mp4"
    with big.open("wb") as fh:
        fh.truncate(40 * MB)
    url = client.upload(big, email=DEMO_EMAIL).url
    tracemalloc.start()
    try:
        dest = client.download(url, tmp_path / "out" / "copy.mp4")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert dest.stat().st_size == 40 * MB
    assert peak < 10 * MB, f"peak {peak / MB:.1f} MB"


# -- every answer that is an error says its status and body --------------------------------------


def test_redirect_on_submit_is_not_followed(
    client: KlingClient, simulator: Simulator, clip: Path
) -> None:
    video = _video(client, clip)
    simulator.scenario.submit_redirect_after_create = 1
    with pytest.raises(errors.ApiError) as info:
        client.add_sound(video=video, email=DEMO_EMAIL)
    exc = info.value
    assert (exc.status, exc.body, exc.has_error_body) == (302, "", False)
    assert type(exc) is errors.ApiError and not exc.transient
    assert _requests_to(simulator, "POST", "/add-sound") == [302]
    assert not [r for r in simulator.requests if "gateway" in r.path]  # never followed
    assert simulator.submit_count == 1  # and the task exists all the same


def test_redirect_on_poll_is_not_followed(
    client: KlingClient, simulator: Simulator, clip: Path
) -> None:
    task_id = client.add_sound(video=_video(client, clip), email=DEMO_EMAIL).id
    simulator.scenario.poll_odd_once = 1
    simulator.scenario.poll_odd_status = 302
    with pytest.raises(errors.ApiError) as info:
        client.get_task(task_id, email=DEMO_EMAIL)
    assert info.value.status == 302 and not info.value.has_error_body
    assert _requests_to(simulator, "GET", f"/tasks/{task_id}") == [302]
    assert client.get_task(task_id, email=DEMO_EMAIL).id == task_id


def test_empty_400_and_500_after_create(
    client: KlingClient, simulator: Simulator, clip: Path
) -> None:
    video = _video(client, clip)
    simulator.scenario.submit_400_nobody = 1
    with pytest.raises(errors.BadRequest) as empty:
        client.add_sound(video=video, email=DEMO_EMAIL)
    assert (empty.value.status, empty.value.body, empty.value.has_error_body) == (400, "", False)

    simulator.scenario.submit_500_after_create = 1
    with pytest.raises(errors.ServerError) as fault:
        client.add_sound(video=video, email=DEMO_EMAIL)
    assert fault.value.status == 500
    assert fault.value.body == {"error": "Internal Server Error", "code": 500}
    assert fault.value.has_error_body and not isinstance(fault.value, errors.ModerationRejected)
    assert simulator.submit_count == 2


def test_validation_400_has_an_error_body(client: KlingClient, clip_factory: ClipFactory) -> None:
    video = _video(client, clip_factory("short.mp4", 2.0))
    with pytest.raises(errors.BadRequest) as info:
        client.add_sound(video=video, email=DEMO_EMAIL)
    assert info.value.status == 400 and info.value.has_error_body
    assert "3 seconds" in info.value.body["error"]


@pytest.mark.parametrize(
    ("status", "kind"),
    [(400, errors.BadRequest), (404, errors.NotFound), (596, errors.AccountError)],
)
def test_odd_poll_answers_carry_status_and_body(
    client: KlingClient, simulator: Simulator, clip: Path, status: int, kind: type[errors.ApiError]
) -> None:
    task_id = client.add_sound(video=_video(client, clip), email=DEMO_EMAIL).id
    simulator.scenario.poll_odd_once = 1
    simulator.scenario.poll_odd_status = status
    with pytest.raises(kind) as info:
        client.get_task(task_id, email=DEMO_EMAIL)
    assert info.value.status == status and info.value.has_error_body
    assert isinstance(info.value.body, dict) and info.value.body["error"]
    assert client.get_task(task_id, email=DEMO_EMAIL).id == task_id


def test_answer_that_is_not_json_is_malformed_with_status(simulator: Simulator) -> None:
    api = KlingClient(simulator.url, DEMO_TOKEN, retries=0)
    simulator.scenario.malformed_responses = 1
    with pytest.raises(errors.MalformedResponse) as info:
        api.get_task(1, email=DEMO_EMAIL)
    assert info.value.status == 200 and info.value.body.startswith("<html>")
    assert not info.value.has_error_body
    api.close()


@pytest.mark.parametrize(
    ("body", "call"),
    [
        (b'{"task": {}}', "task"),
        (b"[]", "history"),
        (b"[1, 2]", "download"),
        (b'{"email": "a@b.c"}', None),
    ],
)
def test_unusable_json_is_malformed_with_status_and_body(body: bytes, call: str | None) -> None:
    server = CaptureServer(body)
    api = KlingClient(server.url("/v1/kling"), DEMO_TOKEN, retries=0)
    try:
        if call is None:  # a JSON answer that is fine for this call
            assert api.get_account("a@b.c").email == "a@b.c"
            return
        with pytest.raises(errors.MalformedResponse) as info:
            if call == "task":
                api.get_task(7, email=DEMO_EMAIL)
            elif call == "history":
                api.list_tasks(email=DEMO_EMAIL)
            else:
                api.master_download_url([1], email=DEMO_EMAIL)
        assert info.value.status == 200 and info.value.body is not None
    finally:
        api.close()
        server.close()


def test_too_deep_json_is_malformed() -> None:
    server = CaptureServer(b"[" * 200_000 + b"]" * 200_000)
    try:
        api = KlingClient(server.url("/v1/kling"), DEMO_TOKEN, retries=0)
        with pytest.raises(errors.MalformedResponse) as info:
            api.scheduler()
        assert info.value.status == 200
    finally:
        server.close()


def test_has_error_body() -> None:
    def made(body: Any) -> bool:
        return errors.error_for_status(400, body).has_error_body

    assert made({"error": "Invalid parameters"})
    assert made({"message": "Not Found"})
    assert not made({"error": "  ", "message": ""})
    assert not made({"error": None, "code": 400})
    assert not made({"error": {"nested": "x"}})
    assert not made("")
    assert not made("<html>Bad Gateway</html>")
    assert not made(["error"])
    assert not made(None)


# -- lenient flags ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "final"),
    [
        (True, True),
        ("true", True),
        ("True", True),
        (" TRUE ", True),
        (1, True),
        ("1", True),
        (False, False),
        ("false", False),
        ("False", False),
        (0, False),
        ("0", False),
        (None, False),
        ("", False),
        (2, False),
    ],
)
def test_status_final_is_read_leniently(value: Any, final: bool) -> None:
    task = Task.parse({"task": {"id": 5}, "status_final": value, "status_name": "succeed"})
    assert task.status_final is final
    assert task.succeeded is final
    nested = Task.parse({"task": {"id": 5, "status_final": value, "status_name": "failed"}})
    assert nested.status_final is final and nested.failed is final
    [listed] = parse_task_history(
        {"history": [{"works": [{"taskId": 5, "status_final": value, "status_name": "succeed"}]}]}
    )
    assert listed.status_final is final and listed.succeeded is final


@pytest.mark.parametrize("name", ["succeed", "Succeed", "SUCCEED", " succeed "])
def test_status_name_case_does_not_matter(name: str) -> None:
    task = Task.parse({"task": {"id": 5}, "status_final": True, "status_name": name})
    assert task.succeeded and not task.failed and task.status_name == "succeed"


def test_missing_status_final_is_not_final() -> None:
    task = Task.parse({"task": {"id": 5}, "status_name": "succeed"})
    assert not task.status_final and not task.succeeded and not task.failed


# -- redaction -------------------------------------------------------------------------------------


def test_error_texts_and_bodies_are_redacted() -> None:
    body = {
        "error": f"Unauthorized: Bearer {TOKEN} rejected",
        "message": 'login failed for {"email": "a@b.c", "password": "pass word 1"}',
        "echo": {"password": "hunter22", "headers": [f"Authorization: Bearer {TOKEN}"]},
        "token": "opaque-value-42",
    }
    exc = errors.error_for_status(401, body)
    shown = str(exc)
    for text in (shown, exc.server_text, repr(exc.args), repr(exc.body)):
        assert TOKEN not in text and "abcDEFsecret987" not in text
        assert "hunter22" not in text and "pass word 1" not in text
        assert "opaque-value-42" not in text
    assert "[redacted]" in shown and "Unauthorized" in exc.server_text
    assert exc.has_error_body and exc.status == 401
    raw = errors.error_for_status(502, f"<html>token {TOKEN} password=abc123</html>")
    assert TOKEN not in str(raw) and "abc123" not in str(raw)
    assert TOKEN not in raw.body and "abc123" not in raw.body


def test_secret_registered_later_is_redacted_when_shown() -> None:
    from kling_desktop.logs import register_secret

    odd = "no-usual-shape-5551234"
    exc = errors.ServerError(f"echo {odd}")
    register_secret(odd)
    assert odd not in str(exc)
