"""Clips of parts, takes and the sound panel in the window (issues #12, #13): against the
simulator through the real runner, and the sentences on a stand-in runner."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtMultimedia import QMediaPlayer
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from kling_desktop.gui import dialogs
from kling_desktop.gui.job_table import Column
from kling_desktop.gui.main_window import MainWindow
from kling_desktop.gui.preview import PreviewPane
from kling_desktop.gui.settings_dialog import SettingsDialog
from kling_desktop.gui.sound_commands import new_clip_options
from kling_desktop.jobs.model import Job, JobOptions, JobState
from kling_desktop.jobs.parts import whole_clip_plan
from kling_desktop.paths import app_paths
from kling_desktop.runner.engine import Progress
from kling_desktop.settings import Settings
from kling_desktop.simulator import Simulator
from tests.fixtures.media import ClipFactory
from tests.gui.conftest import (
    AnsweringInteractions,
    FakeWindowFactory,
    RealWindowFactory,
    drop_on,
    files_mime,
)

pytestmark = pytest.mark.qt_log_ignore(
    "QBackingStore::flush", "PulseAudioService", "No RHI backend", extend=True
)

TIMEOUT_MS = 60_000
S = JobState


def _job(window: MainWindow, name: str) -> Job:
    return next(j for j in window.model.jobs() if j.name == name)


def _message(window: MainWindow, job_id: int) -> str:
    return str(window.model.index(window.model.row_of(job_id), Column.MESSAGE).data())


def _ready(qtbot: QtBot, window: MainWindow, clip: Path) -> Job:
    drop_on(window.drop_zone, files_mime(clip))
    qtbot.waitUntil(
        lambda: any(j.name == clip.name and j.state is S.READY for j in window.model.jobs()),
        timeout=TIMEOUT_MS,
    )
    qtbot.waitUntil(window.acts.add_sound_action.isEnabled)
    return _job(window, clip.name)


def _add_sound(qtbot: QtBot, window: MainWindow, name: str) -> Job:
    runner = window.runner
    QTest.keyClick(window, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    job_id = _job(window, name).id

    def ended() -> bool:
        job = runner.job(job_id)
        return job is not None and job.state.is_final and job.state is not S.READY

    try:
        qtbot.waitUntil(ended, timeout=TIMEOUT_MS)
    except Exception:
        raise AssertionError(
            f"{runner.job(job_id)}\n{runner.progress(job_id)}\n"
            + "\n".join(f"{r.state} {runner.progress(r.id)}" for r in runner.requests_of(job_id))
        ) from None
    job = _job(window, name)
    assert job.state is S.DONE, job
    return job


def test_a_45_s_clip_is_three_parts_three_paid_jobs_and_plays_when_done(
    qtbot: QtBot,
    real_window: RealWindowFactory,
    clip_factory: ClipFactory,
    interactions: AnsweringInteractions,
    simulator: Simulator,
) -> None:
    window, context = real_window()
    clip = clip_factory("long.mp4", 45.0, width=160, height=90, fps=12)
    job = _ready(qtbot, window, clip)
    assert _message(window, job.id).startswith("Will be split into 3 parts · 3 paid Kling jobs")
    window.select_job(job.id)
    assert "Will be split into 3 parts" in window.details.text()
    assert "until you press Add sound (3 paid Kling jobs)." in window.details.text()

    seen: list[str] = []  # what the row said about its parts while they ran
    window.model.dataChanged.connect(lambda *_: seen.append(_message(window, job.id)))
    batches: list[object] = []
    context.runner.batch_finished.connect(batches.append)
    done = _add_sound(qtbot, window, "long.mp4")

    request = interactions.requests[-1]
    assert request.paid_jobs == 3 and request.clips == ("long.mp4",)
    body = dialogs.spend_question(None, request).body.text()
    assert "This starts 3 paid Kling jobs" in body
    assert "(For 1 clip: it is split into 3 parts.)" in body
    assert simulator.submit_count == 3
    assert any(text.startswith("3 parts: Part 1 ") for text in seen), seen
    assert any("Part 3" in text for text in seen)
    assert len(context.runner.requests_of(done.id)) == 3

    window.select_job(done.id)
    window.play_selected()
    player = window.preview.player
    qtbot.waitUntil(lambda: player.loaded, timeout=TIMEOUT_MS)
    assert player.source == done.output_path and player.has_audio
    assert abs(player.duration / 1000 - 45.0) < 0.5
    # The window says the clip is finished (the runner's batch_finished; see /tmp/gui_needs.md).
    qtbot.waitUntil(lambda: bool(batches), timeout=5000)
    assert "finished with sound" in window.message_bar.text


def test_a_done_clip_s_level_is_remixed_for_free_and_the_new_result_plays(
    qtbot: QtBot, real_window: RealWindowFactory, clip_factory: ClipFactory, simulator: Simulator
) -> None:
    window, context = real_window()
    job = _ready(qtbot, window, clip_factory("level.mp4", 4.0, width=160, height=90, fps=12))
    done = _add_sound(qtbot, window, "level.mp4")
    tasks = len(simulator.tasks())
    window.select_job(done.id)
    panel = window.jobs_page.sound_panel
    assert panel.sound_level.isEnabled() and not panel.takes_spin.isEnabled()
    assert "remixed on this computer" in panel.heading.text()

    # A slider dragged in steps remixes once, after the last step.
    with qtbot.waitSignal(window.sound.remixed, timeout=TIMEOUT_MS):
        for percent in (90, 70, 50):
            panel.sound_level.slider.setValue(percent)
        assert panel.status.text() == "Remixing… (free)"
    remixed = context.runner.job(job.id)
    assert remixed is not None and remixed.options.sound_volume == 0.5
    assert len(simulator.tasks()) == tasks and simulator.submit_count == 1  # nothing paid
    assert "Remixed on this computer (free)" in panel.status.text()
    # Said where it is always in view too: the panel may be scrolled.
    assert "Remixed on this computer (free)" in window.statusBar().currentMessage()
    player = window.preview.player
    qtbot.waitUntil(lambda: player.loaded and player.source == remixed.output_path)
    # It goes on as it was: playing if it played, paused (where it was) if not.
    window.acts.preview_action.trigger()
    qtbot.waitUntil(lambda: player.playing, timeout=10_000)
    with qtbot.waitSignals([window.sound.remixed, player.media_loaded], timeout=TIMEOUT_MS):
        panel.sound_level.slider.setValue(60)
    qtbot.waitUntil(lambda: player.playing, timeout=10_000)
    player.pause()
    qtbot.waitUntil(lambda: not player.playing, timeout=10_000)
    with qtbot.waitSignals([window.sound.remixed, player.media_loaded], timeout=TIMEOUT_MS):
        panel.sound_level.slider.setValue(80)
    playing = QMediaPlayer.PlaybackState.PlayingState
    with qtbot.waitSignal(
        player.state_changed, timeout=1000, raising=False, check_params_cb=lambda s: s == playing
    ) as started:
        pass  # it stays paused: nothing tells it to play
    assert not started.signal_triggered and not player.playing


def test_two_takes_keys_switch_what_plays_and_use_this_take_pays_nothing(
    qtbot: QtBot,
    real_window: RealWindowFactory,
    clip_factory: ClipFactory,
    interactions: AnsweringInteractions,
    simulator: Simulator,
) -> None:
    window, context = real_window()
    job = _ready(qtbot, window, clip_factory("takes.mp4", 4.0, width=160, height=90, fps=12))
    window.select_job(job.id)
    panel = window.jobs_page.sound_panel
    assert panel.takes_spin.isEnabled()
    panel.takes_spin.setValue(2)  # written to the waiting clip's options
    qtbot.waitUntil(lambda: _job(window, "takes.mp4").options.takes == 2)
    qtbot.waitUntil(lambda: "2 takes · 2 paid Kling jobs" in _message(window, job.id))
    done = _add_sound(qtbot, window, "takes.mp4")
    assert interactions.requests[-1].paid_jobs == 2
    assert simulator.submit_count == 2

    window.select_job(done.id)
    preview = window.preview
    qtbot.waitUntil(lambda: preview.player.loaded)
    assert (
        preview.take_buttons[1].isVisible()
        and preview.result_button.accessibleName() == "Take 1 (result)"
    )
    other = Path(json.loads(done.outputs)["takes"][1])
    window.activateWindow()  # keyboard shortcuts need the active window
    qtbot.waitUntil(window.isActiveWindow)
    qtbot.waitUntil(window.acts.take_actions[1].isEnabled)  # within REFRESH_INTERVAL_MS
    table = window.table
    table.setFocus()
    QTest.keyClick(table, Qt.Key.Key_2)
    assert preview.current() == PreviewPane.TAKE + 1
    qtbot.waitUntil(lambda: preview.player.loaded and preview.player.source == other)
    QTest.keyClick(table, Qt.Key.Key_0)
    assert preview.current() == PreviewPane.ORIGINAL
    qtbot.waitUntil(lambda: preview.player.source == done.input_path)
    QTest.keyClick(table, Qt.Key.Key_1)
    assert preview.current() == PreviewPane.RESULT
    qtbot.waitUntil(lambda: preview.player.source == done.output_path)

    # Take 2 becomes the result: a remix, nothing sent to Kling.
    QTest.keyClick(table, Qt.Key.Key_2)
    tasks = len(simulator.tasks())
    with qtbot.waitSignal(window.sound.remixed, timeout=TIMEOUT_MS):
        preview.use_take_button.click()
    chosen = context.runner.job(done.id)
    assert chosen is not None and chosen.options.take == 1
    assert len(simulator.tasks()) == tasks and simulator.submit_count == 2
    qtbot.waitUntil(lambda: preview.result_button.accessibleName() == "Take 2 (result)")
    assert "Take 2 of 2 is the result" in _message(window, done.id)

    # A level changed while take 1 is on show: every take is remixed, take 1 stays on show.
    QTest.keyClick(table, Qt.Key.Key_1)
    assert preview.current_take() == 0
    with qtbot.waitSignal(window.sound.remixed, timeout=TIMEOUT_MS):
        window.jobs_page.sound_panel.sound_level.slider.setValue(70)
    assert preview.current_take() == 0
    assert len(simulator.tasks()) == tasks and simulator.submit_count == 2


# -- on a stand-in runner ------------------------------------------------------------------


def _clip_of_parts(tmp_path: Path) -> tuple[Job, list[Job]]:
    from kling_desktop.media.prepare import Part, Plan

    plan = Plan(45.0, tuple(Part(i, i * 15.0, (i + 1) * 15.0) for i in range(3)), ("split",))
    clip = Job(
        id=1,
        input_path=tmp_path / "long.mp4",
        state=S.PROCESSING,
        options=JobOptions(email="demo@example.com"),
        duration_s=45.0,
        plan=plan.to_json(),
        requests=3,
    )
    states = (S.DONE, S.PROCESSING, S.UPLOADING)
    requests = [
        Job(
            id=10 + i,
            input_path=tmp_path / f"part{i + 1}.mp4",
            state=state,
            parent_id=1,
            part_index=i,
            plan=whole_clip_plan(15.0),
        )
        for i, state in enumerate(states)
    ]
    return clip, requests


def test_a_clip_of_parts_names_each_part_and_the_panel_allows_only_the_mix(
    qtbot: QtBot, fake_window: FakeWindowFactory, tmp_path: Path
) -> None:
    clip, requests = _clip_of_parts(tmp_path)
    window, runner = fake_window((clip,))
    runner.requests[clip.id] = requests
    runner.set_progress(12, Progress(0.4, ""))
    runner.set_progress(clip.id, Progress(0.3, "1 of 3 parts done · part 3: Uploading"))
    assert _message(window, clip.id) == (
        "3 parts: Part 1 ✓ · Part 2 Adding sound · Part 3 Uploading 40 %"
    )
    window.select_job(clip.id)
    qtbot.waitUntil(lambda: "Part 2 Adding sound" in window.details.text())
    assert "1 of 3 parts done · part 3: Uploading" in window.details.text()
    panel = window.jobs_page.sound_panel
    assert panel.sound_level.isEnabled() and not panel.takes_spin.isEnabled()
    panel.original_level.spin.setValue(40)
    assert runner.calls[-1] == ("set_options", ([clip.id], {"original_volume": 0.4}))


def test_the_sound_panel_is_reached_with_the_keyboard(
    qtbot: QtBot, fake_window: FakeWindowFactory, tmp_path: Path
) -> None:
    ready = Job(id=1, input_path=tmp_path / "a.mp4", state=S.READY, duration_s=4.0)
    window, runner = fake_window((ready,))
    window.select_job(1)
    window.table.setFocus()
    QTest.keyClick(window, Qt.Key.Key_L, Qt.KeyboardModifier.ControlModifier)
    panel = window.jobs_page.sound_panel
    assert QApplication.focusWidget() is panel.sound_level.slider
    QTest.keyClick(panel.sound_level.slider, Qt.Key.Key_Left)  # 100 % → 95 %
    assert runner.calls[-1] == ("set_options", ([1], {"sound_volume": 0.95}))
    order = [QApplication.focusWidget()]
    for _ in range(6):
        QTest.keyClick(QApplication.focusWidget(), Qt.Key.Key_Tab)
        order.append(QApplication.focusWidget())
    assert order[1:6] == [
        panel.sound_level.spin,
        panel.original_level.slider,
        panel.original_level.spin,
        panel.duck_combo,
        panel.loudness_combo,
    ]
    # Typing a number in a spin box types it (the take keys 1–4 do not take it).
    spin = panel.takes_spin
    spin.setFocus()
    spin.selectAll()
    QTest.keyClick(spin, Qt.Key.Key_3)
    assert spin.value() == 3
    assert runner.calls[-1] == ("set_options", ([1], {"takes": 3}))
    names = {w.accessibleName() for w in panel.focus_widgets()}
    assert "Kling's sound level" in names and "Takes" in names and "" not in names
    dialog = window.help_actions.show_shortcuts()  # Help → Keyboard shortcuts
    rows = dialog.rows()
    dialog.close()
    for row in (
        ("Sound", "Sound options", "Ctrl+L"),
        ("Sound", "Play take 2", "2"),
        ("Sound", "Play the original", "0"),
        ("Sound", "Use this take (free)", "Ctrl+U"),
    ):
        assert row in rows, rows


def test_new_clips_get_the_settings_defaults_and_the_dialog_saves_them(
    qtbot: QtBot,
) -> None:
    settings = Settings()
    dlg = SettingsDialog(settings)
    qtbot.addWidget(dlg)
    dlg.show()
    dlg.max_length.setValue(120)
    dlg.takes.setValue(2)
    dlg.sound_volume.setValue(80)
    dlg.original_volume.setValue(40)
    dlg.duck.setChecked(True)
    dlg.loudness.setCurrentIndex(dlg.loudness.findData(-14.0))
    dlg.export_audio.setCurrentIndex(dlg.export_audio.findData("wav"))
    with qtbot.waitSignal(dlg.saved, timeout=5000):
        dlg.ok_button.click()
    saved = Settings.load(app_paths().settings_file)
    assert (saved.max_length_s, saved.takes, saved.duck, saved.export_audio) == (
        120.0,
        2,
        True,
        "wav",
    )
    assert saved.sound_volume == 0.8 and saved.original_volume == 0.4
    assert saved.loudness_lufs == -14.0
    options = new_clip_options(saved, email="a@x", keep_original_sound=False, output_dir="")
    assert options.takes == 2 and options.loudness_lufs == -14.0 and options.max_length_s == 120
    assert new_clip_options(Settings(), email="", keep_original_sound=False, output_dir="") == (
        JobOptions()
    )


def test_ducking_either_way_and_keeping_takes_from_the_panel(qtbot: QtBot) -> None:
    """The ducking choice sets one direction at a time; "keep the other takes" travels too."""
    from kling_desktop.gui.sound_panel import SoundPanel

    panel = SoundPanel(("wav",))
    qtbot.addWidget(panel)
    job = Job(id=1, input_path=Path("/c.mp4"), state=JobState.READY, options=JobOptions())
    panel.show_jobs([job])
    edits: list[dict[str, object]] = []
    panel.edited.connect(edits.append)
    panel.duck_combo.setCurrentIndex(2)
    assert edits[-1] == {"duck": False, "duck_sound": True}
    panel.duck_combo.setCurrentIndex(1)
    assert edits[-1] == {"duck": True, "duck_sound": False}
    panel.keep_takes_check.setChecked(False)
    assert edits[-1] == {"keep_takes": False}
    shown = job.replace(options=JobOptions(duck_sound=True, keep_takes=False))
    panel.show_jobs([shown])
    assert panel.duck_combo.currentIndex() == 2 and not panel.keep_takes_check.isChecked()


def test_beside_takes_the_panel_counts_the_paid_jobs(qtbot: QtBot) -> None:
    from kling_desktop.gui.sound_panel import SoundPanel
    from kling_desktop.media.prepare import Part, Plan

    panel = SoundPanel(("wav",))
    qtbot.addWidget(panel)
    whole = Job(id=1, input_path=Path("/c.mp4"), state=JobState.READY, plan=whole_clip_plan(8.0))
    panel.show_jobs([whole])
    assert panel.takes_note.text() == "= 1 paid Kling job"
    three = Plan(45.0, tuple(Part(i, i * 15.0, (i + 1) * 15.0) for i in range(3)), ("split",))
    long = Job(id=2, input_path=Path("/l.mp4"), state=JobState.READY, plan=three.to_json())
    panel.show_jobs([long])
    assert panel.takes_note.text() == "= 3 paid Kling jobs"
    panel.takes_spin.setValue(2)
    assert panel.takes_note.text() == "= 6 paid Kling jobs"
    panel.show_jobs([whole, long])  # both clips: 1 + 3 parts, one take each (the first's)
    assert panel.takes_note.text() == "= 4 paid Kling jobs"


def test_the_take_buttons_stay_in_take_order_whichever_is_the_result(qtbot: QtBot) -> None:
    from kling_desktop.gui.take_switch import SourceSwitch

    switch = SourceSwitch()
    qtbot.addWidget(switch)
    switch.show()
    for result_take in (1, 2, 0):
        switch.set_versions(result=True, original=True, takes=[True] * 3, result_take=result_take)
        qtbot.waitUntil(lambda: switch.result_button.isVisible())
        layout = switch.layout()
        assert layout is not None
        layout.activate()  # the row laid out now, not at the next event
        shown = [b for b in (switch.result_button, *switch.take_buttons) if b.isVisible()]
        in_row = [b.text() for b in sorted(shown, key=lambda b: b.geometry().x())]
        expected = [f"Take {k + 1}" + (" ✓" if k == result_take else "") for k in range(3)]
        assert in_row == expected


def test_a_done_clip_of_one_request_has_no_parts_line() -> None:
    from kling_desktop.gui.parts_text import parts_line

    clip = Job(id=1, input_path=Path("/c.mp4"), state=S.DONE, requests=1,
               plan=whole_clip_plan(8.0))  # fmt: skip
    request = Job(id=2, input_path=Path("/c.mp4"), state=S.DONE, parent_id=1)
    assert parts_line(clip, [request], lambda _i: Progress()) == ""
    running = clip.replace(state=S.PARTS)
    assert parts_line(running, [request.replace(state=S.PROCESSING)], lambda _i: Progress())
