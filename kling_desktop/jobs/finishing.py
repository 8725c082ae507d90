"""Put a clip of parts together on the computer: the original picture, Kling's sound.

For every take, the sound Kling made for each part is joined (short crossfades at the seams),
mixed with the clip's own sound at the user's levels, brought to a loudness when asked, and
muxed onto the original clip's untouched video stream. The chosen take is the result
(``<name>.sound.mp4``, or ``.mkv``/``.mov`` when the picture needs it); the others are kept
beside it as ``<name>.sound.take2.mp4`` …; the sound alone is exported when asked.

Nothing here is paid: a remix runs the same steps again with other levels. Plain code: no Qt.
"""

from __future__ import annotations

import glob
import json
import logging
import os
import shutil
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from kling_desktop.cancel import CancelToken
from kling_desktop.jobs import parts, pipeline
from kling_desktop.jobs.model import Job, JobState

if TYPE_CHECKING:  # PyAV loads when a clip is put together
    from kling_desktop.media.prepare import Plan

log = logging.getLogger(__name__)

Progress = Callable[[float, str], None]


@dataclass(frozen=True)
class Finished:
    output_path: Path
    outputs: str  # JSON for Job.outputs
    notes: tuple[str, ...] = ()


class FinishError(Exception):
    """The clip cannot be put together (a part's sound is missing, the picture unreadable)."""

    for_the_user = True  # jobs/policy.py shows it as it is

    def __str__(self) -> str:
        text = str(self.args[0]) if self.args else "it could not be read"
        return text[:1].upper() + text[1:] + ("" if text.endswith(".") else ".")


def finish(
    clip: Job,
    requests: Sequence[Job],
    cache_dir: Path,
    *,
    output_folder: str = "",
    progress: Progress | None = None,
    cancel: CancelToken | None = None,
) -> Finished:
    """Make the clip's result files from its done requests; returns where they went."""
    plan = parts.plan_of(clip)
    if plan is None:
        raise FinishError("the clip's plan is missing")
    work = parts.folder(cache_dir, clip) / "work"
    work.mkdir(parents=True, exist_ok=True)
    report = progress or (lambda _f, _t: None)
    base = _result_base(clip, output_folder)
    _sweep_parts(base)
    # What this run writes that no job lists yet: gone again if it fails (a retry would
    # otherwise leave a whole result behind that nothing lists). A remix's own files,
    # rewritten in place, are the user's and stay; a first finish's name is only reserved.
    remix = clip.state is JobState.DONE
    listed = (
        {clip.output_path, *(Path(p) for v in parts.outputs(clip).values() for p in v if p)}
        if remix
        else set()
    )
    made_now: list[Path] = []
    try:
        return _finish(clip, requests, plan, work, base, made_now, report=report, cancel=cancel)
    except BaseException:
        for path in made_now:
            if path not in listed:
                path.unlink(missing_ok=True)
        raise


