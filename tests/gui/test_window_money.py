"""Nothing is spent, duplicated or lost by accident (issue 10 items 3, 7, 8, 9), over a runner
the test drives exactly. End-to-end versions with the real runner are in test_window_safety.py.
"""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import pytest
from PySide6.QtCore import QItemSelectionModel, QLocale, Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QCheckBox, QPushButton
from pytestqt.qtbot import QtBot

from kling_desktop.gui import dialogs
from kling_desktop.gui.job_table import Column
from kling_desktop.gui.job_texts import message_text
from kling_desktop.gui.main_window import MainWindow
from kling_desktop.gui.notify import Level
from kling_desktop.gui.spend import paid_jobs_to_resend, paid_jobs_to_start, spend_request
from kling_desktop.jobs import policy
from kling_desktop.jobs.duplicates import Duplicate, Reason
from kling_desktop.jobs.model import Job, JobOptions, JobState
from kling_desktop.settings import Settings
from tests.gui.conftest import AnsweringInteractions, FakeWindowFactory

#: The stub account's credits as the status bar writes them (in the locale's digits).
CREDITS = f"{QLocale().toString(56_000)} credits"

pytestmark = pytest.mark.qt_log_ignore(
    "QBackingStore::flush", "PulseAudioService", "No RHI backend", extend=True
)

S = JobState
EMAIL = "demo@example.com"


def _job(job_id: int, state: JobState, name: str = "", **fields: object) -> Job:
    return Job(
        id=job_id,
        input_path=Path(f"/clips/{name or f'clip{job_id}.mp4'}"),
        state=state,
        options=JobOptions(email=EMAIL),
        duration_s=4.0,
        **fields,  # type: ignore[arg-type]
    )


# What each kind of failed job is, as the policy leaves it.
READY = _job(1, S.READY)
REFUSED = _job(
    2,
    S.FAILED,
    confirmed_requests=1,
    error_code="validation",
    error_message=(
        "Kling refused the clip. Nothing was charged for it. Retry sends the paid job you "
        "confirmed once more; it is charged only if Kling accepts it."
    ),
)
DOWNLOAD_FAILED = _job(
    3,
    S.FAILED,
    task_id=7,
    confirmed_requests=1,
    paid_submits=1,
    result_url="https://cdn.example/r.mp4",
    error_code="download_error",
    error_message="The download broke. The sound is already paid for: Retry downloads it again.",
)
KLING_FAILED = _job(
    4,
    S.FAILED,
    name="forest.mp4",
    task_id=8,
    confirmed_requests=1,
    paid_submits=1,
    error_code="kling_failed",
    error_message="Kling could not add sound to this clip: no audio. “Send again” starts a new…",
)
STOPPED = _job(5, S.STOPPED, task_id=9, confirmed_requests=1, paid_submits=1)
UNCERTAIN = _job(6, S.UNCERTAIN, name="rain.mp4", confirmed_requests=1, paid_submits=1)
UPLOADING = _job(7, S.UPLOADING, confirmed_requests=1)
PROCESSING = _job(8, S.PROCESSING, task_id=10, confirmed_requests=1, paid_submits=1)
DONE = _job(9, S.DONE, task_id=11, confirmed_requests=1, paid_submits=1, output_path=Path("/o.mp4"))
ALL = (
    READY,
    REFUSED,
    DOWNLOAD_FAILED,
    KLING_FAILED,
    STOPPED,
    UNCERTAIN,
    UPLOADING,
    PROCESSING,
    DONE,
)


def _select(window: MainWindow, *job_ids: int) -> None:
    """Select exactly these rows (the actions follow at once)."""
    selection = window.table.selectionModel()
    selection.clearSelection()
    for job_id in job_ids:
        index = window.proxy.mapFromSource(window.model.index(window.model.row_of(job_id), 0))
        selection.select(
            index,
            QItemSelectionModel.SelectionFlag.Select | QItemSelectionModel.SelectionFlag.Rows,
        )
    assert sorted(j.id for j in window.selected_jobs()) == sorted(job_ids)


def _texts(question: dialogs.Question) -> str:
    parts = [question.headline.text(), question.body.text(), question.notes.text()]
    parts += [question.items.item(i).text() for i in range(question.items.count())]
    return "\n".join(parts)


def _button_texts(question: dialogs.Question) -> list[str]:
    return [b.text() for b in question.button_box.findChildren(QPushButton)]


# -- item 3: Retry never spends -------------------------------------------------------------


