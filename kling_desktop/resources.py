"""The one place that knows where the app's resources (icons, desktop entry, styles, licence
notices) live.

Three layouts, tried in this order:

1. **Frozen** (PyInstaller): the spec copies ``resources/`` to ``<sys._MEIPASS>/resources``.
2. **Installed wheel** (``pip install .``): ``setup.py``'s build step copies ``resources/`` into
   the package as ``kling_desktop/_resources``.
3. **Source checkout / editable install**: ``resources/`` beside the ``kling_desktop`` package.

Nothing else in the code base may look at ``sys._MEIPASS`` or build paths to resources. This
module stays Qt-free at import; :func:`app_icon` imports QtGui only when called.
"""

from __future__ import annotations

import sys
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from PySide6.QtGui import QIcon

_PACKAGE_DIR = Path(__file__).resolve().parent
ICON_NAME = "kling-desktop"
ICON_SIZES = (16, 24, 32, 48, 64, 128, 256, 512)


class ResourceError(FileNotFoundError):
    """The resources folder is missing: the installation is incomplete."""


def _candidates() -> list[Path]:
    found: list[Path] = []
    frozen_root = getattr(sys, "_MEIPASS", None)
    if getattr(sys, "frozen", False) and frozen_root:
        found.append(Path(frozen_root) / "resources")
    found.append(_PACKAGE_DIR / "_resources")
    found.append(_PACKAGE_DIR.parent / "resources")
    return found


@cache
def resources_root() -> Path:
    """The folder holding the app's resources, whichever way the app was installed."""
    for candidate in _candidates():
        if (candidate / "icons").is_dir():
            return candidate
    tried = ", ".join(str(c) for c in _candidates())
    raise ResourceError(f"Kling Desktop's resources are missing (looked in {tried}); reinstall.")


def resource_path(*parts: str) -> Path:
    """Path of a resource, e.g. ``resource_path("icons", "kling-desktop.svg")``.

    The path is returned even if the file does not exist, so callers can test for optional
    resources; only a missing resources folder raises :class:`ResourceError`.
    """
    return resources_root().joinpath(*parts)


#: The third-party notices and licence texts (Qt, PySide6, FFmpeg: LGPL; PyAV: BSD), which must
#: ship with every copy of the app: ``resources/licenses``, NOTICE.txt first.
LICENSES_DIR = "licenses"
NOTICE_NAME = "NOTICE.txt"


def license_files() -> list[Path]:
    """The notice, then each licence text, from ``resources/licenses`` (empty if missing)."""
    folder = resource_path(LICENSES_DIR)
    texts = sorted(p for p in folder.glob("*.txt") if p.is_file() and p.name != NOTICE_NAME)
    notice = folder / NOTICE_NAME
    return ([notice] if notice.is_file() else []) + texts


def icon(name: str) -> QIcon:
    """The icon ``name`` from ``resources/icons``: every rendered PNG size, else its SVG.

    A missing icon gives a null QIcon (``isNull()``), never an exception.
    """
    from PySide6.QtGui import QIcon

    found = QIcon()
    for size in ICON_SIZES:
        png = resource_path("icons", "hicolor", f"{size}x{size}", f"{name}.png")
        if png.is_file():
            found.addFile(str(png))
    svg = resource_path("icons", f"{name}.svg")
    if found.isNull() and svg.is_file():
        found.addFile(str(svg))
    return found


def app_icon() -> QIcon:
    """The application icon, with every rendered size so each platform picks a sharp one."""
    return icon(ICON_NAME)
