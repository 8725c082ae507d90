"""The faults a :class:`~kling_desktop.simulator.Simulator` can play, switchable at any time.

Counters (``submit_429``, ``poll_5xx``, …) count down as they fire; flags stay until reset.
``scenario_setting`` reads one ``NAME=VALUE`` from the command line.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

_MB = 1024 * 1024

# Which way Kling reads cropVideoOriginalSound (contract §2 and §12: unknown, to be measured):
KEEPS = "keeps"  # the docs: true preserves the clip's own sound, false (the default) replaces it
REMOVES = "removes"  # a third-party client's reading: true replaces (crops) it, false keeps it
CROP_READINGS = (KEEPS, REMOVES)
# Fields that take one of a few words, with the words (``scenario_setting`` checks them).
CHOICES: dict[str, tuple[str, ...]] = {"crop_original_sound": CROP_READINGS}


def keeps_original(flag: bool, reading: str) -> bool:
    """Whether a task asked with ``cropVideoOriginalSound=flag`` keeps the clip's own sound
    when Kling reads the flag the ``reading`` way (:data:`KEEPS` or :data:`REMOVES`)."""
    if reading == KEEPS:
        return flag
    if reading == REMOVES:
        return not flag
    raise ValueError(f"crop_original_sound is {reading!r}, not one of {', '.join(CROP_READINGS)}")


@dataclass
class Scenario:
    """Faults to play; change fields at any time (counters count down as they fire)."""

    submit_429: int = 0  # next N submits answer 429 (not started)
    poll_5xx: int = 0  # next N GET /tasks/{id} answer 503, then 500, ...
    moderate_submit: bool = False  # submit answers 500 with the seed's moderation body
    final_failure: bool = False  # new tasks end final with status_name "failed"
    drop_submit_response: int = 0  # next N submits create the task, then hang up unanswered
    task_seconds: float = 3.0  # submit -> final, for tasks created from now on
    poll_404: bool = False  # GET /tasks/{id} answers 404 (deleted/moderated/out of credits)
    bad_token: bool = False  # every API request answers 401
    subscription_required: bool = False  # every API request answers 402
    account_error: bool = False  # submits and polls answer 596 (account in error state)
    retry_after: float | None = None  # sent as Retry-After with every 429 when set
    truncate_downloads: int = 0  # next N /cdn file answers stop half way and hang up
    # next N fetches of a task's result file (/cdn/v15/works/…) answer 404: the link expired
    expired_results: int = 0
    transfer_bytes_per_s: float = 0.0  # > 0: uploads and /cdn downloads move at this pace
    malformed_responses: int = 0  # next N API answers are 200 with a body that is not JSON
    # -- answers that say nothing certain about whether Kling got the submit (issue 10) ------
    # next N submits CREATE the task (charged, counted in submit_count, listed, scheduled) and
    # then answer 500 with a plain fault body {"error": "Internal Server Error", "code": 500}
    submit_500_after_create: int = 0
    # next N submits create the task, then answer 302 with a Location to another local path
    # (a proxy or gateway in the way), empty body
    submit_redirect_after_create: int = 0
    # next N submits create the task, then answer 400 with an empty body (not JSON)
    submit_400_nobody: int = 0
    # next N GET /tasks/{id} answer poll_odd_status, each once, then lookups answer normally:
    # 400 {"error": "Invalid parameters"}, 404 {"error": "Task … not found"}, 596 the
    # account-error body, 302 a Location to another local path; any other status a plain body
    poll_odd_once: int = 0
    poll_odd_status: int = 404
    # next N submits never reach Kling: the request is read and the connection closed without
    # our task being created (submit_count does not grow), while at that moment ANOTHER client
    # on the same account starts an add-sound task (a fresh copy of the same video under another
    # file name, no replyRef). It is listed and scheduled like any task and counted in
    # Simulator.foreign_task_count; Simulator.tasks() marks it "foreign".
    submit_lost_other_client: int = 0
    # > 0: a task whose submit answer is dropped (drop_submit_response) is invisible (GET
    # /tasks, GET /tasks/{id}, the scheduler) until this many seconds after its creation
    late_task_seconds: float = 0.0
    # next N API answers are 200 with a JSON body of huge_answer_bytes, sent chunked (no
    # Content-Length: a gateway streaming garbage); the request itself has no effect
    huge_answer: int = 0
    huge_answer_bytes: int = 300 * _MB
    # how tasks created from now on read cropVideoOriginalSound: KEEPS ("keeps", the docs: true
    # keeps the clip's own sound, mixed into the one result track) or REMOVES ("removes": true
    # removes it, false keeps it). An absent flag is false (the documented default) either way.
    crop_original_sound: str = KEEPS


def scenario_setting(spec: str) -> tuple[str, Any]:
    """Parse ``NAME=VALUE`` into a :class:`Scenario` field and a value of its type, e.g.
    ``submit_500_after_create=1``, ``late_task_seconds=30``, ``poll_404=true``,
    ``retry_after=none``, ``crop_original_sound=removes``. Raises ValueError naming the
    problem."""
    name, sep, raw = spec.partition("=")
    name = name.strip().replace("-", "_")
    defaults = Scenario()
    if not sep or name not in {f.name for f in dataclasses.fields(Scenario)}:
        known = ", ".join(f.name for f in dataclasses.fields(Scenario))
        raise ValueError(f"expected NAME=VALUE with NAME one of: {known}")
    raw = raw.strip()
    default = getattr(defaults, name)
    if name in CHOICES:
        if raw.lower() not in CHOICES[name]:
            raise ValueError(f"{name} takes one of: {', '.join(CHOICES[name])}")
        return name, raw.lower()
    if isinstance(default, bool):
        if raw.lower() not in ("1", "0", "true", "false", "yes", "no", "on", "off"):
            raise ValueError(f"{name} takes true or false")
        return name, raw.lower() in ("1", "true", "yes", "on")
    if default is None and raw.lower() in ("", "none"):
        return name, None
    try:
        if isinstance(default, int):
            return name, int(raw)
        return name, float(raw)
    except ValueError:
        raise ValueError(f"{name} takes a number, not {raw!r}") from None
