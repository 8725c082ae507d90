"""KlingClient against the simulator over real HTTP on 127.0.0.1."""

from __future__ import annotations

import logging
import time
import tracemalloc
from pathlib import Path

import pytest
import requests

from kling_desktop.api import errors
from kling_desktop.api.client import KlingClient, guess_video_type, validate_base_url
from kling_desktop.cancel import Cancelled, CancelToken
from kling_desktop.simulator import DEMO_TOKEN, Simulator
from tests.api.conftest import CaptureServer, SilentServer
from tests.fixtures.media import ClipFactory
from tests.fixtures.sim import DEMO_EMAIL, wait_final, wait_until

MB = 1024 * 1024


def _sparse(path: Path, size: int) -> Path:
    with path.open("wb") as fh:
        fh.truncate(size)
    return path


def _submit(client: KlingClient, clip: Path, **kwargs: object) -> int:
    video = client.upload(clip, email=DEMO_EMAIL).url
    return client.add_sound(video=video, email=DEMO_EMAIL, **kwargs).id  # type: ignore[arg-type]


def _posts(sim: Simulator, suffix: str) -> list[int]:
    return [r.status for r in sim.requests if r.method == "POST" and r.path.endswith(suffix)]


# -- base URL ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://api.useapi.net/v1/kling/", "https://api.useapi.net/v1/kling"),
        ("  https://api.useapi.net/v1/kling  ", "https://api.useapi.net/v1/kling"),
        ("http://127.0.0.1:8123/v1/kling", "http://127.0.0.1:8123/v1/kling"),
        ("http://127.9.8.7/v1/kling/", "http://127.9.8.7/v1/kling"),
        ("http://[::1]:9000/v1/kling", "http://[::1]:9000/v1/kling"),
        ("http://localhost:9000/v1/kling", "http://localhost:9000/v1/kling"),
    ],
)
def test_validate_base_url_normalises(url: str, expected: str) -> None:
    assert validate_base_url(url) == expected


@pytest.mark.parametrize(
    "url", ["http://api.useapi.net/v1/kling", "http://10.0.0.1/v1", "http://128.0.0.1/x"]
)
def test_plain_http_is_refused_off_this_computer(url: str) -> None:
    with pytest.raises(errors.InsecureUrl):
        validate_base_url(url)
    with pytest.raises(errors.InsecureUrl):
        KlingClient(url, DEMO_TOKEN)


@pytest.mark.parametrize(
    "url", ["", "garbage", "ftp://x.org/v1", "https://", "https://u:p@x.org", "https://x:99999/"]
)
def test_garbage_base_url_is_a_value_error(url: str) -> None:
    with pytest.raises(ValueError) as info:
        validate_base_url(url)
    assert isinstance(info.value, errors.BadRequest)


def test_guess_video_type(tmp_path: Path) -> None:
    assert guess_video_type(tmp_path / "a.MOV") == "video/quicktime"
    assert guess_video_type(tmp_path / "a.mp4") == "video/mp4"
    odd = tmp_path / "clip.bin"
    odd.write_bytes(b"\x00\x00\x00\x14ftypqt  \x00\x00\x00\x00")
    assert guess_video_type(odd) == "video/quicktime"
    odd.write_bytes(b"\x00\x00\x00\x18ftypisom\x00\x00\x02\x00")
    assert guess_video_type(odd) == "video/mp4"


# -- accounts ---------------------------------------------------------------------------------


def test_accounts_list_get_add_delete(
    client: KlingClient, simulator: Simulator, caplog: pytest.LogCaptureFixture
) -> None:
    accounts = client.list_accounts()
    assert [(a.email, a.max_jobs) for a in accounts] == [(DEMO_EMAIL, 3)]
    assert accounts[0].session.user_id

    caplog.set_level(logging.DEBUG, logger="kling_desktop")
    added = client.add_account("second@example.com", "s3cret-Pa55", 7)
    assert (added.email, added.max_jobs) == ("second@example.com", 7)
    assert "s3cret-Pa55" not in caplog.text
    assert DEMO_TOKEN not in caplog.text
    assert "/accounts" in caplog.text  # requests are logged, without the secrets

    detail = client.get_account("second@example.com")
    assert detail.balance is not None and detail.balance.total > 0
    assert {a.email for a in client.list_accounts()} == {DEMO_EMAIL, "second@example.com"}

    client.delete_account("second@example.com")
    with pytest.raises(errors.NotFound):
        client.get_account("second@example.com")
    client.delete_account(DEMO_EMAIL)
    assert client.list_accounts() == []  # 404 "Configuration not found" -> none


