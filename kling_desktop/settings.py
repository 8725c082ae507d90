"""Typed settings, each declared once with its default and a label.

Stored as JSON in the config folder. The API token is *not* a setting: it lives only in the OS
keyring (DESIGN §4.4), and :meth:`Settings.save` refuses to write anything that looks like one.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kling_desktop.files import atomic_write_text

log = logging.getLogger(__name__)

DEFAULT_API_URL = "https://api.useapi.net/v1/kling"
API_URL_ENV = "KLING_DESKTOP_API_URL"
_TOKEN_SHAPE = re.compile(r"user:\d+-\w+")


def _setting(default: Any, label: str, **extra: Any) -> Any:
    return field(default=default, metadata={"label": label, **extra})


@dataclass
class Settings:
    """User preferences. Unknown keys in the file are ignored; bad values fall back to defaults."""

    api_url: str = _setting(DEFAULT_API_URL, "API base URL")
    default_email: str = _setting("", "Default Kling account")
    keep_original_sound: bool = _setting(False, "Keep original sound (Kling's own mix)")
    output_folder: str = _setting("", "Save results in (empty: next to the original clip)")
    prefer_clean_master: bool = _setting(True, "Prefer the clean (unwatermarked) master")
    poll_interval_s: float = _setting(20.0, "Seconds between status checks", minimum=2.0)
    first_poll_delay_s: float = _setting(10.0, "Seconds before the first status check", minimum=0.0)
    concurrency: int = _setting(3, "Clips uploaded or downloaded at once", minimum=1, maximum=16)
    slot_wait_limit_s: float = _setting(
        3600.0, "Give up waiting for a free Kling slot after (seconds)", minimum=60.0
    )
    auto_start: bool = _setting(
        False, "Start paid Kling jobs as soon as clips are dropped (no confirmation)"
    )
    notifications: bool = _setting(True, "Notify when a batch ends")
    # What the app makes of a clip on the computer (issues #12, #13); each job keeps its own.
    max_length_s: float = _setting(
        300.0,
        "Longest clip accepted (longer than 20 s: split into parts)",
        minimum=21.0,
        maximum=3600.0,
    )
    takes: int = _setting(1, "Takes per clip (each a paid Kling job)", minimum=1, maximum=4)
    sound_volume: float = _setting(1.0, "Kling's sound level", minimum=0.0, maximum=2.0)
    original_volume: float = _setting(0.0, "The clip's own sound level", minimum=0.0, maximum=2.0)
    duck: bool = _setting(False, "Lower the clip's own sound while Kling's sound plays")
    duck_sound: bool = _setting(False, "Lower Kling's sound while the clip's own sound plays")
    keep_takes: bool = _setting(True, "Keep the other takes beside the result")
    loudness_lufs: float = _setting(0.0, "Loudness of the result", minimum=-70.0, maximum=0.0)
    export_audio: str = _setting("", "Export sound")

    @classmethod
    def load(cls, path: Path) -> Settings:
        """Read settings from ``path``; a missing or damaged file gives the defaults."""
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raw = {}
        except (OSError, ValueError) as exc:
            log.warning("Settings file %s unreadable (%s); using defaults", path, exc)
            raw = {}
        settings = cls()
        if isinstance(raw, dict):
            for f in dataclasses.fields(cls):
                if f.name in raw:
                    value = _coerce(f, raw[f.name])
                    if value is not None:
                        setattr(settings, f.name, value)
        return settings

    def save(self, path: Path) -> None:
        """Write atomically so a crash never leaves half a settings file."""
        data = dataclasses.asdict(self)
        text = json.dumps(data, indent=2, sort_keys=True)
        if _TOKEN_SHAPE.search(text):
            raise ValueError("Refusing to write an API token into the settings file.")
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_text(path, text)

    def effective_api_url(self, env: dict[str, str] | None = None) -> str:
        """``KLING_DESKTOP_API_URL`` wins over the stored setting."""
        env = dict(os.environ) if env is None else env
        return env.get(API_URL_ENV, "").strip() or self.api_url

    @staticmethod
    def label(name: str) -> str:
        for f in dataclasses.fields(Settings):
            if f.name == name:
                return str(f.metadata["label"])
        raise KeyError(name)


def _coerce(f: dataclasses.Field[Any], value: Any) -> Any:
    """Return ``value`` as the field's type, or None when it does not fit."""
    kind: type = type(f.default)
    if kind is bool:
        return value if isinstance(value, bool) else None
    if kind in (int, float):
        if isinstance(value, bool) or not isinstance(value, int | float):
            return None
        number = kind(value)
        lo, hi = f.metadata.get("minimum"), f.metadata.get("maximum")
        if lo is not None and number < lo:
            return kind(lo)
        if hi is not None and number > hi:
            return kind(hi)
        return number
    if kind is str:
        return value if isinstance(value, str) else None
    return None
