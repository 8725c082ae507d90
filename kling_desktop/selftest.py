"""``kling-desktop --self-test``: prove that this installation (source, wheel or frozen) works.

Prints one JSON report on stdout (and to ``--report FILE`` when given, for Windows GUI builds
that have no console) and returns non-zero when any step fails. The steps are the things a
frozen bundle is known to lose silently (environment-probe.md §7): the Qt platform plugin,
QtMultimedia's FFmpeg backend (without QtQml/QtQuick it finds "No QtMultimedia backends" and
simply never loads anything), PyAV, keyring's backend entry points, and the whole job pipeline.

A step is ``ok``, ``failed`` or ``skipped`` (the demo job, with ``--skip-job``). Each step imports
what it proves, so a module missing from a bundle fails its step and the others still run.

Usage::

    kling-desktop --self-test [--timeout SECONDS] [--report FILE] [--skip-job]
"""

from __future__ import annotations

import contextlib
import json
import os
import platform
import sys
import tempfile
import time
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kling_desktop import APP_ID, APP_NAME, __version__
from kling_desktop.files import atomic_write_text

if TYPE_CHECKING:
    from PySide6.QtCore import QCoreApplication

OK, FAILED, SKIPPED = "ok", "failed", "skipped"
DEMO_JOB_TIMEOUT_S = 60.0
_PASSING = {OK, SKIPPED}


class StepFailed(Exception):
    """A step's check did not hold; the message says what was expected and what was seen."""


@dataclass
class Report:
    steps: dict[str, dict[str, Any]] = field(default_factory=dict)
    info: dict[str, Any] = field(default_factory=dict)
    qt_messages: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(step["status"] in _PASSING for step in self.steps.values())

    def as_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"ok": self.ok, **self.info, "steps": self.steps}
        if not self.ok and self.qt_messages:
            data["qt_messages"] = self.qt_messages[-40:]
        return data

    def run(self, name: str, step: Callable[[], dict[str, Any] | None]) -> bool:
        started = time.monotonic()
        entry: dict[str, Any]
        try:
            entry = {"status": OK, **(step() or {})}
        except StepFailed as why:
            entry = {"status": FAILED, "detail": str(why)}
        except Exception as exc:  # a self-test reports every error; it never hides one
            entry = {
                "status": FAILED,
                "detail": f"{type(exc).__name__}: {exc}",
                "traceback": traceback.format_exc(limit=8).splitlines()[-8:],
            }
        entry["seconds"] = round(time.monotonic() - started, 3)
        self.steps[name] = entry
        return bool(entry["status"] == OK)


def run_self_test(
    *, timeout: float | None = None, report: Path | None = None, skip_job: bool = False
) -> int:
    """Run every check, print the JSON report (and write it to ``report``), return 0 when all
    passed, 1 otherwise. ``timeout``: seconds for the demo job (default 60); ``skip_job`` leaves
    it out. The options are parsed by :mod:`kling_desktop.cli.parser`."""
    if (
        sys.platform.startswith("linux")
        and not os.environ.get("DISPLAY")
        and not os.environ.get("WAYLAND_DISPLAY")
    ):
        # No screen at all (CI, ssh): offscreen rather than Qt's abort on a missing display.
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    results = Report()
    results.info.update(
        version=__version__,
        app=APP_NAME,
        python=platform.python_version(),
        system=f"{platform.system()} {platform.release()} {platform.machine()}",
        frozen=bool(getattr(sys, "frozen", False)),
    )
    with _temporary_home() as home:
        _run_steps(results, home, DEMO_JOB_TIMEOUT_S if timeout is None else timeout, skip_job)
    text = json.dumps(results.as_dict(), indent=2, default=str)
    if report:
        report.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_text(report, text + "\n")
    if sys.stdout is not None:  # a Windows GUI build has no console: --report then
        print(text, flush=True)
    return 0 if results.ok else 1


@contextlib.contextmanager
def _temporary_home() -> Iterator[Path]:
    """Run in a throw-away KLING_DESKTOP_HOME so the user's jobs and settings stay untouched."""
    saved = os.environ.get("KLING_DESKTOP_HOME")
    with tempfile.TemporaryDirectory(prefix="kling-selftest-") as tmp:
        home = Path(tmp)
        os.environ["KLING_DESKTOP_HOME"] = str(home / "home")
        try:
            yield home
        finally:
            if saved is None:
                os.environ.pop("KLING_DESKTOP_HOME", None)
            else:
                os.environ["KLING_DESKTOP_HOME"] = saved


def _run_steps(report: Report, home: Path, timeout: float, skip_job: bool) -> None:
    state: dict[str, Any] = {}
    if not report.run("qt", lambda: _step_qt(report, state)):
        for name in ("resources", "multimedia", "clip_check", "keyring", "demo_job"):
            report.steps[name] = {"status": FAILED, "detail": "Qt did not start"}
        return
    clip = home / "clip.mp4"
    report.run("resources", _step_resources)
    report.run("multimedia", lambda: _step_multimedia(state["app"], clip))
    report.run("clip_check", lambda: _step_clip_check(clip))
    report.run("keyring", _step_keyring)
    if skip_job:
        report.steps["demo_job"] = {"status": SKIPPED, "detail": "--skip-job"}
    else:
        report.run("demo_job", lambda: _step_demo_job(state["app"], home, timeout))


