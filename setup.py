"""Ship ``resources/`` inside the wheel as ``kling_desktop/_resources``.

All metadata lives in pyproject.toml; this file only extends ``build_py`` so a non-editable
``pip install .`` (and any wheel built from an sdist) carries the icons and desktop entry that
``kling_desktop.resources.resource_path`` looks for. Editable installs read ``resources/``
from the checkout directly, so nothing is copied for them.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

ROOT = Path(__file__).resolve().parent


class build_py_with_resources(build_py):
    def run(self) -> None:
        super().run()
        if getattr(self, "editable_mode", False):
            return
        source = ROOT / "resources"
        target = Path(self.build_lib) / "kling_desktop" / "_resources"
        if target.exists():
            shutil.rmtree(target)
        shutil.copytree(source, target)


setup(cmdclass={"build_py": build_py_with_resources})
