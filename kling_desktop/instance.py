"""One process per data folder (DESIGN §4.8).

Whoever drives the engine on a data folder — the window, ``kling-desktop resume``,
``add-sound`` — holds :class:`InstanceLock` on it for the rest of its life. The lock is an OS
file lock (``flock`` on Linux and macOS, ``msvcrt.locking`` on Windows): the OS drops it when
the process ends however it ends, ``kill -9`` included, so there is never a stale lock to
clean up. Beside it, ``instance.json`` says who holds it (process id, host, what it is), for
the sentence the next process shows. Read-only commands (``jobs``, ``check``, ``accounts``)
never take it.

The window also listens on a local socket named after the data folder: a second window start
(``kling-desktop clip.mp4`` while the window runs) hands its files over with
:func:`hand_off` and exits, and the running window adds them as if dropped. The socket part
uses QtNetwork, imported only there; the lock itself is plain Python.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import socket
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from kling_desktop.files import atomic_write_text

if TYPE_CHECKING:
    from PySide6.QtNetwork import QLocalServer, QLocalSocket

log = logging.getLogger(__name__)

LOCK_NAME = "instance.lock"
INFO_NAME = "instance.json"
#: What the window writes as its role; commands write ``kling-desktop COMMAND``.
WINDOW = "window"
#: Seconds an engine command waits for the lock before it gives up (exit 2).
WAIT_ENV = "KLING_DESKTOP_LOCK_WAIT"
DEFAULT_WAIT_S = 30.0
_POLL_S = 0.1
#: How long a process that has just taken the lock may take to write ``instance.json``.
_SETTLE_S = 1.0


@dataclass(frozen=True)
class Holder:
    """Who holds a data folder's lock, as it wrote it down."""

    pid: int
    host: str
    role: str
    since: float = 0.0

    @property
    def is_window(self) -> bool:
        return self.role == WINDOW

    def describe(self) -> str:
        """``the Kling Desktop window (process 1234)``, ``kling-desktop resume (process 1234)``."""
        where = f"process {self.pid}"
        if self.host and self.host != socket.gethostname():
            where += f" on {self.host}"
        what = "the Kling Desktop window" if self.is_window else (self.role or "Kling Desktop")
        return f"{what} ({where})"


def describe_holder(holder: Holder | None, *, start: bool = False) -> str:
    """The holder in words; ``start``: to begin a sentence (a command name stays as it is)."""
    text = holder.describe() if holder else "another Kling Desktop"
    if start and not text.startswith("kling-desktop"):
        text = text[:1].upper() + text[1:]
    return text


class LockBusy(Exception):
    """The lock is held by another process; the message is a sentence naming it."""

    def __init__(self, message: str, holder: Holder | None) -> None:
        super().__init__(message)
        self.holder = holder


