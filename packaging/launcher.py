"""PyInstaller's entry script: the frozen ``kling-desktop`` executable starts here."""

from kling_desktop.app import main

raise SystemExit(main())
