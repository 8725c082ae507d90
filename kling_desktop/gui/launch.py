"""Start the window: ``kling-desktop [--demo] [FILE...]``.

Builds, in order, the application, settings, logging, token vault, client source, job store,
runner and window, and hands each the pieces it needs through its constructor. The
:class:`Launcher` can also swap the whole stack between the user's real jobs and the demo
while the app runs ("Try the demo" / "Leave the demo").
"""

from __future__ import annotations

import logging
import sys
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from PySide6.QtCore import QObject, QSettings, QTimer
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QApplication, QMessageBox, QStyle

from kling_desktop import APP_ID, APP_NAME, __version__, instance
from kling_desktop.context import ClientSource
from kling_desktop.gui import plurals
from kling_desktop.gui.main_window import Interactions, MainWindow
from kling_desktop.gui.notify import Level
from kling_desktop.gui.timing import AfterFirstPaint
from kling_desktop.jobs.store import JobStore
from kling_desktop.logs import setup_logging
from kling_desktop.paths import AppPaths, app_paths
from kling_desktop.runner.engine import JobRunner
from kling_desktop.settings import Settings

if TYPE_CHECKING:
    from kling_desktop.accounts.vault import Vault

    # Only --demo needs these (the simulator and PyAV): imported in build_context's demo branch.
    from kling_desktop.gui.demo import DemoService

log = logging.getLogger(__name__)


class _VaultOnFirstUse:
    """The app's :class:`Vault`, made (and ``keyring`` imported) when it is first used.

    Importing ``keyring`` costs 50-100 ms; the first use is reading the token on a worker
    thread (:meth:`MainWindow.load_token`), so the GUI thread no longer pays for it before the
    window's first paint.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._vault: Vault | None = None

    def _get(self) -> Vault:
        with self._lock:
            if self._vault is None:
                from kling_desktop.accounts.vault import Vault

                self._vault = Vault()
            return self._vault

    def __getattr__(self, name: str) -> Any:
        return getattr(self._get(), name)


def ui_state_for(paths: AppPaths) -> QSettings:
    """Window geometry and column layout, in an INI file inside the app's config folder."""
    paths.config_dir.mkdir(parents=True, exist_ok=True)
    return QSettings(str(paths.config_dir / "window.ini"), QSettings.Format.IniFormat)


@dataclass
class AppContext:
    """One running stack: the user's real jobs, or the demo's."""

    paths: AppPaths
    settings: Settings
    settings_file: Path | None  # None: not saved (the demo)
    vault: Vault
    client_source: ClientSource
    store: JobStore
    runner: JobRunner
    ui_state: QSettings
    demo: DemoService | None = None
    #: The token is still to be read from the vault (off the GUI thread, once the window shows:
    #: :meth:`MainWindow.load_token`); until then the client source has none.
    token_pending: bool = False

    def close(self) -> None:
        """Stop the runner (jobs stay in the store and resume next time), then the rest."""
        self.runner.shutdown()
        self.store.close()
        self.ui_state.sync()
        if self.demo is not None:
            self.demo.stop()


def build_context(
    *,
    demo: bool,
    vault: Vault,
    paths: AppPaths | None = None,
    base_url: str | None = None,
    token: str | None = None,
    settings: Settings | None = None,
    demo_task_seconds: float | None = None,
) -> AppContext:
    """Build a stack. ``base_url``/``token``/``settings`` override what would be looked up.

    Without a ``token`` the real stack starts with none and ``token_pending`` set: reading the
    vault may import and probe the keyring or wait on D-Bus (an unlock prompt), which must not
    happen on the GUI thread (DESIGN §4.3). The window reads it once it shows.
    """
    user_paths = (paths or app_paths()).ensure()
    user_settings = Settings.load(user_paths.settings_file)
    ui_state = ui_state_for(user_paths)
    if demo:
        from kling_desktop.gui.demo import DemoService, demo_paths, demo_settings

        home = demo_paths(user_paths).ensure()
        service = (
            DemoService(home)
            if demo_task_seconds is None
            else DemoService(home, task_seconds=demo_task_seconds)
        ).start()
        service.reset_jobs()
        ctx_settings = settings or demo_settings(home, user_settings)
        source = ClientSource(base_url or service.url, token or service.token, demo=True)
        store = JobStore(home.database)
        runner = JobRunner(store, source.factory, ctx_settings)
        return AppContext(home, ctx_settings, None, vault, source, store, runner, ui_state, service)
    ctx_settings = settings or user_settings
    source = ClientSource(base_url or ctx_settings.effective_api_url(), token)
    store = JobStore(user_paths.database)
    runner = JobRunner(store, source.factory, ctx_settings)
    return AppContext(
        user_paths,
        ctx_settings,
        user_paths.settings_file,
        vault,
        source,
        store,
        runner,
        ui_state,
        token_pending=token is None,
    )


