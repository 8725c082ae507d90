#!/usr/bin/env python3
"""Fail when a tracked file names an absolute path that exists on one machine only.

A fresh clone on a fresh machine must work: no path under someone's home folder, root's, a
workspace or an add-on folder (the :data:`MACHINE_ROOTS`) in scripts, tests, code or docs. Only
the system's own folders (``/usr``, ``/etc``, ``/tmp``, ``/dev``, ``/proc``, ``/sys``, ``/bin``)
are fine; anything else goes through ``$HOME``, the repository root, ``.venv`` or a variable.

Checks every text file that ``git ls-files`` lists. Standard library only, so any Python 3 runs
it. Usage: ``scripts/check_paths.py [ROOT]``; exit 1 (listing each hit) when one is found.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

#: Top-level folders that hold one machine's (or one user's) things, never the system's own.
#: URL paths such as ``"/v1/tasks"`` or ``f"{base}/assets"`` are not flagged: their first part
#: is not one of these.
MACHINE_ROOTS = (
    "home", "root", "work", "workspace", "opt", "mnt", "media", "srv", "var", "run", "snap",
    "nix", "scratch", "Users", "Volumes", "private",
)  # fmt: skip

#: Paths named on purpose, each with its reason.
ALLOWED = {
    "/opt/kling-desktop": "where the .deb installs the bundle (packaging/build_linux.sh)",
}

_PATH = re.compile(
    # A "/" that starts a path: not inside a word, a URL (``https://host/home``), ``~/``,
    # ``$VAR/``, ``{var}/`` or ``./``;
    r"(?<![\w.~$})\]/-])/"
    # then one of the roots as a whole name (``/homes`` or ``/var.x`` are something else);
    + "(?:"
    + "|".join(MACHINE_ROOTS)
    + r")(?![\w-]|\.\w)"
    # then the rest of the path, up to a space, a quote or punctuation that ends it.
    + r"(?:/[^\s'\"`)\]>,;:|]*)?"
)


def find_hits(text: str) -> list[tuple[int, str]]:
    """``(line number, path)`` for each machine-specific absolute path in ``text``."""
    hits = []
    for number, line in enumerate(text.splitlines(), 1):
        for match in _PATH.finditer(line):
            path = match.group(0).rstrip(".")
            if any(path == ok or path.startswith(ok + "/") for ok in ALLOWED):
                continue
            hits.append((number, path))
    return hits


def tracked_files(root: Path) -> list[Path]:
    out = subprocess.run(
        ["git", "-C", str(root), "ls-files", "-z"], capture_output=True, check=True
    ).stdout
    return [root / name for name in out.decode().split("\0") if name]


def check(root: Path) -> list[str]:
    """One ``file:line: path`` message per hit in the tracked text files under ``root``."""
    problems = []
    for path in tracked_files(root):
        try:
            data = path.read_bytes()
        except (FileNotFoundError, IsADirectoryError):  # deleted but not yet committed; a submodule
            continue
        if b"\0" in data:
            continue  # binary
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            continue
        rel = path.relative_to(root).as_posix()
        problems += [f"{rel}:{line}: {hit}" for line, hit in find_hits(text)]
    return problems


def main(argv: list[str]) -> int:
    root = Path(argv[0] if argv else Path(__file__).resolve().parent.parent)
    problems = check(root)
    for problem in problems:
        print(problem)
    if problems:
        print(
            f"check_paths: {len(problems)} absolute path(s) of one machine in tracked files; "
            "use $HOME, the repository root or .venv instead.",
            file=sys.stderr,
        )
        return 1
    print("check_paths: no machine-specific absolute paths in tracked files")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
