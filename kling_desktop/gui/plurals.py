"""English plural forms for the window's counted sentences.

A counted text is written once, in Qt's numerus form, where it is used:
``self.tr("%n clip(s) need your attention", "", n)``. ``lupdate`` extracts it as one message,
and each language's translation gives as many plural forms as that language has (Polish three,
Japanese one). Qt shows a numerus text as written when no translation is loaded ("1 clip(s)
need your attention"), so the source language needs its own translation too: this is it. It is
installed first, so a translator for the user's language, installed later, wins.

Most texts follow one rule — "(s)" drops for one and becomes "s" otherwise; the others (verbs
that agree, a singular phrased without its number) are listed in :data:`FORMS`.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Final

from PySide6.QtCore import QCoreApplication, QTranslator

#: Source text → (form for 1, form for any other count), where the "(s)" rule is not enough.
FORMS: Final[dict[str, tuple[str, str]]] = {
    # notify.py
    "%n clip(s) need your attention": (
        "%n clip needs your attention",
        "%n clips need your attention",
    ),
    # status_bar.py
    "%n need(s) attention": ("%n needs attention", "%n need attention"),
    # an older wording of close_question.py (no text uses it now)
    "%n clip(s) still uploading. Those uploads start again from the beginning next time; "
    "nothing has been charged for them yet.": (
        "%n clip is still uploading. Its upload starts again from the beginning next time; "
        "nothing has been charged for it yet.",
        "%n clips are still uploading. Their uploads start again from the beginning next "
        "time; nothing has been charged for them yet.",
    ),
    # job_commands.py
    "%n clip(s) being sent to Kling this instant were kept; remove them once they are sent.": (
        "%n clip is being sent to Kling this instant and was kept; remove it once it is sent.",
        "%n clips are being sent to Kling this instant and were kept; remove them once they "
        "are sent.",
    ),
    # dialogs.py
    "%n clip(s) are split into parts (%1)": (
        "%n clip is split into parts (%1)",
        "%n clips are split into parts (%1)",
    ),
    "This starts %n new paid Kling job(s)": (
        "This starts a new paid Kling job",
        "This starts %n new paid Kling jobs",
    ),
    "Send %n again (new paid job(s))": (
        "Send again (new paid job)",
        "Send %n again (new paid jobs)",
    ),
    "Kling keeps running the %n job(s) and still charges for them; only this app stops "
    "waiting for the results.": (
        "Kling keeps running the job and still charges for it; only this app stops waiting "
        "for the result.",
        "Kling keeps running the jobs and still charges for them; only this app stops "
        "waiting for the results.",
    ),
    "%n of them still at Kling: Kling keeps running them and still charges for them, but "
    "this app stops following them and will not save their results.": (
        "%n of them is still at Kling: Kling keeps running it and still charges for it, but "
        "this app stops following it and will not save its result.",
        "%n of them are still at Kling: Kling keeps running them and still charges for them, "
        "but this app stops following them and will not save their results.",
    ),
    "The history of %n finished job(s) (state, result link, messages) goes with them.": (
        "The history of %n finished job (state, result link, messages) goes with it.",
        "The history of %n finished jobs (state, result link, messages) goes with them.",
    ),
    "Remove %n job(s)": ("Remove from list", "Remove %n jobs"),
    "Settings start paid Kling jobs as soon as clips are added: this starts %n new paid "
    "Kling job(s).": (
        "Settings start paid Kling jobs as soon as clips are added: this starts a new paid "
        "Kling job.",
        "Settings start paid Kling jobs as soon as clips are added: this starts %n new paid "
        "Kling jobs.",
    ),
    "Add %n again and start (paid)": (
        "Add again and start (paid)",
        "Add %n again and start (paid)",
    ),
    "Add %n again": ("Add again", "Add %n again"),
}


def english(source: str, n: int) -> str:
    """The English form of the numerus text ``source`` for ``n`` (``%n`` still in it)."""
    forms = FORMS.get(source)
    if forms is not None:
        return forms[0] if n == 1 else forms[1]
    return source.replace("(s)", "" if n == 1 else "s")


class EnglishPlurals(QTranslator):
    """Answers only numerus texts (``n >= 0``); everything else is left to Qt as written."""

    def translate(
        self,
        context: str,
        source_text: str,
        disambiguation: str | None = None,
        n: int = -1,
    ) -> str | None:
        if n < 0 or ("%n" not in source_text and "%Ln" not in source_text):
            # Not a counted text. None (a null string, unlike "") tells Qt there is no
            # translation here, so it keeps the source or asks the next translator.
            return None
        return english(source_text, n)

    def isEmpty(self) -> bool:
        return False


_installed: list[EnglishPlurals] = []


@contextlib.contextmanager
def suspended() -> Iterator[None]:
    """Take the plural forms off while Qt loads libraries (importing QtMultimedia, its first
    player): a library's start-up code may translate a text while Qt holds the system's
    library-loading lock, and a translator written in Python then waits for Python's lock —
    which a worker thread loading a library of its own (requests, PyAV) holds while it waits
    for the first lock. Without a Python translator in between, the two never wait on each
    other."""
    app = QCoreApplication.instance()
    removed = [t for t in _installed if app is not None and t.parent() is app]
    for translator in removed:
        assert app is not None
        app.removeTranslator(translator)
    try:
        yield
    finally:
        for translator in removed:
            assert app is not None
            app.installTranslator(translator)


def install(app: QCoreApplication) -> None:
    """Install the English plural forms on ``app`` (once; later calls do nothing)."""
    if _installed and _installed[0].parent() is app:
        return
    translator = EnglishPlurals(app)
    app.installTranslator(translator)
    _installed[:] = [translator]
