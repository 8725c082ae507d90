"""Plain-text formatting shared by the window and the command line (no Qt)."""

from __future__ import annotations


def format_clock(seconds: float) -> str:
    """A length or a time on a clock face: ``3.4`` → ``"0:03"``, ``3723`` → ``"1:02:03"``.

    Whole seconds, rounded down (a player's position never shows a second not yet reached);
    a negative value reads as ``"0:00"``.
    """
    whole = max(0, int(seconds))
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def plural(count: int, noun: str) -> str:
    """``1 clip``, ``3 clips``, ``2 paid Kling jobs``: English text of the command line (the
    window's text goes through Qt's ``tr`` with ``%n``)."""
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"
