"""QtCore-only machinery that runs the engine off the owner thread (window or command line)."""
