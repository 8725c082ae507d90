"""Take the README/docs screenshots of the window's states, at 1024×700 and 1920×1080, light
and dark.

Run under Xvfb with a screen as large as the largest shot (the xcb platform renders like a
real desktop):

    xvfb-run -a -s "-screen 0 1920x1080x24" env QT_QPA_PLATFORM=xcb \\
        .venv/bin/python -m tests.gui.screenshots docs/screenshots

Each state is saved as ``<state>-1024.png``, ``<state>-1920.png`` and ``<state>-dark.png``
(1024×700 in a dark palette). The first run, the demo's settings and the accounts run on the
real stack (the demo, a local simulator); the job states come from a stand-in runner that puts
each row exactly in the state shown (a countdown, a failure, a decision), with real clips and
results, so every shot is the same from run to run. Everything happens in a throw-away
KLING_DESKTOP_HOME with an in-memory keyring.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

os.environ.setdefault("KLING_DESKTOP_HOME", tempfile.mkdtemp(prefix="kling-shots-"))
os.environ["PYTHON_KEYRING_BACKEND"] = "tests.fixtures.memkeyring.MemoryKeyring"
os.environ.pop("KLING_DESKTOP_TOKEN", None)

from PySide6.QtCore import QEventLoop, QLocale, Qt, QTimer
from PySide6.QtGui import QColor, QPainter, QPalette, QPen
from PySide6.QtWidgets import QApplication, QWidget

from kling_desktop.accounts.vault import Vault
from kling_desktop.gui import dialogs
from kling_desktop.gui.launch import AppContext, Launcher, make_application, ui_state_for
from kling_desktop.gui.main_window import Interactions, MainWindow
from kling_desktop.jobs.model import Job, JobOptions, JobState
from kling_desktop.jobs.store import JobStore
from kling_desktop.media.synth import make_clip
from kling_desktop.paths import app_paths
from kling_desktop.runner.engine import BatchSummary, Progress
from kling_desktop.settings import Settings
from kling_desktop.simulator import DEMO_TOKEN, Scenario, Simulator
from tests.gui.conftest import StubClientSource
from tests.gui.fakes import FakeRunner

#: (suffix, width, height, dark)
SHOTS = (("1024", 1024, 700, False), ("1920", 1920, 1080, False), ("dark", 1024, 700, True))
EMAIL = "demo@example.com"
TAB = Qt.FocusReason.TabFocusReason


class Yes(Interactions):
    def __init__(self) -> None:
        super().__init__()
        self.skip_spend_confirm = True


def pump(predicate: Callable[[], bool], timeout_s: float = 30.0) -> None:
    deadline = time.monotonic() + timeout_s
    loop = QEventLoop()
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError("the window did not reach the expected state")
        QTimer.singleShot(30, loop.quit)
        loop.exec()


def settle(seconds: float = 0.6) -> None:
    end = time.monotonic() + seconds
    pump(lambda: time.monotonic() > end, seconds + 5)


def dark_palette() -> QPalette:
    """A dark palette like the desktops' dark themes (Fusion draws with it)."""
    palette = QPalette()
    role, group = QPalette.ColorRole, QPalette.ColorGroup
    colours = {
        role.Window: "#2b2b2e",
        role.WindowText: "#e6e6e6",
        role.Base: "#1e1e20",
        role.AlternateBase: "#323236",
        role.ToolTipBase: "#3a3a3e",
        role.ToolTipText: "#f0f0f0",
        role.PlaceholderText: "#9a9a9a",
        role.Text: "#e6e6e6",
        role.Button: "#38383c",
        role.ButtonText: "#e6e6e6",
        role.BrightText: "#ff6b6b",
        role.Light: "#4a4a50",
        role.Midlight: "#404046",
        role.Mid: "#2f2f33",
        role.Dark: "#19191b",
        role.Shadow: "#000000",
        role.Highlight: "#3d8ee6",
        role.HighlightedText: "#ffffff",
        role.Link: "#6cb4ff",
        role.LinkVisited: "#b48cff",
    }
    for which, colour in colours.items():
        palette.setColor(which, QColor(colour))
    for which in (role.WindowText, role.Text, role.ButtonText):
        palette.setColor(group.Disabled, which, QColor("#7d7d80"))
    palette.setColor(group.Disabled, role.Highlight, QColor("#4a4a50"))
    return palette


