"""Take checks and clip transcription in the editor, on a thread of their own.

The generation worker reports each saved take (`takeArrived`); the check of that take runs here, on a
low-priority thread that owns the speech recogniser, so checking never delays the next line. Opening a
project shows the verdicts of takes heard before straight from the transcript cache (no model loaded).
Where no recogniser can be loaded, `off_reason` says why ("checks off because ...") and the rest works.
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QObject, QThread, Signal, Slot

from dia_engine import DEFAULT_RECOGNISER
from projects.take_check import CheckThresholds, TakeCheck
from projects.take_review import TakeReviewer
from projects.transcripts import RecogniserUnavailable, Transcriber

log = logging.getLogger(__name__)


@dataclass
class CheckSettings:
    """Settings group "checks": the recogniser; group "check_thresholds": `CheckThresholds` by field name."""

    enabled: bool = True
    recogniser: str = DEFAULT_RECOGNISER  # hub repo id or local folder
    device: str = ""  # "" = the TTS model's device setting

    @staticmethod
    def read(app_settings) -> tuple[CheckSettings, CheckThresholds]:
        q = app_settings.q
        defaults = CheckSettings()
        enabled = str(q.value("checks/enabled", defaults.enabled)).lower() not in ("false", "0", "no", "off")
        settings = CheckSettings(enabled, str(q.value("checks/recogniser", defaults.recogniser) or
                                              defaults.recogniser), str(q.value("checks/device", "") or ""))
        values = {}
        for name, default in CheckThresholds().to_dict().items():
            try:
                values[name] = type(default)(q.value(f"check_thresholds/{name}", default))
            except (TypeError, ValueError):
                values[name] = default  # a hand-edited settings file must not break the start
        return settings, CheckThresholds(**values)


@dataclass(frozen=True)
class _Job:
    kind: str  # "check" (transcribe if needed), "cached" (only from the cache), "transcribe" (a clip), "unload"
    project: object = None
    line_id: str = ""
    take_id: str = ""
    speaker_id: str = ""
    path: Path | None = None


class CheckWorker(QObject):
    """Owns the Transcriber; lives on its own QThread. Never touches a widget."""

    checked = Signal(str, str, object)  # line id, take id, TakeCheck
    transcribed = Signal(str, str)  # speaker id, words heard in the clip
    transcribeFailed = Signal(str, str)  # speaker id, reason
    unavailable = Signal(str)  # why checks and transcription are off

    def __init__(self, transcriber_factory: Callable[[], Transcriber], thresholds: CheckThresholds):
        super().__init__()
        self._factory = transcriber_factory
        self.thresholds = thresholds
        self.transcriber: Transcriber | None = None
        self._reviewers: dict[int, TakeReviewer] = {}
        self._queue: deque[_Job] = deque()
        self._lock = threading.Lock()

    def enqueue(self, job: _Job) -> None:  # any thread
        with self._lock:
            self._queue.append(job)

    @Slot()
    def process(self) -> None:
        while True:
            with self._lock:
                if not self._queue:
                    return
                job = self._queue.popleft()
            try:
                self._run(job)
            except RecogniserUnavailable as error:
                self.unavailable.emit(str(error))
                if job.kind == "transcribe":
                    self.transcribeFailed.emit(job.speaker_id, str(error))
            except Exception as error:  # a deleted line, a missing file, a broken clip: skip it, keep going
                log.info("take check %s %s skipped: %s", job.kind, job.line_id or job.speaker_id, error)
                if job.kind == "transcribe":
                    self.transcribeFailed.emit(job.speaker_id, str(error) or type(error).__name__)

    def _run(self, job: _Job) -> None:
        if self.transcriber is None:
            self.transcriber = self._factory()
        if job.kind == "unload":
            self.transcriber.unload()
        elif job.kind == "transcribe":
            heard = self.transcriber.transcribe_file(job.path)  # an explicit request: may download the model
            self.transcribed.emit(job.speaker_id, heard.text)
            self.unavailable.emit("")  # it works now
        else:
            reviewer = self._reviewers.get(id(job.project))
            if reviewer is None or reviewer.project is not job.project:
                reviewer = self._reviewers[id(job.project)] = TakeReviewer(job.project, self.transcriber,
                                                                          self.thresholds)
            if job.kind == "cached":
                check = reviewer.cached_check(job.line_id, job.take_id)
            else:
                check = reviewer.check(job.line_id, job.take_id, download=False)  # never a silent 1.6 GB
            if check is not None:
                self.checked.emit(job.line_id, job.take_id, check)


class TakeChecks(QObject):
    """The GUI side: verdicts per take, the failing lines, the reason checks are off. Lives on the GUI thread."""

    verdictChanged = Signal(str)  # line id
    offChanged = Signal(str)  # reason checks are off ("" = on)
    transcribed = Signal(str, str)  # speaker id, text
    transcribeFailed = Signal(str, str)  # speaker id, reason

    _wake = Signal()

    def __init__(self, transcriber_factory: Callable[[], Transcriber], thresholds: CheckThresholds | None = None,
                 enabled: bool = True, parent: QObject | None = None):
        super().__init__(parent)
        self.enabled = enabled
        self.results: dict[tuple[str, str], TakeCheck] = {}  # (line id, take id) -> check
        self.off_reason = "" if enabled else "take checks are turned off in the settings"
        self._thread = QThread()
        self._thread.setObjectName("take checks")
        self.worker = CheckWorker(transcriber_factory, thresholds or CheckThresholds())
        self.worker.moveToThread(self._thread)
        self._wake.connect(self.worker.process)
        self.worker.checked.connect(self._on_checked)
        self.worker.unavailable.connect(self._on_unavailable)
        self.worker.transcribed.connect(self.transcribed)
        self.worker.transcribeFailed.connect(self.transcribeFailed)
        self._thread.start(QThread.Priority.LowPriority)

    @classmethod
    def from_settings(cls, app_settings, parent: QObject | None = None) -> TakeChecks:
        settings, thresholds = CheckSettings.read(app_settings)

        def factory() -> Transcriber:
            device = settings.device or app_settings.engine().device or None
            return Transcriber(settings.recogniser, device=device)

        return cls(factory, thresholds, enabled=settings.enabled, parent=parent)

    # ----- commands (GUI thread) ----------------------------------------------------------------------------------
    def take_arrived(self, project, line_id: str, take_id: str) -> None:
        """A take was saved: check it in the background (transcribing it)."""
        if self.enabled and not self.off_reason:
            self._submit(_Job("check", project, line_id, take_id))

    def open_project(self, project) -> None:
        """Show the verdicts known from the transcript cache for every take of `project` (no model loaded)."""
        self.results.clear()
        with project.lock:
            takes = [(line.id, take.id) for line in project.doc.lines for take in line.takes]
        for line_id, take_id in takes:
            self._submit(_Job("cached", project, line_id, take_id))

    def transcribe_clip(self, speaker_id: str, path: Path) -> None:
        self._submit(_Job("transcribe", speaker_id=speaker_id, path=Path(path)))

    def unload(self) -> None:
        """Free the recogniser's memory (before a long generation); the next check loads it again."""
        self._submit(_Job("unload"))

    def result(self, line_id: str, take_id: str | None) -> TakeCheck | None:
        return self.results.get((line_id, take_id)) if take_id else None

    def failing_lines(self, project) -> list[str]:
        """Lines whose active take failed its check, in script order."""
        with project.lock:
            active = [(line.id, line.active_take) for line in project.doc.lines]
        return [line_id for line_id, take_id in active
                if (check := self.result(line_id, take_id)) is not None and not check.passed]

    def shutdown(self) -> None:
        self._thread.quit()
        self._thread.wait()

    # ----- worker signals -----------------------------------------------------------------------------------------
    def _submit(self, job: _Job) -> None:
        self.worker.enqueue(job)
        self._wake.emit()

    def _on_checked(self, line_id: str, take_id: str, check: TakeCheck) -> None:
        self.results[(line_id, take_id)] = check
        self.verdictChanged.emit(line_id)

    def _on_unavailable(self, reason: str) -> None:
        if reason != self.off_reason:
            self.off_reason = reason
            self.offChanged.emit(reason)


