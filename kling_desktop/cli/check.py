"""``kling-desktop check [--json] [--strict] [--max-length S] FILE...``: say which clips Kling
will take, and what the app does to make them acceptable (convert, split, extend, shrink).

Exit codes: 0 every clip is acceptable (warnings allowed), 1 some clip is not, 2 usage error
(nothing given, or the folders given hold no video files). With ``--strict`` a clip is
acceptable only as it is.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any, TextIO

from kling_desktop.media.check import ClipVerdict, check_clip, expand_inputs
from kling_desktop.media.prepare import DEFAULT_MAX_LENGTH_S
from kling_desktop.media.rules import container_label, format_seconds
from kling_desktop.text import plural

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2

_FANCY = {"ok": "✓", "warn": "!", "bad": "✗", "dash": "—", "times": "×"}
_PLAIN = {"ok": "OK", "warn": "!", "bad": "X", "dash": "-", "times": "x"}


def run(args: argparse.Namespace) -> int:
    given: list[str] = list(getattr(args, "files", None) or [])
    as_json = bool(getattr(args, "json", False))
    if not given:
        print("kling-desktop check: give one or more clips or folders to check.", file=sys.stderr)
        return EXIT_USAGE
    files, notes = expand_inputs(given)
    for note in notes:
        print(_printable(note), file=sys.stderr)
    if not files:
        print("kling-desktop check: no video files found in what was given.", file=sys.stderr)
        return EXIT_USAGE
    strict = bool(getattr(args, "strict", False))
    max_length = getattr(args, "max_length", None) or DEFAULT_MAX_LENGTH_S
    verdicts = [check_clip(path, strict=strict, max_length_s=max_length) for path in files]
    if as_json:
        json.dump([verdict_json(v) for v in verdicts], sys.stdout, indent=2, ensure_ascii=False)
        sys.stdout.write("\n")
    else:
        marks = _marks(sys.stdout)
        for verdict in verdicts:
            print(verdict_line(verdict, marks))
        print(total_line(verdicts), file=sys.stderr)  # stdout stays one line per clip
    sys.stdout.flush()
    return EXIT_OK if all(v.ok for v in verdicts) else EXIT_FAILED


def total_line(verdicts: list[ClipVerdict]) -> str:
    """``3 clips accepted: add-sound starts 5 paid Kling jobs (one take each).``"""
    ok = [v for v in verdicts if v.ok]
    jobs = sum(v.plan.paid_jobs if v.plan is not None else 1 for v in ok)
    refused = len(verdicts) - len(ok)
    text = (
        f"{plural(len(ok), 'clip')} accepted: add-sound starts {plural(jobs, 'paid Kling job')} "
        "(one take each; --takes N multiplies them)."
    )
    if refused:
        text += f" {refused} not accepted."
    return text


def verdict_json(verdict: ClipVerdict) -> dict[str, Any]:
    plan = verdict.plan if verdict.ok else None
    return {
        "path": _printable(str(verdict.path)),
        "ok": verdict.ok,
        "duration_s": round(verdict.duration_s, 3) if verdict.duration_s is not None else None,
        "problems": [
            {"code": p.code, "message": p.message, "severity": p.severity.value}
            for p in verdict.problems
        ],
        "paid_jobs": verdict.paid_jobs,
        "prepare": list(plan.steps) if plan is not None else [],
        "parts": (
            [[round(part.start_s, 3), round(part.end_s, 3)] for part in plan.parts]
            if plan is not None
            else []
        ),
    }


def verdict_line(verdict: ClipVerdict, marks: dict[str, str] = _FANCY) -> str:
    """``✓ name — 4.0 s, 1280×720, MP4``; ``!`` with warnings; ``✗ name: problems``.

    A clip the app prepares says how: ``✓ long.webm — 45.0 s, 320×180, WebM: will be
    converted and split into 3 parts (3 paid jobs)``. A refused clip lists what blocks it
    first, then any warnings after a ``!``.
    """
    name = _printable(str(verdict.path))
    if not verdict.ok:
        line = f"{marks['bad']} {name}: " + " ".join(p.message for p in verdict.blocking)
        if verdict.warnings:
            line += f" {marks['warn']} " + " ".join(p.message for p in verdict.warnings)
        return line
    facts = _facts(verdict, marks)
    line = f"{marks['ok'] if not verdict.warnings else marks['warn']} {name}"
    if facts:
        line += f" {marks['dash']} {facts}"
    said = [p.message for p in verdict.warnings]
    plan = verdict.plan
    if plan is not None and plan.ok and plan.steps:
        jobs = plan.paid_jobs
        doing = f"{plan.describe()} ({jobs} paid job{'s' if jobs != 1 else ''})"
        said.insert(0, doing + ("." if said else ""))
    if said:
        line += ": " + " ".join(said)
    return line


def _facts(verdict: ClipVerdict, marks: dict[str, str]) -> str:
    facts: list[str] = []
    if verdict.duration_s is not None:
        facts.append(format_seconds(verdict.duration_s))
    probed = verdict.probe
    if probed is not None:
        if probed.display_width and probed.display_height:
            facts.append(f"{probed.display_width}{marks['times']}{probed.display_height}")
        facts.append(container_label(probed.container).split(" ")[0])
        if probed.has_audio:
            facts.append("with sound")
    return ", ".join(facts)


def _printable(text: str) -> str:
    """Show names that are not valid UTF-8 (lone surrogates in Python) with U+FFFD, not a crash."""
    try:
        raw = text.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:
        raw = text.encode("utf-8", "replace")
    return raw.decode("utf-8", "replace")


def _marks(stream: TextIO) -> dict[str, str]:
    """The ✓/✗ marks, or plain ASCII where the terminal's encoding cannot show them."""
    try:
        "".join(_FANCY.values()).encode(stream.encoding or "ascii")
    except (UnicodeEncodeError, LookupError):
        return _PLAIN
    return _FANCY