def test_retry_says_what_it_does_and_never_needs_money(fake_window: FakeWindowFactory) -> None:
    window, runner = fake_window(ALL)
    expected = {
        REFUSED.id: "&Retry: send (already confirmed)",
        DOWNLOAD_FAILED.id: "&Retry: download again",
        STOPPED.id: "&Retry: track again",
    }
    for job_id, label in expected.items():
        _select(window, job_id)
        assert window.acts.retry_action.isEnabled() and window.acts.retry_action.text() == label
        assert not window.acts.resubmit_action.isEnabled()
        assert "(Ctrl+R)" in window.acts.retry_action.toolTip()
        if job_id == DOWNLOAD_FAILED.id:
            assert "already paid for" in window.acts.retry_action.toolTip()
    # Kling failed it: Retry has nothing free to do; the paid action is separate.
    for job_id in (KLING_FAILED.id, UNCERTAIN.id):
        _select(window, job_id)
        assert not window.acts.retry_action.isEnabled()
        assert window.acts.resubmit_action.isEnabled()
        assert window.acts.resubmit_action.text() == "Send a&gain (new paid job)…"
    _select(window, KLING_FAILED.id)
    QTest.keyClick(window, Qt.Key.Key_R, Qt.KeyboardModifier.ControlModifier)
    assert not [c for c in runner.calls if c[0] in ("retry", "resubmit")]


def test_retry_of_a_mixed_selection_retries_the_free_ones_and_points_at_send_again(
    fake_window: FakeWindowFactory, interactions: AnsweringInteractions
) -> None:
    window, runner = fake_window(ALL)
    _select(window, DOWNLOAD_FAILED.id, KLING_FAILED.id)
    assert window.acts.retry_action.text() == "&Retry: download again"
    QTest.keyClick(window, Qt.Key.Key_R, Qt.KeyboardModifier.ControlModifier)
    assert ("retry", DOWNLOAD_FAILED.id) in runner.calls
    assert ("retry", KLING_FAILED.id) not in runner.calls
    assert not [c for c in runner.calls if c[0] == "resubmit"]
    assert window.message_bar.text.startswith("“forest.mp4” not retried")
    assert "only a new paid Kling job" in window.message_bar.text
    # The message bar's button asks before it spends.
    interactions.resend_answer = False
    window.message_bar._action.click()
    assert interactions.asked[-1] == ("resend", [KLING_FAILED.id])
    assert not [c for c in runner.calls if c[0] == "resubmit"]


def test_retry_all_failed_is_free_and_says_which_need_a_new_paid_job(
    fake_window: FakeWindowFactory,
) -> None:
    window, runner = fake_window(ALL)
    assert "no new cost" in window.acts.retry_all_action.text()
    QTest.keyClick(
        window,
        Qt.Key.Key_R,
        Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier,
    )
    assert ("retry_all_failed", None) in runner.calls
    assert not [c for c in runner.calls if c[0] == "resubmit"]
    assert window.message_bar.text.startswith("“forest.mp4” not retried")
    # With only paid ones left, it is not offered at all.
    window2, _ = fake_window((KLING_FAILED,))
    assert not window2.acts.retry_all_action.isEnabled()


def test_send_again_asks_with_the_clip_account_and_cost_then_resubmits(
    qtbot: QtBot, fake_window: FakeWindowFactory, interactions: AnsweringInteractions
) -> None:
    window, runner = fake_window(ALL)
    qtbot.waitUntil(lambda: CREDITS in window.status.account_label.text())
    _select(window, KLING_FAILED.id)
    interactions.resend_answer = False
    window.acts.resubmit_action.trigger()
    assert interactions.asked[-1] == ("resend", [KLING_FAILED.id])
    assert not [c for c in runner.calls if c[0] == "resubmit"]  # declined: nothing sent
    interactions.resend_answer = True
    window.acts.resubmit_action.trigger()
    assert ("resubmit", KLING_FAILED.id) in runner.calls
    request = interactions.requests[-1]
    assert [(a.email, a.clips, a.paid_jobs, a.balance) for a in request.accounts] == [
        (EMAIL, ("forest.mp4",), 1, 56_000)
    ]