def verdict_detail(check: TakeCheck | None) -> str:
    """The words the gutter tooltip and the inspector show for a take's check."""
    if check is None:
        return ""
    return "Check: ok" if check.passed else f"Check failed: {check.verdict}"


def install_take_checks(window) -> TakeChecks:
    """Wire take checks into the main window: new takes are checked, verdicts refresh the gutter, the Generate
    menu gets "Regenerate Failing Lines", and the status bar says when (and why) the checks are off."""
    from PySide6.QtGui import QAction
    from PySide6.QtWidgets import QLabel

    from gui import theme

    checks = TakeChecks.from_settings(window.settings, parent=window)
    window.controller.takeArrived.connect(
        lambda line_id, take_id: window.session is not None
        and checks.take_arrived(window.session.project, line_id, take_id))
    checks.verdictChanged.connect(lambda _line_id: window._views_timer.start())
    checks.verdictChanged.connect(lambda line_id: window.inspector is not None
                                  and window.inspector.line_id == line_id and window.inspector.refresh())

    action = QAction("Regenerate Failing Lines", window)
    action.setStatusTip("Generate a new take (new seed) of every line whose active take failed its check")
    action.triggered.connect(lambda: regenerate_failing(window, checks))
    window.act_regenerate_failing = action
    for menu_action in window.menuBar().actions():
        menu = menu_action.menu()
        if menu is not None and window.act_generate_all in menu.actions():
            menu.insertAction(window.act_stop, action)

    label = QLabel()
    label.setStyleSheet(f"color: {theme.WARNING.name()};")
    label.hide()
    window.statusBar().addPermanentWidget(label)
    window.checks_label = label

    def show_off(reason: str) -> None:
        label.setVisible(bool(reason))
        label.setText("Checks off")
        label.setToolTip(f"Take checks and automatic transcripts are off because {reason}")
        if reason:
            window.statusBar().showMessage(f"Take checks off because {reason}", 10000)

    checks.offChanged.connect(show_off)
    show_off(checks.off_reason)
    return checks


def regenerate_failing(window, checks: TakeChecks) -> list[str]:
    """Queue a new take (a new seed, unless the line is pinned) of each line whose active take failed."""
    if window.session is None:
        return []
    failing = checks.failing_lines(window.session.project)
    if not failing:
        window.statusBar().showMessage("No line's active take fails its check.", 4000)
        return []
    return window.generate(failing, force=True)


def connect_speakers(checks: TakeChecks, panel) -> None:
    """The speaker cards' Transcribe buttons: the words heard fill the (editable) transcript."""
    if not hasattr(panel, "transcribeRequested"):
        return
    panel.transcribeRequested.connect(checks.transcribe_clip)
    checks.transcribed.connect(panel.set_heard_transcript)
    def failed(speaker_id: str, reason: str) -> None:
        panel.set_heard_transcript(speaker_id, "")  # the button is back; the transcript stays as typed
        panel.errorRaised.emit(f"Cannot transcribe the clip of {speaker_id}: {reason}")

    checks.transcribeFailed.connect(failed)
