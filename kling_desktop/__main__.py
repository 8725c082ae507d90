"""``python -m kling_desktop``."""

import sys

from kling_desktop.app import main

sys.exit(main())