def test_add_account_validation(client: KlingClient) -> None:
    with pytest.raises(errors.BadRequest, match="1-50"):
        client.add_account("x@example.com", "pw", 0)
    with pytest.raises(errors.BadRequest) as info:
        client.add_account("x@example.com", "wrong-password", 3)
    assert "password is incorrect" in info.value.server_text


def test_balance_drops_per_submit(client: KlingClient, clip: Path) -> None:
    before = client.get_account(DEMO_EMAIL).balance
    assert before is not None
    video = client.upload(clip, email=DEMO_EMAIL).url
    task = client.add_sound(video=video, email=DEMO_EMAIL)
    after = client.get_account(DEMO_EMAIL).balance
    assert after is not None and after.total < before.total
    assert task.points_total == after.total


# -- upload / submit / poll -------------------------------------------------------------------


def test_upload_returns_the_video_resource_url(
    client: KlingClient, simulator: Simulator, clip_factory: ClipFactory
) -> None:
    mov = clip_factory("clip.mov", 4.0)
    seen: list[tuple[int, int]] = []
    result = client.upload(mov, email=DEMO_EMAIL, progress=lambda d, t: seen.append((d, t)))
    assert result.status == 1
    assert "/v15/upload/" in result.url  # resourceUrl wins over url for video
    assert result.file_name.endswith(".mov")  # stored as quicktime: the type was guessed
    assert seen[-1] == (mov.stat().st_size, mov.stat().st_size)
    stored = simulator.data_dir / "uploads" / result.file_name
    assert stored.read_bytes() == mov.read_bytes()


def test_submit_sends_the_documented_fields(
    client: KlingClient, simulator: Simulator, clip: Path
) -> None:
    video = client.upload(clip, email=DEMO_EMAIL).url
    task = client.add_sound(
        video=video,
        email=DEMO_EMAIL,
        keep_original_sound=True,
        reply_url="https://example.com/hook",
        reply_ref="job-42",
    )
    assert task.id > 0 and not task.status_final and task.status_name == "submitted"
    assert task.type == "kwave_video2audio"
    [snap] = simulator.tasks()
    assert snap["id"] == task.id
    assert snap["keep_original_sound"] is True
    assert (snap["reply_url"], snap["reply_ref"]) == ("https://example.com/hook", "job-42")


def test_poll_until_success_then_download_result_and_master(
    client: KlingClient, simulator: Simulator, clip: Path, tmp_path: Path
) -> None:
    task_id = _submit(client, clip)
    names = {client.get_task(task_id, email=DEMO_EMAIL).status_name}
    task = wait_final(client, task_id)
    assert task.succeeded and not task.failed
    assert names <= {"submitted", "processing"}
    assert task.works[0].duration_ms == 4000 and task.works[0].task_id == task_id
    polls = [r for r in simulator.requests if r.path.endswith(f"/tasks/{task_id}")]
    assert all(r.query.get("email") == DEMO_EMAIL for r in polls)

    watermarked = client.download(task.result_url, tmp_path / "out" / "result.mp4")
    master_url = client.master_download_url([task.works[0].work_id], email=DEMO_EMAIL)
    master = client.download(master_url, tmp_path / "out" / "master.mp4")
    assert watermarked.stat().st_size > 0
    assert master.read_bytes() == watermarked.read_bytes()
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["master.mp4", "result.mp4"]


def test_final_failure(client: KlingClient, simulator: Simulator, clip: Path) -> None:
    simulator.scenario.final_failure = True
    task = wait_final(client, _submit(client, clip))
    assert task.failed and not task.succeeded
    assert task.status_name != "succeed"
    assert "failed" in task.failure_text.lower()
    assert task.result_url == ""


def test_list_tasks_newest_first_with_created_after(
    client: KlingClient, simulator: Simulator, clip: Path
) -> None:
    video = client.upload(clip, email=DEMO_EMAIL).url
    first = client.add_sound(video=video, email=DEMO_EMAIL)
    second = client.add_sound(video=video, email=DEMO_EMAIL)
    listed = client.list_tasks(email=DEMO_EMAIL)
    assert [t.id for t in listed] == [second.id, first.id]
    assert listed[0].input_urls and not listed[0].status_final  # running tasks are listed
    newer = client.list_tasks(email=DEMO_EMAIL, created_after_ms=first.create_time_ms)
    assert [t.id for t in newer] == (
        [second.id] if second.create_time_ms > first.create_time_ms else []
    )
    assert client.list_tasks(email=DEMO_EMAIL, content_type="audio") == []
    assert len(client.list_tasks(email=DEMO_EMAIL, page_size=1)) == 1
    done = wait_final(client, second.id)
    [found] = [t for t in client.list_tasks(email=DEMO_EMAIL) if t.id == second.id]
    assert found.succeeded and found.result_url == done.result_url


