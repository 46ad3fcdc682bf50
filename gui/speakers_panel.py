"""The speakers panel: per speaker a name, a reference clip (file dialog or drag-and-drop, waveform thumbnail,
duration, play button, warnings) and the clip's transcript, which is required with a clip."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import (QFileDialog, QFrame, QHBoxLayout, QLabel, QLineEdit, QPushButton, QScrollArea,
                               QSplitter, QToolButton, QVBoxLayout, QWidget)

from gui import icons, theme
from gui.session import ProjectSession
from gui.waveform import WaveformView
from projects.audio import read_mono
from projects.store import ProjectError
from projects.voices import SILENCE_PEAK, check_clip

AUDIO_FILTER = "Audio (*.wav *.flac *.ogg *.mp3 *.aiff *.aif);;All files (*)"
SHORT_CLIP, LONG_CLIP = 3.0, 15.0
CLIPPING_LEVEL, CLIPPING_SHARE = 0.999, 0.001


def model_clip_notes(info, speaker_id: str, speakers) -> list[str]:
    """What the project's model makes of a speaker's clip, where it matters (Dia2 places a clip's words in time
    and takes speaker 2's clip only after speaker 1's)."""
    if info is None or not info.word_timestamps:
        return []
    notes = [f"{info.family_name} places the clip's words with approximate timings (spread over its audible "
             "part by word length), not measured ones."]
    if speaker_id == "S2" and not speakers["S1"].clip:
        notes.append(f"{info.family_name} uses this clip only after speaker 1's: give S1 a clip too.")
    return notes


def clip_warnings(audio: np.ndarray, sample_rate: int) -> list[str]:
    """What may make a reference clip a poor voice prompt, in words."""
    warnings = []
    seconds = len(audio) / sample_rate if sample_rate else 0.0
    peak = float(np.max(np.abs(audio))) if len(audio) else 0.0
    if peak < SILENCE_PEAK:
        warnings.append("The clip is silent.")
    elif np.mean(np.abs(audio) >= CLIPPING_LEVEL) > CLIPPING_SHARE:
        warnings.append("The clip is clipping (distorted peaks); the voice will copy the distortion.")
    if seconds < SHORT_CLIP:
        warnings.append(f"The clip is short ({seconds:.1f} s); 5–10 s gives a steadier voice.")
    elif seconds > LONG_CLIP:
        warnings.append(f"The clip is long ({seconds:.1f} s); it leaves less room for each line (5–10 s is best).")
    return warnings


class SpeakerCard(QFrame):
    """One speaker. A clip chosen before its transcript waits here until the transcript is typed."""

    playRequested = Signal(str)  # speaker id
    errorRaised = Signal(str)
    transcribeRequested = Signal(str, object)  # speaker id, clip path: the recogniser fills the transcript
    pendingChanged = Signal()  # a clip started or stopped waiting for its transcript
    warningsChanged = Signal()

    def __init__(self, session: ProjectSession, speaker_id: str, parent: QWidget | None = None):
        super().__init__(parent)
        self.session, self.speaker_id = session, speaker_id
        self.pending_clip: Path | None = None
        self.clip_audio: np.ndarray | None = None
        self.clip_rate = 0
        self._clip_path: Path | None = Path()  # nothing loaded yet (None means "no clip")
        self._clip_error = ""
        self._playback_off = ""  # why playback is off ("" when it works)
        self.setAcceptDrops(True)
        self.setFrameShape(QFrame.Shape.StyledPanel)
        color = theme.speaker_color(speaker_id).name()
        self.setStyleSheet(f"SpeakerCard {{ border: 1px solid {theme.BORDER.name()}; border-left: 4px solid {color};"
                           " border-radius: 4px; }")

        chip = QLabel(speaker_id)
        chip.setStyleSheet(f"color: {color}; font-weight: bold;")
        self.name_edit = QLineEdit()
        self.name_edit.setPlaceholderText("Speaker name")
        self.name_edit.editingFinished.connect(self._name_edited)
        head = QHBoxLayout()
        head.addWidget(chip)
        head.addWidget(self.name_edit, 1)

        self.waveform = WaveformView(compact=True, color=theme.speaker_color(speaker_id))
        self.waveform.setMinimumHeight(36)
        self.waveform.set_placeholder("Drop a voice clip here")
        self.duration_label = QLabel("—")
        self.duration_label.setMinimumWidth(44)
        self.play_button = QToolButton()
        self.play_button.setIcon(icons.play_icon())
        self.play_button.setToolTip(f"Play the reference clip of {speaker_id}")
        self.play_button.clicked.connect(lambda: self.playRequested.emit(self.speaker_id))
        self.choose_button = QPushButton("Choose…")
        self.choose_button.setToolTip("Pick a reference clip (WAV, FLAC, OGG, MP3…); 5–10 s of clean speech")
        self.choose_button.clicked.connect(self._choose_clip)
        self.remove_button = QToolButton()
        self.remove_button.setIcon(icons.cancel_icon())
        self.remove_button.setToolTip("Remove the clip: the speaker gets a random voice")
        self.remove_button.clicked.connect(self.remove_clip)
        clip_row = QHBoxLayout()
        clip_row.addWidget(self.play_button)
        clip_row.addWidget(self.duration_label)
        clip_row.addStretch(1)
        clip_row.addWidget(self.choose_button)
        clip_row.addWidget(self.remove_button)
        self.transcribe_button = QPushButton("Transcribe")
        self.transcribe_button.setToolTip("Fill the transcript with the words the speech recogniser hears in the "
                                          "clip (check and edit them)")
        self.transcribe_button.clicked.connect(self._transcribe)
        clip_row.insertWidget(clip_row.count() - 2, self.transcribe_button)

        self.transcript_edit = QLineEdit()
        self.transcript_edit.setPlaceholderText("Transcript: the exact words spoken in the clip (required with a clip)")
        self.transcript_edit.editingFinished.connect(self._transcript_edited)
        self.warning_label = QLabel()
        self.warning_label.setWordWrap(True)
        self.warning_label.setStyleSheet(f"color: {theme.WARNING.name()};")

        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 6, 8, 6)
        layout.addLayout(head)
        layout.addWidget(self.waveform)
        layout.addLayout(clip_row)
        layout.addWidget(self.transcript_edit)
        layout.addWidget(self.warning_label)
        self.refresh()

    # ----- state from the project ---------------------------------------------------------------------------------
    def refresh(self) -> None:
        speaker = self.session.project.doc.speakers[self.speaker_id]
        if not self.name_edit.hasFocus():
            self.name_edit.setText(speaker.name)
        if not self.transcript_edit.hasFocus():
            self.transcript_edit.setText(speaker.transcript)
            self.transcript_edit.setCursorPosition(0)  # show the start of a long transcript
        path = self.pending_clip or (self.session.folder / speaker.clip if speaker.clip else None)
        self._load_clip(path)
        self.remove_button.setEnabled(path is not None)
        self.transcribe_button.setEnabled(path is not None and self.transcribe_button.text() == "Transcribe")
        self._update_warnings()

    def _load_clip(self, path: Path | None) -> None:
        if path == self._clip_path:
            return  # clips are stored by content hash: same path, same audio
        self._clip_path, self._clip_error = path, ""
        self.clip_audio, self.clip_rate = None, 0
        if path is not None:
            try:
                self.clip_audio, self.clip_rate = read_mono(path)
            except (OSError, RuntimeError) as e:
                self._clip_error = f"Cannot read the clip {path.name}: {e}"
        self.waveform.set_audio(self.clip_audio, self.clip_rate or 1)
        if self.clip_audio is not None:
            self.duration_label.setText(f"{len(self.clip_audio) / self.clip_rate:.1f} s")
        else:
            self.duration_label.setText("—")
        self._update_play_button()

    def set_playback(self, available: bool, reason: str = "") -> None:
        self._playback_off = "" if available else reason
        self._update_play_button()

    def _update_play_button(self) -> None:
        off = self._playback_off
        self.play_button.setEnabled(self.clip_audio is not None and not off)
        self.play_button.setToolTip(off or f"Play the reference clip of {self.speaker_id}")

    def _update_warnings(self) -> None:
        lines = [self._clip_error] if self._clip_error else []
        if self.clip_audio is not None:
            lines += clip_warnings(self.clip_audio, self.clip_rate)
            lines += model_clip_notes(self.session.model_info, self.speaker_id, self.session.project.doc.speakers)
        if self.pending_clip is not None:
            lines.insert(0, "Type the clip's transcript to use this voice: Dia needs the words spoken in the clip.")
        text = "\n".join(f"• {line}" for line in lines) if len(lines) > 1 else "\n".join(lines)
        self.warning_label.setText(text)
        self.warning_label.setToolTip(text)  # the whole list, should the panel be too narrow to show it
        self.warning_label.setVisible(bool(lines))
        self._fit_warnings()
        self.warningsChanged.emit()
        missing = self.pending_clip is not None and not self.transcript_edit.text().strip()
        self.transcript_edit.setStyleSheet(f"border: 1px solid {theme.ERROR.name()};" if missing else "")

    def _fit_warnings(self) -> None:
        """A wrapped label's height depends on its width, which layouts in a splitter ignore: reserve it."""
        label = self.warning_label
        width = label.width() if label.width() > 50 else max(200, self.width() - 16)
        label.setMinimumHeight(label.heightForWidth(width) if label.isVisibleTo(self) else 0)

    def resizeEvent(self, e) -> None:  # noqa: N802 (Qt override)
        super().resizeEvent(e)
        self._fit_warnings()

    def pending_reason(self) -> str:
        """Why lines cannot be generated with the voice this card shows ("" when they can)."""
        if self.pending_clip is None:
            return ""
        return (f"the voice clip of {self.speaker_id} ({self.pending_clip.name}) waits for its transcript: type "
                "the words spoken in it, or remove the clip")

    # ----- edits --------------------------------------------------------------------------------------------------
    def set_clip_file(self, path: Path) -> bool:
        """Use `path` as this speaker's clip (what the file dialog and a drop do). Waits for a transcript."""
        path = Path(path)
        transcript = self.transcript_edit.text().strip()
        if not transcript:
            try:
                check_clip(path)  # all the checks a clip gets when it is used, now: not after the transcript
            except ProjectError as e:
                self.errorRaised.emit(str(e)[:1].upper() + str(e)[1:])
                return False
            self.pending_clip = path
            self.refresh()
            self.transcript_edit.setFocus()
            self.pendingChanged.emit()
            return True
        return self._apply(clip=path, transcript=transcript)

    def remove_clip(self) -> None:
        if self.pending_clip is not None:
            self.pending_clip = None
            self.refresh()
            self.pendingChanged.emit()
        elif self.session.project.doc.speakers[self.speaker_id].clip:
            self._apply(clip=None)

    def _apply(self, **changes) -> bool:
        try:
            self.session.change_speaker(self.speaker_id, **changes)
        except (ProjectError, ValueError) as e:
            self.errorRaised.emit(str(e))
            return False
        was_pending = self.pending_clip is not None
        if "clip" in changes:
            self.pending_clip = None
        self.refresh()
        if was_pending and self.pending_clip is None:
            self.pendingChanged.emit()
        return True

    def _name_edited(self) -> None:
        name = self.name_edit.text().strip()
        if name and name != self.session.project.doc.speakers[self.speaker_id].name:
            self._apply(name=name)

    def _transcript_edited(self) -> None:
        text = self.transcript_edit.text().strip()
        speaker = self.session.project.doc.speakers[self.speaker_id]
        if self.pending_clip is not None:
            if text:
                self._apply(clip=self.pending_clip, transcript=text)
            else:
                self._update_warnings()
        elif text != speaker.transcript:
            if speaker.clip and not text:
                self.errorRaised.emit(f"{self.speaker_id} has a voice clip: its transcript cannot be empty.")
                self.transcript_edit.setText(speaker.transcript)
                return
            self._apply(transcript=text)

    def _transcribe(self) -> None:
        speaker = self.session.project.doc.speakers[self.speaker_id]
        path = self.pending_clip or (self.session.folder / speaker.clip if speaker.clip else None)
        if path is not None:
            self.transcribe_button.setEnabled(False)
            self.transcribe_button.setText("Transcribing…")
            self.transcribeRequested.emit(self.speaker_id, path)

    def set_heard_transcript(self, text: str) -> None:
        """The recogniser's words for the clip: shown in the transcript field and applied like typed ones."""
        self.transcribe_button.setText("Transcribe")
        self.transcribe_button.setEnabled(True)
        if text.strip():
            self.transcript_edit.setText(" ".join(text.split()))
            self._transcript_edited()

    def _choose_clip(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, f"Voice clip for {self.speaker_id}", "", AUDIO_FILTER)
        if path:
            self.set_clip_file(Path(path))

    # ----- drag and drop ------------------------------------------------------------------------------------------
    def dragEnterEvent(self, e: QDragEnterEvent) -> None:  # noqa: N802 (Qt override)
        urls = e.mimeData().urls()
        if len(urls) == 1 and urls[0].isLocalFile():
            e.acceptProposedAction()

    def dropEvent(self, e: QDropEvent) -> None:  # noqa: N802 (Qt override)
        urls = e.mimeData().urls()
        if urls and urls[0].isLocalFile():
            e.acceptProposedAction()
            self.set_clip_file(Path(urls[0].toLocalFile()))


