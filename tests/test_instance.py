"""The data folder's lock in one process (the real-process cases are in tests/cli and
tests/gui): who holds it, the sentences, waiting and giving up."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from kling_desktop import instance


@pytest.fixture(autouse=True)
def _no_held_locks() -> Iterator[None]:
    yield
    instance.release_all()


def test_one_holder_at_a_time_and_it_says_who_it_is(tmp_path: Path) -> None:
    first = instance.InstanceLock(tmp_path, "kling-desktop resume")
    second = instance.InstanceLock(tmp_path, instance.WINDOW)
    assert first.try_acquire()
    assert not second.try_acquire()
    assert second.is_held_elsewhere()
    holder = second.holder()
    assert holder is not None
    assert (holder.pid, holder.role) == (os.getpid(), "kling-desktop resume")
    assert holder.describe() == f"kling-desktop resume (process {os.getpid()})"
    first.release()
    assert second.holder() is None
    assert not second.is_held_elsewhere()
    assert second.try_acquire()
    assert instance.describe_holder(second.holder(), start=True) == (
        f"The Kling Desktop window (process {os.getpid()})"
    )
    second.release()


def test_a_busy_lock_times_out_with_a_sentence_naming_the_holder(tmp_path: Path) -> None:
    window = instance.InstanceLock(tmp_path, instance.WINDOW)
    assert window.try_acquire()
    told: list[instance.Holder | None] = []
    with pytest.raises(instance.LockBusy) as caught:
        instance.hold(tmp_path, "kling-desktop add-sound", timeout_s=0.2, on_wait=told.append)
    assert [h.role if h else None for h in told] == [instance.WINDOW]
    assert str(caught.value) == (
        f"The Kling Desktop window (process {os.getpid()}) is still using the job list in "
        f"{tmp_path.resolve()}; close it (or add the clips there), then try again."
    )
    assert instance.waiting_sentence(told[0]) == (
        f"The Kling Desktop window (process {os.getpid()}) is using this job list; waiting "
        "until it is closed (Ctrl-C to give up)…"
    )
    window.release()


def test_a_waiting_command_gets_the_lock_when_it_is_let_go(tmp_path: Path) -> None:
    other = instance.InstanceLock(tmp_path, "kling-desktop resume")
    assert other.try_acquire()
    waiting = threading.Event()

    def on_wait(holder: instance.Holder | None) -> None:
        waiting.set()

    def let_go() -> None:
        waiting.wait(10)
        other.release()

    releaser = threading.Thread(target=let_go)
    releaser.start()
    lock = instance.hold(tmp_path, "kling-desktop add-sound", timeout_s=10, on_wait=on_wait)
    releaser.join()
    assert lock.held and waiting.is_set()
    # Held for the process's life: asking again is the same lock, at once.
    assert instance.hold(tmp_path, "kling-desktop add-sound", timeout_s=0) is lock


def test_the_wait_limit_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(instance.WAIT_ENV, raising=False)
    assert instance.wait_seconds() == instance.DEFAULT_WAIT_S
    monkeypatch.setenv(instance.WAIT_ENV, "2.5")
    assert instance.wait_seconds() == 2.5
    monkeypatch.setenv(instance.WAIT_ENV, "soon")
    assert instance.wait_seconds() == instance.DEFAULT_WAIT_S


def test_the_socket_name_is_short_and_per_folder(tmp_path: Path) -> None:
    a, b = instance.server_name(tmp_path / "a"), instance.server_name(tmp_path / "b")
    assert a != b and len(a) < 40
    assert instance.server_name(tmp_path / "a" / ".." / "a") == a


def test_a_file_left_by_an_ended_holder_never_names_it(tmp_path: Path) -> None:
    # A holder killed with kill -9 leaves instance.json behind; the process that takes the
    # lock next writes its own a moment later. Waiting in that moment names the new holder.
    ended = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    )
    lock = instance.InstanceLock(tmp_path, "kling-desktop resume")
    assert lock.try_acquire()
    stale = {
        "pid": int(ended.stdout),
        "host": socket.gethostname(),
        "role": "kling-desktop add-sound",
    }
    (tmp_path / instance.INFO_NAME).write_text(json.dumps(stale))
    waiting = instance.InstanceLock(tmp_path, instance.WINDOW)
    assert waiting.holder() is None  # never the add-sound that has ended

    writes = threading.Timer(0.2, lock._write_info)
    writes.start()
    holder = waiting.settled_holder(timeout_s=5.0)
    writes.join()
    assert holder is not None
    assert (holder.pid, holder.role) == (os.getpid(), "kling-desktop resume")
    lock.release()
