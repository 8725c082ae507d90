"""Command line: the window by default, or a headless command over the same engine.

``kling-desktop [--demo] [FILE...]`` opens the window; ``kling-desktop COMMAND ...`` runs one of
the commands (the tree is :mod:`kling_desktop.cli.parser`; each command is the module of its
name here, with a ``run(args)``). Exit codes: 0 all good, 1 some clip or job failed, 2 usage or
configuration.
"""

from __future__ import annotations

import argparse
import importlib
import sys

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


def run(args: argparse.Namespace) -> int:
    """Run the command ``args`` were parsed for (:func:`kling_desktop.cli.parser.parse`)."""
    module = importlib.import_module(f"kling_desktop.cli.{args.command.replace('-', '_')}")
    try:
        return int(module.run(args))
    except BrokenPipeError:
        # The reader went away (`kling-desktop jobs --json | head`): not an error of ours.
        sys.stderr.close()
        return EXIT_OK
    except KeyboardInterrupt:
        print(
            "Interrupted; unfinished jobs can be resumed with `kling-desktop resume`.",
            file=sys.stderr,
        )
        return EXIT_FAILED