class SpeakersPanel(QWidget):
    playRequested = Signal(str)
    errorRaised = Signal(str)
    transcribeRequested = Signal(str, object)  # speaker id, clip path
    pendingChanged = Signal()
    warningsChanged = Signal()

    def __init__(self, session: ProjectSession, parent: QWidget | None = None):
        super().__init__(parent)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        self.cards = {}
        for speaker_id in ("S1", "S2"):
            card = SpeakerCard(session, speaker_id)
            card.playRequested.connect(self.playRequested)
            card.errorRaised.connect(self.errorRaised)
            card.transcribeRequested.connect(self.transcribeRequested)
            card.pendingChanged.connect(self.pendingChanged)
            card.warningsChanged.connect(self.warningsChanged)
            self.cards[speaker_id] = card
            layout.addWidget(card)
        self.hint = QLabel("Both voices are given to the model before every line, so they stay the same all "
                           "episode.")
        self.hint.setWordWrap(True)
        self.hint.setStyleSheet(f"color: {theme.TEXT_DIM.name()};")
        layout.addWidget(self.hint)
        layout.addStretch(1)
        session.speakersChanged.connect(self.refresh)

    def refresh(self) -> None:
        for card in self.cards.values():
            card.refresh()

    def set_heard_transcript(self, speaker_id: str, text: str) -> None:
        if speaker_id in self.cards:
            self.cards[speaker_id].set_heard_transcript(text)

    def pending_reason(self) -> str:
        """Why generating now would use other voices than the cards show ("" when it would not)."""
        return "; ".join(reason for card in self.cards.values() if (reason := card.pending_reason()))

    def set_playback(self, available: bool, reason: str = "") -> None:
        for card in self.cards.values():
            card.set_playback(available, reason)


