"""The simulator on its own, driven like the docs' curl examples (plain ``requests``, no client).

These prove the fake answers with the contract's shapes and rules, and that a newcomer can follow
the seed's curl examples against it end to end.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import av
import pytest
import requests

from kling_desktop.simulator import DEMO_TOKEN, Scenario, Simulator
from kling_desktop.simulator.server import scenario_setting
from tests.fixtures.media import ClipFactory
from tests.fixtures.sim import DEMO_EMAIL, wait_until
from tests.simulator.tones import SINE_LEVEL, tone_level

AUTH = {"Authorization": f"Bearer {DEMO_TOKEN}"}


class Curl:
    """``curl``-like calls on one simulator (each a fresh connection, like curl)."""

    def __init__(self, sim: Simulator) -> None:
        self.sim = sim

    def __call__(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        headers = {**AUTH, **kwargs.pop("headers", {})}
        return requests.request(method, self.sim.url + path, headers=headers, timeout=10, **kwargs)

    def upload(self, clip: Path, email: str | None = DEMO_EMAIL, ctype: str = "video/mp4") -> Any:
        query = f"?email={email}" if email else ""
        with clip.open("rb") as fh:
            answer = self("POST", f"/assets/{query}", headers={"Content-Type": ctype}, data=fh)
        assert answer.status_code == 200, answer.text
        return answer.json()

    def submit(self, body: dict[str, Any]) -> requests.Response:
        return self("POST", "/videos/add-sound", json=body)


@pytest.fixture
def curl(simulator: Simulator) -> Curl:
    return Curl(simulator)


@pytest.fixture
def two_accounts(tmp_path: Path) -> Iterator[Simulator]:
    sim = Simulator(
        accounts=(("a@example.com", 1), ("b@example.com", 2)),
        scenario=Scenario(task_seconds=0.5),
        data_dir=tmp_path / "sim2",
    )
    with sim:
        yield sim


def _streams(path: Path) -> list[tuple[str, str]]:
    with av.open(str(path)) as container:
        return [(s.type, s.codec_context.name) for s in container.streams]


def _packets(path: Path) -> list[bytes]:
    with av.open(str(path)) as container:
        return [bytes(p) for p in container.demux(video=0) if p.size]


def _poll_until_final(curl: Curl, task_id: int) -> tuple[dict[str, Any], list[str]]:
    names: list[str] = []
    last: dict[str, Any] = {}

    def final() -> bool:
        answer = curl("GET", f"/tasks/{task_id}?email={DEMO_EMAIL}")
        assert answer.status_code == 200, answer.text
        last.clear()
        last.update(answer.json())
        names.append(last["status_name"])
        return bool(last["status_final"])

    assert wait_until(final, 10)
    return last, names


# -- the documented flow ----------------------------------------------------------------------


@pytest.mark.parametrize("keep", [False, True])
def test_curl_flow_upload_submit_poll_download(
    curl: Curl, simulator: Simulator, clip_factory: ClipFactory, tmp_path: Path, keep: bool
) -> None:
    clip = clip_factory("with-sound.mp4", 4.0, audio=True)
    up = curl.upload(clip)
    assert up["status"] == 1 and up["message"] == ""
    assert set(up) >= {"url", "resourceUrl", "coverUrl", "fileName"}

    answer = curl.submit(
        {"email": DEMO_EMAIL, "video": up["resourceUrl"], "cropVideoOriginalSound": keep}
    )
    assert answer.status_code == 200, answer.text
    submit = answer.json()
    task = submit["task"]
    assert isinstance(task["id"], int)
    assert (task["type"], task["status"], task["status_name"], task["status_final"]) == (
        "kwave_video2audio",
        5,
        "submitted",
        False,
    )
    assert (submit["status"], submit["status_name"], submit["status_final"]) == (
        5,
        "submitted",
        False,
    )
    assert submit["works"] == [] and submit["userPoints"]["total"] > 0
    [video_input] = task["taskInfo"]["inputs"]
    assert video_input["name"] == "video" and video_input["inputType"] == "URL"
    assert video_input["url"] != up["resourceUrl"]  # Kling re-hosts the input
    [payload] = task["taskInfo"]["callbackPayloads"]
    assert payload["name"] == "video2audio_payloads"
    assert payload["arguments"] == [
        {"name": "cropVideoOriginalSound", "value": "true" if keep else "false"}
    ]

    final, names = _poll_until_final(curl, task["id"])
    assert names[-1] == "succeed" and set(names[:-1]) <= {"submitted", "processing"}
    assert (final["status"], final["task"]["status_final"]) == (99, True)
    [work] = final["works"]
    assert work["taskId"] == task["id"] and work["contentType"] == "video"
    assert (work["resource"]["width"], work["resource"]["height"]) == (320, 180)
    assert work["resource"]["duration"] == 4000

    result = tmp_path / "result.mp4"
    got = requests.get(work["resource"]["resource"], timeout=10)  # the CDN needs no token
    assert got.status_code == 200 and got.headers["Content-Type"] == "video/mp4"
    result.write_bytes(got.content)
    streams = _streams(result)
    assert streams[0] == ("video", "h264")
    # One sound track, the clip's own 440 Hz mixed into it only when kept (the docs' reading).
    assert [s for s in streams if s[0] == "audio"] == [("audio", "aac")]
    generated = simulator.generated_tone_hz(task["id"])
    assert tone_level(result, generated) == pytest.approx(SINE_LEVEL, rel=0.1)
    assert (tone_level(result, 440.0) > SINE_LEVEL * 0.9) is keep
    assert _packets(result) == _packets(clip)  # the video was remuxed, not re-encoded
    cover = requests.get(work["cover"]["resource"], timeout=10)
    assert cover.content[:2] == b"\xff\xd8"  # a JPEG


def test_multipart_submit_is_accepted(curl: Curl, clip: Path) -> None:
    up = curl.upload(clip)
    fields = {"video": (None, up["resourceUrl"]), "cropVideoOriginalSound": (None, "true")}
    answer = curl("POST", "/videos/add-sound", files=fields)
    assert answer.status_code == 200, answer.text
    assert (
        answer.json()["task"]["taskInfo"]["callbackPayloads"][0]["arguments"][0]["value"] == "true"
    )


# -- auth, email, routing ---------------------------------------------------------------------


def test_token_is_required(simulator: Simulator, curl: Curl, clip: Path) -> None:
    for headers in ({}, {"Authorization": "Bearer user:1-nope"}, {"Authorization": DEMO_TOKEN}):
        answer = requests.get(simulator.url + "/accounts", headers=headers, timeout=5)
        assert (answer.status_code, answer.json()) == (401, {"error": "Unauthorized", "code": 401})
    simulator.scenario.bad_token = True
    assert curl("GET", "/scheduler").status_code == 401


def test_email_rules_with_several_accounts(two_accounts: Simulator, clip: Path) -> None:
    curl = Curl(two_accounts)
    with clip.open("rb") as fh:
        missing = curl("POST", "/assets/", headers={"Content-Type": "video/mp4"}, data=fh)
    assert missing.status_code == 400 and "email" in missing.json()["error"]
    up = curl.upload(clip, email="a@example.com")
    assert curl.submit({"video": up["resourceUrl"]}).status_code == 400
    unknown = curl.submit({"video": up["resourceUrl"], "email": "nobody@example.com"})
    assert unknown.status_code == 404
    ok = curl.submit({"video": up["resourceUrl"], "email": "b@example.com"})
    assert ok.status_code == 200
    task_id = ok.json()["task"]["id"]
    assert curl("GET", f"/tasks/{task_id}?email=b@example.com").status_code == 200
    assert curl("GET", f"/tasks/{task_id}?email=a@example.com").status_code == 404


def test_email_is_optional_with_one_account_but_not_for_task_lookup(curl: Curl, clip: Path) -> None:
    up = curl.upload(clip, email=None)
    answer = curl.submit({"video": up["resourceUrl"]})
    assert answer.status_code == 200
    task_id = answer.json()["task"]["id"]
    lookup = curl("GET", f"/tasks/{task_id}")
    assert lookup.status_code == 400 and "email" in lookup.json()["error"]
    assert curl("GET", f"/tasks/abc?email={DEMO_EMAIL}").json() == {
        "error": "Invalid task_id parameter"
    }


def test_unknown_route_is_404_json(curl: Curl, simulator: Simulator) -> None:
    answer = curl("GET", "/videos/nothing-here")
    assert answer.status_code == 404 and "error" in answer.json()
    assert requests.get(simulator.origin + "/elsewhere", timeout=5).status_code == 404


# -- upload -----------------------------------------------------------------------------------


def test_upload_checks_content_type(curl: Curl, clip: Path) -> None:
    with clip.open("rb") as fh:
        answer = curl("POST", "/assets/", headers={"Content-Type": "video/webm"}, data=fh)
    assert answer.status_code == 400
    assert answer.json()["error"] == (
        "Content-Type video/webm is not supported. Valid values: image/png,image/jpeg,"
        "video/mp4,video/quicktime,audio/wav,audio/wave,audio/mpeg,audio/mp4,audio/flac,"
        "audio/aac,audio/ogg"
    )


def test_image_upload_answers_status_3_and_url(curl: Curl, tmp_path: Path) -> None:
    image = tmp_path / "a.jpg"
    image.write_bytes(b"\xff\xd8\xff" + bytes(1000))
    answer = curl.upload(image, ctype="image/jpeg")
    assert answer["status"] == 3 and answer["url"].endswith(".jpg") and "resourceUrl" not in answer


def test_oversize_upload_is_refused_before_the_body_is_read(simulator: Simulator) -> None:
    with socket.create_connection(("127.0.0.1", int(simulator.origin.rsplit(":", 1)[1]))) as s:
        s.settimeout(5)
        s.sendall(
            b"POST /v1/kling/assets/?email=demo@example.com HTTP/1.1\r\n"
            b"Host: x\r\nAuthorization: Bearer " + DEMO_TOKEN.encode() + b"\r\n"
            b"Content-Type: video/mp4\r\nContent-Length: 209715200\r\n\r\n"
        )
        # Answered although not one body byte was sent.
        answer = b""
        while not answer.endswith(b"}"):
            piece = s.recv(4096)
            assert piece, answer
            answer += piece
    assert answer.startswith(b"HTTP/1.1 400")
    assert b"100MB" in answer


def test_chunked_upload_is_accepted(curl: Curl, simulator: Simulator, clip: Path) -> None:
    data = clip.read_bytes()

    def pieces() -> Iterator[bytes]:
        for i in range(0, len(data), 7000):
            yield data[i : i + 7000]

    answer = curl(
        "POST", f"/assets/?email={DEMO_EMAIL}", headers={"Content-Type": "video/mp4"}, data=pieces()
    )
    assert answer.status_code == 200, answer.text
    stored = simulator.data_dir / "uploads" / answer.json()["fileName"]
    assert stored.read_bytes() == data


# -- add-sound rules --------------------------------------------------------------------------


def test_submit_validation(curl: Curl, simulator: Simulator, clip_factory: ClipFactory) -> None:
    assert curl.submit({}).status_code == 400
    bad = curl.submit({"video": "not a url"})
    assert (bad.status_code, bad.json()) == (400, {"error": "Invalid video URL format"})
    foreign = curl.submit({"video": "https://s21-kling.klingai.com/abc.mp4"})
    assert foreign.status_code == 404
    assert foreign.json() == {
        "error": "Sorry, the requested resource was not found (VALID.ResourceNotFound)",
        "message": "Not Found",
    }
    short = curl.upload(clip_factory("short.mp4", 2.5))
    too_short = curl.submit({"video": short["resourceUrl"]})
    assert too_short.status_code == 400 and "3 seconds" in too_short.json()["error"]
    long = curl.upload(clip_factory("long.mp4", 21.0, width=64, height=64, fps=5))
    assert curl.submit({"video": long["resourceUrl"]}).status_code == 400
    ok = curl.upload(clip_factory("ok.mp4", 3.0))
    assert curl.submit({"video": ok["url"], "maxJobs": 0}).status_code == 400
    assert curl.submit({"video": ok["url"], "cropVideoOriginalSound": "maybe"}).status_code == 400
    assert simulator.submit_count == 0
    assert curl.submit({"video": ok["url"]}).status_code == 200  # url works as well


def test_moderation_body_is_the_seeds(curl: Curl, simulator: Simulator, clip: Path) -> None:
    up = curl.upload(clip)
    simulator.scenario.moderate_submit = True
    answer = curl.submit({"video": up["resourceUrl"]})
    assert answer.status_code == 500
    assert "CM_EXT.POther" in answer.json()["error"]
    assert simulator.submit_count == 0


def test_max_jobs_per_account_and_per_request(two_accounts: Simulator, clip: Path) -> None:
    curl = Curl(two_accounts)
    two_accounts.scenario.task_seconds = 5
    up = curl.upload(clip, email="a@example.com")
    body = {"video": up["resourceUrl"], "email": "a@example.com"}
    first = curl.submit(body)
    assert first.status_code == 200
    busy = curl.submit(body)  # a@ has maxJobs 1
    assert busy.status_code == 429 and "busy" in busy.json()["error"]
    b_body = {**body, "email": "b@example.com"}
    assert curl.submit({**b_body, "maxJobs": 1}).status_code == 200
    assert curl.submit({**b_body, "maxJobs": 1}).status_code == 429
    assert curl.submit(b_body).status_code == 200  # b@ allows 2
    # Stop tracking frees a@'s slot; the task itself keeps running at "Kling".
    task_id = first.json()["task"]["id"]
    stopped = curl("DELETE", f"/scheduler/{task_id}")
    assert (stopped.status_code, stopped.text) == (200, "Task was successfully canceled.")
    again = curl("DELETE", f"/scheduler/{task_id}")
    assert again.status_code == 404
    assert again.json() == {"error": f"Unable to locate running task_id {task_id}"}
    assert curl.submit(body).status_code == 200
    assert two_accounts.submit_count == 4


def test_429_scenario_with_retry_after(curl: Curl, simulator: Simulator, clip: Path) -> None:
    up = curl.upload(clip)
    simulator.scenario.submit_429 = 1
    simulator.scenario.retry_after = 3
    answer = curl.submit({"video": up["resourceUrl"]})
    assert answer.status_code == 429 and answer.headers["Retry-After"] == "3"
    assert curl.submit({"video": up["resourceUrl"]}).status_code == 200


def test_dropped_submit_creates_the_task_then_hangs_up(
    curl: Curl, simulator: Simulator, clip: Path
) -> None:
    up = curl.upload(clip)
    simulator.scenario.drop_submit_response = 1
    with pytest.raises(requests.ConnectionError):
        curl.submit({"video": up["resourceUrl"], "replyRef": "r-1"})
    assert simulator.wait_for_submits(1, timeout=5)
    assert not simulator.wait_for_submits(2, timeout=0.05)
    [task] = simulator.tasks()
    assert task["reply_ref"] == "r-1"
    [running] = curl("GET", "/scheduler").json()
    assert (running["id"], running["replyRef"]) == (task["id"], "r-1")


def test_final_failure_and_poll_faults(curl: Curl, simulator: Simulator, clip: Path) -> None:
    up = curl.upload(clip)
    simulator.scenario.final_failure = True
    task_id = curl.submit({"video": up["resourceUrl"]}).json()["task"]["id"]
    simulator.scenario.poll_5xx = 2
    assert [curl("GET", f"/tasks/{task_id}?email={DEMO_EMAIL}").status_code for _ in "ab"] == [
        503,
        500,
    ]
    final, _ = _poll_until_final(curl, task_id)
    assert final["status_name"] != "succeed" and final["error"] and final["works"] == []
    simulator.scenario.poll_404 = True
    assert curl("GET", f"/tasks/{task_id}?email={DEMO_EMAIL}").status_code == 404
    simulator.scenario.account_error = True
    answer = curl("GET", f"/tasks/{task_id}?email={DEMO_EMAIL}")
    assert answer.status_code == 596 and answer.json()["code"] == 596


# -- money hazards: answers that say nothing certain about a submit (issue 10) -----------------


def _scheduled(curl: Curl) -> list[dict[str, Any]]:
    answer = curl("GET", "/scheduler")
    assert answer.status_code == 200
    items: list[dict[str, Any]] = answer.json()
    return items


def _listed(curl: Curl) -> list[int]:
    answer = curl("GET", f"/tasks/?email={DEMO_EMAIL}")
    assert answer.status_code == 200
    return [item["task"]["id"] for item in answer.json()["history"]]


@pytest.mark.parametrize(
    ("fault", "status"),
    [
        ("submit_500_after_create", 500),
        ("submit_redirect_after_create", 302),
        ("submit_400_nobody", 400),
    ],
)
def test_fault_after_the_task_was_created(
    curl: Curl, simulator: Simulator, clip: Path, fault: str, status: int
) -> None:
    simulator.scenario.task_seconds = 5
    up = curl.upload(clip)
    setattr(simulator.scenario, fault, 1)
    answer = curl(
        "POST",
        "/videos/add-sound",
        json={"video": up["resourceUrl"], "replyRef": "r-1"},
        allow_redirects=False,
    )
    assert answer.status_code == status
    if status == 500:
        assert answer.json() == {"error": "Internal Server Error", "code": 500}
    elif status == 302:
        location = answer.headers["Location"]
        assert location.startswith(simulator.origin + "/") and "/v1/kling" not in location
        assert answer.content == b""
    else:
        assert answer.content == b"" and "json" not in answer.headers.get("Content-Type", "")
    # The task exists and is charged although the answer does not say so.
    assert simulator.submit_count == 1 and simulator.foreign_task_count == 0
    [task] = simulator.tasks()
    assert (task["reply_ref"], task["foreign"], task["visible"]) == ("r-1", False, True)
    assert _listed(curl) == [task["id"]]
    assert [(i["id"], i["replyRef"]) for i in _scheduled(curl)] == [(task["id"], "r-1")]
    assert getattr(simulator.scenario, fault) == 0  # counted down
    assert curl.submit({"video": up["resourceUrl"]}).status_code == 200
    assert simulator.submit_count == 2


@pytest.mark.parametrize(
    ("status", "body"),
    [
        (400, {"error": "Invalid parameters"}),
        (404, None),
        (596, None),
        (302, None),
        (503, {"error": "Service Unavailable", "code": 503}),
    ],
)
def test_poll_odd_once(
    curl: Curl, simulator: Simulator, clip: Path, status: int, body: dict[str, Any] | None
) -> None:
    up = curl.upload(clip)
    task_id = curl.submit({"video": up["resourceUrl"]}).json()["task"]["id"]
    simulator.scenario.poll_odd_once = 1
    simulator.scenario.poll_odd_status = status
    lookup = f"/tasks/{task_id}?email={DEMO_EMAIL}"
    odd = curl("GET", lookup, allow_redirects=False)
    assert odd.status_code == status
    if body is not None:
        assert odd.json() == body
    elif status == 404:
        assert odd.json() == {"error": f"Task {task_id} not found"}
    elif status == 596:
        assert odd.json() == {
            "error": f"Account {DEMO_EMAIL} in error state: refresh token rejected",
            "code": 596,
        }
    else:
        assert odd.headers["Location"].startswith(simulator.origin + "/") and odd.content == b""
    again = curl("GET", lookup, allow_redirects=False)
    assert again.status_code == 200 and again.json()["task"]["id"] == task_id
    assert simulator.scenario.poll_odd_once == 0


def test_lost_submit_while_another_client_starts_one(
    curl: Curl, simulator: Simulator, clip: Path
) -> None:
    simulator.scenario.task_seconds = 5
    up = curl.upload(clip)
    simulator.scenario.submit_lost_other_client = 1
    with pytest.raises(requests.ConnectionError):
        curl.submit({"video": up["resourceUrl"], "email": DEMO_EMAIL, "replyRef": "mine"})
    assert [r.status for r in simulator.requests if r.path.endswith("/add-sound")] == [0]
    # Ours was never created; the other client's task was, on the same account.
    assert simulator.submit_count == 0 and simulator.foreign_task_count == 1
    [other] = simulator.tasks()
    assert other["foreign"] and other["reply_ref"] is None and other["email"] == DEMO_EMAIL
    assert up["fileName"] not in other["video"]  # a different upload of the same clip
    assert abs(other["created_ms"] / 1000 - time.time()) < 60
    history = curl("GET", f"/tasks/?email={DEMO_EMAIL}").json()["history"]
    assert [item["task"]["id"] for item in history] == [other["id"]]
    input_url = history[0]["task"]["taskInfo"]["inputs"][0]["url"]
    assert input_url == other["video"] and requests.get(input_url, timeout=10).content == (
        clip.read_bytes()
    )
    [scheduled] = _scheduled(curl)
    assert scheduled["id"] == other["id"] and "replyRef" not in scheduled
    assert curl("GET", f"/tasks/{other['id']}?email={DEMO_EMAIL}").status_code == 200
    # The next submit is ours again and is told apart from the foreign one.
    mine = curl.submit({"video": up["resourceUrl"], "replyRef": "mine"})
    assert mine.status_code == 200
    assert simulator.submit_count == 1 and simulator.foreign_task_count == 1
    assert [(t["reply_ref"], t["foreign"]) for t in simulator.tasks()] == [
        (None, True),
        ("mine", False),
    ]


def test_lost_submit_with_an_unusable_video_starts_nothing(
    curl: Curl, simulator: Simulator
) -> None:
    simulator.scenario.submit_lost_other_client = 1
    with pytest.raises(requests.ConnectionError):
        curl.submit({"video": "https://s21-kling.klingai.com/abc.mp4"})
    assert simulator.tasks() == [] and simulator.foreign_task_count == 0


def test_late_task_after_a_dropped_answer(curl: Curl, simulator: Simulator, clip: Path) -> None:
    simulator.scenario.task_seconds = 6
    simulator.scenario.late_task_seconds = 1.0
    up = curl.upload(clip)
    # Without a dropped answer nothing is late.
    shown = curl.submit({"video": up["resourceUrl"], "replyRef": "on-time"}).json()["task"]["id"]
    simulator.scenario.drop_submit_response = 1
    with pytest.raises(requests.ConnectionError):
        curl.submit({"video": up["resourceUrl"], "replyRef": "late"})
    assert simulator.submit_count == 2  # charged all the same
    [_, late] = simulator.tasks()
    assert late["reply_ref"] == "late" and not late["visible"]
    assert _listed(curl) == [shown]
    assert [i["id"] for i in _scheduled(curl)] == [shown]
    available = curl("GET", "/scheduler/available").json()
    assert [e["id"] for e in available["executing"]] == [shown]
    lookup = curl("GET", f"/tasks/{late['id']}?email={DEMO_EMAIL}")
    assert lookup.status_code == 404
    # ... and then it shows up everywhere.
    assert wait_until(lambda: late["id"] in _listed(curl), 5)
    assert simulator.tasks()[1]["visible"]
    assert {(i["id"], i.get("replyRef")) for i in _scheduled(curl)} == {
        (shown, "on-time"),
        (late["id"], "late"),
    }
    assert curl("GET", f"/tasks/{late['id']}?email={DEMO_EMAIL}").status_code == 200


def test_chunked_upload_over_100_mb_is_refused_and_not_kept(
    curl: Curl, simulator: Simulator
) -> None:
    piece = bytes(1024 * 1024)

    def body() -> Iterator[bytes]:
        for _ in range(100):
            yield piece
        yield b"x"

    answer = curl(
        "POST", f"/assets/?email={DEMO_EMAIL}", headers={"Content-Type": "video/mp4"}, data=body()
    )
    assert answer.status_code == 400 and "100MB" in answer.json()["error"]
    assert list((simulator.data_dir / "uploads").iterdir()) == []


def test_huge_answer_is_valid_chunked_json(curl: Curl, simulator: Simulator) -> None:
    simulator.scenario.huge_answer = 1
    simulator.scenario.huge_answer_bytes = 3 * 1024 * 1024
    answer = curl("GET", "/scheduler", stream=True)
    assert answer.status_code == 200
    assert "Content-Length" not in answer.headers
    assert answer.headers["Transfer-Encoding"] == "chunked"
    data = answer.content
    assert len(data) == 3 * 1024 * 1024 and json.loads(data)["history"] == []
    assert curl("GET", "/scheduler").json() == []


def test_scenario_settings_from_the_command_line() -> None:
    assert scenario_setting("submit_500_after_create=2") == ("submit_500_after_create", 2)
    assert scenario_setting("late-task-seconds=1.5") == ("late_task_seconds", 1.5)
    assert scenario_setting("poll_404=yes") == ("poll_404", True)
    assert scenario_setting("retry_after=none") == ("retry_after", None)
    assert scenario_setting("retry_after=3") == ("retry_after", 3.0)
    for bad in ("nothing=1", "submit_429", "submit_429=many", "poll_404=perhaps"):
        with pytest.raises(ValueError):
            scenario_setting(bad)


# -- lists, scheduler, downloads, accounts -----------------------------------------------------


def test_task_history(curl: Curl, simulator: Simulator, clip: Path) -> None:
    up = curl.upload(clip)
    ids = [curl.submit({"video": up["resourceUrl"]}).json()["task"]["id"] for _ in range(3)]
    history = curl("GET", f"/tasks/?email={DEMO_EMAIL}").json()["history"]
    assert [item["task"]["id"] for item in history] == ids[::-1]
    assert all(item["works"] == [] for item in history)  # still running
    created = [item["task"]["createTime"] for item in history]
    after = curl("GET", f"/tasks/?email={DEMO_EMAIL}&createdAfter={created[-1]}").json()
    assert all(item["task"]["createTime"] > created[-1] for item in after["history"])
    both = f"/tasks/?email={DEMO_EMAIL}&createdAfter=1&createdBefore=2"
    assert curl("GET", both).json() == {"error": "Invalid parameters"}
    assert curl("GET", "/tasks/?contentType=audio").json() == {"history": []}
    assert len(curl("GET", "/tasks/?pageSize=2").json()["history"]) == 2
    _poll_until_final(curl, ids[0])
    done = [i for i in curl("GET", "/tasks/").json()["history"] if i["task"]["id"] == ids[0]]
    [work] = done[0]["works"]
    assert work["taskId"] == ids[0] and work["taskInfo"]["inputs"][0]["url"]


def test_scheduler_available_shape(two_accounts: Simulator, clip: Path) -> None:
    curl = Curl(two_accounts)
    up = curl.upload(clip, email="b@example.com")
    curl.submit({"video": up["resourceUrl"], "email": "b@example.com", "replyUrl": "https://h/x"})
    answer = curl("GET", "/scheduler/available").json()
    assert [e["email"] for e in answer["executing"]] == ["b@example.com"]
    assert answer["executing"][0]["replyUrl"] == "https://h/x"
    assert answer["available"] == [
        {"email": "a@example.com", "maxJobs": 1, "executing": 0, "available": 1},
        {"email": "b@example.com", "maxJobs": 2, "executing": 1, "available": 1},
    ]


def test_assets_download(curl: Curl, simulator: Simulator, clip: Path, tmp_path: Path) -> None:
    simulator.scenario.task_seconds = 0
    up = curl.upload(clip)
    task_id = curl.submit({"video": up["resourceUrl"]}).json()["task"]["id"]
    final, _ = _poll_until_final(curl, task_id)
    work_id = final["works"][0]["workId"]
    assert curl("GET", "/assets/download?workIds=abc").json() == {"error": "Invalid parameters"}
    single = curl("GET", f"/assets/download?workIds={work_id}&fileTypes=MP4").json()
    assert single["status"] == "success" and single["cdnUrl"].endswith(".mp4")
    master = requests.get(single["cdnUrl"], timeout=10).content
    assert master == requests.get(final["works"][0]["resource"]["resource"], timeout=10).content
    bundle = curl("GET", f"/assets/download?workIds={work_id}&fileTypes=MP4,WAV").json()
    archive = tmp_path / "a.zip"
    archive.write_bytes(requests.get(bundle["cdnUrl"], timeout=10).content)
    with zipfile.ZipFile(archive) as zf:
        assert sorted(zf.namelist()) == [f"{work_id}.mp4", f"{work_id}.wav"]


def test_accounts_endpoints(curl: Curl, simulator: Simulator, clip: Path) -> None:
    listed = curl("GET", "/accounts").json()
    assert list(listed) == [DEMO_EMAIL]
    assert listed[DEMO_EMAIL]["password"] == "…secured…" and listed[DEMO_EMAIL]["maxJobs"] == 3
    assert set(listed[DEMO_EMAIL]["session"]) == {"userId", "ExpireTime", "ExpireTimeUTC"}

    body = {"email": "new@example.com", "password": "hunter22", "maxJobs": 5}
    created = curl("POST", "/accounts", json=body)
    assert created.status_code == 201
    assert created.json()["password"] == "…secured…" and "hunter22" not in created.text
    assert curl("POST", "/accounts", json={**body, "maxJobs": 51}).status_code == 400
    assert (
        curl("POST", "/accounts", json={"email": "x@example.com", "maxJobs": 1}).status_code == 400
    )
    wrong = curl("POST", "/accounts", json={**body, "password": "wrong-one"})
    assert wrong.json() == {"error": "Account does not exist or password is incorrect"}

    before = curl("GET", f"/accounts/{DEMO_EMAIL}").json()["balance"]["total"]
    up = curl.upload(clip, email=DEMO_EMAIL)
    curl.submit({"video": up["resourceUrl"], "email": DEMO_EMAIL})
    after = curl("GET", f"/accounts/{DEMO_EMAIL}").json()["balance"]
    assert after["total"] < before and after["points"][0]["balance"] == after["total"]

    assert curl("DELETE", "/accounts/new@example.com").status_code in (200, 204)
    assert curl("GET", "/accounts/new@example.com").status_code == 404
    assert curl("DELETE", f"/accounts/{DEMO_EMAIL}").status_code in (200, 204)
    empty = curl("GET", "/accounts")
    assert empty.status_code == 404 and "POST /accounts" in empty.json()["error"]


def test_malformed_and_truncated_scenarios(curl: Curl, simulator: Simulator, clip: Path) -> None:
    simulator.scenario.malformed_responses = 1
    answer = curl("GET", "/scheduler")
    assert answer.status_code == 200
    with pytest.raises(json.JSONDecodeError):
        answer.json()
    up = curl.upload(clip)
    simulator.scenario.truncate_downloads = 1
    with pytest.raises(requests.exceptions.ChunkedEncodingError):
        requests.get(up["resourceUrl"], timeout=5).content  # noqa: B018
    assert requests.get(up["resourceUrl"], timeout=5).content == clip.read_bytes()


# -- command line -----------------------------------------------------------------------------


@pytest.mark.subprocess
def test_python_m_simulator_prints_url_and_serves() -> None:
    command = [sys.executable, "-m", "kling_desktop.simulator", "--port", "0"]
    with subprocess.Popen(command, stdout=subprocess.PIPE, text=True) as proc:
        try:
            assert proc.stdout is not None
            first = proc.stdout.readline()
            assert first.startswith("Kling simulator running at http://127.0.0.1:")
            url = first.rsplit(" ", 1)[1].strip()
            assert proc.stdout.readline().strip() == f"Token: {DEMO_TOKEN}"
            answer = requests.get(url + "/accounts", headers=AUTH, timeout=5)
            assert list(answer.json()) == [DEMO_EMAIL]
        finally:
            proc.terminate()
            assert proc.wait(10) == 0


@pytest.mark.subprocess
def test_python_m_simulator_takes_scenario_settings() -> None:
    command = [sys.executable, "-m", "kling_desktop.simulator", "--port", "0"]
    command += ["--scenario", "subscription_required=true", "--scenario", "poll_odd_status=400"]
    with subprocess.Popen(command, stdout=subprocess.PIPE, text=True) as proc:
        try:
            assert proc.stdout is not None
            url = proc.stdout.readline().rsplit(" ", 1)[1].strip()
            answer = requests.get(url + "/accounts", headers=AUTH, timeout=5)
            assert (answer.status_code, answer.json()["code"]) == (402, 402)
        finally:
            proc.terminate()
            assert proc.wait(10) == 0
    bad = subprocess.run(
        [*command[:-4], "--scenario", "no_such_fault=1"], capture_output=True, text=True, timeout=30
    )
    assert bad.returncode == 2 and "no_such_fault" not in bad.stdout
    assert "NAME=VALUE" in bad.stderr