class InstanceLock:
    """The lock on one data folder. Not re-entrant across objects: a second
    :class:`InstanceLock` on the same folder, even in the same process, finds it busy."""

    def __init__(self, data_dir: Path, role: str) -> None:
        self.data_dir = data_dir
        self.role = role
        self._file: IO[bytes] | None = None

    @property
    def lock_file(self) -> Path:
        return self.data_dir / LOCK_NAME

    @property
    def info_file(self) -> Path:
        return self.data_dir / INFO_NAME

    @property
    def held(self) -> bool:
        return self._file is not None

    def try_acquire(self) -> bool:
        """Take the lock if it is free; never waits."""
        if self._file is not None:
            return True
        self.data_dir.mkdir(parents=True, exist_ok=True)
        f = open(self.lock_file, "a+b")  # noqa: SIM115 - kept open for the process's life
        try:
            _lock(f)
        except OSError:
            f.close()
            return False
        self._file = f
        self._write_info()
        return True

    def acquire(
        self, timeout_s: float, *, on_wait: Callable[[Holder | None], None] | None = None
    ) -> None:
        """Take the lock, waiting up to ``timeout_s`` for its holder to end.

        ``on_wait`` is called once, with the holder, when the lock is busy at first.
        Raises :class:`LockBusy` when it is still held after ``timeout_s``.
        """
        if self.try_acquire():
            return
        holder = self.settled_holder()
        if on_wait is not None and timeout_s > 0:
            on_wait(holder)
        deadline = time.monotonic() + max(0.0, timeout_s)
        while time.monotonic() < deadline:
            time.sleep(min(_POLL_S, max(0.0, deadline - time.monotonic())))
            if self.try_acquire():
                return
        holder = self.holder() or holder
        who = describe_holder(holder, start=True)
        then = (
            "close it (or add the clips there), then try again"
            if holder is not None and holder.is_window
            else "try again when it has finished"
        )
        raise LockBusy(f"{who} is still using the job list in {self.data_dir}; {then}.", holder)

    def release(self) -> None:
        if self._file is None:
            return
        with contextlib.suppress(OSError):
            self.info_file.unlink()
        with contextlib.suppress(OSError):
            _unlock(self._file)
        self._file.close()
        self._file = None

    def holder(self) -> Holder | None:
        """Who holds the lock (as written in ``instance.json``), or ``None`` if unknown.

        ``None`` too when the file names a process of this computer that has ended: a holder
        killed with ``kill -9`` leaves its file behind, and the process that took the lock
        after it may not have written its own yet.
        """
        try:
            raw = json.loads(self.info_file.read_text(encoding="utf-8"))
            holder = Holder(
                pid=int(raw["pid"]),
                host=str(raw.get("host", "")),
                role=str(raw.get("role", "")),
                since=float(raw.get("since", 0.0)),
            )
        except (OSError, ValueError, KeyError, TypeError):
            return None
        if holder.host == socket.gethostname() and not _running(holder.pid):
            return None
        return holder

    def settled_holder(self, timeout_s: float = _SETTLE_S) -> Holder | None:
        """:meth:`holder`, giving a process that has just taken the lock up to ``timeout_s``
        to write down who it is (``None`` if it still has not)."""
        deadline = time.monotonic() + timeout_s
        while (holder := self.holder()) is None and time.monotonic() < deadline:
            time.sleep(_POLL_S / 2)
        return holder

    def is_held_elsewhere(self) -> bool:
        """Whether another process (or another lock object) holds it now. Takes the lock for
        an instant when it is free — never waits."""
        if self._file is not None:
            return False
        if self.try_acquire():
            self.release()
            return False
        return True

    def _write_info(self) -> None:
        info = {
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "role": self.role,
            "since": time.time(),
        }
        try:
            atomic_write_text(self.info_file, json.dumps(info))
        except OSError:  # the lock holds without it; only the sentence is vaguer
            log.warning("Could not write %s", self.info_file, exc_info=True)


if sys.platform == "win32":
    import msvcrt

    def _running(pid: int) -> bool:
        # os.kill(pid, 0) would end the process on Windows: take the file at its word.
        return True

    def _lock(f: IO[bytes]) -> None:
        f.seek(0)
        msvcrt.locking(f.fileno(), msvcrt.LK_NBLCK, 1)

    def _unlock(f: IO[bytes]) -> None:
        f.seek(0)
        msvcrt.locking(f.fileno(), msvcrt.LK_UNLCK, 1)

else:
    import fcntl

    def _running(pid: int) -> bool:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        except OSError:  # PermissionError: it runs, as another user
            return True
        return True

    def _lock(f: IO[bytes]) -> None:
        # flock, not lockf: an flock belongs to this open file, so closing some other
        # descriptor of the same file (sqlite, a reader of instance.json) never drops it.
        fcntl.flock(f.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)

    def _unlock(f: IO[bytes]) -> None:
        fcntl.flock(f.fileno(), fcntl.LOCK_UN)


# -- the process-wide lock of engine commands ---------------------------------------------

_held: dict[Path, InstanceLock] = {}


def wait_seconds(env: dict[str, str] | None = None) -> float:
    raw = (os.environ if env is None else env).get(WAIT_ENV, "").strip()
    try:
        return max(0.0, float(raw)) if raw else DEFAULT_WAIT_S
    except ValueError:
        return DEFAULT_WAIT_S


def hold(
    data_dir: Path,
    role: str,
    *,
    timeout_s: float | None = None,
    on_wait: Callable[[Holder | None], None] | None = None,
) -> InstanceLock:
    """Take ``data_dir``'s lock for the rest of this process (again: the one already held).

    Waits up to ``timeout_s`` (default: ``KLING_DESKTOP_LOCK_WAIT``, else 30 s); raises
    :class:`LockBusy` with a sentence naming the holder when it stays busy.
    """
    key = data_dir.resolve()
    lock = _held.get(key)
    if lock is not None and lock.held:
        return lock
    lock = InstanceLock(key, role)
    lock.acquire(wait_seconds() if timeout_s is None else timeout_s, on_wait=on_wait)
    _held[key] = lock
    return lock