class SpeakersColumn(QSplitter):
    """The speaker cards above the script checks. The cards get the height their warnings need whenever those
    change (leaving the checks some room) and scroll beyond that: a warning is never squeezed out of sight."""

    MIN_CHECKS_HEIGHT = 120

    def __init__(self, panel: SpeakersPanel, checks: QWidget, parent: QWidget | None = None):
        super().__init__(Qt.Orientation.Vertical, parent)
        self.panel = panel
        self.scroll = QScrollArea()
        self.scroll.setWidgetResizable(True)
        self.scroll.setFrameShape(QFrame.Shape.NoFrame)
        self.scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.scroll.setWidget(panel)
        self.addWidget(self.scroll)
        self.addWidget(checks)
        self.setStretchFactor(1, 1)
        self._fitted = -1  # the cards' height fit() last set
        panel.warningsChanged.connect(lambda: QTimer.singleShot(0, self, self.fit))
        QTimer.singleShot(0, self, self.fit)

    def fit(self) -> None:
        """Size the cards' pane to their content. It grows whenever they need more; it shrinks back only while
        its height is still the one set here (a pane the user dragged taller stays so)."""
        sizes = self.sizes()
        total = sum(sizes)
        if len(sizes) != 2 or total <= 0:
            return
        layout = self.panel.layout()
        width = self.scroll.viewport().width()
        wanted = layout.totalHeightForWidth(width) if layout.hasHeightForWidth() else self.panel.sizeHint().height()
        top = max(1, min(wanted, total - self.MIN_CHECKS_HEIGHT))
        if top > sizes[0] or (top < sizes[0] and sizes[0] == self._fitted):
            self.setSizes([top, total - top])
            self._fitted = self.sizes()[0]