def test_scheduler_and_stop_tracking(client: KlingClient, simulator: Simulator, clip: Path) -> None:
    simulator.scenario.task_seconds = 3.0
    task_id = _submit(client, clip, reply_ref="ref-1")
    [entry] = client.scheduler()
    assert (entry.task_id, entry.email, entry.reply_ref) == (task_id, DEMO_EMAIL, "ref-1")
    available = client.scheduler_available()
    assert [(s.email, s.max_jobs, s.executing, s.available) for s in available.slots] == [
        (DEMO_EMAIL, 3, 1, 2)
    ]
    client.stop_tracking(task_id)
    assert client.scheduler() == []
    assert client.scheduler_available().slots[0].available == 3
    with pytest.raises(errors.NotFound):
        client.stop_tracking(task_id)
    # Only tracking stopped: the task still runs at "Kling".
    assert not client.get_task(task_id, email=DEMO_EMAIL).status_final


# -- errors -----------------------------------------------------------------------------------


def test_bad_token_is_unauthorized(simulator: Simulator) -> None:
    api = KlingClient(simulator.url, "user:1-wrong", retries=0)
    with pytest.raises(errors.Unauthorized) as info:
        api.list_accounts()
    assert info.value.status == 401 and info.value.body == {"error": "Unauthorized", "code": 401}


def test_scenario_errors_map_to_their_classes(
    client: KlingClient, simulator: Simulator, clip: Path
) -> None:
    video = client.upload(clip, email=DEMO_EMAIL).url
    scenario = simulator.scenario

    scenario.bad_token = True
    with pytest.raises(errors.Unauthorized):
        client.get_task(1, email=DEMO_EMAIL)
    scenario.bad_token = False

    scenario.subscription_required = True
    with pytest.raises(errors.SubscriptionRequired):
        client.scheduler()
    scenario.subscription_required = False

    scenario.moderate_submit = True
    with pytest.raises(errors.ModerationRejected) as moderated:
        client.add_sound(video=video, email=DEMO_EMAIL)
    assert "CM_EXT" in moderated.value.server_text
    scenario.moderate_submit = False

    scenario.account_error = True
    with pytest.raises(errors.AccountError):
        client.add_sound(video=video, email=DEMO_EMAIL)
    scenario.account_error = False

    task_id = client.add_sound(video=video, email=DEMO_EMAIL).id
    scenario.poll_404 = True
    with pytest.raises(errors.NotFound):
        client.get_task(task_id, email=DEMO_EMAIL)
    scenario.poll_404 = False

    with pytest.raises(errors.BadRequest):  # the lookup 400s without email
        client.get_task(task_id, email=None)
    with pytest.raises(errors.NotFound) as missing:  # not an asset we uploaded
        client.add_sound(video="https://s21-kling.klingai.com/x.mp4", email=DEMO_EMAIL)
    assert "VALID.ResourceNotFound" in missing.value.server_text
    assert simulator.submit_count == 1


def test_plain_500_is_a_server_error_not_moderation(
    simulator: Simulator, client: KlingClient, clip: Path
) -> None:
    task_id = _submit(client, clip)
    api = KlingClient(simulator.url, DEMO_TOKEN, retries=0)
    simulator.scenario.poll_5xx = 2
    with pytest.raises(errors.ServerError) as first:
        api.get_task(task_id, email=DEMO_EMAIL)
    with pytest.raises(errors.ServerError) as second:
        api.get_task(task_id, email=DEMO_EMAIL)
    assert {first.value.status, second.value.status} == {500, 503}
    assert not isinstance(first.value, errors.ModerationRejected)


def test_too_short_clip_is_a_bad_request(client: KlingClient, clip_factory: ClipFactory) -> None:
    short = clip_factory("short.mp4", 2.0)
    video = client.upload(short, email=DEMO_EMAIL).url
    with pytest.raises(errors.BadRequest, match="3 seconds"):
        client.add_sound(video=video, email=DEMO_EMAIL)


def test_unsupported_upload_type_is_a_bad_request(client: KlingClient, clip: Path) -> None:
    with pytest.raises(errors.BadRequest) as info:
        client.upload(clip, email=DEMO_EMAIL, content_type="video/webm")
    assert info.value.server_text.startswith("Content-Type video/webm is not supported.")


