"""Small file-system helpers shared by every layer (no Qt)."""

from __future__ import annotations

import contextlib
import os
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

_umask_lock = threading.Lock()
_umask: int | None = None


def current_umask() -> int:
    """The process's umask, read without changing it where the system allows."""
    global _umask
    with _umask_lock:
        if _umask is None:
            _umask = _read_umask()
        return _umask


def _read_umask() -> int:
    try:  # Linux 4.7+: read it, so no other thread ever sees a changed umask
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    old = os.umask(0o022)  # elsewhere: the classic round trip, once, under the lock
    os.umask(old)
    return old


def new_file_mode() -> int:
    """The permissions a new file gets from the user's umask (0o644 under the usual 022)."""
    return 0o666 & ~current_umask()


def give_new_file_mode(fd: int) -> None:
    """A temp file (made 0600 by ``mkstemp``) takes the mode any new file of the user has."""
    if hasattr(os, "fchmod"):
        os.fchmod(fd, new_file_mode())


@contextlib.contextmanager
def atomic_path(dest: Path) -> Iterator[Path]:
    """Write ``dest`` all at once or not at all: a crash never leaves half a file behind.

    Yields the path of a new, empty temporary file in ``dest``'s folder named
    ``.{dest.name}.{8 random characters}.part`` (the pattern ``jobs/pipeline.py`` sweeps after a
    crash and sizes its name check by, and the demo clears), for a writer that opens it by its
    name (FFmpeg, which reopens an MP4 to move its index to the front). When the block ends
    normally the file is fsynced and renamed over ``dest``; when it raises (or a cancel does)
    the temporary file is removed and ``dest`` is left as it was. The file gets the
    permissions any new file of the user gets (:func:`new_file_mode`), not ``mkstemp``'s 0600.
    The folder must exist.
    """
    dest = Path(dest)
    fd, name = tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.name}.", suffix=".part")
    temp = Path(name)
    try:
        give_new_file_mode(fd)
        os.close(fd)
        yield temp
        with open(temp, "rb+") as written:  # whoever wrote it has closed it
            os.fsync(written.fileno())
        os.replace(temp, dest)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise


@contextlib.contextmanager
def atomic_file(dest: Path) -> Iterator[BinaryIO]:
    """:func:`atomic_path`, yielding the temporary file opened for writing."""
    with atomic_path(dest) as temp, open(temp, "wb") as handle:
        yield handle


def atomic_write_bytes(dest: Path, data: bytes) -> None:
    """Replace ``dest`` with ``data`` atomically (see :func:`atomic_file`)."""
    with atomic_file(dest) as handle:
        handle.write(data)


def atomic_write_text(dest: Path, text: str, *, encoding: str = "utf-8") -> None:
    """Replace ``dest`` with ``text`` atomically (see :func:`atomic_file`). Newlines are
    written as given (``\\n`` on every system)."""
    atomic_write_bytes(dest, text.encode(encoding))
