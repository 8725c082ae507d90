"""Take the README/docs screenshots of the window's main states, against the simulator.

Run under Xvfb (the xcb platform renders like a real desktop):

    xvfb-run -a -s "-screen 0 1280x800x24" env QT_QPA_PLATFORM=xcb \
        python -m tests.gui.screenshots docs/screenshots

Everything happens in a throw-away KLING_DESKTOP_HOME with an in-memory keyring.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

os.environ.setdefault("KLING_DESKTOP_HOME", tempfile.mkdtemp(prefix="kling-shots-"))
os.environ["PYTHON_KEYRING_BACKEND"] = "tests.fixtures.memkeyring.MemoryKeyring"
os.environ.pop("KLING_DESKTOP_TOKEN", None)

from PySide6.QtCore import QEventLoop, QTimer
from PySide6.QtWidgets import QApplication, QWidget

from kling_desktop.accounts.vault import Vault
from kling_desktop.gui.launch import Launcher, make_application
from kling_desktop.gui.main_window import Interactions, MainWindow
from kling_desktop.jobs.model import JobState
from kling_desktop.media.synth import make_clip
from kling_desktop.simulator import DEMO_TOKEN, Scenario, Simulator


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


def shoot(widget: QWidget, target: Path) -> None:
    settle()
    frame = widget.frameGeometry()
    screen = widget.screen()
    shot = screen.grabWindow(0, frame.x(), frame.y(), frame.width(), frame.height())
    target.parent.mkdir(parents=True, exist_ok=True)
    shot.save(str(target))
    print("saved", target)


def states(window: MainWindow) -> list[JobState]:
    return [j.state for j in window.model.jobs()]


def main(out: Path) -> int:
    app = make_application([])
    clips = Path(os.environ["KLING_DESKTOP_HOME"]) / "My clips"
    for name, seconds in (
        ("beach-sunset.mp4", 6.0),
        ("city-rain.mp4", 8.0),
        ("forest-walk.mp4", 5.0),
        ("too-short.mp4", 1.5),
    ):
        make_clip(clips / name, seconds, width=1280, height=720, fps=24)

    launcher = Launcher(Vault(), interactions=Yes())

    # 1. First start: no token anywhere.
    window = launcher.open(demo=False)
    window.move(0, 0)
    window.resize(1180, 720)
    shoot(window, out / "first-run.png")
    window.close_for_switch()

    # 2. The demo, empty.
    window = launcher.open(demo=True, demo_task_seconds=8.0)
    window.move(0, 0)
    window.resize(1180, 720)
    pump(lambda: window.account_combo.isEnabled())
    shoot(window, out / "empty.png")

    # 3. Jobs in progress.
    window.add_paths(sorted(clips.iterdir()))
    pump(lambda: len(states(window)) == 4 and JobState.CHECKING not in states(window))
    window.add_sound()
    pump(lambda: states(window).count(JobState.PROCESSING) >= 2)
    settle(2.5)
    shoot(window, out / "jobs-in-progress.png")

    # 4. Done, previewing the result.
    pump(lambda: states(window).count(JobState.DONE) == 3, 60)
    first = window.model.jobs()[0]
    window.select_job(first.id)
    player = window.preview.player  # type: ignore[attr-defined]
    pump(lambda: player.loaded)
    player.play()
    settle(1.5)
    player.pause()
    shoot(window, out / "done-with-preview.png")
    window.close_for_switch()

    # 5. Accounts, with a token saved (in the in-memory keyring) for a simulated service.
    with Simulator(scenario=Scenario(task_seconds=1.0)) as sim:
        Vault().set_token(DEMO_TOKEN)
        os.environ["KLING_DESKTOP_API_URL"] = sim.url
        window = launcher.open(demo=False)
        window.move(0, 0)
        window.resize(1180, 720)
        window.open_accounts()
        dialog = window.accounts_dialog
        pane = window.accounts_pane
        pump(lambda: bool(pane.accounts))
        dialog.move(220, 80)
        settle(1.0)
        shoot(dialog, out / "accounts.png")
        dialog.close()
        window.close_for_switch()
    app.processEvents()
    QApplication.closeAllWindows()
    return 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1] if len(sys.argv) > 1 else "docs/screenshots")))