def test_malformed_answer(client: KlingClient, simulator: Simulator) -> None:
    api = KlingClient(simulator.url, DEMO_TOKEN, retries=0)
    simulator.scenario.malformed_responses = 1
    with pytest.raises(errors.MalformedResponse):
        api.scheduler()
    assert client.scheduler() == []


def test_closed_port_is_a_network_error() -> None:
    with Simulator() as sim:
        url = sim.url
    api = KlingClient(url, DEMO_TOKEN, retries=2, backoff_s=0.001)
    with pytest.raises(errors.NetworkError):
        api.list_accounts()
    with pytest.raises(errors.NetworkError):
        api.add_sound(video="x", email=None)


def test_silent_server_is_a_timeout_and_a_submit_is_sent_once(
    silent_server: SilentServer,
) -> None:
    api = KlingClient(
        f"http://127.0.0.1:{silent_server.port}/v1/kling",
        DEMO_TOKEN,
        timeout=0.3,
        retries=3,
        backoff_s=0.001,
    )
    started = time.monotonic()
    with pytest.raises(errors.Timeout):
        api.add_sound(video="https://x/y.mp4", email=DEMO_EMAIL)
    assert time.monotonic() - started < 2
    assert wait_until(lambda: b"add-sound" in silent_server.received)
    assert silent_server.accepted == 1  # never re-sent after a timeout
    with pytest.raises(errors.Timeout):
        api.scheduler()
    assert wait_until(lambda: silent_server.accepted == 5)  # reads are retried (1 + 3)


# -- retry rules ------------------------------------------------------------------------------


def test_get_is_retried_after_5xx(client: KlingClient, simulator: Simulator, clip: Path) -> None:
    task_id = _submit(client, clip)
    simulator.scenario.poll_5xx = 2
    task = client.get_task(task_id, email=DEMO_EMAIL)
    assert task.id == task_id
    statuses = [r.status for r in simulator.requests if r.path.endswith(f"/tasks/{task_id}")]
    assert statuses == [503, 500, 200]


def test_get_gives_up_after_its_retries(
    simulator: Simulator, client: KlingClient, clip: Path
) -> None:
    task_id = _submit(client, clip)
    api = KlingClient(simulator.url, DEMO_TOKEN, retries=1, backoff_s=0.001)
    simulator.scenario.poll_5xx = 5
    with pytest.raises(errors.ServerError):
        api.get_task(task_id, email=DEMO_EMAIL)
    assert simulator.scenario.poll_5xx == 3


def test_submit_429_raises_at_once_by_default(
    client: KlingClient, simulator: Simulator, clip: Path
) -> None:
    video = client.upload(clip, email=DEMO_EMAIL).url
    simulator.scenario.submit_429 = 1
    simulator.scenario.retry_after = 7
    with pytest.raises(errors.RateLimited) as info:
        client.add_sound(video=video, email=DEMO_EMAIL)
    assert info.value.retry_after == 7
    assert _posts(simulator, "/add-sound") == [429]
    assert simulator.submit_count == 0


def test_full_slots_answer_429(client: KlingClient, simulator: Simulator, clip: Path) -> None:
    simulator.scenario.task_seconds = 5.0
    video = client.upload(clip, email=DEMO_EMAIL).url
    client.add_sound(video=video, email=DEMO_EMAIL, max_jobs=1)
    with pytest.raises(errors.RateLimited):
        client.add_sound(video=video, email=DEMO_EMAIL, max_jobs=1)
    assert simulator.submit_count == 1


def test_dropped_submit_answer_is_not_resent(
    client: KlingClient, simulator: Simulator, clip: Path
) -> None:
    video = client.upload(clip, email=DEMO_EMAIL).url
    simulator.scenario.drop_submit_response = 1
    with pytest.raises(errors.NetworkError):
        client.add_sound(video=video, email=DEMO_EMAIL)
    assert simulator.submit_count == 1
    assert len(simulator.tasks()) == 1
    assert _posts(simulator, "/add-sound") == [0]
    # The created task is findable for reconciliation.
    [listed] = client.list_tasks(email=DEMO_EMAIL)
    assert (
        listed.id == simulator.tasks()[0]["id"] and video.rsplit("/", 1)[1] in listed.input_urls[0]
    )


# -- streaming upload -------------------------------------------------------------------------


def test_big_upload_streams_with_flat_memory(
    client: KlingClient, simulator: Simulator, tmp_path: Path
) -> None:
    big = _sparse(tmp_path / "big.mp4", 95 * MB)
    calls: list[int] = []
    tracemalloc.start()
    try:
        result = client.upload(big, email=DEMO_EMAIL, progress=lambda d, t: calls.append(d))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 20 * MB, f"peak {peak / MB:.1f} MB"
    assert len(calls) > 50 and calls[-1] == 95 * MB
    assert (simulator.data_dir / "uploads" / result.file_name).stat().st_size == 95 * MB


