"""The window: drop zone, job table, preview, accounts and settings. Only this package imports
QtWidgets; everything here shows state and forwards actions to the job runner."""