def _finish(
    clip: Job,
    requests: Sequence[Job],
    plan: Plan,
    work: Path,
    base: Path,
    made_now: list[Path],
    *,
    report: Progress,
    cancel: CancelToken | None,
) -> Finished:
    """:func:`finish`'s steps; each file it writes for the user goes into ``made_now``."""
    from kling_desktop.media import finish as media_finish
    from kling_desktop.media import sound

    options = clip.options
    takes = max(1, options.takes)
    steps = takes * 3 + 1
    done = [0]

    def step(text: str) -> Callable[[float], None]:
        first = done[0]
        done[0] += 1
        return lambda fraction: report((first + min(1.0, fraction)) / steps, text)

    original = None
    if options.original_volume > 0 or options.duck or options.duck_sound:
        original = sound.extract_audio(clip.input_path, work / "original.wav", cancel=cancel)
    step("Reading the clip's own sound")(1.0)
    settings = options.mix()
    chosen = min(max(0, options.take), takes - 1)
    take_files: list[str] = []
    audio_files: list[str] = []
    output: Path | None = None
    for take in range(takes):
        if take != chosen and not options.keep_takes:
            take_files.append("")  # not kept: nothing to make
            continue
        pieces = []
        for part in plan.parts:
            request = next(
                (r for r in requests if r.part_index == part.index and r.take_index == take),
                None,
            )
            if request is None or request.output_path is None or not request.output_path.is_file():
                which = f"part {part.index + 1}" + (f", take {take + 1}" if takes > 1 else "")
                raise FinishError(f"Kling's sound for {which} is missing from the cache")
            pieces.append((request.output_path, part))
        joined = media_finish.join_sound(
            pieces,
            work / f"take{take + 1}.joined.wav",
            total_s=plan.duration_s,
            progress=step(f"Joining the sound of take {take + 1}" if takes > 1 else "Joining"),
            cancel=cancel,
        )
        mixed = sound.mix(
            joined,
            original,
            work / f"take{take + 1}.mixed.wav",
            settings,
            length_s=plan.duration_s,
            progress=step("Mixing"),
            cancel=cancel,
        )
        name = base if take == chosen else base.with_name(f"{base.name}.take{take + 1}")
        path = media_finish.remux(
            clip.input_path, mixed, name, progress=step("Saving the result"), cancel=cancel
        )
        made_now.append(path)
        if take == chosen:
            output = path
            take_files.append("")
            if options.export_audio:
                audio = sound.export_audio(mixed, base, options.export_audio, cancel=cancel)
                made_now.append(audio)
                audio_files.append(str(audio))
                if not settings.is_plain:  # the mix differs: Kling's sound alone too
                    alone = base.with_name(base.name.replace(pipeline.RESULT_SUFFIX, ".kling", 1))
                    audio = sound.export_audio(joined, alone, options.export_audio, cancel=cancel)
                    made_now.append(audio)
                    audio_files.append(str(audio))
        else:
            take_files.append(str(path))
    assert output is not None
    # A file of an earlier finish that this one did not make again (another take chosen as
    # the result, or the other takes not kept) goes: nothing is left that no job lists.
    made = {output, *(Path(p) for p in take_files if p)}
    for old in parts.outputs(clip).get("takes", []):
        if old and Path(old) not in made:
            Path(old).unlink(missing_ok=True)
    report(1.0, "Done")
    _tidy(work)
    return Finished(output, json.dumps({"takes": take_files, "audio": audio_files}))


def result_path(clip: Job, output_folder: str = "") -> Path:
    """Where a clip's result goes, chosen before anything is written and kept with the clip
    (``output_path``): a finish cut short (``kill -9``) and run again writes its files under
    the same names, over what the first run left, instead of beside it under new ones."""
    from kling_desktop.media.finish import result_extension

    base = _result_base(clip, output_folder)
    return base.with_name(base.name + result_extension(clip.input_path))


def _sweep_parts(base: Path) -> None:
    """The temporary files (``files.atomic_path``) a finish cut short left beside the
    results named after ``base``."""
    kling = base.name.replace(pipeline.RESULT_SUFFIX, ".kling", 1)
    for name in {base.name, kling}:
        for stale in base.parent.glob(f".{glob.escape(name)}.*.part"):
            stale.unlink(missing_ok=True)


def _result_base(clip: Job, output_folder: str) -> Path:
    """``<folder>/<stem>.sound`` (no extension: the picture decides it); a remix reuses the
    clip's own result name, a new result never takes a name that is in use."""
    if clip.output_path is not None:
        own = clip.output_path
        return own.with_name(own.name[: -len(own.suffix)] if own.suffix else own.name)
    folder = pipeline.output_folder_for(clip, output_folder)
    folder.mkdir(parents=True, exist_ok=True)
    stem = pipeline.safe_stem(clip.input_path.stem)
    n = 1
    while True:
        name = pipeline.result_name(stem, n, "")
        if (
            not any(p.name.startswith(name + ".") for p in _entries(folder))
            and not (folder / name).exists()
        ):
            return folder / name
        n += 1


def _entries(folder: Path) -> list[Path]:
    try:
        return [folder / e.name for e in os.scandir(folder)]
    except OSError:
        return []


def _tidy(work: Path) -> None:
    shutil.rmtree(work, ignore_errors=True)


def remove_prepared(cache_dir: Path, clip: Job) -> None:
    """The uploads prepared for a clip are not needed once it is done (Kling's sound is kept,
    for remixing)."""
    for path in parts.folder(cache_dir, clip).glob("part*.mp4"):
        if ".sound" not in path.name:
            path.unlink(missing_ok=True)


def collect_garbage(cache_dir: Path, live_uids: set[str]) -> int:
    """Remove the cached parts of clips no longer in the job list (removed, and not brought
    back by Undo before the app closed). Returns how many clips' files went."""
    root = cache_dir / "parts"
    gone = 0
    try:
        entries = list(os.scandir(root))
    except OSError:
        return 0
    for entry in entries:
        if entry.is_dir() and entry.name not in live_uids:
            shutil.rmtree(entry.path, ignore_errors=True)
            gone += 1
    if gone:
        log.info("removed the cached parts of %d clips no longer listed", gone)
    return gone
