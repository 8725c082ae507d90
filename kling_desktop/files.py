"""Small file-system helpers shared by every layer (no Qt)."""

from __future__ import annotations

import os
import threading
from pathlib import Path

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
