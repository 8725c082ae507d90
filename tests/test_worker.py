"""The one helper for work off the GUI thread."""

from __future__ import annotations

import threading

from PySide6.QtCore import QObject, QThreadPool
from pytestqt.qtbot import QtBot

from kling_desktop.runner.worker import is_waiting, run_in_thread


class Owner(QObject):
    def __init__(self) -> None:
        super().__init__()
        self.got: list[object] = []

    def take(self, value: object) -> None:
        self.got.append(value)


def test_the_result_arrives_on_the_asking_thread(qtbot: QtBot) -> None:
    here = threading.get_ident()
    seen: list[tuple[int, int]] = []

    def work() -> int:
        return threading.get_ident()

    with qtbot.waitCallback() as done:
        run_in_thread(work, lambda worker: (seen.append((worker, threading.get_ident())), done()))
    [(worker, delivered)] = seen
    assert worker != here and delivered == here


def test_an_error_goes_to_on_error(qtbot: QtBot) -> None:
    def work() -> None:
        raise ValueError("nope")

    with qtbot.waitCallback() as failed:
        run_in_thread(work, None, failed)
    assert isinstance(failed.args[0], ValueError)


def test_a_result_for_a_destroyed_owner_is_dropped(qtbot: QtBot) -> None:
    gate = threading.Event()
    pool = QThreadPool()
    owner = Owner()
    call = run_in_thread(lambda: gate.wait(5) and "late", owner.take, pool=pool)  # owner inferred
    owner.deleteLater()
    qtbot.waitUntil(lambda: not _alive(owner))
    gate.set()
    pool.waitForDone(5000)
    qtbot.waitUntil(lambda: not is_waiting(call))  # delivered to nobody, and forgotten
    assert owner.got == []


def test_a_live_owner_gets_its_result(qtbot: QtBot) -> None:
    owner = Owner()
    run_in_thread(lambda: 42, owner.take)
    qtbot.waitUntil(lambda: owner.got == [42])


def _alive(obj: QObject) -> bool:
    import shiboken6

    return shiboken6.isValid(obj)
