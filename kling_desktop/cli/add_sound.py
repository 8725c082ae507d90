"""``kling-desktop add-sound``: check, upload and add sound to clips from the command line."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from kling_desktop.cli import EXIT_USAGE
from kling_desktop.cli.common import UsageError, choose_email, client_or_fail, fail_usage
from kling_desktop.cli.follow import core_app, follow, make_runner
from kling_desktop.context import CommandContext
from kling_desktop.jobs.model import Job, JobOptions, JobState
from kling_desktop.media.check import expand_inputs
from kling_desktop.settings import Settings
from kling_desktop.text import plural

S = JobState


def run(args: argparse.Namespace) -> int:
    if not args.files:
        print("kling-desktop add-sound: give at least one clip or folder.", file=sys.stderr)
        return EXIT_USAGE
    ctx = CommandContext.load()
    if args.poll_interval is not None:
        ctx.settings.poll_interval_s = max(0.2, args.poll_interval)
        ctx.settings.first_poll_delay_s = min(ctx.settings.first_poll_delay_s, args.poll_interval)
    files, notes = expand_inputs([Path(f) for f in args.files])
    for note in notes:
        print(note, file=sys.stderr)
    if not files:
        print("kling-desktop add-sound: no clips found in what was given.", file=sys.stderr)
        return EXIT_USAGE
    try:
        with client_or_fail(ctx) as client:
            email = choose_email(client, args.email, ctx.settings.default_email)
    except UsageError as exc:
        return fail_usage(exc)
    output = ""
    if args.output:
        out = Path(args.output).expanduser()
        try:
            out.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            return fail_usage(UsageError(f"Cannot use {out} as the output folder: {exc}"))
        output = str(out.absolute())
    options = job_options(args, ctx.settings, email=email, output_dir=output)
    core_app()
    try:
        store, runner = make_runner(ctx, "add-sound")
    except UsageError as exc:
        return fail_usage(exc)
    try:
        ids: list[int] = []
        runner.files_added.connect(ids.extend)
        if not args.json:
            runner.job_changed.connect(paid_total(ids))
        runner.add_files(files, options, start=True)  # the command itself is the confirmation
        return follow(runner, lambda: ids, wait=args.wait, as_json=args.json)
    finally:
        store.close()


def paid_total(ids: list[int]) -> Callable[[Job], None]:
    """A receiver of job changes that says once, when every clip in ``ids`` is checked, how
    many paid Kling jobs they started (a clip of parts or takes is several)."""
    paid: dict[int, int] = {}

    def changed(job: Job) -> None:
        if job.id not in ids or job.id in paid or job.state in (S.CHECKING, S.READY):
            return
        paid[job.id] = 0 if job.state is S.REJECTED else max(1, job.requests)
        if len(paid) == len(ids) and (total := sum(paid.values())):
            clips = sum(1 for n in paid.values() if n)
            print(
                f"kling-desktop: {plural(total, 'paid Kling job')} for {plural(clips, 'clip')}.",
                file=sys.stderr,
                flush=True,
            )

    return changed


def job_options(
    args: argparse.Namespace, settings: Settings, *, email: str, output_dir: str
) -> JobOptions:
    """The job's options: what the command line says, else the settings' defaults."""

    def given(name: str, default: object) -> object:
        value = getattr(args, name, None)
        return default if value is None else value

    return JobOptions(
        email=email,
        keep_original_sound=args.keep_original_sound or settings.keep_original_sound,
        output_dir=output_dir,
        strict=bool(args.strict),
        max_length_s=float(given("max_length", settings.max_length_s)),  # type: ignore[arg-type]
        takes=int(given("takes", settings.takes)),  # type: ignore[call-overload]
        **sound_options(args, settings),
    )


def sound_options(args: argparse.Namespace, settings: Settings | None = None) -> dict[str, Any]:
    """The sound options given on the command line (with the settings' defaults, when
    ``settings`` is given; without, only what was given — a remix changes only that)."""
    out: dict[str, Any] = {}
    defaults = {
        "sound_volume": "sound_volume",
        "original_volume": "original_volume",
        "duck": "duck",
        "duck_sound": "duck_sound",
        "loudness": "loudness_lufs",
        "export_audio": "export_audio",
        "take": "take",
    }
    for arg, field in defaults.items():
        value = getattr(args, arg, None)
        if value is not None:
            out[field] = value
        elif settings is not None and hasattr(settings, field):
            out[field] = getattr(settings, field)
    if "loudness_lufs" in out and out["loudness_lufs"] in (0, 0.0):
        out["loudness_lufs"] = None  # the settings' 0: off
    if "export_audio" in out and out["export_audio"] is None:
        out["export_audio"] = ""
    if getattr(args, "discard_other_takes", None):
        out["keep_takes"] = False
    elif settings is not None:
        out["keep_takes"] = settings.keep_takes
    return out
