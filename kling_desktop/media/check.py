"""The local clip check: probe a file, apply the rules, answer in plain words. Never raises.

By default a clip is judged by what the app can make of it (``media/prepare.py``): a WebM is
converted, a 45 s clip split into three parts, a 2 s clip extended, so only what no preparation
fixes (no picture, damage, an unknown length, longer than Settings → Longest clip) blocks it.
``strict=True`` judges the file exactly as Kling would take it, as it is.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable
from dataclasses import dataclass, replace
from pathlib import Path

import av

from kling_desktop.media import extensions
from kling_desktop.media.prepare import DEFAULT_MAX_LENGTH_S, Plan, plan_clip
from kling_desktop.media.probe import NOT_VIDEO, UNREADABLE, ProbeError, ProbeResult, probe
from kling_desktop.media.rules import (
    ASSET_PAGE_CAP_S,
    FIXED_BY_PREPARING,
    MAX_DURATION_S,
    Problem,
    Severity,
    evaluate,
    format_seconds,
    problem_from_error,
)

log = logging.getLogger(__name__)

# What a folder is searched for.
VIDEO_EXTENSIONS = extensions.VIDEO_EXTENSIONS


@dataclass(frozen=True)
class ClipVerdict:
    """The answer for one clip: ``ok`` when nothing blocks it (warnings alone keep it ok).

    ``plan`` says what preparing the clip does before its upload (None when it could not be
    probed); in strict mode it is filled in too, but ``ok`` and ``problems`` ignore it.
    """

    path: Path
    ok: bool
    duration_s: float | None
    probe: ProbeResult | None
    problems: tuple[Problem, ...]
    plan: Plan | None = None

    @property
    def blocking(self) -> tuple[Problem, ...]:
        return tuple(p for p in self.problems if p.severity is Severity.BLOCKING)

    @property
    def warnings(self) -> tuple[Problem, ...]:
        return tuple(p for p in self.problems if p.severity is Severity.WARNING)

    @property
    def paid_jobs(self) -> int:
        """Paid add-sound requests per take (one per part); 0 when the clip is refused."""
        if not self.ok:
            return 0
        return self.plan.paid_jobs if self.plan is not None and self.plan.ok else 1


def check_clip(
    path: Path, *, strict: bool = False, max_length_s: float = DEFAULT_MAX_LENGTH_S
) -> ClipVerdict:
    """Check one clip, from its headers (milliseconds per file; a packet scan when splitting).

    Without ``strict``, what preparation fixes does not block (see the module's docstring).
    Any failure, expected or not, becomes a problem on the verdict: this never raises.
    """
    path = Path(path)
    try:
        result = probe_clip(path)
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
    try:
        plan: Plan | None = plan_clip(path, result, max_length_s=max_length_s)
    except Exception:
        log.exception("Unexpected failure while planning %s", path)
        plan = None
    if not strict:
        problems = _after_preparing(result, plan, problems)
    ok = not any(p.severity is Severity.BLOCKING for p in problems)
    return ClipVerdict(path, ok, result.duration, result, problems, plan)


def probe_clip(path: Path) -> ProbeResult:
    """:func:`probe.probe`, which also takes an animated GIF as the short video it is.

    Raises:
        ProbeError: as :func:`probe.probe` does (a still GIF stays "not a video").
    """
    try:
        return probe(path)
    except ProbeError as error:
        if error.code != NOT_VIDEO or not _is_gif(path):
            raise
        animated = _probe_gif(path)
        if animated is None:
            raise
        return animated


def _after_preparing(
    result: ProbeResult, plan: Plan | None, problems: tuple[Problem, ...]
) -> tuple[Problem, ...]:
    """The problems left once the clip is prepared as ``plan`` says."""
    if plan is None:
        blocker = Problem("cannot_prepare", "This file could not be checked.", Severity.BLOCKING)
        return (*problems, blocker) if not any(p.blocking for p in problems) else problems
    kept = [p for p in problems if p.code not in FIXED_BY_PREPARING]
    if not plan.ok:
        if not any(p.blocking for p in kept):
            code = "over_max_length" if "Longest clip" in plan.problem else "cannot_prepare"
            kept.insert(0, Problem(code, plan.problem, Severity.BLOCKING))
        return tuple(kept)
    # Only warnings: size and length of the uploads are the plan's to get right.
    seen = {p.code for p in kept}
    for problem in evaluate(_as_uploaded(result, plan)):
        fixed = problem.code in FIXED_BY_PREPARING and problem.code not in seen
        if fixed and problem.severity is Severity.WARNING:
            kept.append(_of_the_parts(problem, plan))
    kept.sort(key=lambda p: p.severity is not Severity.BLOCKING)
    return tuple(kept)


def _of_the_parts(problem: Problem, plan: Plan) -> Problem:
    """A length warning judged on a split clip's longest upload says so: it is about each
    part, not the clip."""
    if problem.code != "over_asset_page_cap" or plan.paid_jobs < 2:
        return problem
    longest = max(part.length_s for part in plan.parts)
    return replace(
        problem,
        message=(
            f"Each of its {plan.paid_jobs} parts is up to {format_seconds(longest)} long, more "
            f"than the {ASSET_PAGE_CAP_S:g} s the upload page mentions. Add-sound takes up to "
            f"{MAX_DURATION_S:g} s, but whether uploads this long are accepted is unconfirmed."
        ),
    )


def _as_uploaded(result: ProbeResult, plan: Plan) -> ProbeResult:
    """What the largest upload file of ``plan`` will look like, for the rules to judge."""
    longest = max(part.length_s for part in plan.parts)
    length = max(longest, plan.extend_to_s)
    return replace(
        result,
        container="mp4",
        duration_s=length,
        video_duration_s=length,
        audio_duration_s=length if result.has_audio else None,
        width=plan.width or result.width,
        height=plan.height or result.height,
    )


def _is_gif(path: Path) -> bool:
    try:
        with open(path, "rb") as handle:
            return handle.read(6) in (b"GIF87a", b"GIF89a")
    except OSError:
        return False


def _probe_gif(path: Path) -> ProbeResult | None:
    """An animated GIF as a silent clip; None for a still picture or one PyAV cannot open."""
    try:
        with av.open(str(path)) as container:
            stream = next(iter(container.streams.video), None)
            if stream is None or stream.time_base is None:
                return None
            frames = stream.frames or sum(1 for _ in container.demux(stream) if _.size)
            duration = container.duration / 1_000_000 if container.duration else None
            rate = stream.average_rate or stream.guessed_rate
            if frames < 2 or not duration:
                return None
            return ProbeResult(
                path=path,
                size_bytes=path.stat().st_size,
                container="gif",
                format_name=str(container.format.name),
                brand=None,
                duration_s=duration,
                video_duration_s=duration,
                audio_duration_s=None,
                has_video=True,
                video_codec="gif",
                width=stream.width or None,
                height=stream.height or None,
                rotation=0,
                fps=float(rate) if rate else None,
                has_audio=False,
                audio_codec=None,
                damage=None,
                integrity="not checked",
            )
    except (av.FFmpegError, OSError):
        return None


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
