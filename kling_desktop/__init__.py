"""Kling Desktop: add Kling's AI sound to short video clips, from the desktop."""

__version__ = "0.1.0"
APP_NAME = "Kling Desktop"
APP_ID = "kling-desktop"