@contextmanager
def palette_of(dark: bool) -> Iterator[None]:
    app = QApplication.instance()
    assert isinstance(app, QApplication)
    light = app.style().standardPalette()
    app.setPalette(dark_palette() if dark else light)
    try:
        yield
    finally:
        app.setPalette(light)


def grab(widget: QWidget, target: Path, dialog: QWidget | None = None) -> None:
    """The screen under ``widget``'s frame (with ``dialog`` on top of it, outlined: there is
    no window manager under Xvfb to draw its frame)."""
    frame = widget.frameGeometry()
    shot = widget.screen().grabWindow(0, frame.x(), frame.y(), frame.width(), frame.height())
    if dialog is not None:
        painter = QPainter(shot)
        box = dialog.frameGeometry().translated(-frame.x(), -frame.y())
        painter.setPen(QPen(dialog.palette().color(QPalette.ColorRole.Shadow), 1))
        painter.drawRect(box.adjusted(-1, -1, 0, 0))
        painter.end()
    target.parent.mkdir(parents=True, exist_ok=True)
    shot.save(str(target), "PNG", 9)
    print("saved", target, f"{target.stat().st_size // 1024} KB")


def shoot(
    window: MainWindow,
    out: Path,
    name: str,
    *,
    dialog: QWidget | None = None,
    before: Callable[[], None] | None = None,
) -> None:
    """``name`` at both sizes and in the dark palette; ``dialog`` centred on the window."""
    for suffix, width, height, dark in SHOTS:
        with palette_of(dark):
            window.showNormal()
            window.move(0, 0)
            window.resize(width, height)
            settle(0.4)
            if before is not None:
                before()
            if dialog is not None:
                dialog.show()
                box = dialog.frameGeometry()
                box.moveCenter(window.frameGeometry().center())
                dialog.move(box.topLeft())
                dialog.raise_()
                dialog.activateWindow()
            settle(0.8)
            grab(window, out / f"{name}-{suffix}.png", dialog)
    if dialog is not None:
        dialog.hide()


# -- the job states, on a stand-in runner ------------------------------------------------------


def job(job_id: int, clip: Path, state: JobState, **fields: object) -> Job:
    return Job(
        id=job_id,
        input_path=clip,
        state=state,
        options=JobOptions(email=EMAIL),
        duration_s=fields.pop("duration_s", 6.0),  # type: ignore[arg-type]
        input_size=clip.stat().st_size if clip.exists() else None,
        **fields,  # type: ignore[arg-type]
    )


def staged_window(jobs: list[Job]) -> tuple[MainWindow, FakeRunner, JobStore]:
    paths = app_paths().ensure()
    runner = FakeRunner(jobs)
    store = JobStore(paths.database)
    context = AppContext(
        paths=paths,
        settings=Settings(),
        settings_file=None,
        vault=Vault(),
        client_source=StubClientSource("user:1-screenshots"),
        store=store,
        runner=runner,  # type: ignore[arg-type]
        ui_state=ui_state_for(paths),
    )
    window = MainWindow(context, interactions=Yes())
    window.show()
    pump(lambda: window.account_combo.isEnabled())
    return window, runner, store