def test_upload_over_100_mb_is_refused(client: KlingClient, tmp_path: Path) -> None:
    big = _sparse(tmp_path / "huge.mp4", 101 * MB)
    with pytest.raises(errors.BadRequest, match="100MB"):
        client.upload(big, email=DEMO_EMAIL)


def test_cancel_mid_upload(client: KlingClient, simulator: Simulator, tmp_path: Path) -> None:
    big = _sparse(tmp_path / "big.mp4", 20 * MB)
    token = CancelToken()
    sent: list[int] = []

    def progress(done: int, total: int) -> None:
        sent.append(done)
        if done >= 2 * MB:
            token.cancel()

    with pytest.raises(Cancelled):
        client.upload(big, email=DEMO_EMAIL, progress=progress, cancel=token)
    assert sent[-1] < 20 * MB
    # The simulator saw the body end early and kept nothing.
    assert wait_until(lambda: _posts(simulator, "/assets/") == [0])
    assert list((simulator.data_dir / "uploads").iterdir()) == []


# -- download ---------------------------------------------------------------------------------


def _big_asset(client: KlingClient, tmp_path: Path) -> str:
    return client.upload(_sparse(tmp_path / "asset.mp4", 4 * MB), email=DEMO_EMAIL).url


def test_cancel_mid_download_leaves_nothing(client: KlingClient, tmp_path: Path) -> None:
    url = _big_asset(client, tmp_path)
    out = tmp_path / "out"
    token = CancelToken()
    with pytest.raises(Cancelled):
        client.download(url, out / "r.mp4", progress=lambda d, t: token.cancel(), cancel=token)
    assert list(out.iterdir()) == []


def test_download_cut_half_way_leaves_dest_untouched(
    client: KlingClient, simulator: Simulator, tmp_path: Path
) -> None:
    url = _big_asset(client, tmp_path)
    out = tmp_path / "out"
    out.mkdir()
    dest = out / "r.mp4"
    dest.write_bytes(b"previous result")
    simulator.scenario.truncate_downloads = 1
    seen: list[int] = []
    with pytest.raises(errors.NetworkError):
        client.download(url, dest, progress=lambda d, t: seen.append(d))
    assert 0 < seen[-1] < 4 * MB
    assert dest.read_bytes() == b"previous result"
    assert list(out.iterdir()) == [dest]
    assert client.download(url, dest).stat().st_size == 4 * MB


def test_download_when_the_server_dies(tmp_path: Path) -> None:
    sim = Simulator().start()
    api = KlingClient(sim.url, DEMO_TOKEN, retries=0)
    # Big enough that socket buffers cannot already hold all of it when the server dies.
    url = api.upload(_sparse(tmp_path / "a.mp4", 24 * MB), email=DEMO_EMAIL).url
    out = tmp_path / "out"

    def die(done: int, total: int) -> None:
        sim.stop()

    with pytest.raises(errors.NetworkError):
        api.download(url, out / "r.mp4", progress=die)
    assert list(out.iterdir()) == []


def test_download_refuses_plain_http_off_this_computer(client: KlingClient, tmp_path: Path) -> None:
    with pytest.raises(errors.InsecureUrl):
        client.download("http://cdn.example.com/r.mp4", tmp_path / "r.mp4")
    assert not (tmp_path / "r.mp4").exists()


def test_download_sends_no_token_to_other_hosts(
    client: KlingClient, capture_server: CaptureServer, tmp_path: Path
) -> None:
    dest = tmp_path / "mine.mp4"
    client.download(capture_server.url("/file"), dest)
    assert dest.read_bytes() == b"hello world"  # the server's file name is ignored
    assert not (tmp_path.parent / "evil.mp4").exists()
    [headers] = capture_server.headers
    assert not any(k.lower() == "authorization" for k in headers)


def test_token_goes_to_the_api_host_by_header_only(capture_server: CaptureServer) -> None:
    session = requests.Session()
    api = KlingClient(capture_server.url("/v1/kling"), DEMO_TOKEN, session=session, retries=0)
    with pytest.raises(errors.MalformedResponse):
        api.scheduler()  # the capture server answers text
    [headers] = capture_server.headers
    assert headers["Authorization"] == f"Bearer {DEMO_TOKEN}"
    assert "Authorization" not in session.headers
    api.close()
