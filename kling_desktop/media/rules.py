"""What Kling accepts, as data: each rule has a stable code, a severity and a user sentence.

Limits come from ``../shared/docs/useapi-kling-contract.md``: add-sound takes videos of 3 to 20
seconds (§2); ``POST /assets`` takes ``video/mp4`` and ``video/quicktime`` up to 100 MB and its
table says "720p/1080p resolution, 10s max" (§1). How strictly the service enforces the
resolution and the 10 s note is unknown, so those two are warnings; everything else blocks.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Final

from kling_desktop.media import probe as _probe
from kling_desktop.media.probe import ProbeError, ProbeResult

log = logging.getLogger(__name__)


class Severity(StrEnum):
    BLOCKING = "blocking"  # the clip cannot be sent
    WARNING = "warning"  # it can be sent, but the user should know


@dataclass(frozen=True)
class Problem:
    """One finding about one clip, ready to show."""

    code: str
    message: str
    severity: Severity

    @property
    def blocking(self) -> bool:
        return self.severity is Severity.BLOCKING


@dataclass(frozen=True)
class Rule:
    """One thing Kling requires of a clip.

    ``evaluate`` returns the user sentence when the clip breaks the rule, else None. Rules about
    the file itself (missing, empty, not a video…) have no ``evaluate``: the probe cannot get a
    result for such a file and raises a :class:`ProbeError` with the rule's code instead.
    """

    code: str
    severity: Severity
    description: str
    evaluate: Callable[[ProbeResult], str | None] | None = None


MIN_DURATION_S: Final = 3.0
MAX_DURATION_S: Final = 20.0
# Containers store durations in their own time base (MP4's movie header is often in
# milliseconds) and FFmpeg rounds them to microseconds, so an exact 3.000 s or 20.000 s clip
# may read a millisecond or two off. Tolerate a few milliseconds; 2.9 s or 20.1 s stay out.
DURATION_TOLERANCE_S: Final = 0.005
# The /assets page says "10s max" for video while add-sound takes 20 s (contract §1 conflict).
ASSET_PAGE_CAP_S: Final = 10.0
# The service says "100MB". Whether it means 10^8 bytes or 100 MiB is not documented; the
# decimal reading is the smaller, so a clip that passes here passes either way. A refused upload
# costs no credits but wastes the user's time, so being strict is the cheaper mistake.
MAX_UPLOAD_BYTES: Final = 100_000_000
# The only video upload types (contract §1), by our container name.
UPLOAD_CONTENT_TYPES: Final = {"mp4": "video/mp4", "mov": "video/quicktime"}
# "720p/1080p": the shorter display side of a 720p..1080p picture, portrait or landscape.
MIN_SHORT_SIDE: Final = 720
MAX_SHORT_SIDE: Final = 1080

_CONTAINER_LABELS: Final = {
    "mp4": "MP4",
    "mov": "QuickTime (MOV)",
    "webm": "WebM",
    "mkv": "Matroska (MKV)",
    "avi": "AVI",
    "mpegts": "MPEG transport stream",
    "flv": "Flash video (FLV)",
    "ogg": "Ogg",
    "asf": "Windows Media (WMV/ASF)",
}


def container_label(container: str) -> str:
    """A container name as users know it: "MP4", "WebM", …"""
    return _CONTAINER_LABELS.get(container, container.upper())


def format_seconds(value: float, limit: float | None = None) -> str:
    """Seconds with one decimal, or three where one would hide which side of ``limit`` it is."""
    short = f"{value:.1f}"
    if limit is not None and float(short) == limit and not math.isclose(value, limit):
        return f"{value:.3f} s"
    return f"{short} s"


def format_megabytes(size_bytes: int) -> str:
    return f"{size_bytes / 1_000_000:.1f} MB"


def _duration_range() -> str:
    return f"{MIN_DURATION_S:g} to {MAX_DURATION_S:g} seconds"


def _too_short(result: ProbeResult) -> str | None:
    duration = result.duration
    if duration is None or duration >= MIN_DURATION_S - DURATION_TOLERANCE_S:
        return None
    return (
        f"Too short: {format_seconds(duration, MIN_DURATION_S)}. "
        f"Kling adds sound to clips of {_duration_range()}."
    )


def _too_long(result: ProbeResult) -> str | None:
    duration = result.duration
    if duration is None or duration <= MAX_DURATION_S + DURATION_TOLERANCE_S:
        return None
    return (
        f"Too long: {format_seconds(duration, MAX_DURATION_S)}. "
        f"Kling adds sound to clips of {_duration_range()}; trim it to {MAX_DURATION_S:g} s."
    )


def _unknown_duration(result: ProbeResult) -> str | None:
    if result.duration is not None:
        return None
    return (
        "The clip's length cannot be read, so it cannot be checked against "
        f"Kling's limit of {_duration_range()}."
    )


def _over_asset_cap(result: ProbeResult) -> str | None:
    duration = result.duration
    if duration is None or not (
        ASSET_PAGE_CAP_S + DURATION_TOLERANCE_S < duration <= MAX_DURATION_S + DURATION_TOLERANCE_S
    ):
        return None
    return (
        f"{format_seconds(duration)} is longer than the {ASSET_PAGE_CAP_S:g} s the upload page "
        f"mentions. Add-sound takes up to {MAX_DURATION_S:g} s, but whether uploads this long "
        "are accepted is unconfirmed."
    )


def _container(result: ProbeResult) -> str | None:
    if result.container in UPLOAD_CONTENT_TYPES:
        return None
    return (
        f"{container_label(result.container)} files are not accepted: Kling takes only "
        "MP4 (.mp4) or QuickTime (.mov) videos. Convert it to MP4 first."
    )


def _too_large(result: ProbeResult) -> str | None:
    if result.size_bytes <= MAX_UPLOAD_BYTES:
        return None
    return (
        f"Too large: {format_megabytes(result.size_bytes)}. "
        f"Uploads are limited to {MAX_UPLOAD_BYTES // 1_000_000} MB."
    )


def _no_video(result: ProbeResult) -> str | None:
    if result.has_video:
        return None
    if result.has_audio:
        return "There is no video in this file, only sound. Kling adds sound to a video."
    return "There is no video in this file."


def _resolution(result: ProbeResult) -> str | None:
    width, height = result.display_width, result.display_height
    if not result.has_video or width is None or height is None:
        return None
    short = min(width, height)
    if MIN_SHORT_SIDE <= short <= MAX_SHORT_SIDE:
        return None
    which = "smaller than 720p" if short < MIN_SHORT_SIDE else "larger than 1080p"
    return (
        f"{width}×{height} is {which}. The upload page asks for 720p or 1080p video; "
        "Kling may refuse or rescale it."
    )


#: What a user reads about a cut-short or damaged file. The probe's own finding ("its 'mdat'
#: box runs to byte 397,846 …") is technical: it goes to the log, not into the sentence.
INCOMPLETE_MESSAGE: Final = (
    "The file is incomplete or damaged: it was probably cut short while copying or "
    "downloading. Copy or download it again, then add it again."
)


def _damaged(result: ProbeResult) -> str | None:
    if result.damage is None:
        return None
    log.info("%s is incomplete: %s", result.path, result.damage)
    return INCOMPLETE_MESSAGE


RULES: Final[tuple[Rule, ...]] = (
    # File-level rules: the probe raises ProbeError with these codes.
    Rule(_probe.MISSING, Severity.BLOCKING, "The file must exist."),
    Rule(_probe.DIRECTORY, Severity.BLOCKING, "It must be a file, not a folder."),
    Rule(_probe.NOT_A_FILE, Severity.BLOCKING, "It must be a regular file."),
    Rule(_probe.NO_PERMISSION, Severity.BLOCKING, "It must be readable."),
    Rule(_probe.EMPTY, Severity.BLOCKING, "It must not be empty."),
    Rule(_probe.NOT_VIDEO, Severity.BLOCKING, "Its content must be a video, whatever its name."),
    Rule(_probe.UNREADABLE, Severity.BLOCKING, "It must open as a video."),
    # Rules on what the probe measured, in the order users read them.
    Rule(_probe.TRUNCATED, Severity.BLOCKING, "It must be complete.", _damaged),
    Rule("unsupported_container", Severity.BLOCKING, "MP4 or QuickTime only.", _container),
    Rule("no_video_stream", Severity.BLOCKING, "It must contain video.", _no_video),
    Rule("unknown_duration", Severity.BLOCKING, "Its length must be known.", _unknown_duration),
    Rule("too_short", Severity.BLOCKING, "At least 3 s long.", _too_short),
    Rule("too_long", Severity.BLOCKING, "At most 20 s long.", _too_long),
    Rule("too_large", Severity.BLOCKING, "At most 100 MB.", _too_large),
    Rule("unusual_resolution", Severity.WARNING, "720p or 1080p.", _resolution),
    Rule("over_asset_page_cap", Severity.WARNING, "Over 10 s is unconfirmed.", _over_asset_cap),
    # Preparing a clip (media/prepare.py) has limits of its own; its plan gives the sentence.
    Rule(
        "over_max_length",
        Severity.BLOCKING,
        "Not longer than Settings → Longest clip (5 min unless changed).",
    ),
    Rule("cannot_prepare", Severity.BLOCKING, "It must be possible to prepare it for upload."),
)
RULES_BY_CODE: Final = {rule.code: rule for rule in RULES}

#: What preparing a clip takes care of (converting, splitting, extending, shrinking): outside
#: strict mode these rules do not stand between a clip and Kling. Warnings among them are
#: judged again on the upload files (a 320×180 clip is not made larger; a 15 s part is still
#: over the upload page's 10 s).
FIXED_BY_PREPARING: Final = frozenset(
    {
        "unsupported_container",
        "too_short",
        "too_long",
        "too_large",
        "unusual_resolution",
        "over_asset_page_cap",
    }
)


def evaluate(result: ProbeResult) -> tuple[Problem, ...]:
    """Every rule ``result`` breaks, blocking ones first (in rule order)."""
    problems = []
    for rule in RULES:
        if rule.evaluate is None:
            continue
        message = rule.evaluate(result)
        if message is not None:
            problems.append(Problem(rule.code, message, rule.severity))
    problems.sort(key=lambda p: p.severity is not Severity.BLOCKING)
    return tuple(problems)


def problem_from_error(error: ProbeError) -> Problem:
    """The problem for a file the probe could not read."""
    rule = RULES_BY_CODE.get(error.code, RULES_BY_CODE[_probe.UNREADABLE])
    if rule.code == _probe.TRUNCATED:
        log.info("Incomplete file: %s", error.message)
        return Problem(rule.code, INCOMPLETE_MESSAGE, rule.severity)
    return Problem(rule.code, error.message, rule.severity)