def job_states(out: Path, clips: dict[str, Path], results: dict[str, Path]) -> None:
    now = time.time()
    kling_failed = (
        "Kling could not add sound to this clip: Audio generation failed. “Send again” starts "
        "a new paid Kling job, or pick another clip."
    )
    jobs = [
        job(1, clips["beach-sunset"], JobState.PROCESSING, task_id=71, submitted_at=now - 754),
        job(2, clips["city-rain"], JobState.QUEUED, duration_s=8.0),
        job(3, clips["forest-walk"], JobState.UPLOADING, duration_s=5.0),
        job(4, clips["night-market"], JobState.WAITING_SLOT, confirmed_requests=1),
        job(5, clips["harbour-wind"], JobState.READY, duration_s=7.5),
        job(6, clips["mountain-lake"], JobState.READY, duration_s=9.0),
    ]
    window, runner, store = staged_window(jobs)
    try:
        runner.set_progress(2, Progress(None, "Upload interrupted", None, now + 60))
        runner.set_progress(3, Progress(0.63, ""))
        runner.set_progress(4, Progress(None, "Waiting for a free slot", now - 20, now + 45))
        window.select_job(2)

        # The list has the keyboard's focus (as after Tab): its rings show.
        def focus_the_list() -> None:
            window.activateWindow()
            pump(window.isActiveWindow, 5)
            window.table.setFocus(TAB)

        shoot(window, out, "jobs-in-progress", before=focus_the_list)

        # The Add sound confirmation for the two ready clips.
        ready = window.commands.ready_jobs()
        question = dialogs.spend_question(window, window.commands.start_request(ready))
        shoot(window, out, "add-sound-confirmation", dialog=question)
        question.deleteLater()

        # Done, the result playing.
        for job_id in (1, 2, 3):
            name = window.model.job(job_id).name.removesuffix(".mp4")  # type: ignore[union-attr]
            runner.set_progress(job_id, Progress())  # as the runner does on a new state
            runner.set_state(
                job_id,
                JobState.DONE,
                output_path=results[name],
                result_url="https://cdn.example/result.mp4",
                warnings="",
            )
        runner.set_progress(4, Progress(None, "Adding sound", now - 95))
        runner.set_state(4, JobState.PROCESSING, task_id=74, submitted_at=now - 95)
        window.select_job(1)

        def play() -> None:
            window.select_job(1)
            window.play_selected()
            pump(lambda: window.preview.player.playing, 10)
            settle(1.2)

        shoot(window, out, "done-with-preview", before=play)
        window.preview.player.pause()

        # A failure and its message: Kling's task for the clip ended without sound.
        runner.set_progress(4, Progress())
        runner.set_state(
            4,
            JobState.FAILED,
            error_code="kling_failed",
            error_message=kling_failed,
            confirmed_requests=1,
            paid_submits=1,
        )
        failed = runner.job(4)
        done = [j for j in runner.jobs() if j.state is JobState.DONE]
        assert failed is not None
        runner.finish_batch(BatchSummary(done=done, failed=[failed]))
        window.select_job(4)
        shoot(window, out, "failure")

        # A submit with no known outcome: the decision.
        runner.set_state(
            5,
            JobState.UNCERTAIN,
            error_code="uncertain",
            error_message=(
                "The request to add sound was sent, but no answer came back and Kling's task "
                "list does not show it. Decide whether to send it again."
            ),
            confirmed_requests=1,
            paid_submits=1,
        )
        window.message_bar.dismiss()
        window.select_job(5)
        uncertain = runner.job(5)
        assert uncertain is not None
        decision = dialogs.uncertain_question(
            window, uncertain, window.commands.resend_request([uncertain])
        )
        shoot(window, out, "needs-your-decision", dialog=decision)
        decision.deleteLater()
    finally:
        window.close_for_switch()
        store.close()