class Launcher(QObject):
    """Owns the current stack and its window; swaps them between real and demo mode."""

    def __init__(
        self,
        vault: Vault,
        *,
        interactions: Interactions | None = None,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.vault = vault
        self.interactions = interactions
        self.context: AppContext | None = None
        self.window: MainWindow | None = None
        self.server: QObject | None = None  # the hand-off socket (listen_for_hand_offs)

    def open(
        self, *, demo: bool, files: list[Path] | None = None, **overrides: object
    ) -> MainWindow:
        context = build_context(demo=demo, vault=self.vault, **overrides)  # type: ignore[arg-type]
        window = MainWindow(
            context, interactions=self.interactions, on_switch_mode=self.switch_mode
        )
        window.closed.connect(lambda: self._window_closed(window, context))
        self.context, self.window = context, window
        window.show()
        notes = context.store.notes()  # a damaged job list set aside, rows left out
        if notes:
            window.message_bar.show_message(" ".join(notes), Level.WARNING)
        if files:
            window.add_paths(files)  # they wait in the window until the accounts are known
        if context.token_pending:
            # The runner resumes once the token is in: resumed work then finds a client at
            # once, instead of pausing on "no token" and racing the token's arrival.
            window.load_token(on_loaded=context.runner.resume)
        else:
            context.runner.resume()
        return window

    def switch_mode(self, demo: bool) -> None:
        """Open the other mode's window, then close this one (its jobs stay stored).

        The new window shows first: closing the last window would end the application.
        """
        old = self.window
        window = self.open(demo=demo)
        if old is not None:
            window.restoreGeometry(old.saveGeometry())
            old.close_for_switch()

    def _window_closed(self, window: MainWindow, context: AppContext) -> None:
        context.close()
        if self.window is window:
            self.context = None
            self.window = None
        window.deleteLater()

    def shutdown(self) -> None:
        if self.window is not None:
            self.window.close_for_switch()

    def listen_for_hand_offs(self, data_dir: Path) -> None:
        """Take files from later starts on ``data_dir`` (this process holds its lock)."""
        self.server = instance.serve_hand_offs(data_dir, self.receive_files, self)

    def receive_files(self, files: list[Path]) -> bool:
        """Files handed over by a second start (``kling-desktop clip.mp4`` while this window
        runs): show the window and add them as if dropped. ``False``: no window to take them."""
        window = self.window
        if window is None:
            return False
        log.info("Another start handed over %d file(s)", len(files))
        if window.isMinimized():
            window.showNormal()
        window.show()
        window.raise_()
        window.activateWindow()
        if files:
            window.add_paths(files)
        return True


def app_icon() -> QIcon:
    """The app's own icon (every rendered size, for high-DPI), else a standard one."""
    try:
        from kling_desktop.resources import app_icon as resource_icon

        found = resource_icon()
        if not found.isNull():
            return found
    except Exception:  # an icon is never worth failing the start for
        log.warning("The application icon could not be loaded", exc_info=True)
    return QApplication.style().standardIcon(QStyle.StandardPixmap.SP_MediaVolume)


#: How long a thread may hold the GIL while another waits for it, in the window's process
#: (Python's default is 5 ms). The GUI thread takes the GIL back for every call from Qt into
#: Python (each cell of a repaint, each signal to a Python slot); while the check, upload and
#: thumbnail threads run Python, each of those waits up to this long. 1 ms keeps a repaint
#: during a 50-clip drop within a frame or two; the pool threads lose a little throughput.
GIL_SWITCH_INTERVAL_S = 0.001


def make_application(qt_args: list[str]) -> QApplication:
    existing = QApplication.instance()
    if isinstance(existing, QApplication):
        return existing
    sys.setswitchinterval(GIL_SWITCH_INTERVAL_S)
    app = QApplication([sys.argv[0] if sys.argv else APP_ID, *qt_args])
    app.setApplicationName(APP_ID)
    app.setOrganizationName(APP_ID)
    app.setApplicationDisplayName(APP_NAME)
    app.setApplicationVersion(__version__)
    app.setDesktopFileName("io.github.kling_desktop")
    app.setWindowIcon(app_icon())
    plurals.install(app)  # "1 clip needs", "2 clips need": English is a translation too
    return app


def _tell(qt_args: list[str], text: str) -> None:
    """A sentence for someone who started the app: on stderr and in a message box."""
    print(f"kling-desktop: {text}", file=sys.stderr, flush=True)
    app = make_application(qt_args)
    if app.platformName() not in ("offscreen", "minimal"):  # nobody there to click it
        QMessageBox.warning(None, APP_NAME, text)


def wait_for_engine(lock: instance.InstanceLock, holder: instance.Holder | None) -> bool | None:
    """A command (``kling-desktop resume``…) holds the job list: say so, and wait for it.

    ``True`` once this process holds the lock; ``False`` when the user gave up; ``None``
    when a window took the lock meanwhile (the files then go to it). Needs a QApplication.
    """
    who = instance.describe_holder(holder, start=True)
    box = QMessageBox(
        QMessageBox.Icon.Information,
        APP_NAME,
        QApplication.translate("Launch", "{who} is using the job list.").format(who=who),
        QMessageBox.StandardButton.Cancel,
    )
    box.setInformativeText(
        QApplication.translate("Launch", "Kling Desktop opens as soon as it has finished.")
    )
    outcome: list[bool | None] = [False]

    def poll() -> None:
        if lock.try_acquire():
            outcome[0] = True
        else:
            now = lock.holder()
            if now is None or not now.is_window:
                return
            outcome[0] = None
        box.done(0)

    timer = QTimer(box)
    timer.setInterval(200)
    timer.timeout.connect(poll)
    timer.start()
    box.exec()
    timer.stop()
    return outcome[0]


def second_start(lock: instance.InstanceLock, files: list[Path], qt_args: list[str]) -> int | None:
    """This start found the data folder's lock held (DESIGN §4.8). A window holds it: hand it
    the files and exit 0. A command holds it: wait for it (``None``: the lock is ours now,
    start the window). Never a second engine on the same job list."""
    while True:
        holder = lock.settled_holder()
        if holder is None or holder.is_window:
            if instance.hand_off(lock.data_dir, files):
                where = instance.describe_holder(holder)
                log.info("Handed %d file(s) to %s", len(files), where)
                if files:
                    print(f"kling-desktop: the clips were added to {where}.", file=sys.stderr)
                return 0
            if lock.try_acquire():  # it has just quit
                return None
            if lock.holder() not in (None, holder):
                continue  # someone else took over meanwhile: look again
            who = instance.describe_holder(holder, start=True)
            _tell(
                qt_args,
                f"{who} is already open on this job list but did not answer. Close it (or "
                "wait until it responds), then try again.",
            )
            return 2
        make_application(qt_args)
        print(f"kling-desktop: {instance.waiting_sentence(holder)}", file=sys.stderr, flush=True)
        got = wait_for_engine(lock, holder)
        if got is True:
            return None
        if got is False:
            return 2
        # A window took the job list meanwhile: hand the files to it.


def run_gui(files_given: Sequence[Path], *, demo: bool, qt_args: list[str]) -> int:
    """The window's entry point (the command line is parsed by :mod:`kling_desktop.cli.parser`);
    returns the process exit code."""
    paths = app_paths().ensure()
    setup_logging(paths.log_file)
    files = [Path(p).expanduser().absolute() for p in files_given]
    # One process per data folder, held until this process ends (DESIGN §4.8); the demo's
    # folder lives inside it, so it is covered too.
    lock = instance.InstanceLock(paths.data_dir, instance.WINDOW)
    if not lock.try_acquire():
        code = second_start(lock, files, qt_args)
        if code is not None:
            return code
    log.info("Kling Desktop %s starting%s", __version__, " (demo)" if demo else "")
    app = make_application(qt_args)
    launcher = Launcher(cast("Vault", _VaultOnFirstUse()))
    try:
        window = launcher.open(demo=demo, files=files)
    except Exception as exc:
        log.exception("The window could not start")
        QMessageBox.critical(
            None,
            APP_NAME,
            QApplication.translate("Launch", "Kling Desktop could not start: {why}").format(
                why=exc
            ),
        )
        return 2
    app.aboutToQuit.connect(launcher.shutdown)
    # Listen once the window has painted (QtNetwork and the socket cost ~10 ms that the first
    # frame need not wait for), or after a second if it never paints (started minimised): a
    # second start meanwhile retries its hand-off a while.
    listening: list[bool] = []

    def listen() -> None:
        if not listening:
            listening.append(True)
            launcher.listen_for_hand_offs(paths.data_dir)

    AfterFirstPaint(window, listen)
    QTimer.singleShot(1000, listen)
    return app.exec()