# -- steps -----------------------------------------------------------------------------------


def _step_qt(report: Report, state: dict[str, Any]) -> dict[str, Any]:
    import PySide6
    from PySide6.QtCore import QtMsgType, qInstallMessageHandler, qVersion
    from PySide6.QtWidgets import QApplication

    def keep(kind: QtMsgType, _context: object, message: str) -> None:
        if kind != QtMsgType.QtDebugMsg:
            report.qt_messages.append(message)

    qInstallMessageHandler(keep)
    app = QApplication.instance() or QApplication([sys.argv[0] if sys.argv else APP_ID])
    app.setApplicationName(APP_ID)
    state["app"] = app
    return {
        "qt": qVersion(),
        "pyside6": PySide6.__version__,
        "platform_plugin": QApplication.platformName(),
    }


def _step_resources() -> dict[str, Any]:
    from kling_desktop.resources import app_icon, resource_path, resources_root

    desktop = resource_path(f"{APP_ID}.desktop")
    if not desktop.is_file():
        raise StepFailed(f"{desktop} is missing")
    icon = app_icon()
    if icon.isNull():
        raise StepFailed("the app icon could not be loaded")
    return {"root": str(resources_root()), "icon_sizes": [s.width() for s in icon.availableSizes()]}


def _step_multimedia(app: QCoreApplication, clip: Path) -> dict[str, Any]:
    from kling_desktop.media.synth import make_clip

    make_clip(clip, 3.0, audio=True)
    from PySide6.QtCore import QUrl
    from PySide6.QtMultimedia import QAudioOutput, QMediaPlayer

    player = QMediaPlayer()
    audio = QAudioOutput()
    audio.setVolume(0.0)
    player.setAudioOutput(audio)
    errors: list[str] = []
    player.errorOccurred.connect(lambda _error, text: errors.append(text))
    final = {QMediaPlayer.MediaStatus.LoadedMedia, QMediaPlayer.MediaStatus.InvalidMedia}
    player.setSource(QUrl.fromLocalFile(str(clip)))
    reached = _wait_until(lambda: player.mediaStatus() in final or bool(errors), 10.0)
    status = player.mediaStatus()
    result = {
        "media_status": status.name,
        "has_audio": player.hasAudio(),
        "has_video": player.hasVideo(),
        "duration_ms": player.duration(),
    }
    if not reached:
        raise StepFailed(
            f"the clip never loaded (status {status.name} after 10 s): QtMultimedia has no "
            "working backend — in a bundle, check that the FFmpeg plugin and QtQml/QtQuick are in"
        )
    if errors or status != QMediaPlayer.MediaStatus.LoadedMedia:
        raise StepFailed(f"the clip did not load: {status.name} {'; '.join(errors)}")
    if not player.hasAudio():
        raise StepFailed("the clip loaded without its audio track")
    player.setSource(QUrl())
    return result


def _step_clip_check(clip: Path) -> dict[str, Any]:
    from kling_desktop.media.check import check_clip

    verdict = check_clip(clip)
    if not verdict.ok:
        raise StepFailed("check_clip refused a good clip: " + "; ".join(map(str, verdict.problems)))
    # The job list's thumbnails decode a frame and encode a PNG through PyAV (on Qt's FFmpeg
    # in the Linux bundle): prove that path too.
    from kling_desktop.media.thumbs import thumbnail

    thumb = thumbnail(clip, clip.parent / "thumbs")
    if thumb is None or thumb.read_bytes()[:8] != b"\x89PNG\r\n\x1a\n":
        raise StepFailed("no thumbnail could be made of a good clip")
    return {"duration_s": verdict.duration_s, "thumbnail_bytes": thumb.stat().st_size}


def _step_keyring() -> dict[str, Any]:
    from importlib.metadata import entry_points

    import keyring

    plugins = sorted(ep.name for ep in entry_points(group="keyring.backends"))
    if not plugins:
        raise StepFailed(
            "keyring found no backend entry points: its metadata is missing from the bundle"
        )
    backend = keyring.get_keyring()
    result: dict[str, Any] = {
        "backend": f"{type(backend).__module__}.{type(backend).__qualname__}",
        "entry_points": plugins,
    }
    from kling_desktop.accounts.vault import Vault

    vault = Vault()
    result["name"] = vault.backend_name()
    result["secure"] = vault.available()
    return result


