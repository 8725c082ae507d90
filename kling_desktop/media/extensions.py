"""The file name endings of video files the app takes (no PyAV here: the window's file dialog
reads them at start-up). Containers Kling refuses are listed too: the app converts them."""

from __future__ import annotations

from typing import Final

VIDEO_EXTENSIONS: Final = frozenset(
    {
        ".mp4", ".m4v", ".mov", ".qt",
        ".webm", ".mkv", ".avi", ".wmv", ".flv", ".ogv",
        ".mpg", ".mpeg", ".ts", ".mts", ".m2ts", ".3gp", ".3g2", ".gif",
    }
)  # fmt: skip