def test_the_send_again_dialog_names_the_cost_the_clip_and_the_account() -> None:
    request = spend_request([KLING_FAILED], paid_jobs_to_resend, balances={EMAIL: 55_500})
    question = dialogs.resend_question(None, [KLING_FAILED], request)
    text = _texts(question)
    assert question.headline.text() == "Send “forest.mp4” to Kling again?"
    assert "This starts a new paid Kling job on the Kling account demo@example.com." in text
    assert "Kling could not add sound the first time." in text
    assert "Credits on demo@example.com now: 55,500" in text
    assert set(_button_texts(question)) == {"Send again (new paid job)", "Cancel"}
    assert question.buttons["send"].isDefault()
    question.deleteLater()

    both = spend_request([KLING_FAILED, UNCERTAIN], paid_jobs_to_resend)
    question = dialogs.resend_question(None, [KLING_FAILED, UNCERTAIN], both)
    text = _texts(question)
    assert "This starts 2 new paid Kling jobs on the Kling account demo@example.com." in text
    assert "If Kling did get it, you pay for both." in text
    assert "Credits" not in text  # unknown: nothing guessed
    assert "Send 2 again (new paid jobs)" in _button_texts(question)
    # One of them may already be at work at Kling: Enter does not pay, Cancel is the default.
    assert question.buttons["cancel"].isDefault() and not question.buttons["send"].isDefault()
    question.deleteLater()


def test_resolve_uncertain_uses_the_same_words_and_names_the_account(
    fake_window: FakeWindowFactory, interactions: AnsweringInteractions
) -> None:
    window, runner = fake_window(ALL)
    _select(window, UNCERTAIN.id)
    window.acts.resolve_action.trigger()
    assert ("resolve_uncertain", (UNCERTAIN.id, True)) in runner.calls
    request = interactions.requests[-1]
    question = dialogs.uncertain_question(None, UNCERTAIN, request)
    text = _texts(question)
    assert "“Send again” starts a new paid Kling job on the Kling account demo@example.com." in (
        text
    )
    assert "you pay for both" in text
    assert set(_button_texts(question)) == {
        "Send again (new paid job)",
        "Give up",
        "Decide later",
    }
    assert question.buttons["later"].isDefault()
    question.deleteLater()


def test_a_failed_jobs_message_never_says_retry_sends_it_again(
    fake_window: FakeWindowFactory,
) -> None:
    window, _ = fake_window(ALL)
    shown = message_text(REFUSED)
    assert "Retry sends it again" not in shown
    assert "charged only if Kling accepts it" in shown and "Nothing was charged" in shown
    index = window.model.index(window.model.row_of(REFUSED.id), Column.MESSAGE)
    assert index.data() == shown
    _select(window, REFUSED.id)
    window._update_details()
    assert "Retry sends it again" not in window.details.text()
    # The sentence is the policy's own, word for word.
    assert (
        policy.after_submit_error(
            REFUSED.replace(state=S.SUBMITTING, paid_submits=1),
            _refusal(),
            0.0,
        )
        .changes["error_message"]
        .endswith(
            "Nothing was charged for it. Retry sends the paid job you confirmed once more; "
            "it is charged only if Kling accepts it."
        )
    )


def _refusal() -> BaseException:
    from kling_desktop.api import errors

    return errors.ApiError("Kling refused the clip.", status=422, body={"error": "bad clip"})


# -- item 8: the Add sound confirmation -------------------------------------------------------


def test_add_sound_confirmation_names_account_clips_paid_jobs_and_credits(
    qtbot: QtBot, fake_window: FakeWindowFactory, interactions: AnsweringInteractions
) -> None:
    # A clip cancelled back to Ready holds its confirmed request: still one paid job, not two.
    again = _job(20, S.READY, name="again.mp4", confirmed_requests=1)
    other = _job(21, S.READY, name="other.mp4").replace(options=JobOptions(email="b@example.com"))
    window, runner = fake_window((READY, again, other))
    qtbot.waitUntil(lambda: CREDITS in window.status.account_label.text())
    window.options.add_sound_button.click()
    request = interactions.requests[-1]
    assert ("start", [READY.id, again.id, other.id]) in runner.calls
    assert request.paid_jobs == 3 and not request.demo
    assert [(a.email, a.clips, a.paid_jobs, a.balance) for a in request.accounts] == [
        (EMAIL, ("clip1.mp4", "again.mp4"), 2, 56_000),
        ("b@example.com", ("other.mp4",), 1, None),  # its credits were never read
    ]
    question = dialogs.spend_question(None, request)
    text = _texts(question)
    assert question.headline.text() == "Add sound to 3 clips?"
    assert "This starts 3 paid Kling jobs: 2 on demo@example.com and 1 on b@example.com." in text
    assert "Credits on demo@example.com now: 56,000 (as useapi.net reports them)." in text
    assert "b@example.com now" not in text  # unknown: said nothing
    assert "after" not in text  # the cost of a job is not published: nothing guessed
    assert set(_button_texts(question)) == {"Start 3 paid jobs", "Cancel"}
    assert not question.findChildren(QCheckBox)  # no "Don't ask again" on a paid action
    assert question.items.count() == 3
    question.deleteLater()