def _step_demo_job(app: QCoreApplication, home: Path, timeout: float) -> dict[str, Any]:
    from kling_desktop.api.client import KlingClient
    from kling_desktop.jobs.model import Job, JobOptions, JobState
    from kling_desktop.jobs.store import JobStore
    from kling_desktop.media.check import check_clip
    from kling_desktop.media.synth import make_clip
    from kling_desktop.paths import app_paths
    from kling_desktop.runner.engine import JobRunner
    from kling_desktop.settings import Settings
    from kling_desktop.simulator import DEMO_TOKEN, Scenario, Simulator

    clip = home / "demo.mp4"
    make_clip(clip, 3.0, audio=False)  # silent, like the clips users bring
    # A short clip with sound of its own, in another container: prepared on the computer
    # (extended to 3 s, re-encoded with the encoder this build has), then put together
    # (its sound cut back, mixed with the clip's own at 50 %, onto the original picture).
    short = make_clip(home / "short.mov", 1.5, audio=True, container="mov")
    paths = app_paths().ensure()
    output = home / "output"
    output.mkdir()
    settings = Settings(
        output_folder=str(output), poll_interval_s=0.5, first_poll_delay_s=0.2, auto_start=True
    )
    sim = Simulator(scenario=Scenario(task_seconds=1.0)).start()
    store: JobStore | None = None
    runner: JobRunner | None = None
    try:

        def client_factory() -> KlingClient:
            return KlingClient(sim.url, DEMO_TOKEN, timeout=15.0, retries=1, backoff_s=0.2)

        with client_factory() as client:
            accounts = client.list_accounts()
        email = accounts[0].email if accounts else ""
        store = JobStore(paths.database)
        runner = JobRunner(store, client_factory, settings, cache_dir=paths.cache_dir)
        seen: list[str] = []
        final: dict[int, Job] = {}
        final_states = {JobState.DONE, JobState.FAILED, JobState.UNCERTAIN, JobState.STOPPED}

        def changed(job: Job) -> None:
            if not seen or seen[-1] != job.state.value:
                seen.append(job.state.value)
            if job.state in final_states:
                final[job.id] = job

        runner.job_changed.connect(changed)
        ids: list[int] = []
        runner.files_added.connect(ids.extend)
        runner.add_files([clip], JobOptions(email=email), start=True)
        runner.add_files([short], JobOptions(email=email, original_volume=0.5), start=True)
        if not _wait_until(lambda: len(ids) == 2, timeout):
            raise StepFailed("the engine accepted no job for a good clip")
        if not _wait_until(lambda: all(i in final for i in ids), timeout):
            current = runner.job(ids[0])
            raise StepFailed(
                f"the demo job did not finish in {timeout:.0f} s "
                f"(states {seen}, now {current.state.value if current else '?'})"
            )
        prepared = _check_prepared(final[ids[1]])
        job = final[ids[0]]
        if job.state is not JobState.DONE:
            raise StepFailed(f"the demo job ended {job.state.value}: {job.error_code} {seen}")
        if job.output_path is None or not Path(job.output_path).is_file():
            raise StepFailed(f"the demo job is done but its result is missing: {job.output_path}")
        verdict = check_clip(Path(job.output_path))
        has_audio = bool(verdict.probe and verdict.probe.has_audio)
        if not verdict.ok or not has_audio:
            raise StepFailed(
                f"the result is not a clip with sound: ok={verdict.ok} audio={has_audio}"
            )
        return {
            "email": email,
            "states": seen,
            "result": Path(job.output_path).name,
            "result_has_audio": has_audio,
            "result_duration_s": verdict.duration_s,
            "prepared": prepared,
        }
    finally:
        if runner is not None:
            with contextlib.suppress(Exception):
                runner.shutdown()
        if store is not None:
            with contextlib.suppress(Exception):
                store.close()
        sim.stop()


def _check_prepared(job: Any) -> dict[str, Any]:
    """The short clip went through preparation and finishing: a result of its own length,
    with sound, holding its picture."""
    from kling_desktop.jobs.model import JobState
    from kling_desktop.media.check import probe_clip
    from kling_desktop.media.prepare import upload_video_encoder

    if job.state is not JobState.DONE or job.output_path is None:
        raise StepFailed(f"the prepared clip ended {job.state.value}: {job.error_message}")
    result = probe_clip(Path(job.output_path))
    length = result.duration or 0.0
    if not result.has_audio or abs(length - 1.5) > 0.15:
        raise StepFailed(
            f"the prepared clip's result is wrong: {length:.2f} s, sound {result.has_audio}"
        )
    return {
        "result": Path(job.output_path).name,
        "duration_s": round(length, 3),
        "upload_encoder": upload_video_encoder(),
    }


# -- helpers ---------------------------------------------------------------------------------


def _wait_until(condition: Callable[[], bool], timeout: float) -> bool:
    """Spin a QEventLoop (never sleep blind) until ``condition`` holds or ``timeout`` passes."""
    from PySide6.QtCore import QEventLoop, QTimer

    if condition():
        return True
    loop = QEventLoop()
    poll = QTimer()
    poll.setInterval(20)
    poll.timeout.connect(lambda: loop.quit() if condition() else None)
    deadline = QTimer()
    deadline.setSingleShot(True)
    deadline.timeout.connect(loop.quit)
    poll.start()
    deadline.start(int(timeout * 1000))
    loop.exec()
    poll.stop()
    deadline.stop()
    return condition()