def parts_and_sound(out: Path, clips: dict[str, Path], results: dict[str, Path]) -> None:
    """A long clip split into parts (one part done, one at Kling, one uploading), a ready
    clip that will be split (the confirmation counts its paid jobs), and a done clip of two
    takes with its sound panel open."""
    from kling_desktop.jobs.parts import whole_clip_plan
    from kling_desktop.media.prepare import Part, Plan

    now = time.time()
    split = Plan(45.0, tuple(Part(i, i * 15.0, (i + 1) * 15.0) for i in range(3)), ("split",))
    takes_options = JobOptions(email=EMAIL, takes=2, take=0, original_volume=0.4, duck=True,
                               loudness_lufs=-14.0)  # fmt: skip
    jobs = [
        job(
            1,
            clips["long-drive"],
            JobState.PROCESSING,
            duration_s=45.0,
            plan=split.to_json(),
            requests=3,
            submitted_at=now - 40,
        ),
        job(
            2,
            clips["harbour-wind"],
            JobState.DONE,
            duration_s=7.5,
            output_path=results["harbour-wind"],
            outputs=json.dumps({"takes": ["", str(results["harbour-wind-take2"])]}),
            plan=whole_clip_plan(7.5),
        ),
        job(
            3,
            clips["city-walk"],
            JobState.READY,
            duration_s=62.0,
            plan=Plan(
                62.0,
                tuple(Part(i, i * 15.5, (i + 1) * 15.5) for i in range(4)),
                ("convert", "split"),
            ).to_json(),
        ),
        job(4, clips["mountain-lake"], JobState.READY, duration_s=9.0),
    ]
    jobs[1] = jobs[1].replace(options=takes_options)
    window, runner, store = staged_window(jobs)
    try:
        states = (JobState.DONE, JobState.PROCESSING, JobState.UPLOADING)
        runner.requests[1] = [
            Job(
                id=10 + i,
                input_path=clips["long-drive"],
                state=state,
                parent_id=1,
                part_index=i,
                submitted_at=now - 40,
            )
            for i, state in enumerate(states)
        ]
        runner.set_progress(12, Progress(0.4, ""))
        runner.set_progress(1, Progress(0.5, "1 of 3 parts done · part 2: Adding sound",
                                        now - 40))  # fmt: skip
        window.select_job(1)
        shoot(window, out, "clip-of-parts")

        ready = window.commands.ready_jobs()
        question = dialogs.spend_question(window, window.commands.start_request(ready))
        shoot(window, out, "paid-jobs-confirmation", dialog=question)
        question.deleteLater()

        def takes_and_panel() -> None:
            window.select_job(2)
            window.activateWindow()
            pump(window.isActiveWindow, 5)
            window.preview_selected()
            pump(lambda: window.preview.player.loaded, 10)
            window.jobs_page.focus_sound_panel()  # as Sound → Sound options (Ctrl+L)
            settle(0.5)

        shoot(window, out, "sound-panel-and-takes", before=takes_and_panel)
    finally:
        window.close_for_switch()
        store.close()


def main(out: Path) -> int:
    app = make_application([])
    app.setStyle("Fusion")  # the same look on every machine that runs this
    QLocale.setDefault(QLocale(QLocale.Language.English, QLocale.Country.UnitedStates))
    home = Path(os.environ["KLING_DESKTOP_HOME"])
    clips: dict[str, Path] = {}
    results: dict[str, Path] = {}
    for name, seconds in (
        ("beach-sunset", 6.0),
        ("city-rain", 8.0),
        ("forest-walk", 5.0),
        ("night-market", 6.0),
        ("harbour-wind", 7.5),
        ("mountain-lake", 9.0),
        ("long-drive", 45.0),
        ("city-walk", 12.0),
        ("harbour-wind-take2", 7.5),
    ):
        clips[name] = home / "My clips" / f"{name}.mp4"
        make_clip(clips[name], seconds, width=1280, height=720, fps=24)
        results[name] = home / "Videos" / f"{name}.sound.mp4"
        make_clip(results[name], seconds, width=1280, height=720, fps=24, audio=True)

    launcher = Launcher(Vault(), interactions=Yes())

    # First start: no token anywhere.
    window = launcher.open(demo=False)
    pump(lambda: window.stack.currentWidget() is window.welcome)
    shoot(window, out, "first-run")
    window.close_for_switch()

    job_states(out, clips, results)
    parts_and_sound(out, clips, results)

    # The demo's settings: readable, greyed, and why.
    window = launcher.open(demo=True, demo_task_seconds=8.0)
    pump(lambda: window.account_combo.isEnabled())
    window.add_paths([clips["beach-sunset"], clips["city-rain"]])
    pump(lambda: [j.state for j in window.model.jobs()] == [JobState.READY] * 2)
    window.open_settings()
    shoot(window, out, "settings-in-the-demo", dialog=window.tools.settings_dialog)
    window.tools.settings_dialog.close()
    window.close_for_switch()

    # Accounts, with a token saved (in the in-memory keyring) for a simulated service.
    with Simulator(scenario=Scenario(task_seconds=1.0)) as sim:
        Vault().set_token(DEMO_TOKEN)
        os.environ["KLING_DESKTOP_API_URL"] = sim.url
        window = launcher.open(demo=False)
        pump(lambda: window.account_combo.isEnabled())
        window.open_accounts()
        pane = window.tools.accounts_pane
        pump(lambda: bool(pane.accounts) and not pane.busy)
        shoot(window, out, "accounts", dialog=window.tools.accounts_dialog)
        window.tools.accounts_dialog.close()
        window.close_for_switch()
    app.processEvents()
    QApplication.closeAllWindows()
    return 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1] if len(sys.argv) > 1 else "docs/screenshots")))