def test_the_clip_list_scrolls_and_an_after_figure_needs_a_known_cost() -> None:
    many = [_job(i, S.READY, name=f"clip-{i:03d}.mp4") for i in range(1, 41)]
    request = spend_request(many, paid_jobs_to_start, balances={EMAIL: 1_000})
    question = dialogs.spend_question(None, request)
    assert question.items.count() == 40
    rows = question.items.height() // max(1, question.items.sizeHintForRow(0))
    assert rows <= dialogs.LIST_ROWS + 1  # scrolls instead of growing
    assert "Start 40 paid jobs" in _button_texts(question)
    question.deleteLater()
    priced = request.accounts[0].__class__(EMAIL, ("a.mp4",), 2, balance=1_000, cost_per_job=300)
    assert priced.balance_after == 400
    notes = dialogs._credit_notes([priced])
    assert notes == ["Credits on demo@example.com: 1,000 now, 400 after."]


def test_the_demo_confirmation_says_nothing_is_spent() -> None:
    request = spend_request([READY], paid_jobs_to_start, balances={EMAIL: 9}, demo=True)
    question = dialogs.spend_question(None, request)
    text = _texts(question)
    assert "nothing is spent" in text and "Credits" not in text
    # It counts what a real run would start, so the demo shows the cost before paying.
    assert "With your token this would start 1 paid Kling job." in text
    assert set(_button_texts(question)) == {"Add sound", "Cancel"}
    question.deleteLater()


def test_the_auto_start_setting_names_its_cost() -> None:
    label = Settings.label("auto_start")
    assert label == "Start paid Kling jobs as soon as clips are dropped (no confirmation)"


def test_no_dialog_button_says_yes_or_ok() -> None:
    duplicate = Duplicate(Path("/c/a.mp4"), Reason.IN_LIST)
    built = [
        dialogs.spend_question(None, spend_request([READY], paid_jobs_to_start)),
        dialogs.resend_question(
            None, [KLING_FAILED], spend_request([KLING_FAILED], paid_jobs_to_resend)
        ),
        dialogs.uncertain_question(
            None, UNCERTAIN, spend_request([UNCERTAIN], paid_jobs_to_resend)
        ),
        dialogs.remove_question(None, [DONE]),
        dialogs.stop_tracking_question(None, [PROCESSING]),
        dialogs.duplicates_question(None, [duplicate]),
    ]
    for question in built:
        texts = {t.replace("&", "") for t in _button_texts(question)}
        assert not texts & {"Yes", "OK", "Ok", "No"}, texts
        assert not question.findChildren(QCheckBox)
        question.deleteLater()


# -- item 9: remove, undo, cancel -------------------------------------------------------------


