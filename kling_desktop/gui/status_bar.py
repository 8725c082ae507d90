"""The status bar: how many clips stand where, the account, and online or offline."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from PySide6.QtCore import QObject
from PySide6.QtWidgets import QLabel, QStatusBar

from kling_desktop.api.errors import NetworkError, Timeout
from kling_desktop.jobs.model import Job, JobState
from kling_desktop.runner.engine import Progress

#: States a job reaches only once a request was answered (a submit, a poll, a download).
_AFTER_AN_ANSWER = frozenset({JobState.PROCESSING, JobState.DOWNLOADING, JobState.DONE})
#: States whose progress is bytes going over the network.
_TRANSFERS = frozenset({JobState.UPLOADING, JobState.DOWNLOADING})
#: How the errors for "no connection" begin (api.errors NetworkError and Timeout).
_OFFLINE_SENTENCES = (NetworkError.summary, Timeout.summary)


class WindowStatus(QObject):
    """Fills ``bar`` with three labels and keeps the connection state they show.

    The runner's ``connection_changed`` goes to :meth:`connection_changed`; every job change
    and progress to :meth:`note_request_outcome`. ``has_token`` says whether a token is set up
    (the account label then says so, and the connection label stays quiet).
    """

    def __init__(
        self, bar: QStatusBar, *, demo: Callable[[], bool], has_token: Callable[[], bool]
    ) -> None:
        super().__init__(bar)
        self._bar = bar
        self._demo = demo
        self._has_token = has_token
        self._connection: tuple[bool, str] | None = None  # unknown until the runner says
        #: The last state seen of each job (to tell a change of state from an update).
        self._seen_states: dict[int, JobState] = {}
        self.counts_label = QLabel()
        self.counts_label.setAccessibleName(self.tr("Job counts"))
        self.account_label = QLabel()
        self.account_label.setAccessibleName(self.tr("Account"))
        self.connection_label = QLabel()
        self.connection_label.setAccessibleName(self.tr("Connection"))
        bar.addWidget(self.counts_label, 1)
        bar.addPermanentWidget(self.account_label)
        bar.addPermanentWidget(self.connection_label)

    def show(self, jobs: Iterable[Job], account: str) -> None:
        """The counts of ``jobs``, ``account`` (already worded), and the connection."""
        counts: dict[str, int] = {}
        for job in jobs:
            key = _count_group(job.state)
            counts[key] = counts.get(key, 0) + 1
        words: dict[str, Callable[[int], str]] = {
            "ready": lambda n: self.tr("%n ready", "", n),
            "active": lambda n: self.tr("%n in progress", "", n),
            "done": lambda n: self.tr("%n done", "", n),
            "attention": lambda n: self.tr("%n need(s) attention", "", n),
        }
        parts = [say(counts[key]) for key, say in words.items() if counts.get(key)]
        self.counts_label.setText(" · ".join(parts) if parts else self.tr("No clips yet"))
        self.account_label.setText(account)
        self._show_connection()

    def _show_connection(self) -> None:
        if self._connection is None:
            self.connection_label.setText(self.tr("Simulator") if self._demo() else "")
            return
        online, sentence = self._connection
        if online:
            label = self.tr("Simulator") if self._demo() else self.tr("Connected")
        elif not self._has_token():
            label = ""  # the account label says "No token" already
        elif says_no_token(sentence):
            label = self.tr("Token not accepted")
        else:
            label = self.tr("Offline")
        self.connection_label.setText(label)
        self.connection_label.setToolTip(sentence)

    def connection_changed(self, online: bool, sentence: str) -> None:
        """The runner's word on the latest request (shown at the next :meth:`show`); trouble
        is also said for a while."""
        self._connection = (online, sentence)
        if not online and sentence and not says_no_token(sentence):
            self._bar.showMessage(sentence, 10_000)

    def note_request_outcome(self, job: Job | None, progress: Progress | None = None) -> bool:
        """Online or offline follows the latest request's outcome, as the list shows it.
        True when that changed what the status bar says.

        The runner says when a poll fails or succeeds; an upload's bytes flowing, a submit
        answered or a download done say so too (the label must not read "Offline" while
        downloads run), and a "Connection problem" on a row says the opposite.
        """
        if job is None:
            return False
        before = self._seen_states.get(job.id)
        self._seen_states[job.id] = job.state
        went_through = False
        if progress is not None:
            text = progress.text or ""
            if text == "Connection problem" or text.startswith(_OFFLINE_SENTENCES):
                self._connection = (False, text)
                return True
            fraction = progress.fraction or 0.0
            went_through = job.state in _TRANSFERS and fraction > 0
        elif before is not None and before is not job.state:
            went_through = job.state in _AFTER_AN_ANSWER and before is not JobState.CHECKING
        if went_through and (self._connection is None or not self._connection[0]):
            self._connection = (True, "")
            return True
        return False

    def forget_token_trouble(self) -> None:
        """A token is set up now: what was said about a missing or refused one goes (the
        runner says again once it has asked)."""
        if self._connection is not None and says_no_token(self._connection[1]):
            self._connection = None
        if says_no_token(self._bar.currentMessage()):
            self._bar.clearMessage()


def _count_group(state: JobState) -> str:
    if state is JobState.READY:
        return "ready"
    if state is JobState.DONE:
        return "done"
    if state.is_active:
        return "active"
    return "attention"


def says_no_token(text: str) -> bool:
    """A sentence about a missing or refused token (the runner's, the pipeline's, ours)."""
    lowered = text.casefold()
    return "token" in lowered and any(
        words in lowered
        for words in ("no useapi.net api token", "no working api token", "token first",
                      "did not accept the api token", "no token")
    )  # fmt: skip
