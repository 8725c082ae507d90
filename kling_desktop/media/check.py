"""The local clip check: probe a file, apply the rules, answer in plain words. Never raises."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from kling_desktop.media.probe import UNREADABLE, ProbeError, ProbeResult, probe
from kling_desktop.media.rules import Problem, Severity, evaluate, problem_from_error

log = logging.getLogger(__name__)

# What a folder is searched for. Containers Kling refuses are listed too, so that a folder of
# WebM files is answered with "convert to MP4" rather than with silence.
VIDEO_EXTENSIONS: Final = frozenset(
    {
        ".mp4", ".m4v", ".mov", ".qt",
        ".webm", ".mkv", ".avi", ".wmv", ".flv", ".ogv",
        ".mpg", ".mpeg", ".ts", ".mts", ".m2ts", ".3gp", ".3g2",
    }
)  # fmt: skip


@dataclass(frozen=True)
class ClipVerdict:
    """The answer for one clip: ``ok`` when nothing blocks it (warnings alone keep it ok)."""

    path: Path
    ok: bool
    duration_s: float | None
    probe: ProbeResult | None
    problems: tuple[Problem, ...]

    @property
    def blocking(self) -> tuple[Problem, ...]:
        return tuple(p for p in self.problems if p.severity is Severity.BLOCKING)

    @property
    def warnings(self) -> tuple[Problem, ...]:
        return tuple(p for p in self.problems if p.severity is Severity.WARNING)


def check_clip(path: Path) -> ClipVerdict:
    """Check one clip against what Kling accepts, from its headers (milliseconds per file).

    Any failure, expected or not, becomes a problem on the verdict: this never raises.
    """
    path = Path(path)
    try:
        result = probe(path)
    except ProbeError as error:
        return ClipVerdict(path, False, None, None, (problem_from_error(error),))
    except Exception:  # a bug or an FFmpeg surprise must not take the batch down
        log.exception("Unexpected failure while probing %s", path)
        problem = Problem(
            UNREADABLE,
            "This file could not be checked: reading it failed unexpectedly.",
            Severity.BLOCKING,
        )
        return ClipVerdict(path, False, None, None, (problem,))
    try:
        problems = evaluate(result)
    except Exception:
        log.exception("Unexpected failure while applying the rules to %s", path)
        problems = (Problem(UNREADABLE, "This file could not be checked.", Severity.BLOCKING),)
    ok = not any(p.severity is Severity.BLOCKING for p in problems)
    return ClipVerdict(path, ok, result.duration, result, problems)


def expand_inputs(paths: Iterable[str | os.PathLike[str]]) -> tuple[list[Path], list[str]]:
    """Turn what the user gave (files and folders) into the files to check, plus notes.

    A folder contributes the video-looking files directly inside it (by extension, hidden files
    skipped, sorted by name); its subfolders are not searched, and a note says so. Anything that
    is not a folder is passed through as given, so a missing file is reported by the check.
    The same file given twice is checked once.
    """
    files: list[Path] = []
    notes: list[str] = []
    seen: set[str] = set()

    def add(candidate: Path) -> None:
        key = os.path.normcase(os.path.abspath(candidate))
        if key not in seen:
            seen.add(key)
            files.append(candidate)

    for raw in paths:
        path = Path(raw)
        if not path.is_dir():
            add(path)
            continue
        try:
            entries = sorted(os.scandir(path), key=lambda e: (e.name.casefold(), e.name))
        except OSError as exc:
            notes.append(f"Could not look inside the folder {path}: {exc.strerror or exc}.")
            continue
        found = 0
        subfolders: list[str] = []
        for entry in entries:
            if entry.name.startswith("."):
                continue
            try:
                if entry.is_dir():
                    subfolders.append(entry.name)
                elif entry.is_file() and Path(entry.name).suffix.lower() in VIDEO_EXTENSIONS:
                    add(path / entry.name)
                    found += 1
            except OSError:
                continue
        if not found:
            notes.append(f"No video files in the folder {path}.")
        if subfolders:
            shown = ", ".join(subfolders[:5]) + (", …" if len(subfolders) > 5 else "")
            notes.append(
                f"Subfolders of {path} were not searched ({len(subfolders)}: {shown}); "
                "give them separately to check them."
            )
    return files, notes