def test_removing_running_or_finished_jobs_asks_and_undo_brings_them_back(
    qtbot: QtBot, fake_window: FakeWindowFactory, interactions: AnsweringInteractions
) -> None:
    window, runner = fake_window(ALL)
    interactions.remove_answer = False
    _select(window, PROCESSING.id, DONE.id)
    window.table.setFocus()
    QTest.keyClick(window.table, Qt.Key.Key_Delete)
    assert interactions.asked[-1] == ("remove", [PROCESSING.id, DONE.id])
    assert window.model.row_of(DONE.id) >= 0 and runner.job(DONE.id) is not None  # declined

    interactions.remove_answer = True
    places = {job.id: window.model.row_of(job.id) for job in ALL}
    QTest.keyClick(window.table, Qt.Key.Key_Delete)
    assert window.model.row_of(DONE.id) == -1 and window.model.row_of(PROCESSING.id) == -1
    # The keyboard keeps its place: a neighbour is selected, Delete again would remove it.
    qtbot.waitUntil(lambda: len(window.selected_jobs()) == 1)
    assert runner.job(DONE.id) is None
    assert window.message_bar.text == "Removed 2 clips from the list."
    assert window.acts.undo_action.isEnabled()
    assert window.acts.undo_action.text() == "&Undo remove of 2 clips"

    QTest.keyClick(window, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert ("restore", [PROCESSING.id, DONE.id]) in runner.calls
    assert runner.job(DONE.id) == DONE and runner.job(PROCESSING.id) == PROCESSING
    qtbot.waitUntil(lambda: window.model.row_of(DONE.id) >= 0)
    assert window.model.row_of(PROCESSING.id) >= 0
    assert not window.acts.undo_action.isEnabled()
    # Back where they were, and selected.
    assert {job.id: window.model.row_of(job.id) for job in ALL} == places
    qtbot.waitUntil(lambda: bool({j.id for j in window.selected_jobs()} & {DONE.id, PROCESSING.id}))


def test_the_remove_question_says_kling_still_charges_running_jobs() -> None:
    question = dialogs.remove_question(None, [PROCESSING, DONE, UNCERTAIN])
    text = _texts(question)
    assert question.headline.text() == "Remove 3 jobs from the list?"
    assert "2 of them are still at Kling: Kling keeps running them and still charges" in text
    assert "The history of 1 finished job" in text
    assert "Edit → Undo (Ctrl+Z)" in text and "kept" in text
    assert "Remove 3 jobs" in _button_texts(question)
    question.deleteLater()
    one = dialogs.remove_question(None, [PROCESSING])
    assert one.headline.text() == "Remove “clip8.mp4” from the list?"
    assert "It is still at Kling" in _texts(one)
    one.deleteLater()


def test_jobs_that_never_left_the_computer_go_without_a_question(
    fake_window: FakeWindowFactory, interactions: AnsweringInteractions
) -> None:
    window, runner = fake_window(ALL)
    _select(window, READY.id, UPLOADING.id)
    window.acts.remove_action.trigger()
    assert not [a for a in interactions.asked if a[0] == "remove"]
    assert runner.job(READY.id) is None and runner.job(UPLOADING.id) is None
    window.acts.undo_action.trigger()
    assert runner.job(READY.id) == READY and runner.job(UPLOADING.id) == UPLOADING


def test_a_job_being_sent_this_instant_is_kept_and_said(
    fake_window: FakeWindowFactory,
) -> None:
    submitting = _job(30, S.SUBMITTING, name="now.mp4", confirmed_requests=1, paid_submits=1)
    window, runner = fake_window((DONE, submitting))
    runner.sending.add(submitting.id)
    _select(window, DONE.id, submitting.id)
    window.acts.remove_action.trigger()
    assert runner.job(submitting.id) is not None and runner.job(DONE.id) is None
    assert "“now.mp4” is being sent to Kling this instant and was kept" in window.message_bar.text


def test_cancel_takes_an_upload_back_to_ready(qtbot: QtBot, fake_window: FakeWindowFactory) -> None:
    window, runner = fake_window(ALL)
    _select(window, UPLOADING.id)
    assert window.acts.cancel_action.isEnabled()
    assert window.acts.cancel_action.shortcut().toString() == "Esc"
    window.table.setFocus()
    QTest.keyClick(window.table, Qt.Key.Key_Escape)
    assert ("cancel", UPLOADING.id) in runner.calls
    job = runner.job(UPLOADING.id)
    assert job is not None and job.state is S.READY
    qtbot.waitUntil(lambda: not window.acts.cancel_action.isEnabled())
    for job_id in (PROCESSING.id, DONE.id, UNCERTAIN.id):  # at Kling, or finished: not "cancel"
        _select(window, job_id)
        assert not window.acts.cancel_action.isEnabled()


def test_every_new_action_is_in_a_menu_and_keyed_or_named(fake_window: FakeWindowFactory) -> None:
    window, _ = fake_window(ALL)
    menus = {a for m in window.menuBar().findChildren(type(window.jobs_menu)) for a in m.actions()}
    for action in (
        window.acts.resubmit_action,
        window.acts.cancel_action,
        window.acts.undo_action,
        window.acts.retry_action,
        window.acts.retry_all_action,
    ):
        assert action in menus, action.text()
        assert "&" in action.text(), action.text()  # a mnemonic in its menu
    assert window.acts.undo_action.shortcut().toString() == "Ctrl+Z"
    assert window.acts.retry_action.shortcut().toString() == "Ctrl+R"
    keys = [
        a.text()[a.text().index("&") + 1].lower()
        for a in window.jobs_menu.actions()
        if "&" in a.text()
    ]
    assert len(keys) == len(set(keys)), keys  # each Jobs item has its own mnemonic
    buttons = {b.defaultAction(): b for b in window.jobs_page.row_buttons.buttons}
    assert buttons[window.acts.resubmit_action].text() == "Send again (new paid job)…"


# -- item 7: duplicates ---------------------------------------------------------------------


def _file(folder: Path, name: str, data: bytes = b"clip") -> Path:
    path = folder / name
    path.write_bytes(data)
    os.utime(path, (1_700_000_000, 1_700_000_000))
    return path


def test_a_clip_already_in_the_list_is_not_queued_again_unless_the_user_says_so(
    qtbot: QtBot,
    fake_window: FakeWindowFactory,
    interactions: AnsweringInteractions,
    tmp_path: Path,
) -> None:
    window, runner = fake_window()
    qtbot.waitUntil(window.account_combo.isEnabled)
    clip = _file(tmp_path, "clip.mp4")
    window.add_paths([clip])
    qtbot.waitUntil(lambda: window.model.rowCount() == 1)

    # Dropped again, alone: one question, and "Don't add" adds nothing.
    interactions.duplicates_answer = False
    window.add_paths([clip])
    qtbot.waitUntil(lambda: bool(interactions.duplicates))
    assert [d.sentence for d in interactions.duplicates[-1]] == ["clip.mp4 is already in the list."]
    assert len([c for c in runner.calls if c[0] == "add_files"]) == 1

    # "Add again" on purpose adds it a second time.
    interactions.duplicates_answer = True
    window.add_paths([clip])
    qtbot.waitUntil(lambda: window.model.rowCount() == 2)
    assert interactions.asked.count(("duplicates", ["clip.mp4"])) == 2


def test_a_mixed_drop_adds_the_new_clips_and_says_which_were_held_back(
    qtbot: QtBot,
    fake_window: FakeWindowFactory,
    interactions: AnsweringInteractions,
    tmp_path: Path,
) -> None:
    known = _file(tmp_path, "known.mp4", b"k")
    result = _file(tmp_path, "known.sound.mp4", b"r")
    fresh = _file(tmp_path, "fresh.mp4", b"fresh")
    done = Job(
        id=1,
        input_path=known,
        state=S.DONE,
        options=JobOptions(email=EMAIL),
        input_size=1,
        input_mtime=1_700_000_000.0,
        updated_at=dt.datetime(2026, 12, 1, 12, 0).timestamp(),
    )
    window, runner = fake_window((done,))
    qtbot.waitUntil(window.account_combo.isEnabled)
    window.add_paths([known, result, fresh])
    qtbot.waitUntil(lambda: window.model.rowCount() == 2)
    added = [c[1][0] for c in runner.calls if c[0] == "add_files"]
    assert added == [[fresh]]
    assert not interactions.duplicates  # something was new: no question, a sentence
    text = window.message_bar.text
    assert text.startswith("2 clips not added again:")
    assert "known.mp4 already has sound — added on 1 Dec 2026." in text
    assert "known.sound.mp4 is a result of this app" in text
    assert window.message_bar.level is Level.INFO
    assert window.message_bar._action.text() == "Add again…"

    window.message_bar._action.click()  # on purpose: asks once, then adds
    assert interactions.asked[-1] == ("duplicates", ["known.mp4", "known.sound.mp4"])
    qtbot.waitUntil(lambda: window.model.rowCount() == 4)


def test_a_clip_dropped_twice_before_its_job_exists_is_held_back(
    qtbot: QtBot,
    fake_window: FakeWindowFactory,
    interactions: AnsweringInteractions,
    tmp_path: Path,
) -> None:
    window, runner = fake_window(token=None)  # no token yet: clips wait for the accounts
    clip = _file(tmp_path, "clip.mp4")
    window.session.accounts_loading = True
    window.add_paths([clip])
    qtbot.waitUntil(lambda: window.session.pending_files == [clip])
    interactions.duplicates_answer = False
    window.add_paths([clip])
    qtbot.waitUntil(lambda: bool(interactions.duplicates))
    assert interactions.duplicates[-1][0].reason is Reason.IN_LIST
    assert window.session.pending_files == [clip]
    assert not [c for c in runner.calls if c[0] == "add_files"]


def test_the_question_says_why_there_are_more_paid_jobs_than_clips() -> None:
    from kling_desktop.gui.paid_questions import _why_more_jobs

    # (parts, takes) per clip
    assert _why_more_jobs([(3, 1), (1, 2), (1, 1)], 3) == (
        "one clip is split into 3 parts; one clip has 2 takes"
    )
    assert _why_more_jobs([(1, 2), (1, 2)], 2) == "2 clips have 2 takes each"
    assert _why_more_jobs([(3, 2)], 1) == "it is split into 3 parts; takes ×2"