def release_all() -> None:
    """Drop every lock :func:`hold` took (tests; a process's end does it by itself)."""
    for lock in _held.values():
        lock.release()
    _held.clear()


def waiting_sentence(holder: Holder | None) -> str:
    """What an engine command says, once, when it has to wait for the lock."""
    until = "it is closed" if holder is not None and holder.is_window else "it has finished"
    return (
        f"{describe_holder(holder, start=True)} is using this job list; "
        f"waiting until {until} (Ctrl-C to give up)…"
    )


# -- the window's hand-off socket ---------------------------------------------------------


def server_name(data_dir: Path) -> str:
    """The local socket (a named pipe on Windows) of the window on ``data_dir``.

    Short on purpose: on Linux and macOS it becomes a socket file in the temp folder, and
    those paths are limited to about 100 bytes.
    """
    digest = hashlib.sha256(str(data_dir.resolve()).encode("utf-8")).hexdigest()[:20]
    return f"kling-desktop-{digest}"


def hand_off(data_dir: Path, files: list[Path], *, timeout_ms: int = 5000) -> bool:
    """Give ``files`` (absolute paths) to the window running on ``data_dir``; ``True`` once it
    said it took them (it then shows itself). Needs no QApplication; blocks up to about
    ``timeout_ms`` (the window may be starting up: its socket opens just after it shows)."""
    from PySide6.QtNetwork import QLocalSocket

    message = json.dumps({"files": [str(p) for p in files]}).encode("utf-8") + b"\n"
    deadline = time.monotonic() + timeout_ms / 1000
    while True:
        sock = QLocalSocket()
        sock.connectToServer(server_name(data_dir))
        if sock.waitForConnected(max(100, _left_ms(deadline))):
            try:
                return _send(sock, message, deadline)
            finally:
                sock.abort()
        if time.monotonic() >= deadline:
            log.info("No window answered on %s: %s", server_name(data_dir), sock.errorString())
            return False
        time.sleep(_POLL_S)


def _left_ms(deadline: float) -> int:
    return max(0, int((deadline - time.monotonic()) * 1000))


def _send(sock: QLocalSocket, message: bytes, deadline: float) -> bool:
    sock.write(message)
    if not sock.waitForBytesWritten(max(100, _left_ms(deadline))):
        return False
    answer = b""
    while not answer.endswith(b"\n"):
        if not sock.waitForReadyRead(max(100, _left_ms(deadline))):
            return False
        answer += bytes(sock.readAll().data())
    return answer.strip() == b"ok"


def serve_hand_offs(
    data_dir: Path, receive: Callable[[list[Path]], bool], parent: Any = None
) -> QLocalServer | None:
    """Listen for :func:`hand_off` (the window, once it holds the lock): ``receive`` gets the
    files on the GUI thread and says whether it took them. ``None`` if listening failed (a
    second start then says so instead of handing over)."""
    from PySide6.QtNetwork import QLocalServer

    name = server_name(data_dir)
    server = QLocalServer(parent)
    server.setSocketOptions(QLocalServer.SocketOption.UserAccessOption)
    # Only the lock's holder listens: a socket left by a killed window is ours to replace.
    QLocalServer.removeServer(name)
    if not server.listen(name):
        log.warning("Cannot listen for other starts on %s: %s", name, server.errorString())
        return None

    def connected() -> None:
        while server.hasPendingConnections():
            sock = server.nextPendingConnection()
            if sock is not None:
                _read_hand_off(sock, receive)

    server.newConnection.connect(connected)
    return server


def _read_hand_off(sock: QLocalSocket, receive: Callable[[list[Path]], bool]) -> None:
    buffer = bytearray()

    def ready() -> None:
        buffer.extend(bytes(sock.readAll().data()))
        if not buffer.endswith(b"\n"):
            if len(buffer) > 1_000_000:
                sock.abort()
            return
        try:
            files = [Path(f) for f in json.loads(bytes(buffer))["files"]]
            ok = receive(files)
        except Exception:
            log.warning("A hand-off from another start failed", exc_info=True)
            ok = False
        buffer.clear()
        sock.write(b"ok\n" if ok else b"no\n")
        sock.flush()
        sock.disconnectFromServer()

    sock.readyRead.connect(ready)
    sock.disconnected.connect(sock.deleteLater)
    if sock.bytesAvailable():
        ready()
